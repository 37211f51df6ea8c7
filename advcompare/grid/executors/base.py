"""The executor contract: run a plan's tasks in dependency order and hand each result to the
driver as it arrives. The driver alone writes the results store and the weights cache."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from advcompare.config.settings import EXECUTORS, ExecutorConfig
from advcompare.grid.plan import Dep

if TYPE_CHECKING:
    from advcompare.grid.plan import Task

__all__ = ["EXECUTORS", "Executor", "ExecutorConfig", "OnResult", "TaskResults"]

OnResult = Callable[["Task", Any], None]


class Executor(Protocol):
    """Runs tasks; ``concurrency`` is how many cells may run at once (stored per cell)."""

    name: str
    concurrency: int

    def run(self, tasks: Iterable["Task"], values: dict[str, Any], on_result: OnResult) -> None:
        """Run ``tasks`` (topologically ordered; ``values`` hold results computed earlier,
        by key) and call ``on_result(task, result)`` for each, as soon as it finishes."""
        ...

    def close(self) -> None:
        """Release what the executor started (a local Ray instance, say)."""
        ...


class TaskResults:
    """The results an in-machine executor holds while it runs a plan: each task's
    :class:`~advcompare.grid.plan.Dep` arguments resolved, and each result dropped as soon as
    no later task needs it (per-sample tensors); the values supplied up front are kept."""

    def __init__(self, tasks: list["Task"], values: dict[str, Any]) -> None:
        self._values = values
        self._results = dict(values)
        self._waiting = Counter(key for task in tasks for key in task.deps)

    def ready(self, task: "Task") -> bool:
        """Whether every result ``task`` needs is here."""
        return all(key in self._results for key in task.deps)

    def args(self, task: "Task") -> list[Any]:
        """``task``'s arguments, each :class:`Dep` replaced by the result it names."""
        return [self._results[a.key] if isinstance(a, Dep) else a for a in task.args]

    def add(self, task: "Task", result: Any) -> None:
        """Keep ``task``'s result for the tasks that need it; drop what no task needs now."""
        self._results[task.key] = result
        for key in task.deps:
            self._waiting[key] -= 1
            if self._waiting[key] == 0 and key not in self._values:
                self._results.pop(key, None)
        if self._waiting[task.key] == 0:
            self._results.pop(task.key, None)
