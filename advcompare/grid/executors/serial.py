"""The default executor: every task in this process, one after another, in plan order."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

import torch

from advcompare.grid.executors.base import OnResult
from advcompare.grid.plan import Dep, Task


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
        results = dict(values)
        waiting = Counter(key for task in tasks for key in task.deps)
        for task in tasks:
            args = [results[a.key] if isinstance(a, Dep) else a for a in task.args]
            result = task.fn(*args)
            results[task.key] = result
            on_result(task, result)
            for key in task.deps:  # free what no later task needs (per-sample tensors)
                waiting[key] -= 1
                if waiting[key] == 0 and key not in values:
                    results.pop(key, None)
            if waiting[task.key] == 0:
                results.pop(task.key, None)

    def close(self) -> None:
        if self._limits is not None:
            self._limits.restore_original_limits()
            self._limits = None
        torch.set_num_threads(self._previous)
