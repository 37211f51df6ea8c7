"""Crafting a cell's adversarial examples batch by batch, seeded per batch.

Every batch seeds torch and NumPy from the run's seed and the batch's index in the cell, so
a batch's adversarial examples do not depend on which batches ran before it in the same
process. That is what lets a cell be split into shards of whole batches that run on
different workers (:mod:`advcompare.plan`) and still give the figures of an unsplit run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from advcompare.adapters.registry import check_spec, get_backend
from advcompare.data import Split
from advcompare.entry import AttackEntry
from advcompare.metrics import PassCounter, grade_attack_samples, sync


@dataclass
class Crafted:
    """Adversarial inputs of consecutive batches, and what making them cost."""

    x_adv: torch.Tensor
    seconds: float
    forward_samples: int
    backward_samples: int
    notes: list[str] = field(default_factory=list)
    node: str = ""


def seed_batch(seed: int, batch_index: int) -> None:
    """Seed torch and NumPy for batch ``batch_index`` of a cell (random attacks such as
    Pixle or differential evolution, random gradient noise, repeat exactly)."""
    torch.manual_seed(seed + batch_index)
    np.random.seed((seed + batch_index) % 2**32)


def craft(
    model: torch.nn.Module,
    entry: AttackEntry,
    data: Split,
    batch_size: int,
    device: torch.device,
    num_classes: int,
    seed: int,
    first_batch: int = 0,
    desc: str = "",
) -> Crafted:
    """Attack ``data`` in batches of ``batch_size`` with one backend; ``first_batch`` is
    the index in its cell of ``data``'s first batch (a shard's place in its cell)."""
    notes = check_spec(entry.backend, entry.spec, num_classes)
    backend = get_backend(entry.backend)
    counter = PassCounter(model)
    batches, seconds = [], 0.0
    starts = range(0, len(data), batch_size)
    for index, i in enumerate(tqdm(starts, desc=desc, unit="batch", leave=False), first_batch):
        seed_batch(seed, index)
        xb = data.x[i : i + batch_size].to(device)
        yb = data.y[i : i + batch_size].to(device)
        sync(device)
        start = time.perf_counter()
        adv = backend.run(counter, xb, yb, entry.spec)
        sync(device)
        seconds += time.perf_counter() - start
        batches.append(adv.cpu())
    return Crafted(
        torch.cat(batches), seconds, counter.forward_samples, counter.backward_samples, notes
    )


def joined(parts: list[Crafted]) -> Crafted:
    """The shards of one cell, in order, as if crafted in one go."""
    nodes = sorted({p.node for p in parts if p.node})
    return Crafted(
        torch.cat([p.x_adv for p in parts]),
        sum(p.seconds for p in parts),
        sum(p.forward_samples for p in parts),
        sum(p.backward_samples for p in parts),
        parts[0].notes,
        ",".join(nodes),
    )


def grade_crafted(
    model: torch.nn.Module, data: Split, crafted: Crafted, device: torch.device
) -> tuple[dict, list[str], dict[str, torch.Tensor]]:
    """The shared grader on crafted adversarial inputs: (metrics, notes, per-sample tensors
    ``x_adv``, ``correct``, ``success`` and the norms)."""
    metrics, outcomes = grade_attack_samples(
        model,
        data.x,
        data.y,
        crafted.x_adv,
        attack_seconds=crafted.seconds,
        forward_samples=crafted.forward_samples,
        backward_samples=crafted.backward_samples,
        device=device,
    )
    return metrics, list(crafted.notes), {"x_adv": crafted.x_adv, **outcomes}


def craft_and_grade(
    model: torch.nn.Module,
    entry: AttackEntry,
    data: Split,
    batch_size: int,
    device: torch.device,
    num_classes: int,
    seed: int,
    desc: str = "",
) -> tuple[dict, list[str], dict[str, torch.Tensor]]:
    """One whole cell on one model, in this process: :func:`craft`, then
    :func:`grade_crafted` (metrics, notes, per-sample tensors)."""
    crafted = craft(model, entry, data, batch_size, device, num_classes, seed, desc=desc)
    return grade_crafted(model, data, crafted, device)
