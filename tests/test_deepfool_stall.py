"""Why torchattacks' DeepFool stalls on MNIST: a Zeno stall at the box edge.

DeepFool linearises the model and steps to the linearised boundary, ×(1 + overshoot). On a
two-class linear model with margin m(x) = v·x + b the step from any x is exact, so the only
thing that can stop it is the box [0, 1]. Put part of the input at 0 where the step points
below 0 (MNIST's black background): clipping removes that part of the step. If the kept
coordinates carry a share r = ||v_free||² / ||v||² of the step, one clipped step reduces the
margin by (1 + overshoot)·r·m, and every later step by the same proportion:

    torchattacks  m(t+1) = (1 - (1 + o)·r)·m(t)                      (overshoot per step)
    Foolbox       m(t+1) = m(t) - (1 + o)·r·(m(t) + 1e-4·||v||)      (adds 1e-4 to each step's
                                                                      L2 distance)
    ART           m(t+1) = (1 - r)·m(t), then x0 + (1 + o)·(x_T - x0) once at the end

With (1 + o)·r < 1 torchattacks' margin falls geometrically toward 0 and never changes sign:
the iterate converges to the box-constrained boundary point from the near side (a Zeno
stall) and the sample counts as a failure. Per-step versus cumulative overshoot is *not*
what separates the libraries here (on this model torchattacks' and Foolbox's iterates agree
up to Foolbox's 1e-4 floor): Foolbox crosses because of its absolute 1e-4 step floor, ART
because it scales the total perturbation once at the end. Away from the box edge (r = 1)
torchattacks crosses in one step, as DeepFool should.

On a CNN the same convergence runs into float32: the margin reaches 0 to the last ulp,
torchattacks' one-image forward pass sees a tie or a one-ulp crossing and stops ("fooled"),
and the grader's batched forward pass, which rounds differently, sees the true class. The
last test (marked slow) checks that signature on the paper CNN: the images torchattacks does
not fool end within a millionth of their clean margin of the boundary, and one overshoot of
the total (ART's rule) fools them all.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

OVERSHOOT = 0.02  # the default run's overshoot
STEPS = 50  # the default run's steps
SIDE = 8  # inputs are 1×8×8: 64 coordinates
FOOLBOX_FLOOR = 1e-4  # foolbox/attacks/deepfool.py: ``distances = distances + 1e-4``


class Margin2(nn.Module):
    """Two logits (m/2, -m/2) with m(x) = v·x + b, v = all ones: the true class is 0 while
    m > 0, and m's gradient is v everywhere."""

    def __init__(self, bias: float, dtype: torch.dtype) -> None:
        super().__init__()
        # a parameter, so that torchattacks finds the model's device
        self.v = nn.Parameter(torch.ones(SIDE * SIDE, dtype=dtype), requires_grad=False)
        self.b = bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.flatten(1) @ self.v + self.b
        return torch.stack([m / 2, -m / 2], dim=1)


def edge_case(free: int, dtype: torch.dtype = torch.float32, m0: float = 1.0):
    """``free`` coordinates at 0.5, the rest at 0 (where the step points out of the box);
    the bias makes the clean margin ``m0``. Returns model, x, y and r."""
    x = torch.zeros(1, 1, SIDE, SIDE, dtype=dtype)
    x.view(-1)[:free] = 0.5
    model = Margin2(m0 - 0.5 * free, dtype).eval()
    return model, x, torch.tensor([0]), free / (SIDE * SIDE)


def margin(model: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        out = model(x)[0]
    return float(out[0] - out[1])


def torchattacks_deepfool(model, x, y, steps=STEPS):
    import torchattacks

    return torchattacks.DeepFool(model, steps=steps, overshoot=OVERSHOOT)(x, y)


def foolbox_deepfool(model, x, y, steps=STEPS, candidates=2):
    import foolbox as fb

    fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0))
    attack = fb.attacks.L2DeepFoolAttack(steps=steps, candidates=candidates, overshoot=OVERSHOOT)
    return attack(fmodel, x, y, epsilons=None)[1]


def art_deepfool(model, x, y, steps=STEPS):
    from art.attacks.evasion import DeepFool

    from advcompare.adapters.art_backend import art_classifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attack = DeepFool(
            art_classifier(model, x),
            max_iter=steps,
            epsilon=OVERSHOOT,
            nb_grads=2,
            batch_size=1,
            verbose=False,
        )
        return torch.from_numpy(attack.generate(x.numpy()))


def test_torchattacks_margin_follows_the_geometric_recurrence_and_never_crosses():
    """In float64, torchattacks' final margin is exactly m0·(1 - (1+o)·r)^T > 0: each step
    falls short by the same share, the sample is never fooled, and the iterate approaches the
    box-constrained minimal perturbation m0/||v_free|| from below."""
    # r = 0.25 for the default run's 50 steps; r = 0.5 only to 20 steps, as 0.49^50 ≈ 3e-16
    # is below float64's resolution of a margin summed from 32 terms
    for free, step_counts in ((32, (1, 5, 20)), (16, (1, 5, 20, STEPS))):
        model, x, y, r = edge_case(free, torch.float64)
        for steps in step_counts:
            x_adv = torchattacks_deepfool(model, x, y, steps)
            expected = (1 - (1 + OVERSHOOT) * r) ** steps
            assert margin(model, x_adv) == pytest.approx(expected, rel=1e-6, abs=1e-12)
            assert margin(model, x_adv) > 0
            assert int(model(x_adv).argmax(1)) == 0  # still the true class: not fooled
        box_optimum = 1.0 / free**0.5  # m0 / ||v_free||
        l2 = float((x_adv - x).norm())
        assert box_optimum * (1 - 1e-6) < l2 < box_optimum


def test_same_model_away_from_the_box_edge_is_fooled_in_one_step():
    """The control: every coordinate at 0.5, nothing clips (r = 1), so one DeepFool step
    crosses with L2 = (1 + overshoot) × the closed-form optimum m0/||v||."""
    model, x, y, r = edge_case(SIDE * SIDE)
    assert r == 1.0
    x_adv = torchattacks_deepfool(model, x, y, steps=1)
    assert int(model(x_adv).argmax(1)) == 1
    assert margin(model, x_adv) == pytest.approx(-OVERSHOOT, abs=1e-5)
    optimum = 1.0 / SIDE  # m0 / ||v||, ||v|| = sqrt(64)
    assert float((x_adv - x).norm()) == pytest.approx((1 + OVERSHOOT) * optimum, rel=1e-5)


def test_at_the_box_edge_foolbox_and_art_cross_and_torchattacks_does_not():
    """Same input, same 50 steps and overshoot 0.02 (the default run's): Foolbox and ART
    fool the model with about the box-constrained optimum; torchattacks stops a hair's
    breadth short of the boundary."""
    model, x, y, r = edge_case(16)  # r = 0.25
    box_optimum = 1.0 / 16**0.5
    ta = torchattacks_deepfool(model, x, y)
    fb = foolbox_deepfool(model, x, y)
    art = art_deepfool(model, x, y)
    # ends on the boundary's near side: within float32 rounding of it (exactly 0.0 on some
    # CPUs, where the tie still goes to the true class), never across it
    assert 0 <= margin(model, ta) < 1e-5 and int(model(ta).argmax(1)) == 0
    for x_adv in (fb, art):
        assert int(model(x_adv).argmax(1)) == 1
        assert box_optimum <= float((x_adv - x).norm()) <= (1 + OVERSHOOT) * box_optimum * 1.001


def test_foolbox_crosses_only_by_its_step_floor_and_art_by_its_final_overshoot():
    """Per-step (torchattacks) versus cumulative (Foolbox) overshoot is not the difference:
    Foolbox's margin follows torchattacks' recurrence plus its 1e-4 floor, so before the floor
    adds up it has not crossed either, and at the end it is past the boundary by at most one
    floor's worth. ART ends at -overshoot·m0: its one overshoot of the total does it."""
    model, x, y, r = edge_case(16)
    shrink = 1 - (1 + OVERSHOOT) * r
    floor_margin = FOOLBOX_FLOOR * float(model.v.norm())  # the floor in margin units
    m = 1.0
    for _ in range(10):
        m = m - (1 + OVERSHOOT) * r * (m + floor_margin)
    fb10 = margin(model, foolbox_deepfool(model, x, y, steps=10))
    ta10 = margin(model, torchattacks_deepfool(model, x, y, steps=10))
    assert fb10 == pytest.approx(m, rel=1e-4)
    assert ta10 == pytest.approx(shrink**10, rel=1e-4)
    assert fb10 > 0 and ta10 > 0  # neither has crossed after 10 steps
    assert abs(fb10 - ta10) < 10 * (1 + OVERSHOOT) * r * floor_margin  # only the floor differs
    fb50 = margin(model, foolbox_deepfool(model, x, y))
    assert -(1 + OVERSHOOT) * r * floor_margin <= fb50 < 0
    assert margin(model, art_deepfool(model, x, y)) == pytest.approx(-OVERSHOOT, abs=1e-4)


def _margins(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, one_by_one: bool = False
) -> torch.Tensor:
    """True-class logit minus the best other logit; batched, or one image per forward pass
    as torchattacks' DeepFool evaluates them."""
    with torch.no_grad():
        out = torch.cat([model(x[i : i + 1]) for i in range(len(x))]) if one_by_one else model(x)
    true = out.gather(1, y[:, None])[:, 0]
    others = out.scatter(1, y[:, None], float("-inf"))
    return true - others.max(1).values


@pytest.mark.slow
def test_on_the_paper_cnn_torchattacks_failures_sit_on_the_boundary(model, digits):
    """The same signature on a trained CNN (the digits, ~33% of pixels at exactly 0): every
    image torchattacks' DeepFool leaves correctly classified ends within a millionth of its
    clean margin of the boundary; torchattacks' own one-image forward pass already sees a
    tie or a one-ulp crossing there (so it stopped, "fooled"), and a batched re-evaluation,
    rounding differently, sees the true class. One overshoot of the total perturbation
    (ART's rule) fools every one of them, as Foolbox does with its own iterates."""
    from advcompare.models.cnn import predict

    x, y = digits.test.x[:32], digits.test.y[:32]
    keep = predict(model, x) == y
    x, y = x[keep][:24], y[keep][:24]
    x_adv = torchattacks_deepfool(model, x, y)
    clean = _margins(model, x, y)
    final = _margins(model, x_adv, y)
    failed = final > 0
    assert failed.any(), "torchattacks' DeepFool no longer stalls: update docs/backends.md"
    assert torch.all(final[failed] < 1e-5 * clean[failed])  # a hair's breadth, not a miss
    assert torch.all(_margins(model, x_adv[failed], y[failed], one_by_one=True) <= 0)
    overshot = (x + (1 + OVERSHOOT) * (x_adv - x)).clamp(0, 1)
    assert torch.all(predict(model, overshot[failed]) != y[failed])
    assert torch.all(predict(model, foolbox_deepfool(model, x, y, candidates=10)) != y)
