"""The paper's Carlini-Wagner L2 (§2.2.3; Carlini & Wagner 2017, arXiv:1608.04644) with a binary
search over c on torchattacks' single-c ``CW``: each image keeps the smallest adversarial
it found and c moves per image (up on failure, down on success) between 1e-3 and 1e10. The
box is squeezed by 1 - 1e-6 as Foolbox's and ART's CW do, so atanh stays finite."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from advcompare.attacks.spec import AttackSpec

C_UPPER_LIMIT = 1e10  # paper §2.2.3: c is searched over [1e-3, 1e10]
TANH_SQUEEZE = 1e-6  # as Foolbox's and ART's CW: keep atanh finite at the box edges


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """Map [0, 1] into [1e-6, 1 - 1e-6] so torchattacks' atanh(2x - 1) stays finite."""
    return x * (1 - 2 * TANH_SQUEEZE) + TANH_SQUEEZE


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`squeeze`, clamped to [0, 1]."""
    return ((x - TANH_SQUEEZE) / (1 - 2 * TANH_SQUEEZE)).clamp(0.0, 1.0)


class CWView(nn.Module):
    """What torchattacks.CW is shown: squeezed inputs in, positive-shifted outputs out.

    The wrapped model receives the unsqueezed (original) pixels; outputs are shifted per
    sample so the smallest is 1, which leaves every margin unchanged.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(unsqueeze(x))
        return out - out.min(dim=1, keepdim=True).values.detach() + 1.0


def _cw_once(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    c: float,
    spec: AttackSpec | Mapping[str, Any],
) -> torch.Tensor:
    import torchattacks

    # eval(): torchattacks restores train mode afterwards when the module it got was training
    attack = torchattacks.CW(
        CWView(model).eval(), c=c, kappa=spec["confidence"], steps=spec["steps"], lr=spec["lr"]
    )
    return unsqueeze(attack(squeeze(x), y))


def cw_binary_search(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: AttackSpec | Mapping[str, Any]
) -> torch.Tensor:
    """CW L2 with Carlini & Wagner's per-sample binary search over c, on torchattacks.CW.

    Each round runs torchattacks.CW once per distinct c among the samples. A sample that
    succeeds lowers its upper bound to c; one that fails raises its lower bound, and c becomes
    the midpoint, or ×10 while no success bounds it from above. Each sample keeps its
    smallest successful perturbation; samples never fooled come back unchanged.
    """
    if spec["binary_search_steps"] == 1:  # no search: one run at c (failures handled by finish)
        return _cw_once(model, x, y, float(spec["c"]), spec)
    n = len(x)
    const = torch.full((n,), float(spec["c"]), dtype=torch.float64)
    lower = torch.zeros(n, dtype=torch.float64)
    upper = torch.full((n,), C_UPPER_LIMIT, dtype=torch.float64)
    best_l2 = torch.full((n,), float("inf"))
    best = x.detach().clone()
    for _ in range(spec["binary_search_steps"]):
        adv = torch.empty_like(x)
        for c in torch.unique(const).tolist():
            idx = torch.nonzero(const == c).flatten().to(x.device)
            adv[idx] = _cw_once(model, x[idx], y[idx], c, spec).to(x.dtype)
        with torch.no_grad():
            success = (model(adv).argmax(1) != y).cpu()
        l2 = (adv - x).flatten(1).norm(dim=1).cpu()
        improved = success & (l2 < best_l2)
        best[improved.to(x.device)] = adv[improved.to(x.device)]
        best_l2 = torch.where(improved, l2, best_l2)
        upper = torch.where(success, torch.minimum(upper, const), upper)
        lower = torch.where(success, lower, torch.maximum(lower, const))
        bounded = upper < C_UPPER_LIMIT
        const = torch.where(bounded, (lower + upper) / 2, const * 10)
    return best
