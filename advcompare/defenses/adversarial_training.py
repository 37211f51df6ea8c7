"""Adversarial example training (paper §2.3.1, after Goodfellow et al. 2015 and Helland &
VanHoudnos 2020): continue training the trained base CNN on adversarial examples, choosing
one configured attack at random for each batch, keeping the original labels."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, replace
from typing import Any, Sequence

import torch
from torch import nn

from advcompare.adapters.entry import AttackEntry
from advcompare.adapters.registry import get_backend
from advcompare.data.datasets import Dataset
from advcompare.errors import ConfigError
from advcompare.models.cnn import PaperCNN
from advcompare.models.train import TrainConfig, fit


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


def chosen_attacks(params: dict[str, Any], attacks: Sequence[AttackEntry]) -> list[AttackEntry]:
    """The configured attacks adversarial training draws from (all, or those labelled)."""
    chosen = [a for a in attacks if not params["attacks"] or a.label in params["attacks"]]
    if not chosen:
        raise ConfigError(
            "config key 'defense.adversarial_training.attacks': names no configured attack label"
        )
    return chosen


def check_labels(params: dict[str, Any], labels: list[str]) -> None:
    """Every attack label the defense names must be configured."""
    unknown = [a for a in params["attacks"] if a not in labels]
    if unknown:
        raise ConfigError(
            f"config key 'defense.adversarial_training.attacks': no attack labelled "
            f"'{unknown[0]}'; configured labels: {', '.join(dict.fromkeys(labels))}"
        )


def key_extra(params: dict[str, Any], attacks: Sequence[AttackEntry]) -> Any:
    """What besides its parameters determines the trained model: the attacks it trains on."""
    return [(a.label, a.backend, a.spec.as_dict()) for a in chosen_attacks(params, attacks)]


def train(
    params: dict[str, Any],
    base: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    device: torch.device,
    attacks: Sequence[AttackEntry] = (),
    factory: str = "",
) -> tuple[nn.Module, list[dict[str, float]]]:
    """The registry's training step: fine-tune the base model on the chosen attacks."""
    trained = adversarially_train(
        base,
        dataset,
        chosen_attacks(params, attacks),
        config,
        device,
        epochs=params["epochs"],
        clean_share=params["clean_share"],
    )
    return trained.model, trained.history
