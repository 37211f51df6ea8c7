"""Foolbox's minimum-norm attacks that serve as the strength reference of each norm (FMN-L2
and DDN for L2, FMN-L1 for L1, FMN-L0 for L0; Pintor et al. 2021, arXiv:2102.12827; Rony
et al. 2019, arXiv:1811.09600; docs/statistics.md), with Foolbox 3.3.4's FMN-L2 and FMN-L0
projections repaired."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn


def build_fmn(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's L2 fast minimum-norm attack (Pintor et al. 2021), unbounded, with the
    projection onto the ε ball that Foolbox 3.3.4 lacks (see :func:`_projected_fmn`)."""
    return _projected_fmn()(steps=p["steps"], gamma=p["gamma"])


def _projected_fmn():
    """``L2FMNAttack`` with FMN's projection. Foolbox 3.3.4's ``L2FMNAttack.project``
    scales by ``min(1, norms / norms)`` of the *point*, which is always 1: the attack never
    shrinks its perturbation and returns its first adversarial step (‖δ‖ = max_stepsize on
    a linear model whose boundary is 0.05 away). This projects ``x − x0`` onto the L2 ball
    of radius ε, as Pintor et al.'s Algorithm 1 does."""
    import eagerpy as ep
    import foolbox.attacks as fa
    from foolbox.devutils import atleast_kd, flatten

    class ProjectedL2FMN(fa.L2FMNAttack):
        def project(self, x: ep.Tensor, x0: ep.Tensor, epsilon: ep.Tensor) -> ep.Tensor:
            delta = x - x0
            norms = ep.maximum(flatten(delta).norms.l2(axis=-1), 1e-12)
            factor = atleast_kd(ep.minimum(1, epsilon / norms), x.ndim)
            return x0 + delta * factor

    return ProjectedL2FMN


def build_ddn(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's decoupled direction and norm attack (Rony et al. 2019), unbounded."""
    import foolbox.attacks as fa

    return fa.DDNAttack(steps=p["steps"], gamma=p["gamma"], init_epsilon=p["init_epsilon"])


def build_fmn_l1(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's L1 fast minimum-norm attack (Pintor et al. 2021), unbounded: EAD's L1
    reference. Its projection (Duchi et al.'s L1-ball projection) is correct in 3.3.4."""
    import foolbox.attacks as fa

    return fa.L1FMNAttack(steps=p["steps"], gamma=p["gamma"])


def build_fmn_l0(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's L0 fast minimum-norm attack (Pintor et al. 2021), unbounded: JSMA's L0
    reference, with the projection repaired (see :func:`_projected_l0_fmn`)."""
    return _projected_l0_fmn()(steps=p["steps"], gamma=p["gamma"])


def _projected_l0_fmn():
    """``L0FMNAttack`` keeping the ε largest coordinates of ``x − x0``. Foolbox 3.3.4's
    ``L0FMNAttack.project`` thresholds at index ε of the descending order, the (ε + 1)-th
    largest, so it keeps ε + 1 coordinates (more on ties) and indexes past the end once ε
    reaches the input size."""
    import eagerpy as ep
    import foolbox.attacks as fa
    from foolbox.devutils import flatten

    class ProjectedL0FMN(fa.L0FMNAttack):
        def project(self, x: ep.Tensor, x0: ep.Tensor, epsilon: ep.Tensor) -> ep.Tensor:
            delta = flatten(x - x0)
            ranks = ep.argsort(ep.argsort(-abs(delta), axis=1), axis=1)
            keep = ranks < epsilon.astype(ranks.dtype).expand_dims(1)
            return x0 + ep.where(keep, delta, 0).reshape(x0.shape).astype(x0.dtype)

    return ProjectedL0FMN
