"""Cross-library consistency: where torchattacks, ART and Foolbox agree, and where they differ.

Runs on real data (the embedded MNIST sample and a CNN trained on it) and on a linear
classifier whose minimal L2 adversarial perturbation is known in closed form (adv_lib's
test idea). Run with ``tox -e consistency`` or ``pytest -m consistency``.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advcompare.adapters import backends_supporting, get_backend
from advcompare.attacks.spec import AttackSpec
from advcompare.models.cnn import predict

pytestmark = pytest.mark.consistency

# Every tolerance of this suite, with its reason.
TOLERANCES = {
    # BIM is the same arithmetic in all three libraries (sign step, clip to the eps-ball and
    # the box): a pixel differs when two outputs are more than float32 rounding apart ...
    "identical": 1e-6,
    # ... but across libraries (see _assert_same_steps) at most 1% of the pixels may differ
    # (a sign flipped by rounding near a zero gradient), and 95% of the images must end with
    # the same prediction. Measured on the session's digits CNN, BIM at eps 0.1: ART 0
    # pixels; Foolbox 0.16% of the pixels, all in 1 image of 60 (2026-12-01).
    "same_steps_pixel_share": 1e-2,
    "same_steps_outcome": 0.95,
    # Foolbox's momentum differs by a sign() before accumulation: outputs must differ by at
    # least one grey level somewhere, or the documented difference has vanished.
    "foolbox_momentum_min_linf": 1 / 255,
    # DeepFool on a linear model reaches the boundary in one step; every library then
    # overshoots by (1 + overshoot). 1e-3 (relative) absorbs the extra sub-ulp steps ART
    # takes when the exact boundary point rounds to the old class.
    "deepfool_linear_excess": 1e-3,
    # Foolbox adds 1e-4 to every step's distance "for numerical stability"
    # (foolbox/attacks/deepfool.py): an absolute excess, large relative to small optima.
    "deepfool_foolbox_step_offset": 1e-4,
    # CW is an optimiser with a finite budget (binary search × Adam/line-search steps): on the
    # linear model it must come within 1.5× of the optimum and can never beat it (1% slack
    # for the float32 norm).
    "cw_linear_factor": 1.5,
    "below_optimum_slack": 0.01,
    # ART's DeepFool scales the total perturbation once: coordinates the box did not clip
    # scale by exactly (1 + overshoot), up to float32 rounding.
    "art_overshoot_scale": 1e-4,
}


@pytest.fixture(scope="module")
def mnist(digits, trained_digits):
    """Real digits and the session's paper CNN trained on them (tests/conftest.py): a
    second trained network would add nothing these tests look at."""
    return digits, trained_digits.model.eval()


@pytest.fixture(scope="module")
def digits_batch(mnist):
    data, model = mnist
    x, y = data.test.x[:64], data.test.y[:64]
    keep = predict(model, x) == y
    return x[keep], y[keep]


def _assert_same_steps(out, reference, model):
    """Two libraries taking the same sign steps. Each computes the loss gradient its own way
    (ART with its own loss, stepping in NumPy; Foolbox through eagerpy's cross-entropy), so
    where a gradient coordinate is within rounding of 0 its sign can flip and that image's
    path diverges: equality is a bound on the share of differing pixels and on the outcome."""
    differing = ((out - reference).abs() > TOLERANCES["identical"]).float().mean().item()
    assert differing <= TOLERANCES["same_steps_pixel_share"], differing
    same_outcome = (predict(model, out) == predict(model, reference)).float().mean().item()
    assert same_outcome >= TOLERANCES["same_steps_outcome"], same_outcome


def _run(backend, model, x, y, **params):
    return get_backend(backend).run(model, x, y, AttackSpec.create(**params))


def test_bim_takes_the_same_steps_on_all_three_libraries(mnist, digits_batch):
    _, model = mnist
    x, y = digits_batch
    spec = dict(attack="ifgsm", eps=8 / 255, step_size=2 / 255, steps=10, decay=0.0)
    outs = {b: _run(b, model, x, y, **spec) for b in ("torchattacks", "art", "foolbox")}
    assert (outs["torchattacks"] != x).any()  # the attack did something
    for b in ("art", "foolbox"):
        _assert_same_steps(outs[b], outs["torchattacks"], model)


def test_momentum_ifgsm_takes_the_same_steps_in_torchattacks_and_art(mnist, digits_batch):
    _, model = mnist
    x, y = digits_batch
    spec = dict(attack="ifgsm", eps=0.1, step_size=0.01, steps=10, decay=1.0)
    ta, art = (_run(b, model, x, y, **spec) for b in ("torchattacks", "art"))
    _assert_same_steps(art, ta, model)


def test_foolbox_momentum_differs_because_it_signs_before_accumulating(mnist, digits_batch):
    _, model = mnist
    x, y = digits_batch
    spec = dict(attack="ifgsm", eps=0.1, step_size=0.01, steps=10, decay=1.0)
    ta, fb = (_run(b, model, x, y, **spec) for b in ("torchattacks", "foolbox"))
    assert (ta - fb).abs().max().item() >= TOLERANCES["foolbox_momentum_min_linf"]
    # with the momentum term gone (decay 0) the same two libraries agree exactly
    ta0, fb0 = (_run(b, model, x, y, **{**spec, "decay": 0.0}) for b in ("torchattacks", "foolbox"))
    _assert_same_steps(fb0, ta0, model)


# ART's DeepFool stops on its iterate without the overshoot, which lands on the boundary, so
# it often runs every step: 10 steps leave 7 of 16 images fooled at overshoot 0, enough pixels
# for the checks below, at a fifth of the cost of 50.
DEEPFOOL_STEPS = 10


def test_art_deepfool_applies_overshoot_once_to_the_total(mnist, digits_batch):
    """ART's ``epsilon`` scales the final perturbation, so ART(overshoot=ε) − x equals
    (1 + ε)·(ART(overshoot=0) − x) wherever the box did not clip."""
    _, model = mnist
    x, y = digits_batch[0][:16], digits_batch[1][:16]
    base = _run("art", model, x, y, attack="deepfool", steps=DEEPFOOL_STEPS, overshoot=0.0)
    over = _run("art", model, x, y, attack="deepfool", steps=DEEPFOOL_STEPS, overshoot=0.5)
    both = (predict(model, base) != y) & (predict(model, over) != y)
    d0, d1 = (base - x)[both], (over - x)[both]
    inside = (over[both] > 0) & (over[both] < 1)
    assert inside.sum() > 1000
    assert torch.allclose(d1[inside], 1.5 * d0[inside], atol=TOLERANCES["art_overshoot_scale"])


def test_torchattacks_deepfool_scales_each_step_instead(mnist, digits_batch):
    """The same check fails for torchattacks: its overshoot multiplies every step's
    increment, not the total, so no single factor relates the two results."""
    _, model = mnist
    x, y = digits_batch[0][:16], digits_batch[1][:16]
    base = _run("torchattacks", model, x, y, attack="deepfool", steps=DEEPFOOL_STEPS, overshoot=0.0)
    over = _run("torchattacks", model, x, y, attack="deepfool", steps=DEEPFOOL_STEPS, overshoot=0.5)
    both = (predict(model, base) != y) & (predict(model, over) != y)
    d0, d1 = (base - x)[both], (over - x)[both]
    inside = (over[both] > 0) & (over[both] < 1) & (base[both] > 0) & (base[both] < 1)
    assert inside.sum() > 100
    assert not torch.allclose(d1[inside], 1.5 * d0[inside], atol=1e-2)


def test_art_deepfool_ignores_the_labels(mnist, digits_batch):
    """ART's DeepFool starts from the model's prediction; the labels change nothing."""
    _, model = mnist
    x, y = digits_batch[0][:16], digits_batch[1][:16]
    wrong = (y + 1) % 10
    with_labels = _run("art", model, x, y, attack="deepfool", steps=DEEPFOOL_STEPS)
    with_wrong = _run("art", model, x, wrong, attack="deepfool", steps=DEEPFOOL_STEPS)
    pred = predict(model, with_labels)
    same_verdict = (pred != y) & (pred != wrong)  # the adapter keeps both outputs as they are
    assert same_verdict.sum() >= 8
    assert torch.equal(with_labels[same_verdict], with_wrong[same_verdict])


def test_torchattacks_deepfool_starts_from_the_labels(mnist, digits_batch):
    """torchattacks' DeepFool stops at once when the label already differs from the
    prediction: given wrong labels it returns the inputs untouched."""
    _, model = mnist
    x, y = digits_batch[0][:16], digits_batch[1][:16]
    import torchattacks

    direct = torchattacks.DeepFool(model, steps=50)(x, (y + 1) % 10)
    assert torch.equal(direct, x)


def test_torchattacks_cw_has_fixed_c_and_the_emulated_search_fixes_it(mnist, digits_batch):
    _, model = mnist
    x, y = digits_batch[0][:24], digits_batch[1][:24]
    common = dict(attack="cw", steps=30, lr=0.05, c=0.01)
    fixed = _run("torchattacks", model, x, y, binary_search_steps=1, **common)
    searched = _run("torchattacks", model, x, y, binary_search_steps=4, **common)
    fooled_fixed = (predict(model, fixed) != y).float().mean()
    fooled_searched = (predict(model, searched) != y).float().mean()
    assert fooled_fixed < 0.2 < fooled_searched  # c=0.01 is far too small on its own
    fooled_foolbox = (
        (predict(model, _run("foolbox", model, x, y, binary_search_steps=4, **common)) != y)
        .float()
        .mean()
    )
    assert fooled_foolbox > 0.2  # Foolbox searches c itself


class Linear(nn.Module):
    """f(x) = W·flatten(x) + b: its minimal L2 adversarial perturbation is known exactly."""

    def __init__(self, dim: int, classes: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.layer = nn.Linear(dim, classes)
        with torch.no_grad():
            self.layer.weight.copy_(torch.randn(classes, dim, generator=g))
            self.layer.bias.copy_(torch.randn(classes, generator=g))

    def forward(self, x):
        return self.layer(x.flatten(1))

    @torch.no_grad()
    def minimal_l2(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """min over k != y of (f_y - f_k) / ||w_y - w_k||: distance to the nearest boundary."""
        f = self(x)
        w = self.layer.weight
        gaps = f.gather(1, y[:, None]) - f
        norms = (w[y][:, None, :] - w[None]).norm(dim=2)
        ratio = gaps / norms.clamp_min(1e-12)
        ratio[torch.arange(len(y)), y] = float("inf")
        return ratio.min(1).values


@pytest.fixture(scope="module")
def linear_case():
    torch.manual_seed(0)
    model = Linear(3 * 8 * 8, 10).eval()
    x = 0.4 + 0.2 * torch.rand(32, 3, 8, 8)  # far from the box edges
    y = predict(model, x)
    optimum = model.minimal_l2(x, y)
    # the optimal perturbation's L∞ is at most its L2; below 0.35 it stays inside the box
    # from inputs in [0.4, 0.6], so the box constraint never binds and the optimum is exact
    assert float(optimum.max()) < 0.35
    return model, x, y, optimum


@pytest.mark.parametrize("backend", backends_supporting("deepfool"))
def test_deepfool_reaches_the_closed_form_optimum_on_a_linear_model(linear_case, backend):
    model, x, y, optimum = linear_case
    overshoot = 0.02
    x_adv = _run(backend, model, x, y, attack="deepfool", steps=50, overshoot=overshoot)
    assert (predict(model, x_adv) != y).all()
    l2 = (x_adv - x).flatten(1).norm(dim=1)
    assert (l2 / optimum).min() >= 1 - TOLERANCES["below_optimum_slack"]
    offset = TOLERANCES["deepfool_foolbox_step_offset"] if backend == "foolbox" else 0.0
    bound = (1 + overshoot) * (optimum + offset) * (1 + TOLERANCES["deepfool_linear_excess"])
    assert (l2 <= bound).all(), (l2 / optimum).max()


@pytest.mark.parametrize("backend", backends_supporting("cw"))
def test_cw_comes_within_a_stated_factor_of_the_optimum(linear_case, backend):
    model, x, y, optimum = linear_case
    x_adv = _run(
        backend, model, x, y, attack="cw", c=1.0, binary_search_steps=5, steps=100, lr=0.01
    )
    fooled = predict(model, x_adv) != y
    assert fooled.float().mean() >= 0.9
    ratio = (x_adv - x).flatten(1).norm(dim=1)[fooled] / optimum[fooled]
    assert ratio.min() >= 1 - TOLERANCES["below_optimum_slack"]
    assert ratio.median() <= TOLERANCES["cw_linear_factor"], ratio.median()
