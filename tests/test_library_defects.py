"""Library defects the output contract repairs (docs/backends.md, "Library defects the contract
repairs"): each one reproduced on a tiny linear model, its cause shown in the library's own
arithmetic, and the repair shown not to be silent (the cell's notes name the defect and count
the images).

- torchattacks 3.5.1's EAD (Chen et al. 2018, arXiv:1709.04114) aliases its reference image
  with its optimisation variable, so its first gradient step moves x0 and the outputs leave
  [0, 1];
- Foolbox 3.3.4's EAD returns all-zero images for samples it never fooled;
- Foolbox 3.3.4's NewtonFool (Jang et al. 2017) divides 0 by 0 where the softmax saturates.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import advcompare
from advcompare.adapters import get_backend
from advcompare.attacks.spec import AttackSpec

EAD = {"binary_search_steps": 1, "steps": 10, "c": 30.0, "lr": 0.01, "beta": 0.01}


@pytest.fixture()
def linear():
    """A 3-class linear model on 1×4×4 images whose top half is black (0) and bottom half
    white (1), as MNIST's background is: pixels at the edge of the box."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    x = torch.rand(4, 1, 4, 4)
    x[:, :, :1] = 0.0
    x[:, :, 3:] = 1.0
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y


def _notes(frame) -> str:
    """The notes of the frame's one row, as the report prints them."""
    value = frame.loc[0, "notes"]
    return value if isinstance(value, str) else " ".join(value)


def _margin_gradient(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """∇(z_y − max_{k≠y} z_k) of the linear model, shaped like ``x``."""
    with torch.no_grad():
        z = model(x)
        other = (z - 1e4 * nn.functional.one_hot(y, z.shape[1])).argmax(1)
    weight = model[1].weight.detach()
    return (weight[y] - weight[other]).reshape(x.shape)


def test_torchattacks_ead_moves_its_reference_by_the_first_step(linear):
    """The cause: ``y_k = nn.Parameter(images)`` shares storage with ``images``, so the first
    ``y_k -= lr·grad`` shifts the reference every later step shrinks toward and measures
    from, by exactly −lr·c·∇margin (the L2 term's gradient is 0 at y_k = x0)."""
    import torchattacks

    model, x, y = linear
    attack = torchattacks.EADEN(
        model, lr=0.01, binary_search_steps=1, max_iterations=10, initial_const=30.0, beta=0.01
    )
    seen: list[torch.Tensor] = []
    fista = attack.FISTA

    def spy(images, x_k, y_k):
        seen.append(images.detach().clone())
        return fista(images, x_k, y_k)

    attack.FISTA = spy
    attack(x, y)
    expected = x - 0.01 * 30.0 * _margin_gradient(model, x, y)
    assert (seen[0] - x).abs().max() > 1e-2  # the reference did move
    assert torch.allclose(seen[0], expected, atol=1e-6)
    assert seen[0].min() < 0 or seen[0].max() > 1  # and left the box


def test_torchattacks_ead_leaves_the_box_and_the_repair_is_named(linear):
    """The symptom and its repair: the library's raw output leaves [0, 1]; the adapter's is
    inside it, every image is counted as repaired, and the cell's notes name the defect."""
    model, x, y = linear
    spec = AttackSpec.create("ead", **EAD)
    impl = get_backend("torchattacks").impl(spec)
    torch.manual_seed(0)
    raw = torch.as_tensor(impl.call(model, x, y, spec.params))
    outside = (raw < -1e-3).flatten(1).any(1) | (raw > 1 + 1e-3).flatten(1).any(1)
    assert outside.all()
    out, repaired = get_backend("torchattacks").craft(model, x, y, spec)
    assert out.min() >= 0 and out.max() <= 1
    assert repaired.all()
    frame = advcompare.evaluate(
        model, x, y, attacks=[{"attack": "ead", **EAD}], backends="torchattacks"
    )
    notes = _notes(frame)
    assert "moves its reference image" in notes
    assert "repaired 4 of 4 images" in notes
    assert int(frame.loc[0, "n_repaired"]) == 4


def test_foolbox_ead_returns_zeros_for_failures_and_the_repair_is_named(linear):
    """Foolbox's EAD keeps ``best_advs = zeros_like(x)`` for samples never fooled (here: c so
    small that no iterate crosses); the adapter hands the input back and says so."""
    import foolbox as fb

    model, x, y = linear
    weak = {**EAD, "c": 1e-6}
    fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0))
    attack = fb.attacks.EADAttack(binary_search_steps=1, steps=10, initial_const=1e-6)
    _, raw, _ = attack(fmodel, x, y, epsilons=None)
    assert (raw.flatten(1) == 0).all()
    out, repaired = get_backend("foolbox").craft(model, x, y, AttackSpec.create("ead", **weak))
    assert torch.equal(out, x) and repaired.all()
    frame = advcompare.evaluate(
        model, x, y, attacks=[{"attack": "ead", **weak}], backends="foolbox"
    )
    notes = _notes(frame)
    assert "all-zero images" in notes and "repaired 4 of 4 images" in notes


def test_foolbox_newtonfool_divides_zero_by_zero_where_the_softmax_saturates(linear):
    """With logits 1,000× larger the softmax is exactly one-hot in float32: the gradient of
    p_y is 0 and Foolbox's step δ/‖g‖⁴ is 0/0. The raw output is NaN; the adapter's is the
    input (not fooled), counted and named."""
    import foolbox as fb

    model, x, y = linear
    with torch.no_grad():
        model[1].weight.mul_(1000.0)
    assert (torch.softmax(model(x), 1).max(1).values == 1).all()
    fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0))
    _, raw, _ = fb.attacks.NewtonFoolAttack(steps=2, stepsize=0.01)(fmodel, x, y, epsilons=None)
    assert torch.isnan(raw).flatten(1).any(1).all()
    spec = AttackSpec.create("newtonfool", steps=2)
    out, repaired = get_backend("foolbox").craft(model, x, y, spec)
    assert torch.isfinite(out).all() and torch.equal(out, x) and repaired.all()
    frame = advcompare.evaluate(model, x, y, attacks=[spec], backends="foolbox")
    notes = _notes(frame)
    assert "0/0 = NaN" in notes and "repaired 4 of 4 images" in notes


def _art_ead(model, x, params):
    from advcompare.adapters.art_backend import build_ead

    return build_ead(params, model, x)


def test_art_ead_drops_the_l2_pull_on_adversarial_iterates(linear):
    """ART's ``ElasticNet._gradient_of_loss`` zeroes the *whole* gradient where the margin is
    already crossed, so the L2 term's 2(x' − x) goes with the hinge's (the EAD objective keeps
    it; torchattacks and Foolbox do)."""
    model, x, y = linear
    attack = _art_ead(model, x, AttackSpec.create("ead", **EAD).params)
    grad = _margin_gradient(model, x, y)
    x_adv = (x - 3.0 * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).clamp(0, 1)
    assert (model(x_adv).argmax(1) != y).all()  # adversarial by the margin
    onehot = nn.functional.one_hot(y, 3).numpy().astype("float32")
    c = torch.full((len(x),), EAD["c"]).double().numpy()
    art_grad = attack._gradient_of_loss(onehot, x.numpy(), x_adv.detach().numpy(), c)
    assert (art_grad == 0).all()
    assert (2 * (x_adv - x)).abs().max() > 0.1  # what the objective's gradient still is


def test_art_ead_with_the_l2_pull_restored_equals_foolbox(linear, monkeypatch):
    """The control: abort off on both, the same ISTA, momentum, step decay and binary search;
    restoring the L2 pull on adversarial iterates makes ART's output Foolbox's (to float32),
    and without it they differ: the zeroed pull is the whole ART-vs-Foolbox difference."""
    from art.attacks.evasion.elastic_net import ElasticNet

    model, x, y = linear
    params = {**EAD, "binary_search_steps": 2}
    spec = AttackSpec.create("ead", **params)
    foolbox = get_backend("foolbox").run(model, x, y, spec)
    art = get_backend("art").run(model, x, y, spec)
    assert (model(foolbox).argmax(1) != y).all()
    stock = ElasticNet._gradient_of_loss

    def with_l2_pull(self, target, x, x_adv, c_weight):
        grad = stock(self, target, x, x_adv, c_weight)
        dropped = (grad.reshape(len(x), -1) == 0).all(1)
        grad[dropped] = 2 * (x_adv - x)[dropped]
        return grad

    monkeypatch.setattr(ElasticNet, "_gradient_of_loss", with_l2_pull)
    restored = get_backend("art").run(model, x, y, spec)
    assert torch.allclose(restored, foolbox, atol=1e-5)
    assert not torch.allclose(art, foolbox, atol=1e-3)
