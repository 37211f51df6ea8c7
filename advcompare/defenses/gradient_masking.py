"""Gradient masking (paper §2.3.3, equation 12): G' = G + ε·N(0, 1) on the input gradient.

An autograd layer that is the identity going forward and adds Gaussian noise to the gradient
coming back, placed in front of the model: predictions are unchanged, every gradient-based
attack sees a noisy gradient (Athalye et al. 2018 explain why this is weak).

The adaptive attack is BPDA with the identity as the backward pass (Athalye, Carlini &
Wagner 2018, ICML, §4.1): the noise layer is the identity in value, so its true derivative is
the identity and the adaptive gradient is the undefended model's, exactly. EOT (``eot.py``)
answers a *random forward* pass; this one is deterministic, so ``eot_samples`` is accepted and
unused (Tramèr et al. 2020).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advcompare.defenses.defended import (
    ADAPTIVE,
    OBLIVIOUS,
    AdaptiveView,
    Views,
    gradient_attacks,
)
from advcompare.defenses.gradients import BPDA, map_gradient


def noisy_gradient(x: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Identity on ``x``; its gradient gets ``epsilon`` × standard normal noise added."""
    return map_gradient(x, lambda grad: grad + epsilon * torch.randn_like(grad))


class GradientNoise(nn.Module):
    """The masking layer: identity forward, gradient + ``epsilon`` × N(0, 1) backward."""

    def __init__(self, epsilon: float = 1.0) -> None:
        super().__init__()
        if epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon}")
        self.epsilon = float(epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return noisy_gradient(x, self.epsilon)


class GradientMasked(nn.Module):
    """``model`` whose input gradient is G + ε·N(0, 1); forward outputs are identical."""

    def __init__(self, model: nn.Module, epsilon: float = 1.0) -> None:
        super().__init__()
        self.noise = GradientNoise(epsilon)
        self.model = model
        self.epsilon = self.noise.epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.noise(x))


def bpda_view(masked: GradientMasked) -> nn.Module:
    """The masked pipeline with its noise layer passed back as the identity (BPDA): the
    same outputs, the undefended model's exact input gradient."""
    return nn.Sequential(BPDA(masked.noise), masked.model)


BPDA_NOTE = "BPDA: identity backward through the gradient-noise layer (Athalye et al. 2018 §4.1)"


def build(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """The masked pipeline: graded, attacked as it is by gradient-free attacks, through BPDA
    by gradient attacks (adaptive), and the base model for oblivious crafting."""
    masked = GradientMasked(base, params["epsilon"]).eval()
    adaptive = AdaptiveView(bpda_view(masked).eval(), gradient_attacks, BPDA_NOTE)
    return Views(masked, {OBLIVIOUS: base, ADAPTIVE: masked}, (adaptive,))
