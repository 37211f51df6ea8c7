"""Autograd identities that rewrite the backward pass: :func:`map_gradient`, the building block
of gradient masking (noise on the gradient) and of EOT (averaging gradient draws), and
:func:`bpda`, the adaptive attacker's way back through such a layer."""

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


def bpda(x: torch.Tensor, layer: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``layer(x)`` going forward, the identity going back: BPDA with the identity as the
    backward pass (Athalye, Carlini & Wagner 2018, ICML, §4.1). The value is exactly
    ``layer(x)``; the gradient is exact where ``layer`` is the identity in value."""
    return layer(x.detach()).detach() + (x - x.detach())


class BPDA(torch.nn.Module):
    """``layer`` approximated by the identity on the backward pass (see :func:`bpda`)."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bpda(x, self.layer)
