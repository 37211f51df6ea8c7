"""The default executor: every task in this process, one after another, in plan order."""

from __future__ import annotations

from typing import Any, Iterable

import torch

from advcompare.grid.executors.base import OnResult, TaskResults
from advcompare.grid.plan import Task


class SerialExecutor:
    """In-process execution; ``threads`` sets torch's thread count for the run (None keeps
    torch's default) and is restored on :meth:`close`."""

    name = "serial"
    concurrency = 1

    def __init__(self, threads: int | None = None) -> None:
        self._previous = torch.get_num_threads()
        self._limits = None
        if threads:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(limits=threads)  # NumPy's BLAS (ART) as well
            torch.set_num_threads(threads)

    def run(self, tasks: Iterable[Task], values: dict[str, Any], on_result: OnResult) -> None:
        tasks = list(tasks)
        results = TaskResults(tasks, values)
        for task in tasks:
            result = task.fn(*results.args(task))
            results.add(task, result)
            on_result(task, result)

    def close(self) -> None:
        if self._limits is not None:
            self._limits.restore_original_limits()
            self._limits = None
        torch.set_num_threads(self._previous)
