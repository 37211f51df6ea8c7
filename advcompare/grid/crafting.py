"""Crafting a cell's adversarial examples batch by batch, seeded per batch.

Every batch seeds torch and NumPy from the run's seed and the batch's index in the cell, so
a batch's adversarial examples do not depend on which batches ran before it in the same
process. That is what lets a cell be split into shards of whole batches that run on
different workers (:mod:`advcompare.grid.plan`) and still give the figures of an unsplit run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from advcompare.adapters.base import Adapter, parameters_frozen, repair_note
from advcompare.adapters.entry import AttackEntry
from advcompare.adapters.registry import check_spec, get_backend
from advcompare.analysis.metrics import PassCounter, grade_attack_samples, sync
from advcompare.attacks.spec import ATTACKS
from advcompare.data.datasets import Split
from advcompare.progress import bar


@dataclass
class Crafted:
    """Adversarial inputs of consecutive batches, and what making them cost."""

    x_adv: torch.Tensor
    seconds: float
    forward_samples: int
    backward_samples: int
    notes: list[str] = field(default_factory=list)
    node: str = ""
    repaired: torch.Tensor | None = None  # per sample: the output contract repaired it
    repair_cause: str = ""  # the library defect behind those repairs (AttackImpl.repair_cause)


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
    batches, repairs, seconds = [], [], 0.0
    starts = range(0, len(data), batch_size)
    with parameters_frozen(model):  # attacks need input gradients only
        for index, i in enumerate(bar(starts, desc=desc, unit="batch", leave=False), first_batch):
            seed_batch(seed, index)
            xb = data.x[i : i + batch_size].to(device)
            yb = data.y[i : i + batch_size].to(device)
            sync(device)
            start = time.perf_counter()
            adv, repaired = _craft_batch(backend, counter, xb, yb, entry)
            sync(device)
            seconds += time.perf_counter() - start
            batches.append(adv.cpu())
            repairs.append(repaired)
    return Crafted(
        torch.cat(batches),
        seconds,
        counter.forward_samples,
        counter.backward_samples,
        notes,
        repaired=torch.cat(repairs) if repairs else None,
        repair_cause=backend.repair_cause(entry.spec) if isinstance(backend, Adapter) else "",
    )


def _craft_batch(backend, model, xb, yb, entry: AttackEntry) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch's adversarial inputs and which of them the output contract repaired (a
    backend that is no :class:`~advcompare.adapters.base.Adapter` reports no repairs)."""
    if isinstance(backend, Adapter):
        adv, repaired = backend.craft(model, xb, yb, entry.spec)
        return adv, repaired.cpu()
    adv = backend.run(model, xb, yb, entry.spec)
    return adv, torch.zeros(len(xb), dtype=torch.bool)


def budget_of(entry: AttackEntry) -> tuple[str, float] | None:
    """(norm, ε) of a bounded attack, whose outputs must keep ‖δ‖ ≤ ε; None otherwise."""
    record = ATTACKS.get(entry.spec.attack)
    norm = record.budget_norm if record is not None else None
    eps = entry.spec.params.get("eps")
    if norm is None or eps is None:
        return None
    return norm, float(eps)


def joined(parts: list[Crafted]) -> Crafted:
    """The shards of one cell, in order, as if crafted in one go."""
    nodes = sorted({p.node for p in parts if p.node})
    repairs = [p.repaired for p in parts if p.repaired is not None]
    return Crafted(
        torch.cat([p.x_adv for p in parts]),
        sum(p.seconds for p in parts),
        sum(p.forward_samples for p in parts),
        sum(p.backward_samples for p in parts),
        parts[0].notes,
        ",".join(nodes),
        torch.cat(repairs) if len(repairs) == len(parts) else None,
        parts[0].repair_cause,
    )


def grade_crafted(
    model: torch.nn.Module,
    data: Split,
    crafted: Crafted,
    device: torch.device,
    budget: tuple[str, float] | None = None,
) -> tuple[dict, list[str], dict[str, torch.Tensor]]:
    """The shared grader on crafted adversarial inputs: (metrics, notes, per-sample tensors
    ``x_adv``, ``correct``, ``success``, the norms, predictions and outcomes); ``budget``
    is a bounded attack's (norm, ε), for the over-budget count."""
    metrics, outcomes = grade_attack_samples(
        model,
        data.x,
        data.y,
        crafted.x_adv,
        attack_seconds=crafted.seconds,
        forward_samples=crafted.forward_samples,
        backward_samples=crafted.backward_samples,
        device=device,
        repaired=crafted.repaired,
        budget=budget,
    )
    notes = list(crafted.notes) + repair_note(crafted.repair_cause, crafted.repaired)
    return metrics, notes, {"x_adv": crafted.x_adv, **outcomes}


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
    return grade_crafted(model, data, crafted, device, budget_of(entry))
