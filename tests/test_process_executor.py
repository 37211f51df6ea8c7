"""The processes executor: cells side by side in worker processes, with the figures of a
serial run, a lone task in the driver, and a worker's error raised as itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from advcompare.config.experiment import apply_overrides, load_config
from advcompare.errors import AdvCompareError, ConfigError
from advcompare.grid.executors import ExecutorConfig, make_executor
from advcompare.grid.executors.processes import ProcessExecutor, worker_count
from advcompare.grid.plan import MODEL, Dep, Task
from advcompare.grid.runner import run_experiment
from advcompare.report import write_report
from advcompare.storage.store import ResultStore
from test_executors import SMALL, _assert_same_figures, _config


def _pid(*_: object) -> int:
    return os.getpid()


def _fail(*_: object) -> None:
    raise AdvCompareError("the cell's data root is gone; pass --data-root")


def _task(key: str, fn, *deps: str, kind: str = "attack", light: bool = False) -> Task:
    return Task(key, kind, key, fn, tuple(Dep(d) for d in deps), "digits", light=light)


def test_worker_count_is_cores_over_threads_per_cell():
    assert worker_count(1, cpus=2) == 2
    assert worker_count(2, cpus=8) == 4
    assert worker_count(4, cpus=2) == 1  # never none


def test_a_lone_task_runs_here_and_independent_ones_in_workers():
    """Training (the only task ready, nothing running) runs in the driver with all its
    threads; the two cells that wait for it run in worker processes; the light join, here."""
    executor = ProcessExecutor(threads=1)
    executor.concurrency = 2
    tasks = [
        _task("model", _pid, kind=MODEL),
        _task("cell-a", _pid, "model"),
        _task("cell-b", _pid, "model"),
        _task("join", _pid, "cell-a", "cell-b", light=True),
    ]
    seen: dict[str, int] = {}
    try:
        executor.run(tasks, {}, lambda task, pid: seen.setdefault(task.key, pid))
    finally:
        executor.close()
    here = os.getpid()
    assert seen["model"] == here and seen["join"] == here
    assert here not in (seen["cell-a"], seen["cell-b"])
    assert list(seen)[0] == "model" and list(seen)[-1] == "join"


def test_a_workers_error_is_raised_as_itself_and_the_workers_stop():
    executor = ProcessExecutor(threads=1)
    executor.concurrency = 2
    tasks = [_task("a", _pid), _task("b", _fail)]
    with pytest.raises(AdvCompareError, match="pass --data-root"):
        executor.run(tasks, {}, lambda *_: None)
    assert executor._pool is None  # stopped, not left running
    executor.close()


def test_the_processes_executor_is_chosen_by_name_and_validated(tmp_path: Path):
    executor = make_executor(ExecutorConfig(name="processes", cpus_per_cell=1))
    assert executor.name == "processes" and executor.concurrency >= 1
    executor.close()
    cfg = apply_overrides(load_config(_config(tmp_path)), executor="processes")
    assert cfg.executor.name == "processes"
    with pytest.raises(ConfigError, match="known executors: serial, processes, ray"):
        apply_overrides(load_config(_config(tmp_path)), executor="threads")


def test_cells_side_by_side_give_the_figures_of_a_serial_run(
    tmp_path: Path, shared_cache, monkeypatch
):
    """At one thread per cell, the serial run and the processes run (two workers, each cell
    split into two shards, oblivious cells waiting for the crafted ones) store the same
    figures but time, and each cell says how it ran."""
    text = SMALL.split("[attacks.bim]")[0].replace(
        'name = "small"', 'name = "small"\ndefenses = ["none", "gradient_masking"]'
    )
    cfg = load_config(_config(tmp_path, text))
    serial = apply_overrides(cfg, out=str(tmp_path / "serial"), cpus_per_cell=1)
    run_experiment(serial, log=lambda *_: None)
    parallel = apply_overrides(cfg, out=str(tmp_path / "processes"), executor="processes")
    executor = ProcessExecutor(threads=1)
    executor.concurrency = 2
    try:
        summary = run_experiment(parallel, log=lambda *_: None, executor=executor)
    finally:
        executor.close()
    assert len(summary.computed) == 3  # none + masking oblivious + masking adaptive
    for out in ("serial", "processes"):
        write_report(tmp_path / out)
    _assert_same_figures(tmp_path / "serial", tmp_path / "processes")
    with ResultStore(summary.run_dir) as store:
        assert {(c.executor, c.concurrency) for c in store.cells()} == {("processes", 2)}
