"""One grader for every backend: F1, accuracy, success, norms, time and passes per image.

Adapters only return adversarial inputs; everything here is computed the same way whatever
library made them (the Foolbox 3 attack/criterion split). Paper §3.2 grades by macro F1 and
by "prediction time": the time to run the test set through the model divided by its size.
For attacked cells the paper's tables (4, 6, 8, 10) report attack generation plus prediction
per image; we report that as ``paper_time_per_image`` beside its two parts.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from advcompare.attacks.record import BOX_TOLERANCE
from advcompare.models.cnn import predict

# A coordinate counts as changed for L0 when it moved by more than this. ART's PixelAttack
# round-trips through 0-255 integers and moves untouched pixels by ~6e-8; 1e-5 is far below
# one grey level (1/255 ≈ 3.9e-3) and far above float32 noise.
L0_TOLERANCE = 1e-5


class PassCounter(nn.Module):
    """Wraps a model and counts the samples it forwards and back-propagates through.

    Backward passes are counted by a hook on each output tensor, so the wrapped model is
    never touched; ``backward`` counts the gradient's rows each time one flows back.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.forward_samples = 0
        self.backward_samples = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        self.forward_samples += int(x.shape[0])
        if out.requires_grad:
            out.register_hook(self._count_backward)
        return out

    def _count_backward(self, grad: torch.Tensor) -> None:
        self.backward_samples += int(grad.shape[0])

    def reset(self) -> None:
        self.forward_samples = self.backward_samples = 0


def macro_f1(y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
    """Macro F1 over the classes present in ``y_true`` (paper §3.2, equations 13-15)."""
    from sklearn.metrics import f1_score  # imported on use: a Ray worker that only crafts skips it

    truth, guess = np.asarray(y_true), np.asarray(y_pred)
    if len(truth) == 0:
        return float("nan")
    return float(f1_score(truth, guess, labels=np.unique(truth), average="macro", zero_division=0))


def perturbation_norms(x: torch.Tensor, x_adv: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-sample L0 (changed coordinates), L1, L2 and L∞ norms of ``x_adv - x`` (L1: EAD's
    norm; stores written before it was kept hold the other three)."""
    delta = (x_adv.detach().float() - x.detach().float()).flatten(1).cpu()
    return {
        "l0": (delta.abs() > L0_TOLERANCE).sum(1).float(),
        "l1": delta.abs().sum(1),
        "l2": delta.norm(p=2, dim=1),
        "linf": delta.abs().amax(1) if delta.shape[1] else torch.zeros(len(delta)),
    }


def output_is_valid(x: torch.Tensor, x_adv: torch.Tensor) -> bool:
    """The adapter contract: same shape as the input, finite, inside the [0, 1] box."""
    return (
        x_adv.shape == x.shape
        and bool(torch.isfinite(x_adv).all())
        and float(x_adv.min()) >= -BOX_TOLERANCE
        and float(x_adv.max()) <= 1 + BOX_TOLERANCE
    )


def _stat(values: torch.Tensor, fn: str) -> float:
    if values.numel() == 0:
        return float("nan")
    return float(values.median() if fn == "median" else values.mean())


def sync(device: torch.device | str) -> None:
    """Wait for the GPU's queued work, so a wall-clock timing covers it (no-op on CPU)."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def timed_predict(
    model: nn.Module, x: torch.Tensor, device: torch.device | str, batch_size: int = 512
) -> tuple[torch.Tensor, float]:
    """Predicted labels and the seconds they took (paper §3.2's prediction time)."""
    sync(device)
    start = time.perf_counter()
    pred = predict(model, x, batch_size=batch_size, device=device)
    sync(device)
    return pred, time.perf_counter() - start


def grade_clean(y: torch.Tensor, pred: torch.Tensor, seconds: float) -> dict[str, Any]:
    """Metrics of the model on unattacked data."""
    n = len(y)
    return {
        "n": n,
        "clean_f1": macro_f1(y, pred),
        "clean_accuracy": float((pred == y).float().mean()) if n else float("nan"),
        "prediction_time_per_image": seconds / n if n else float("nan"),
    }


def grade_attack(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor, **kwargs: Any
) -> dict[str, Any]:
    """Every metric of one attack cell (see :func:`grade_attack_samples`)."""
    return grade_attack_samples(model, x, y, x_adv, **kwargs)[0]


def grade_attack_samples(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    x_adv: torch.Tensor,
    *,
    attack_seconds: float,
    forward_samples: int = 0,
    backward_samples: int = 0,
    device: torch.device | str = "cpu",
    pred_clean: torch.Tensor | None = None,
    repaired: torch.Tensor | None = None,
    budget: tuple[str, float] | None = None,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Every metric of one attack cell, from the clean and adversarial inputs alone, and the
    per-sample outcomes (``correct``: clean prediction right; ``success``: made wrong;
    ``l0``/``l2``/``linf``: every sample's perturbation norms, 0 where unchanged;
    ``y``, ``pred_clean``/``pred_adv``; ``outcome``, ``repaired``, ``over_budget``: see
    :func:`image_outcomes`).

    Success is judged over the initially correct samples: a success is a correct clean
    prediction that the adversarial input turns wrong. Norms are summarised over successes
    (``n_fooled`` of them), with the lower median (``torch.median``).
    ``repaired``: per sample, whether the adapter's output contract repaired it;
    ``budget``: a bounded attack's (norm, ε).
    """
    n = len(y)
    y = y.cpu()
    if pred_clean is None:
        pred_clean = predict(model, x, device=device)
    pred_adv, adv_seconds = timed_predict(model, x_adv, device)
    correct = pred_clean == y
    success = correct & (pred_adv != y)
    per_sample = perturbation_norms(x, x_adv)
    norms = {k: v[success] for k, v in per_sample.items()}
    metrics = {
        "n": n,
        "n_clean_correct": int(correct.sum()),
        "clean_f1": macro_f1(y, pred_clean),
        "clean_accuracy": float(correct.float().mean()),
        "adv_f1": macro_f1(y, pred_adv),
        "adv_accuracy": float((pred_adv == y).float().mean()),
        "success_rate": float(success.sum() / correct.sum()) if correct.any() else float("nan"),
        "attack_time_per_image": attack_seconds / n,
        "adv_prediction_time_per_image": adv_seconds / n,
        "paper_time_per_image": (attack_seconds + adv_seconds) / n,
        "forward_per_image": forward_samples / n,
        "backward_per_image": backward_samples / n,
        "output_valid": output_is_valid(x, x_adv),
    }
    metrics["delta_f1"] = metrics["adv_f1"] - metrics["clean_f1"]
    for name, values in norms.items():
        metrics[f"{name}_median"] = _stat(values, "median")
        metrics[f"{name}_mean"] = _stat(values, "mean")
    outcomes = image_outcomes(correct, success, per_sample, repaired, budget)
    metrics.update(outcome_counts(outcomes))
    samples = {"correct": correct, "success": success, **per_sample, **outcomes}
    samples.update(y=y.cpu(), pred_clean=pred_clean.cpu(), pred_adv=pred_adv.cpu())
    return metrics, samples


# What happened to each attacked image (``outcome`` per sample, a partition of the images).
SKIPPED, FOOLED, UNCHANGED, PERTURBED = 0, 1, 2, 3
OUTCOMES = {
    SKIPPED: "skipped",  # the clean prediction was already wrong: not attacked
    FOOLED: "fooled",
    UNCHANGED: "unchanged",  # not fooled, and the input came back exactly as it went in
    PERTURBED: "perturbed",  # not fooled, with a perturbation
}
# A bounded attack's output may exceed its budget by float rounding only.
BUDGET_TOLERANCE = 1e-6


def image_outcomes(
    correct: torch.Tensor,
    success: torch.Tensor,
    norms: dict[str, torch.Tensor],
    repaired: torch.Tensor | None = None,
    budget: tuple[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """Per image: ``outcome`` (one of :data:`OUTCOMES`), and two flags beside it:
    ``repaired`` (the output contract restored an all-zero image, clipped it into [0, 1] or
    replaced non-finite values) and ``over_budget`` (a bounded attack's ‖δ‖ > ε + 1e-6)."""
    outcome = torch.full(correct.shape, PERTURBED, dtype=torch.uint8)
    outcome[correct & ~success & (norms["linf"] == 0)] = UNCHANGED
    outcome[success] = FOOLED
    outcome[~correct] = SKIPPED
    if repaired is None:
        repaired = torch.zeros_like(correct)
    over = torch.zeros_like(correct)
    if budget is not None:
        norm, eps = budget
        over = norms[norm] > eps + BUDGET_TOLERANCE
    return {"outcome": outcome, "repaired": repaired.bool().cpu(), "over_budget": over}


def outcome_counts(outcomes: dict[str, torch.Tensor]) -> dict[str, int]:
    """``n_skipped``, ``n_fooled``, ``n_unchanged``, ``n_perturbed`` (a partition of the
    images), ``n_repaired`` and ``n_over_budget``."""
    counts = {
        f"n_{name}": int((outcomes["outcome"] == code).sum()) for code, name in OUTCOMES.items()
    }
    counts["n_repaired"] = int(outcomes["repaired"].sum())
    counts["n_over_budget"] = int(outcomes["over_budget"].sum())
    return counts
