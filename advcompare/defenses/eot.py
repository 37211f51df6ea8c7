"""Expectation over transformation (Athalye et al. 2018, arXiv:1802.00420): the adaptive
attacker's answer to randomised defenses. The wrapped model is run ``k`` times; the output is
the mean of the ``k`` outputs and the input gradient the mean of the ``k`` gradient draws, each
computed as a single attack step would compute it (for gradient masking: noise of standard
deviation ε/√k instead of ε).

Back-propagating through a plain mean would hand each draw an upstream gradient of u/k while
gradient masking adds its noise at full scale, which *amplifies* the noise √k-fold relative
to the signal; the helpers below give each draw the full upstream gradient and average
the resulting input gradients instead.
"""

from __future__ import annotations

import torch
from torch import nn

from advcompare.defenses.gradients import map_gradient


def _mean_value_full_gradient(out: torch.Tensor, k: int) -> torch.Tensor:
    """Value ``out / k``; gradient passed to ``out`` unscaled."""
    return out / k + (out - out.detach()) * (1 - 1 / k)


class ExpectationOverTransformation(nn.Module):
    """Mean of ``k`` draws of ``model``: mean outputs, mean input gradients."""

    def __init__(self, model: nn.Module, k: int = 10) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.model = model
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = map_gradient(x, lambda grad: grad / self.k)
        total = _mean_value_full_gradient(self.model(shared), self.k)
        for _ in range(self.k - 1):
            total = total + _mean_value_full_gradient(self.model(shared), self.k)
        return total
