"""The driver: plan the grid, skip what is stored, hand the rest to an executor, store
results as they arrive.

The plan (:mod:`advcompare.plan`) lists every task with its key; a cell already in the
run's store is skipped and a model already in the weights cache is loaded, so rerunning an
interrupted command resumes where it stopped. Whatever executes the tasks (in-process or Ray
workers), only this driver writes ``results.sqlite``, ``adv/*.safetensors`` and the cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from tqdm.auto import tqdm

from advcompare.adapters import get_backend
from advcompare.adapters.support import require_fits
from advcompare.config import ExperimentConfig
from advcompare.entry import AttackEntry
from advcompare.data import (
    Dataset,
    Split,
    imagefolder_name,
    is_imagefolder,
    load_dataset,
    num_classes_of,
    preflight_dataset,
)
from advcompare.defenses.preflight import preflight, raised
from advcompare.defenses.registry import Defended, assemble_defense, needs_training
from advcompare.devices import resolve_device
from advcompare.errors import AdvCompareError
from advcompare.executors import Executor, make_executor
from advcompare.figures import DIGIT_DATASETS, plot_example_seven
from advcompare.crafting import craft, grade_crafted
from advcompare.metrics import grade_clean, timed_predict
from advcompare.plan import (
    DEFENSE,
    MODEL,
    OBLIVIOUS_CELL,
    SHARD,
    Plan,
    Task,
    build_plan,
    without_dep,
)
from advcompare.store import ResultStore, samples_path
from advcompare.tasks import CellResult, base_model
from advcompare.train import save_trained, write_history
from advcompare.weights import Weights, WeightsCache


@dataclass
class RunSummary:
    """What a run did: cells computed now, cells found already stored, where it wrote."""

    run_dir: Path
    executor: str = "serial"
    concurrency: int = 1
    computed: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def attack_subset(test: Split, samples: int, seed: int) -> Split:
    """The test images to attack: all of them, or a seeded random ``samples`` of them."""
    if samples <= 0 or samples >= len(test):
        return test
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:samples]
    idx = idx.sort().values
    return Split(test.x[idx], test.y[idx])


def run_cell(
    model: torch.nn.Module,
    entry: AttackEntry,
    data: Split,
    batch_size: int,
    device: torch.device,
    num_classes: int,
    seed: int,
    desc: str = "",
    grade_model: torch.nn.Module | None = None,
) -> tuple[dict, list[str], dict[str, torch.Tensor]]:
    """Attack ``data`` batch by batch with one backend, then grade it.

    Returns (metrics, notes, per-sample tensors: ``x_adv``, ``correct``, ``success``).
    ``grade_model`` (default ``model``) is the classifier that is graded: a defended one,
    where the attack ran on another view of it (threat models). Each batch is seeded from
    ``seed`` and its index (:func:`advcompare.crafting.seed_batch`), so the libraries'
    random choices (Pixle, differential evolution) repeat.
    """
    crafted = craft(model, entry, data, batch_size, device, num_classes, seed, desc=desc)
    return grade_crafted(grade_model if grade_model is not None else model, data, crafted, device)


def adversarial_path(run_dir: Path, key: str) -> Path:
    """Where a cell's per-sample results live (read by the agreement table)."""
    return samples_path(run_dir, key)


@contextlib.contextmanager
def file_lock(path: Path, busy: str, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; if another process holds it, fail with ``busy``
    (or, with ``wait``, block until it is free)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise AdvCompareError(busy) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _judge(record: dict[str, Any], tolerance: float) -> dict | None:
    from advcompare.verdict import judge_cell

    return judge_cell(record, tolerance)


class Driver:
    """The run's single writer: records models, defenses and cells as results arrive."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        store: ResultStore,
        cache: WeightsCache,
        summary: RunSummary,
        datasets: dict[str, Dataset],
        attacked: dict[str, Split],
        device: torch.device,
        executor: Executor,
        log: Callable[[str], None],
    ) -> None:
        self.cfg, self.store, self.cache, self.summary = cfg, store, cache, summary
        self.datasets, self.attacked, self.device = datasets, attacked, device
        self.executor, self.log = executor, log
        self.models: dict[str, torch.nn.Module] = {}

    # models -------------------------------------------------------------------------
    def model_ready(self, dataset: str, weights: Weights) -> None:
        """Record the base model: clean metrics, loss curves, the defenses built on it that
        need no training."""
        model = base_model(weights, self.device)
        self.models[dataset] = model
        data = self.attacked[dataset]
        pred, seconds = timed_predict(model, data.x, self.device)
        summary = self.datasets[dataset].summary()
        if weights.factory:  # a user's model: say which, for the report
            from advcompare.user_model import weights_digest

            summary |= {
                "model": weights.factory,
                "weights": self.cfg.weights,
                "weights_sha256": weights_digest(Path(self.cfg.weights).expanduser()),
            }
        self.store.set_dataset(
            dataset,
            summary=summary,
            model_key=weights.key,
            clean=grade_clean(data.y, pred, seconds),
            history=weights.history,
        )
        training_dir = self.summary.run_dir / "training"
        training_dir.mkdir(exist_ok=True)
        if weights.history:  # a user's model comes without one
            write_history(
                weights.history, training_dir / f"{dataset}_loss", title=f"{dataset}: training loss"
            )
        how = (
            ("loaded from cache" if weights.from_cache else "trained")
            if not weights.factory
            else f"{weights.factory} loaded from {self.cfg.weights}"
        )
        self.log(
            f"[{dataset}] model {weights.key} "
            f"({how}; "
            f"train/val/test = {len(self.datasets[dataset].train)}/"
            f"{len(self.datasets[dataset].val)}/{len(self.datasets[dataset].test)})"
        )
        from advcompare.defenses.registry import key_of

        for name, params in self.cfg.defenses:
            if not needs_training(name):
                key = key_of(name, params, weights.key, self.cfg.attacks)
                self._record_defense(dataset, assemble_defense(name, params, model, key))

    def defense_ready(self, dataset: str, name: str, weights: Weights) -> None:
        params = dict(self.cfg.defenses)[name]
        trained = base_model(weights, self.device)
        self._record_defense(
            dataset,
            assemble_defense(
                name,
                params,
                self.models[dataset],
                weights.key,
                trained,
                weights.history,
                weights.from_cache,
            ),
        )

    def _record_defense(self, dataset: str, defended: Defended) -> None:
        """Clean metrics and preflight flags of a defended classifier, for the report."""
        data = self.attacked[dataset]
        pred, seconds = timed_predict(defended.classifier, data.x, self.device)
        flags = preflight(
            defended.classifier, data.x[:64].to(self.device), data.y[:64].to(self.device)
        )
        self.store.set_defense(
            dataset,
            defended.name,
            {
                "key": defended.key,
                "params": defended.params,
                "clean": grade_clean(data.y, pred, seconds),
                "preflight": raised(flags),
                "history": defended.history,
            },
        )

    # results ------------------------------------------------------------------------
    def on_result(self, task: Task, result: Any) -> None:
        """Store what a task returned, at once (an interrupted run keeps it)."""
        if task.kind == MODEL:
            save_trained(self.cache, result, self.datasets[task.dataset], self.cfg.train)
            self.summary.trained.append(task.dataset)
            self.model_ready(task.dataset, result)
        elif task.kind == DEFENSE:
            self.cache.save(
                result, {"defense": task.defense, "params": dict(self.cfg.defenses)[task.defense]}
            )
            self.summary.trained.append(f"{task.dataset}/{task.defense}")
            self.defense_ready(task.dataset, task.defense, result)
        elif task.kind != SHARD:  # a shard's images reach the store with its graded cell
            self.store_cell(task, result)

    def store_cell(self, task: Task, result: CellResult) -> None:
        cell = task.cell
        assert cell is not None
        entry = cell.entry
        record: dict[str, Any] = {
            "dataset": cell.dataset,
            "label": entry.label,
            "attack": entry.spec.attack,
            "backend": entry.backend,
            "spec": entry.spec.as_dict(),
            "notes": result.notes,
            "metrics": result.metrics,
            "model_key": cell.defense_key,
            "defense": cell.defense,
            "threat": cell.threat,
            "role": cell.role,
        }
        self.store.save_samples(task.key, result.samples)
        self.store.add_cell(
            task.key,
            **record,
            executor=self.executor.name,
            concurrency=self.executor.concurrency,
            node=result.node,
            verdict=_judge(record, self.cfg.fidelity_tolerance),
        )
        self.summary.computed.append(task.name)
        m = result.metrics
        self.log(
            f"[{task.name}] adversarial F1 {m['adv_f1']:.3f} (clean {m['clean_f1']:.3f}), "
            f"success {m['success_rate']:.1%}, "
            f"{m['attack_time_per_image'] * 1e3:.1f} ms/image"
        )


def _driver_device(cfg: ExperimentConfig) -> torch.device:
    """Where the driver evaluates models for its records. Ray workers resolve ``cfg.device``
    on their own node, so a driver without a GPU may still send cells to GPU workers."""
    if cfg.executor.name == "ray" and cfg.device == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return resolve_device(cfg.device)


def _stored_result(store: ResultStore, key: str) -> CellResult | None:
    """A stored cell as a task result (an oblivious cell's input), if its samples load."""
    samples = store.load_samples(key)
    cells = store.cells([key])
    if samples is None or not cells or "x_adv" not in samples:
        return None
    return CellResult(cells[0]["metrics"], cells[0]["notes"], samples)


def _schedule(
    plan: Plan,
    store: ResultStore,
    cache: WeightsCache,
    driver: Driver,
    summary: RunSummary,
    locks: contextlib.ExitStack,
    log: Callable[[str], None],
) -> tuple[list[Task], dict[str, Any]]:
    """Split the plan into what is already done (stored cells, cached models, recorded at
    once) and the tasks still to run, with the values those tasks need."""
    values = dict(plan.values)
    todo: list[Task] = []
    shared = driver.cfg.executor.shared_cache

    @functools.cache
    def complete(key: str) -> bool:  # asked once per cell, however many shards it has
        return store.has_cell(key) and store.samples_readable(key)

    for task in plan.tasks:
        if task.kind == MODEL and driver.cfg.model:  # a user's model: read, never trained
            weights = task.fn(*task.args)
            values[task.key] = weights
            driver.model_ready(task.dataset, weights)
            continue
        if task.kind in (MODEL, DEFENSE):
            num_classes = driver.datasets[task.dataset].num_classes
            weights = cache.load(task.key, num_classes)
            if weights is None:
                cache.check_writable()
                # one trainer per model across concurrent runs sharing this cache
                lock = cache.root / f".{task.key}.lock"
                try:
                    locks.enter_context(file_lock(lock, "busy"))
                except AdvCompareError:
                    log(f"[{task.name}] another run is training this model; waiting for it")
                    locks.enter_context(file_lock(lock, "", wait=True))
                weights = cache.load(task.key, num_classes)
            if weights is None:
                todo.append(task)
                continue
            values[task.key] = weights.by_path(cache) if shared else weights
            if task.kind == MODEL:
                driver.model_ready(task.dataset, weights)
            else:
                driver.defense_ready(task.dataset, task.defense, weights)
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
            log(
                f"[{task.name}] stored, but its per-sample file is missing or unreadable: "
                f"recomputing it"
            )
        if task.kind == OBLIVIOUS_CELL:
            crafted = task.deps[-1]
            pending = any(t.key == crafted for t in todo)
            if not pending:
                stored = _stored_result(store, crafted)
                if stored is None:
                    task = without_dep(task)
                else:
                    values[crafted] = stored
        todo.append(task)
    needed = {key for task in todo for key in task.deps}
    return todo, {k: v for k, v in values.items() if k in needed}


def _twice(names: list[str]) -> str:
    return next(n for n in names if names.count(n) > 1)


def _preflight_user_model(cfg: ExperimentConfig, num_classes: dict[str, int]) -> None:
    """A user's model (``model``/``weights``): built, loaded and probed before any work, and
    every attack checked against its input shape."""
    from advcompare.api import _check_entry
    from advcompare.spec import GRADIENT_ATTACKS
    from advcompare.user_model import check_user_model

    gradient = sorted({e.spec.attack for e in cfg.attacks} & set(GRADIENT_ATTACKS))
    check_user_model(cfg.model, cfg.weights, cfg.input_shape, num_classes, gradient)
    for entry in cfg.attacks:
        for k in set(num_classes.values()):
            _check_entry(entry, torch.Size((1, *cfg.input_shape)), k)


def run_experiment(
    cfg: ExperimentConfig, log: Callable[[str], None] = print, executor: Executor | None = None
) -> RunSummary:
    """Run every task of ``cfg`` that the run's store and the weights cache do not hold."""
    device = _driver_device(cfg)
    summary = RunSummary(cfg.run_dir())
    # Check data roots and every spec against its backend before any work starts.
    num_classes: dict[str, int] = {}
    for dataset_name in cfg.datasets:
        preflight_dataset(dataset_name, cfg.data_root, cfg.download)
        num_classes[dataset_name] = num_classes_of(dataset_name)
        for entry in cfg.attacks:
            require_fits(entry.spec, num_classes[dataset_name], dataset_name)
            get_backend(entry.backend).check(entry.spec, num_classes[dataset_name])
    shown = [imagefolder_name(n) if is_imagefolder(n) else n for n in cfg.datasets]
    if len(set(shown)) < len(shown):
        raise AdvCompareError(
            f"config key 'datasets': two image folders share the name "
            f"'{_twice(shown)}' in results; rename one"
        )
    if cfg.model:
        _preflight_user_model(cfg, num_classes)
    cache = WeightsCache(cfg.model_cache_dir())
    lock = summary.run_dir / ".advcompare.lock"
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            file_lock(
                lock,
                f"another advcompare run is writing to '{summary.run_dir}' (it holds "
                f"{lock.name}); wait for it to finish or pass another --out",
            )
        )
        store = stack.enter_context(ResultStore(summary.run_dir))
        store.set_meta("name", cfg.name)
        store.set_meta("fidelity_tolerance", repr(cfg.fidelity_tolerance))
        loaded = [
            load_dataset(name, cfg.data_root, cfg.download, cfg.seed, input_shape=cfg.input_shape)
            for name in cfg.datasets
        ]
        datasets = {
            (d.name if is_imagefolder(n) else n): d  # → imagefolder:<folder>
            for n, d in zip(cfg.datasets, loaded)
        }
        attacked = {
            name: attack_subset(d.test, cfg.samples, cfg.seed) for name, d in datasets.items()
        }
        if executor is None:
            executor = make_executor(cfg.executor)
            stack.callback(executor.close)
        plan = build_plan(cfg, datasets, attacked, executor.name, executor.concurrency)
        summary.executor, summary.concurrency = executor.name, executor.concurrency
        driver = Driver(cfg, store, cache, summary, datasets, attacked, device, executor, log)
        todo, values = _schedule(plan, store, cache, driver, summary, stack, log)
        store.set_meta("current_keys", json.dumps(summary.keys))
        if executor.name != "serial" and todo:
            log(f"{len(todo)} tasks on {executor.name} ({executor.concurrency} at once)")
        bar = tqdm(total=len(todo), desc="tasks", unit="task", leave=False, disable=len(todo) < 2)

        def on_result(task: Task, result: Any) -> None:
            driver.on_result(task, result)
            bar.update()

        try:
            executor.run(todo, values, on_result)
        finally:
            bar.close()
        for name in cfg.datasets:
            if name in DIGIT_DATASETS and name in driver.models:
                data = attacked[name]
                undefended = [
                    c
                    for c in store.cells(summary.keys)
                    if c["dataset"] == name
                    and c["defense"] == "none"
                    and c.get("role", "main") == "main"
                ]
                plot_example_seven(
                    driver.models[name],
                    data.x,
                    data.y,
                    undefended,
                    summary.run_dir / "adv",
                    summary.run_dir / f"example_7_{name}.png",
                )
    return summary
