"""One start point for the decision-based attacks of every library (HopSkipJump, Chen et al.
2020, arXiv:1904.02144; Boundary, Brendel et al. 2018, arXiv:1712.04248).

Left to themselves, ART starts both attacks from a uniform-noise image (drawn from an unseeded
``np.random.RandomState()``) and Foolbox from a blended-noise line search toward the input, so
two libraries would begin at different distances and "differ" for that reason alone. The
adapters give both the start this module computes: Foolbox's default,
``LinearSearchBlendedUniformNoiseAttack(steps=50)`` (foolbox/attacks/blended_noise.py),
re-implemented in torch so it draws from advcompare's seeded generator and is counted by the
grader like any other query.
"""

from __future__ import annotations

import torch
from torch import nn

NOISE_DRAWS = 100  # ART's init_size and the first 100 of Foolbox's 1,000 directions
BLEND_STEPS = 50  # Foolbox's boundary and HopSkipJump pass steps=50 to the line search


@torch.no_grad()
def _misclassified(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return model(x).argmax(1) != y


@torch.no_grad()
def blended_noise_start(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    draws: int = NOISE_DRAWS,
    steps: int = BLEND_STEPS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(start, found): per image a uniform-noise image the model misclassifies (up to
    ``draws`` tries), blended toward the input by the smallest ε in linspace(0, 1, steps + 1)
    that stays misclassified; ``found`` is False where no draw was misclassified (the start is
    then the input itself)."""
    noise = torch.rand_like(x)
    found = _misclassified(model, noise, y)
    for _ in range(draws - 1):
        if found.all():
            break
        fresh = torch.rand_like(x)
        hit = _misclassified(model, fresh, y) & ~found
        noise[hit] = fresh[hit]
        found |= hit
    best = torch.ones(len(x), dtype=x.dtype, device=x.device)
    for eps in torch.linspace(0, 1, steps + 1).tolist():
        blend = (1 - eps) * x + eps * noise
        best = torch.where(_misclassified(model, blend, y), torch.clamp(best, max=eps), best)
        if (best < 1).all():
            break
    weight = best.view(-1, *([1] * (x.dim() - 1)))
    start = (1 - weight) * x + weight * noise
    start[~found] = x[~found]
    return start, found
