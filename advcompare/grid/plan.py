"""The grid as data: an experiment becomes a list of tasks with stable keys and explicit
dependencies, which an executor runs (see :mod:`advcompare.grid.executors`).

Per dataset: train the base model → train each trained defense (distillation, adversarial
training) → one attack cell per defense × threat model × attack × backend → oblivious cells,
which reuse the undefended model's adversarial examples. Keys are the same whatever runs
them, so the results store and the weights cache are shared by every executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

from advcompare.adapters.entry import AttackEntry
from advcompare.adapters.registry import get_backend
from advcompare.config.settings import ExperimentConfig
from advcompare.data.datasets import Dataset, Split
from advcompare.defenses.registry import (
    ADAPTIVE,
    OBLIVIOUS,
    key_of,
    needs_training,
    threat_key,
    threat_models,
)
from advcompare.grid import tasks as fn
from advcompare.grid.entries import control_entries, curve_eps, eps_curve_entries, reference_entries
from advcompare.grid.shards import images_per_shard, shard_bounds
from advcompare.models.train import cache_key
from advcompare.models.user_model import model_key, weights_digest
from advcompare.storage.record import CONTROL, EPS_CURVE, MAIN, REFERENCE, CellId
from advcompare.storage.store import cell_key

__all__ = ["CONTROL", "EPS_CURVE", "MAIN", "REFERENCE", "CellId"]  # the roles, re-exported

MODEL, DEFENSE, ATTACK, OBLIVIOUS_CELL = "model", "defense", "attack", "oblivious"
SHARD = "shard"  # crafts part of an attack cell's images; the cell's task grades the parts
# The strength reference of the L2 curves (``[curves]`` reference): Foolbox's FMN and DDN.


@dataclass(frozen=True)
class Dep:
    """An argument that is another task's result (or a value the driver supplies)."""

    key: str


@dataclass(frozen=True)
class CellSpec:
    """Everything a worker needs to compute one attack cell, besides data and weights: where
    the cell sits (its typed :class:`~advcompare.storage.record.CellId`), its key, the entry
    to run, the defense's parameters and the keys of the models it attacks."""

    id: CellId
    key: str
    entry: AttackEntry
    num_classes: int
    params: dict[str, Any]
    defense_key: str
    base_key: str
    batch_size: int
    seed: int
    device: str

    @property
    def name(self) -> str:
        return self.id.name


@dataclass
class Task:
    """One node of the plan: ``fn(*args)`` with :class:`Dep` arguments resolved first."""

    key: str
    kind: str
    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    dataset: str
    cell: CellSpec | None = None
    defense: str = "none"
    images: int = 0  # images the task attacks (attack cells and shards), for ordering work
    light: bool = False  # a cheap task (joining and grading shards): needs no CPU of its own
    seed: int = 0  # the training seed of the model the task trains or attacks
    reuses: str = ""  # an oblivious cell: the key of the undefended cell whose examples it reuses

    @property
    def deps(self) -> list[str]:
        return [a.key for a in self.args if isinstance(a, Dep)]


@dataclass
class Plan:
    """Tasks in dependency order and the values the driver supplies up front (data)."""

    tasks: list[Task] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[Task]:
        return [t for t in self.tasks if t.kind in (ATTACK, OBLIVIOUS_CELL)]

    def by_key(self) -> dict[str, Task]:
        return {t.key: t for t in self.tasks}


def data_key(dataset: str) -> str:
    return f"data:{dataset}"


def attacked_key(dataset: str, images: int = 0) -> str:
    """The plan value of a dataset's attacked images (``images``: only the first so many)."""
    return f"attacked:{dataset}" + (f"[:{images}]" if images else "")


def entry_images(entry: AttackEntry, n: int) -> int:
    """How many of the run's ``n`` attacked images ``entry`` attacks: its ``samples`` when
    set and smaller, else all (always the first ones, so a smaller attack's images are a
    prefix of every larger one's and paired tests can pair them)."""
    return entry.samples if 0 < entry.samples < n else n


# Part of every cell key: bump it when a change to the attack, grading or adapter code can
# change a stored cell's figures, so stale cells are recomputed rather than reused.
CELL_CODE_VERSION = "cells-v2"  # v2: every batch seeded on its own (crafting.seed_batch)


@lru_cache(maxsize=None)
def library_version(backend: str) -> str:
    """The installed version of the library behind ``backend`` (part of the cell key)."""
    library = get_backend(backend).library
    try:
        return f"{library}=={version(library)}"
    except PackageNotFoundError:
        return f"{library} (unversioned)"


def _key(
    cfg: ExperimentConfig, model_key: str, cell: CellId, entry: AttackEntry, n: int, seed: int
) -> str:
    """Everything that determines a cell's figures: model, defense, threat, label (a budget
    point's with its ε), spec, backend and its library's version, attacked images, seed,
    batch size, code version; and for a control cell its role (the other roles' keys predate
    it)."""
    extra = {"role": cell.role} if cell.role == CONTROL else {}
    return cell_key(
        **extra,
        model=model_key,
        defense=cell.defense,
        threat=threat_key(cell.defense, cell.threat),
        label=cell.key_label,
        spec=entry.spec.as_dict(),
        backend=entry.backend,
        library=library_version(entry.backend),
        samples=cfg.samples,
        seed=seed,
        batch_size=cfg.batch_size,
        n=n,
        code=CELL_CODE_VERSION,
    )


def _attack_tasks(
    cell: CellSpec, args: tuple[Any, ...], n: int, per_shard: int, defense: str
) -> list[Task]:
    """An attack cell as one task, or as shard tasks plus the task that joins and grades
    them (the cell's key is always the grading task's)."""
    bounds = shard_bounds(n, cell.batch_size, per_shard)
    if len(bounds) == 1:
        return [
            Task(
                cell.key, ATTACK, cell.name, fn.attack_cell, args, cell.id.dataset, cell, defense, n
            )
        ]
    shards = [
        Task(
            f"{cell.key}/shard-{start}-{stop}",
            SHARD,
            f"{cell.name}[{start}:{stop}]",
            fn.attack_shard,
            (*args, start, stop),
            cell.id.dataset,
            cell,
            defense,
            stop - start,
        )
        for start, stop in bounds
    ]
    grade = Task(
        cell.key,
        ATTACK,
        cell.name,
        fn.grade_shards,
        (*args, *(Dep(s.key) for s in shards)),
        cell.id.dataset,
        cell,
        defense,
        light=True,
    )
    return [*shards, grade]


def _seeded(tasks: list[Task], seed: int) -> list[Task]:
    for task in tasks:
        task.seed = seed
    return tasks


def build_plan(
    cfg: ExperimentConfig,
    datasets: dict[str, Dataset],
    attacked: dict[str, Split],
    executor: str = "serial",
    concurrency: int = 1,
) -> Plan:
    """Every task of ``cfg`` on the loaded ``datasets`` (``attacked``: the images attacked),
    with attack cells split into shards where :func:`images_per_shard` says so."""
    plan = Plan()
    sha256 = ""
    if cfg.model:  # a user's model: loaded by the driver, never trained (see runner._schedule)
        sha256 = weights_digest(Path(cfg.weights).expanduser())
    seeds = cfg.training_seeds
    for name, dataset in datasets.items():
        plan.values[data_key(name)] = dataset
        plan.values[attacked_key(name)] = attacked[name]
        split, n = attacked[name], len(attacked[name])
        for images in {entry_images(e, n) for e in cfg.attacks} - {n}:
            plan.values[attacked_key(name, images)] = Split(split.x[:images], split.y[:images])
        for seed in seeds:
            shown = None if len(seeds) == 1 else seed
            plan.tasks += _seeded(
                _dataset_tasks(
                    cfg, name, dataset, attacked[name], seed, shown, sha256, executor, concurrency
                ),
                seed,
            )
    return plan


@dataclass(frozen=True)
class _Scope:
    """One dataset at one training seed: what every task of it shares."""

    cfg: ExperimentConfig
    name: str
    dataset: Dataset
    seed: int
    shown: int | None  # the seed in task names; None when the run has one seed
    base: str  # the base model's key
    n: int  # images attacked
    per_shard: int


def _model_task(
    cfg: ExperimentConfig, name: str, dataset: Dataset, sha256: str, prefix: str, train
) -> Task:
    """Load a user's model, or train (or load the cached) paper CNN."""
    if cfg.model:
        base = model_key(dataset, cfg.model, sha256, cfg.input_shape, train)
        load = (cfg.model, cfg.weights, dataset.num_classes, base)
        return Task(base, MODEL, f"{prefix}/load", fn.load_user_model, load, name)
    base = cache_key(dataset, train)
    args = (Dep(data_key(name)), train, cfg.device, base)
    return Task(base, MODEL, f"{prefix}/train", fn.train_base, args, name)


def _defense_task(scope: _Scope, defense: str, params: dict, dkey: str, train, prefix: str) -> Task:
    """Train a defense that needs training (distillation, adversarial training, ...)."""
    cfg = scope.cfg
    args = (defense, params, Dep(scope.base), Dep(data_key(scope.name)), train, cfg.device, dkey)
    return Task(
        dkey,
        DEFENSE,
        f"{prefix}/{defense}/train",
        fn.train_defense,
        (*args, cfg.attacks),
        scope.name,
        defense=defense,
    )


def _cell_rows(cfg: ExperimentConfig, defense: str) -> list[tuple[AttackEntry, str]]:
    """Every entry a classifier is attacked with, and its role: the main entries; on the
    undefended model their budget curves and controls too; the references everywhere."""
    entries = list(cfg.attacks)
    rows = [(e, MAIN) for e in entries]
    if defense == "none":
        rows += [
            (c, EPS_CURVE)
            for e in entries
            for c in eps_curve_entries(e, curve_eps(cfg, e.spec.attack))
        ]
        rows += [(c, CONTROL) for c in control_entries(entries)]
    return rows + [(e, REFERENCE) for e in reference_entries(cfg)]


def _cell_tasks(
    scope: _Scope, defense: str, params: dict, dkey: str, threat: str, trained_dep: Dep | None
) -> list[Task]:
    """The cells of one defended classifier under one threat model: an attack cell (or its
    shards) per row, or an oblivious cell that reuses the undefended model's examples."""
    cfg, name, tasks = scope.cfg, scope.name, []
    for entry, role in _cell_rows(cfg, defense):
        images = entry_images(entry, scope.n)
        data = Dep(attacked_key(name, images if images < scope.n else 0))
        where = CellId(
            name, defense, threat, entry.label, entry.backend, role, entry.eps, scope.shown
        )
        cell = CellSpec(
            id=where,
            key=_key(cfg, dkey, where, entry, images, scope.seed),
            entry=entry,
            num_classes=scope.dataset.num_classes,
            params=params,
            defense_key=dkey,
            base_key=scope.base,
            batch_size=cfg.batch_size,
            seed=scope.seed,
            device=cfg.device,
        )
        if threat == OBLIVIOUS and any(d == "none" for d, _ in cfg.defenses):
            source = replace(where, defense="none", threat=ADAPTIVE)
            crafted = _key(cfg, scope.base, source, entry, images, scope.seed)
            reuse = (cell, data, Dep(scope.base), Dep(crafted), trained_dep)
            task = Task(cell.key, OBLIVIOUS_CELL, cell.name, fn.oblivious_cell, reuse, name, cell)
            tasks.append(replace(task, defense=defense, reuses=crafted))
        else:
            args = (cell, data, Dep(scope.base), trained_dep)
            tasks += _attack_tasks(cell, args, images, scope.per_shard, defense)
    return tasks


def _dataset_tasks(
    cfg: ExperimentConfig,
    name: str,
    dataset: Dataset,
    attacked: Split,
    seed: int,
    shown: int | None,
    sha256: str,
    executor: str,
    concurrency: int,
) -> list[Task]:
    """Every task of one dataset at one training seed (``shown``: the seed in task names,
    None when the run has one seed)."""
    train = replace(cfg.train, seed=seed)
    prefix = name if shown is None else f"{name}#seed{seed}"
    model = _model_task(cfg, name, dataset, sha256, prefix, train)
    n = len(attacked)
    per_shard = images_per_shard(cfg.executor.images_per_shard, executor, concurrency, n)
    scope = _Scope(cfg, name, dataset, seed, shown, model.key, n, per_shard)
    tasks = [model]
    for defense, params in cfg.defenses:
        dkey = key_of(defense, params, model.key, cfg.attacks)
        trained_dep = None
        if needs_training(defense):
            tasks.append(_defense_task(scope, defense, params, dkey, train, prefix))
            trained_dep = Dep(dkey)
        for threat in threat_models(defense):
            tasks += _cell_tasks(scope, defense, params, dkey, threat, trained_dep)
    return tasks


def crafted_key(task: Task) -> str:
    """The key of the undefended cell whose adversarial examples an oblivious cell reuses."""
    return task.reuses


def without_dep(task: Task) -> Task:
    """An oblivious cell whose undefended cell's samples are gone: it attacks the base
    model itself instead of reusing them."""
    args = tuple(a for a in task.args if a != Dep(task.reuses))
    return replace(task, kind=ATTACK, fn=fn.attack_cell, args=args, reuses="")
