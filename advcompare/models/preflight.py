"""Preflight checks before attacking (after AutoAttack's, Croce & Hein 2020): flag models that
would make a gradient attack's result misleading.

- ``randomized``: two forward passes on the same input differ (dropout left on, noise).
- ``randomized_gradients``: two input gradients on the same input differ (gradient masking).
- ``zero_gradients`` / ``nonfinite_gradients``: some sample's input gradient is all zero, or
  NaN/inf (saturated or masked gradients).
- ``outputs_are_probabilities``: rows are non-negative and sum to 1 (a softmax output layer
  flattens cross-entropy gradients).
"""

from __future__ import annotations

import torch
from torch import nn

from advcompare.adapters.base import model_guard


def preflight(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, bool]:
    """Flags for ``model`` on a small batch ``(x, y)``; the model is left as it was."""
    with model_guard(model):
        with torch.no_grad():
            first, second = model(x), model(x)

        def input_grad() -> torch.Tensor:
            xg = x.detach().clone().requires_grad_(True)
            loss = nn.functional.cross_entropy(model(xg), y)
            return torch.autograd.grad(loss, xg)[0]

        g1, g2 = input_grad(), input_grad()
    rows = first.detach()
    return {
        "randomized": not torch.equal(first, second),
        "randomized_gradients": not torch.equal(g1, g2),
        "zero_gradients": bool((g1.flatten(1).abs().sum(1) == 0).any()),
        "nonfinite_gradients": bool((~torch.isfinite(g1)).any()),
        "outputs_are_probabilities": bool(
            (rows >= 0).all()
            and torch.allclose(rows.sum(1), torch.ones(len(rows), device=rows.device), atol=1e-4)
        ),
    }


def raised(flags: dict[str, bool]) -> list[str]:
    """The names of the flags that fired, for a report."""
    return [name for name, on in flags.items() if on]
