"""Adversarial example training (paper §2.3.1, after Goodfellow et al. 2015 and Helland &
VanHoudnos 2020): continue training the trained base CNN on adversarial examples, choosing
one configured attack at random for each batch, keeping the original labels."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, replace
from typing import Sequence

import torch
from torch import nn

from advcompare.adapters import get_backend
from advcompare.entry import AttackEntry
from advcompare.data import Dataset
from advcompare.models import PaperCNN
from advcompare.train import TrainConfig, fit


@dataclass
class AdversariallyTrained:
    """The defended model, its history and how many batches each attack produced."""

    model: nn.Module
    history: list[dict[str, float]]
    attacks_used: dict[str, int]


def adversarially_train(
    base: nn.Module,
    dataset: Dataset,
    attacks: Sequence[AttackEntry],
    config: TrainConfig,
    device: torch.device,
    epochs: int = 5,
    clean_share: float = 0.0,
) -> AdversariallyTrained:
    """Fine-tune a copy of ``base`` for ``epochs`` on adversarial batches.

    Each batch, one of ``attacks`` is drawn at random (seeded) and run through its backend;
    a ``clean_share`` of each batch's images (chosen at random) stays clean. The weights after
    the last epoch are kept (the paper trains "a further five epochs"); validation loss on
    clean data is recorded in the history.
    """
    if not attacks:
        raise ValueError("adversarial training needs at least one attack")
    if not 0.0 <= clean_share < 1.0:
        raise ValueError(f"clean_share must be in [0, 1), got {clean_share}")
    model = copy.deepcopy(base).to(device)
    rng = random.Random(config.seed)
    used = {f"{a.label}/{a.backend}": 0 for a in attacks}
    generator = torch.Generator().manual_seed(config.seed)

    def perturb(m: PaperCNN, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        entry = rng.choice(list(attacks))
        used[f"{entry.label}/{entry.backend}"] += 1
        adv = get_backend(entry.backend).run(m, xb, yb, entry.spec)
        keep_clean = torch.rand(len(xb), generator=generator) < clean_share
        adv[keep_clean.to(adv.device)] = xb[keep_clean.to(xb.device)]
        return adv

    history = fit(
        model,
        dataset,
        replace(config, epochs=epochs),
        device,
        desc="adversarial training",
        perturb=perturb,
        keep_best=False,
    )
    return AdversariallyTrained(model.eval(), history, used)
