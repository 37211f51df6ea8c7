"""An autograd identity whose backward pass maps the gradient: the building block of gradient
masking (noise on the gradient) and of EOT (averaging gradient draws)."""

from __future__ import annotations

from typing import Callable

import torch


class _MapGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        ctx.fn = fn
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return ctx.fn(grad), None


def map_gradient(x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Identity on ``x``; the gradient flowing back through it becomes ``fn(gradient)``."""
    return _MapGradient.apply(x, fn)
