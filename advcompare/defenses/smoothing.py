"""Feature smoothing (paper §2.3.2, after Xu et al. 2018, arXiv:1704.01155): a Gaussian blur in
front of the model, differentiable, using torchvision's implementation."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advcompare.defenses.defended import ADAPTIVE, OBLIVIOUS, Views


class GaussianBlur(nn.Module):
    """torchvision's Gaussian blur as a differentiable layer with a fixed kernel and sigma."""

    def __init__(self, kernel_size: int = 3, sigma: float = 1.0) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")
        if sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.kernel_size = kernel_size
        self.sigma = float(sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torchvision.transforms.v2 import functional as TF  # 1.5 s to import: on use

        return TF.gaussian_blur(x, kernel_size=[self.kernel_size] * 2, sigma=[self.sigma] * 2)


def smoothed(model: nn.Module, kernel_size: int = 3, sigma: float = 1.0) -> nn.Sequential:
    """``model`` behind a Gaussian blur: the defended pipeline an adaptive attacker sees."""
    return nn.Sequential(GaussianBlur(kernel_size, sigma), model)


def build(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """The blurred pipeline (adaptive) and the base model (oblivious crafting)."""
    blurred: nn.Module = smoothed(base, params["kernel_size"], params["sigma"]).eval()
    return Views(blurred, {OBLIVIOUS: base, ADAPTIVE: blurred})
