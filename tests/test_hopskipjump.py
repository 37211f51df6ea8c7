"""HopSkipJump's two library departures from Chen et al.'s reference loop, pinned, and the
``reference_loop`` that undoes them (advcompare.adapters.hopskipjump): Foolbox normalises its
gradient estimate over the whole batch; ART ends on its last step without the binary search
back to the boundary. The atlas's control cells set ``reference_loop`` on both."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from advcompare.adapters import get_backend
from advcompare.adapters.entry import AttackEntry
from advcompare.adapters.hopskipjump import FinalBinarySearch, OneImageAtATime, build_foolbox
from advcompare.adapters.registry import implementation
from advcompare.attacks.spec import AttackSpec
from advcompare.grid.entries import control_entries
from advcompare.models.cnn import predict

PARAMS = {"steps": 2, "initial_evals": 10, "max_evals": 20}


@pytest.fixture(scope="module")
def correct(digits, trained_digits):
    """6 test digits the session's CNN classifies right, and the model."""
    model = trained_digits.model.eval()
    x, y = digits.test.x[:12], digits.test.y[:12]
    keep = predict(model, x) == y
    return model, x[keep][:6], y[keep][:6]


def _run(backend: str, model, x, y, **params):
    torch.manual_seed(0)
    np.random.seed(0)
    spec = AttackSpec.create("hopskipjump", **{**PARAMS, **params})
    return get_backend(backend).run(model, x, y, spec)


def test_foolbox_normalises_the_gradient_estimate_over_the_whole_batch(correct):
    """Foolbox 3.3.4's ``approximate_gradients`` divides by the batch's L2 norm: four
    images' estimates have norms whose squares sum to 1 (each about 1/2), not norm 1 each.
    If Foolbox fixes it, this fails and the documented cause goes."""
    import eagerpy as ep
    import foolbox as fb
    import foolbox.attacks as fa

    model, x, y = correct
    fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0))
    is_adv = fb.criteria.Misclassification(ep.astensor(y[:4]))
    grads = fa.HopSkipJumpAttack().approximate_gradients(
        lambda z: is_adv(z, fmodel(z)), ep.astensor(x[:4]), 8, ep.astensor(torch.full((4,), 0.1))
    )
    norms = grads.raw.flatten(1).norm(dim=1)
    assert float(norms.square().sum()) == pytest.approx(1.0, abs=1e-4)
    assert float(norms.max()) < 0.9


def test_one_image_at_a_time_calls_the_attack_per_image_and_keeps_the_order():
    calls = []

    def attack(fmodel, x, y, epsilons=None, starting_points=None):
        calls.append((len(x), None if starting_points is None else starting_points.tolist()))
        return x + 1, x + 2, y > 0

    x, y, start = torch.arange(3.0), torch.tensor([0, 1, 2]), torch.tensor([5.0, 6.0, 7.0])
    raw, clipped, success = OneImageAtATime(attack)(None, x, y, starting_points=start)
    assert calls == [(1, [5.0]), (1, [6.0]), (1, [7.0])]
    assert raw.tolist() == [1, 2, 3] and clipped.tolist() == [2, 3, 4]
    assert success.tolist() == [False, True, True]


def test_arts_reference_loop_searches_back_to_the_boundary_after_its_last_step(correct):
    """Same seeds, same ART trajectory; the final binary search only moves each fooled image
    towards its input along the line, and keeps it adversarial. It stops within θ of the
    boundary, where the adapter's check (a batch of another size, another kernel) can round
    an image to its true class and hand it back unchanged, as a failure: at most one here."""
    model, x, y = correct
    plain = _run("art", model, x, y)
    searched = _run("art", model, x, y, reference_loop=True)
    fooled = predict(model, plain) != y
    assert fooled.sum() >= 4
    kept = fooled & (searched != x).flatten(1).any(1)
    assert int(kept.sum()) >= int(fooled.sum()) - 1
    with torch.no_grad():  # adversarial, up to float rounding at the boundary
        scores = model.eval()(searched)
    true = scores.gather(1, y[:, None])[:, 0]
    other = scores.scatter(1, y[:, None], float("-inf")).max(1).values
    assert ((other - true)[kept] >= -1e-4).all()
    l2 = {k: (v - x).flatten(1).norm(dim=1) for k, v in (("plain", plain), ("ref", searched))}
    assert (l2["ref"][kept] <= l2["plain"][kept] + 1e-5).all()
    assert (l2["ref"][kept] < 0.99 * l2["plain"][kept]).any()
    # on the segment from the input to ART's own output: the search moved nothing else
    for i in torch.nonzero(kept).flatten():
        along = l2["ref"][i] / l2["plain"][i]
        expected = x[i] + along * (plain[i] - x[i])
        assert (searched[i] - expected).abs().max() < 1e-4


def test_the_controls_set_the_reference_loop_on_both_libraries():
    spec = AttackSpec.create("hopskipjump", **PARAMS)
    entries = [AttackEntry("hsj", spec, backend, False, 6) for backend in ("art", "foolbox")]
    controls = control_entries(entries)
    assert [c.backend for c in controls] == ["art", "foolbox"]
    assert all(c.spec.params["reference_loop"] is True for c in controls)
    causes = {b: implementation(b, "hopskipjump").control.cause for b in ("art", "foolbox")}
    assert causes == {
        "art": "no binary search after the last step",
        "foolbox": "gradient estimate normalised over the whole batch",
    }


def test_the_reference_loop_wraps_each_librarys_attack_and_only_then():
    plain = AttackSpec.create("hopskipjump", **PARAMS).params
    ref = AttackSpec.create("hopskipjump", **PARAMS, reference_loop=True).params
    assert isinstance(build_foolbox(ref, None, None), OneImageAtATime)
    assert not isinstance(build_foolbox(plain, None, None), OneImageAtATime)
    builder = implementation("art", "hopskipjump").builder
    linear, x = nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), torch.zeros(4, 3, 2, 2)
    assert isinstance(builder(ref, linear, x), FinalBinarySearch)
    assert not isinstance(builder(plain, linear, x), FinalBinarySearch)
