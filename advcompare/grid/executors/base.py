"""The executor contract: run a plan's tasks in dependency order and hand each result to the
driver as it arrives. The driver alone writes the results store and the weights cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from advcompare.config.settings import EXECUTORS, ExecutorConfig

if TYPE_CHECKING:
    from advcompare.grid.plan import Task

__all__ = ["EXECUTORS", "Executor", "ExecutorConfig", "OnResult"]

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
