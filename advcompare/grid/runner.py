"""The runner drives: plan the grid, skip what is stored, hand the rest to an executor, let
the driver store results as they arrive.

The plan (:mod:`advcompare.grid.plan`) lists every task with its key; a cell already in the
run's store is skipped and a model already in the weights cache is loaded, so rerunning an
interrupted command resumes where it stopped. The report is rendered afterwards from the
store (:mod:`advcompare.report`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from typing import Any, Callable

import torch

from advcompare.config.checks import check_experiment, resolve_device
from advcompare.config.settings import ExperimentConfig
from advcompare.data.datasets import Split, is_imagefolder, load_dataset
from advcompare.errors import AdvCompareError
from advcompare.grid.driver import Driver, RunSummary
from advcompare.grid.executors import Executor, make_executor
from advcompare.grid.locks import file_lock
from advcompare.grid.plan import (
    DEFENSE,
    MODEL,
    OBLIVIOUS_CELL,
    SHARD,
    Plan,
    Task,
    build_plan,
    crafted_key,
    without_dep,
)
from advcompare.grid.tasks import CellResult, untrained_model
from advcompare.models.train import deterministic_cudnn
from advcompare.models.weights import WeightsCache
from advcompare.progress import bar as progress_bar
from advcompare.provenance import run_record
from advcompare.storage.store import ResultStore

__all__ = ["RunSummary", "attack_subset", "run_experiment"]


def attack_subset(test: Split, samples: int, seed: int) -> Split:
    """The test images to attack: all of them, or a seeded random ``samples`` of them."""
    if samples <= 0 or samples >= len(test):
        return test
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:samples]
    idx = idx.sort().values
    return Split(test.x[idx], test.y[idx])


def _driver_device(cfg: ExperimentConfig) -> torch.device:
    """Where the driver evaluates models for its records. Ray workers resolve ``cfg.device``
    on their own node, so a driver without a GPU may still send cells to GPU workers."""
    if (
        cfg.executor.name == "ray"
        and cfg.device.startswith("cuda")
        and not torch.cuda.is_available()
    ):
        return torch.device("cpu")
    return resolve_device(cfg.device)


def warn(message: str) -> None:
    """One line on stderr: something was repaired, and how (never a lost result)."""
    print(f"advcompare: {message}", file=sys.stderr)


def _stored_result(store: ResultStore, key: str) -> CellResult | None:
    """A stored cell as a task result (an oblivious cell's input), if its samples load."""
    samples = store.load_samples(key)
    cells = store.cells([key])
    if samples is None or not cells or "x_adv" not in samples:
        return None
    return CellResult(cells[0].metrics, cells[0].notes, samples)


def _cached_weights(task: Task, driver: Driver, locks: contextlib.ExitStack, log):
    """A model task's cached weights (waiting for another run that trains them), or None."""
    cache, dataset = driver.cache, driver.datasets[task.dataset]
    template = untrained_model(dataset.num_classes, driver.cfg.model)
    weights = cache.load(task.key, dataset.num_classes, template)
    if weights is not None:
        return weights
    cache.check_writable()
    lock = cache.root / f".{task.key}.lock"  # one trainer per model across runs
    try:
        locks.enter_context(file_lock(lock, "busy"))
    except AdvCompareError:
        log(f"[{task.name}] another run is training this model; waiting for it")
        locks.enter_context(file_lock(lock, "", wait=True))
    return cache.load(task.key, dataset.num_classes, template)


def _schedule(
    plan: Plan, store: ResultStore, driver: Driver, locks: contextlib.ExitStack, log
) -> tuple[list[Task], dict[str, Any]]:
    """Split the plan into what is already done (stored cells, cached models, recorded at
    once) and the tasks still to run, with the values those tasks need."""
    values = dict(plan.values)
    todo: list[Task] = []
    summary, shared = driver.summary, driver.cfg.executor.shared_cache

    @functools.cache
    def complete(key: str) -> bool:  # asked once per cell, however many shards it has
        return store.has_cell(key) and store.samples_readable(key)

    for task in plan.tasks:
        if task.kind == MODEL and driver.cfg.model:  # a user's model: read, never trained
            weights = task.fn(*task.args)
            values[task.key] = weights
            driver.model_ready(task.dataset, weights, task.seed)
            continue
        if task.kind in (MODEL, DEFENSE):
            weights = _cached_weights(task, driver, locks, log)
            if weights is None:
                todo.append(task)
                continue
            values[task.key] = weights.by_path(driver.cache) if shared else weights
            if task.kind == MODEL:
                driver.model_ready(task.dataset, weights, task.seed)
            else:
                driver.defense_ready(task.dataset, task.defense, weights, task.seed)
            continue
        if task.kind == SHARD:  # part of a cell: needed unless the whole cell is stored
            assert task.cell is not None
            if not complete(task.cell.key):
                todo.append(task)
            continue
        summary.keys.append(task.key)
        if store.has_cell(task.key):
            if complete(task.key):
                summary.resumed.append(task.name)
                log(f"[{task.name}] already stored")
                continue
            aside = store.set_aside_samples(task.key)
            where = f"set aside as {aside}" if aside else "missing"
            warn(
                f"stored cell {task.name}: per-sample file {store.samples_path(task.key)} is "
                f"{'unreadable, ' if aside else ''}{where}; recomputing the cell"
            )
        if task.kind == OBLIVIOUS_CELL:
            crafted = crafted_key(task)
            if not any(t.key == crafted for t in todo):
                stored = _stored_result(store, crafted)
                if stored is None:
                    task = without_dep(task)
                else:
                    values[crafted] = stored
        todo.append(task)
    needed = {key for task in todo for key in task.deps}
    return todo, {k: v for k, v in values.items() if k in needed}


def _load_datasets(cfg: ExperimentConfig) -> dict[str, Any]:
    """Every configured dataset, named as in results (``imagefolder:<folder>``)."""
    loaded = [
        load_dataset(name, cfg.data_root, cfg.download, cfg.seed, input_shape=cfg.input_shape)
        for name in cfg.datasets
    ]
    return {(d.name if is_imagefolder(n) else n): d for n, d in zip(cfg.datasets, loaded)}


def run_experiment(
    cfg: ExperimentConfig, log: Callable[[str], None] = print, executor: Executor | None = None
) -> RunSummary:
    """Run every task of ``cfg`` that the run's store and the weights cache do not hold."""
    device = _driver_device(cfg)
    summary = RunSummary(cfg.run_dir())
    check_experiment(cfg)  # data roots, specs, a user's model: before any work
    cache = WeightsCache(cfg.model_cache_dir(), warn=warn)
    lock = summary.run_dir / ".advcompare.lock"
    busy = (
        f"another advcompare run is writing to '{summary.run_dir}' (it holds {lock.name}); "
        f"wait for it to finish or pass another --out"
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(file_lock(lock, busy))
        stack.enter_context(deterministic_cudnn())  # same seed, same figures on a GPU
        store = stack.enter_context(ResultStore(summary.run_dir))
        store.set_meta("name", cfg.name)
        store.set_meta("fidelity_tolerance", repr(cfg.fidelity_tolerance))
        store.set_meta("seeds", json.dumps(list(cfg.training_seeds)))
        store.set_meta("statistics", json.dumps(vars(cfg.statistics)))
        store.set_meta("claim_budgets", json.dumps(list(cfg.claim_budgets)))
        store.set_meta("provenance", json.dumps(run_record(cfg, device)))
        datasets = _load_datasets(cfg)
        attacked = {n: attack_subset(d.test, cfg.samples, cfg.seed) for n, d in datasets.items()}
        if executor is None:
            executor = make_executor(cfg.executor, str(device))
            stack.callback(executor.close)
        plan = build_plan(cfg, datasets, attacked, executor.name, executor.concurrency)
        summary.executor, summary.concurrency = executor.name, executor.concurrency
        driver = Driver(cfg, store, cache, summary, datasets, attacked, device, executor, log, warn)
        todo, values = _schedule(plan, store, driver, stack, log)
        store.set_meta("current_keys", json.dumps(summary.keys))
        if executor.name != "serial" and todo:
            log(f"{len(todo)} tasks on {executor.name} ({executor.concurrency} at once)")
        bar = progress_bar(
            total=len(todo), desc="tasks", unit="task", leave=False, disable=len(todo) < 2
        )

        def on_result(task: Task, result: Any) -> None:
            driver.on_result(task, result)
            bar.update()

        try:
            executor.run(todo, values, on_result)
        finally:
            bar.close()
        driver.draw_examples()
    return summary
