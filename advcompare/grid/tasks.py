"""What executors run: pure functions from data and weights to results.

Each function takes everything it needs as arguments (the dataset or attacked images, a
:class:`~advcompare.models.weights.Weights`, a :class:`~advcompare.grid.plan.CellSpec`) and returns
a value; none touches the results store or the weights cache, so the same function runs
in-process (serial) or in a Ray worker on another machine.
"""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from advcompare.config.checks import resolve_device
from advcompare.data.datasets import Dataset, Split
from advcompare.defenses.registry import assemble_defense
from advcompare.defenses.registry import train_defense as train
from advcompare.grid.crafting import Crafted, budget_of, craft, grade_crafted, joined
from advcompare.models.cnn import PaperCNN
from advcompare.models.train import TrainConfig, train_model
from advcompare.models.user_model import (
    LogProbabilities,
    build_model,
    instantiate,
    load_state,
    read_weights,
)
from advcompare.models.weights import Weights

# Test hook (see tests/test_executors.py): when set to a path that does not exist yet, the
# first attack cell run inside a Ray worker creates it and kills its own worker with
# SIGKILL, so the tests can check that Ray retries a dead worker's cell.
FAULT_ONCE_ENV = "ADVCOMPARE_FAULT_ONCE"
IN_RAY_WORKER = False


@dataclass
class CellResult:
    """A graded cell as a worker returns it: metrics, notes, per-sample tensors, where."""

    metrics: dict[str, Any]
    notes: list[str]
    samples: dict[str, torch.Tensor]
    node: str = ""


def node_name() -> str:
    """The Ray node id inside a Ray worker, else this machine's host name."""
    if IN_RAY_WORKER:
        import ray

        return ray.get_runtime_context().get_node_id()
    return socket.gethostname()


def base_model(weights: Weights, device: torch.device) -> nn.Module:
    """The paper CNN with ``weights`` (its Normalize statistics are part of them), or the
    user's model rebuilt from its factory string when ``weights.factory`` names one."""
    if weights.factory:
        return weights.load_into(instantiate(weights.factory), device)
    return weights.load_into(PaperCNN(weights.num_classes), device)


def untrained_model(num_classes: int, factory: str = "") -> nn.Module:
    """A fresh model of the kind cached weights must fit: the paper CNN for
    ``num_classes``, or the user's model built by ``factory``."""
    if factory:
        return instantiate(factory)
    return PaperCNN(num_classes)


def load_user_model(factory: str, path: str, num_classes: int, key: str) -> Weights:
    """A user's model (``model``/``weights`` in the config): read, never trained."""
    state = read_weights(path)
    load_state(build_model(factory), state, factory, path)
    return Weights(key, num_classes, state, [], factory=factory)


def train_base(dataset: Dataset, config: TrainConfig, device: str, key: str) -> Weights:
    """Train the base CNN of ``dataset`` (paper §3.3)."""
    model, history = train_model(dataset, config, resolve_device(device))
    return Weights.of(key, model, dataset.num_classes, history)


def train_defense(
    name: str,
    params: dict[str, Any],
    base: Weights,
    dataset: Dataset,
    config: TrainConfig,
    device: str,
    key: str,
    attacks: Sequence[Any],
) -> Weights:
    """Train the model of a trained defense (distillation, adversarial training)."""
    dev = resolve_device(device)
    model = base_model(base, dev)
    if base.factory:  # a user's model may return logits; training reads log-probabilities
        model = LogProbabilities(model)
    model, history = train(name, params, model, dataset, config, dev, attacks, factory=base.factory)
    if isinstance(model, LogProbabilities):
        model = model.inner
    return Weights.of(key, model, dataset.num_classes, history, factory=base.factory)


def _maybe_die() -> None:
    marker = os.environ.get(FAULT_ONCE_ENV)
    if IN_RAY_WORKER and marker and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


def _cell_models(cell, base: Weights, trained: Weights | None):
    """The cell's defended classifier and the view of it its threat model attacks."""
    device = resolve_device(cell.device)
    model = base_model(base, device)
    trained_model = None if trained is None else base_model(trained, device)
    defended = assemble_defense(
        cell.id.defense,
        cell.params,
        model,
        cell.defense_key,
        trained_model,
        None if trained is None else trained.history,
    )
    return defended, defended.attacked_model(cell.id.threat, cell.entry.spec.attack), device


def _graded(cell, data: Split, defended, attacked, crafted: Crafted, device) -> CellResult:
    metrics, notes, samples = grade_crafted(
        defended.classifier, data, crafted, device, budget_of(cell.entry)
    )
    note = defended.attack_note(cell.id.threat, cell.entry.spec.attack)
    if note:
        notes = notes + [note]
    return CellResult(metrics, notes, samples, crafted.node or node_name())


def _craft(cell, attacked, device, data: Split, start: int, stop: int, desc: str) -> Crafted:
    """Craft images ``start:stop`` of the cell's ``data`` (whole batches, seeded by their
    place in the cell)."""
    return craft(
        attacked,
        cell.entry,
        Split(data.x[start:stop], data.y[start:stop]),
        cell.batch_size,
        device,
        cell.num_classes,
        cell.seed,
        first_batch=start // cell.batch_size,
        desc=desc,
    )


def attack_cell(cell, data: Split, base: Weights, trained: Weights | None) -> CellResult:
    """Attack the cell's classifier (its threat model's view of it), then grade it."""
    _maybe_die()
    defended, attacked, device = _cell_models(cell, base, trained)
    crafted = _craft(cell, attacked, device, data, 0, len(data), cell.name)
    return _graded(cell, data, defended, attacked, crafted, device)


def attack_shard(
    cell, data: Split, base: Weights, trained: Weights | None, start: int, stop: int
) -> Crafted:
    """Craft images ``start:stop`` of a cell (a whole number of its batches); the cell's
    grading task joins the shards (see :func:`grade_shards`)."""
    _maybe_die()
    _, attacked, device = _cell_models(cell, base, trained)
    crafted = _craft(cell, attacked, device, data, start, stop, f"{cell.name}[{start}:{stop}]")
    crafted.node = node_name()
    return crafted


def grade_shards(
    cell, data: Split, base: Weights, trained: Weights | None, *shards: Crafted
) -> CellResult:
    """Join a cell's shards in order and grade them: the figures of an unsplit cell."""
    defended, attacked, device = _cell_models(cell, base, trained)
    return _graded(cell, data, defended, attacked, joined(list(shards)), device)


def oblivious_cell(
    cell, data: Split, base: Weights, crafted: CellResult, trained: Weights | None = None
) -> CellResult:
    """Classify the undefended model's adversarial examples with the defended classifier
    (a trained defense's model when it has one: a transfer attack); times and passes are
    the crafting cell's."""
    defended, _, device = _cell_models(cell, base, trained)
    n = len(data)
    m = crafted.metrics
    reused = Crafted(
        crafted.samples["x_adv"],
        m["attack_time_per_image"] * n,
        int(m["forward_per_image"] * n),
        int(m["backward_per_image"] * n),
        ["adversarial examples crafted on the undefended model (oblivious)"],
        repaired=crafted.samples.get("repaired"),
    )
    metrics, notes, samples = grade_crafted(
        defended.classifier, data, reused, device, budget_of(cell.entry)
    )
    return CellResult(metrics, notes, samples, node_name())
