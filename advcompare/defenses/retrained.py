"""The retraining control (not a defense of the paper): the undefended CNN trained again from
another seed, on the same data, for the same epochs.

Under the oblivious threat model its cells classify examples crafted on the base model, so
they measure plain transfer loss between two independently trained networks (Papernot,
McDaniel & Goodfellow 2016, "Transferability in Machine Learning"). A defense's oblivious
gain no larger than this control's is what any retrained network gives, not a defense
(docs/defenses.md, "The retraining control").
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Sequence

import torch
from torch import nn

from advcompare.adapters.entry import AttackEntry
from advcompare.data.datasets import Dataset
from advcompare.errors import ConfigError
from advcompare.models.train import TrainConfig, deterministic_cudnn, fit


def reinitialised(base: nn.Module, seed: int) -> nn.Module:
    """A copy of ``base`` (the paper CNN or a user's model) with every layer's parameters
    drawn afresh from ``seed``; fixed buffers such as the input normalisation are kept."""
    model = copy.deepcopy(base)
    torch.manual_seed(seed)
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
    return model


def check_seeds(params: dict[str, Any], training_seeds: tuple[int, ...]) -> None:
    """The control's seed must differ from every seed the run trains its base model with."""
    if params["seed"] in training_seeds:
        raise ConfigError(
            f"config key 'defense.retrained.seed': {params['seed']} is a training seed of "
            f"the base model, so the control would be the base model itself; choose another"
        )


def train(
    params: dict[str, Any],
    base: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    device: torch.device,
    attacks: Sequence[AttackEntry] = (),
    factory: str = "",
) -> tuple[nn.Module, list[dict[str, float]]]:
    """The registry's training step: the base model's architecture and training, seed
    ``params['seed']``."""
    seed = params["seed"]
    check_seeds(params, (config.seed,))
    model = reinitialised(base, seed).to(device)
    with deterministic_cudnn():
        history = fit(
            model,
            dataset,
            replace(config, seed=seed),
            device,
            desc=f"train {dataset.name} seed {seed}",
        )
    return model, history
