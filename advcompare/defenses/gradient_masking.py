"""Gradient masking (paper §2.3.3, equation 12): G' = G + ε·N(0, 1) on the input gradient.

An autograd function that is the identity going forward and adds Gaussian noise to the
gradient coming back, placed in front of the model: predictions are unchanged, every
gradient-based attack sees a noisy gradient (Athalye et al. 2018 explain why this is weak).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advcompare.defenses.defended import ADAPTIVE, OBLIVIOUS, Views
from advcompare.defenses.eot import ExpectationOverTransformation
from advcompare.defenses.gradients import map_gradient


def noisy_gradient(x: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Identity on ``x``; its gradient gets ``epsilon`` × standard normal noise added."""
    return map_gradient(x, lambda grad: grad + epsilon * torch.randn_like(grad))


class GradientMasked(nn.Module):
    """``model`` whose input gradient is G + ε·N(0, 1); forward outputs are identical."""

    def __init__(self, model: nn.Module, epsilon: float = 1.0) -> None:
        super().__init__()
        if epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon}")
        self.model = model
        self.epsilon = float(epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(noisy_gradient(x, self.epsilon))


def build(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """The masked pipeline; adaptive gradient attacks average ``eot_samples`` draws."""
    masked: nn.Module = GradientMasked(base, params["epsilon"]).eval()
    eot = ExpectationOverTransformation(masked, params["eot_samples"]).eval()
    return Views(masked, {OBLIVIOUS: base, ADAPTIVE: masked}, eot)
