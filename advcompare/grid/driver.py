"""The run's single writer: whatever executes the tasks (in-process or Ray workers), only the
driver writes ``results.sqlite``, ``adv/*.safetensors``, the weights cache and the figures
that need a model. It records each result the moment it arrives, so an interrupted run keeps
every finished cell."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from advcompare.analysis.statistics import with_intervals
from advcompare.config.checks import low_accuracy_warning
from advcompare.config.settings import ExperimentConfig
from advcompare.data.datasets import Dataset, Split, holds_digits
from advcompare.defenses.defended import Defended
from advcompare.defenses.registry import assemble_defense, key_of, needs_training
from advcompare.grid.evaluation import dataset_record, defense_record, write_loss_curves
from advcompare.grid.executors import Executor
from advcompare.grid.plan import DEFENSE, MODEL, SHARD, Task
from advcompare.grid.tasks import CellResult, base_model
from advcompare.models.train import save_trained
from advcompare.models.weights import Weights, WeightsCache
from advcompare.paper.verdict import judge_cell
from advcompare.report.figures import plot_example_seven
from advcompare.results import MAIN, CellRecord
from advcompare.storage.store import ResultStore


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


class Driver:
    """Records models, defenses and cells as results arrive (see the module docstring)."""

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
        warn: Callable[[str], None] = print,
    ) -> None:
        self.cfg, self.store, self.cache, self.summary = cfg, store, cache, summary
        self.datasets, self.attacked, self.device = datasets, attacked, device
        self.executor, self.log, self.warn = executor, log, warn
        self.models: dict[tuple[str, int], nn.Module] = {}

    # models -------------------------------------------------------------------------
    def model_ready(self, dataset: str, weights: Weights, seed: int | None = None) -> None:
        """Record the base model trained with ``seed`` (default: the run's first): clean
        metrics, loss curves, the defenses built on it that need no training."""
        seed = self.cfg.headline_seed if seed is None else seed
        model = base_model(weights, self.device)
        self.models[(dataset, seed)] = model
        data = self.datasets[dataset]
        record = dataset_record(
            model, weights, data, self.attacked[dataset], self.device, self.cfg.weights
        )
        self.store.set_dataset(dataset, **record, seed=seed)
        headline = seed == self.cfg.headline_seed
        if headline:
            write_loss_curves(weights, self.summary.run_dir, dataset)
            self._check_accuracy(dataset, record["clean"])
        how = (
            ("loaded from cache" if weights.from_cache else "trained")
            if not weights.factory
            else f"{weights.factory} loaded from {self.cfg.weights}"
        )
        self.log(
            f"[{dataset}{'' if headline else f'#seed{seed}'}] model {weights.key} ({how}; "
            f"train/val/test = "
            f"{len(data.train)}/{len(data.val)}/{len(data.test)})"
        )
        for name, params in self.cfg.defenses:
            if not needs_training(name):
                key = key_of(name, params, weights.key, self.cfg.attacks)
                defended = assemble_defense(name, params, model, key)
                self._record_defense(dataset, defended, seed)

    def _check_accuracy(self, dataset: str, clean: dict) -> None:
        """One stderr line when the model is mostly wrong on the attacked images (see
        :func:`advcompare.config.checks.low_accuracy_warning`); the report repeats it."""
        message = low_accuracy_warning(
            clean.get("clean_accuracy"), self.datasets[dataset].num_classes
        )
        if message:
            self.warn(f"[{dataset}] {message}")

    def defense_ready(
        self, dataset: str, name: str, weights: Weights, seed: int | None = None
    ) -> None:
        """Record a trained defense (distillation, adversarial training)."""
        seed = self.cfg.headline_seed if seed is None else seed
        params = dict(self.cfg.defenses)[name]
        trained = base_model(weights, self.device)
        defended = assemble_defense(
            name,
            params,
            self.models[(dataset, seed)],
            weights.key,
            trained,
            weights.history,
            weights.from_cache,
        )
        self._record_defense(dataset, defended, seed)

    def _record_defense(self, dataset: str, defended: Defended, seed: int) -> None:
        record = defense_record(defended, self.attacked[dataset], self.device)
        self.store.set_defense(dataset, defended.name, record, seed)

    # results ------------------------------------------------------------------------
    def on_result(self, task: Task, result: Any) -> None:
        """Store what a task returned, at once (an interrupted run keeps it)."""
        if task.kind == MODEL:
            save_trained(self.cache, result, self.datasets[task.dataset], self.cfg.train)
            self.summary.trained.append(task.dataset)
            self.model_ready(task.dataset, result, task.seed)
        elif task.kind == DEFENSE:
            params = dict(self.cfg.defenses)[task.defense]
            self.cache.save(result, {"defense": task.defense, "params": params})
            self.summary.trained.append(f"{task.dataset}/{task.defense}")
            self.defense_ready(task.dataset, task.defense, result, task.seed)
        elif task.kind != SHARD:  # a shard's images reach the store with its graded cell
            self.store_cell(task, result)

    def store_cell(self, task: Task, result: CellResult) -> None:
        """The graded cell as a record, judged against the paper, with its samples."""
        cell = task.cell
        assert cell is not None
        entry = cell.entry
        metrics = with_intervals(result.metrics, result.samples, self.cfg.statistics, self.cfg.seed)
        record = CellRecord(
            key=task.key,
            dataset=cell.id.dataset,
            label=cell.id.label,
            attack=entry.spec.attack,
            backend=entry.backend,
            spec=entry.spec.as_dict(),
            notes=result.notes,
            metrics=metrics,
            model_key=cell.defense_key,
            defense=cell.id.defense,
            threat=cell.id.threat,
            role=cell.id.role,
            executor=self.executor.name,
            concurrency=self.executor.concurrency,
            node=result.node,
            seed=cell.seed,
        )
        record = replace(record, verdict=judge_cell(record.as_dict(), self.cfg.fidelity_tolerance))
        self.store.save_samples(task.key, result.samples)
        self.store.add_cell(record)
        self.summary.computed.append(task.name)
        m = result.metrics
        self.log(
            f"[{task.name}] adversarial F1 {m['adv_f1']:.3f} (clean {m['clean_f1']:.3f}), "
            f"success {m['success_rate']:.1%}, "
            f"{m['attack_time_per_image'] * 1e3:.1f} ms/image"
        )

    # figures that need a model ------------------------------------------------------
    def draw_examples(self) -> None:
        """The paper's "7" figure (Figures 7-11) for every digit dataset whose model is
        loaded: one test 7 under each undefended main attack, with the top-3 classes."""
        for name in self.cfg.datasets:
            seed = self.cfg.headline_seed
            if not holds_digits(name) or (name, seed) not in self.models:
                continue
            undefended = [
                c
                for c in self.store.cells(self.summary.keys)
                if c.dataset == name and c.defense == "none" and c.role == MAIN and c.seed == seed
            ]
            data = self.attacked[name]
            plot_example_seven(
                self.models[(name, seed)],
                data.x,
                data.y,
                undefended,
                self.summary.run_dir / "adv",
                self.summary.run_dir / f"example_7_{name}.png",
            )
