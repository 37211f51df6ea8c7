"""The executor contract: run a plan's tasks in dependency order and hand each result to the
driver as it arrives. The driver alone writes the results store and the weights cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

if TYPE_CHECKING:
    from advcompare.plan import Task

EXECUTORS = ("serial", "ray")

OnResult = Callable[["Task", Any], None]


@dataclass(frozen=True)
class ExecutorConfig:
    """How cells are executed (``[executor]`` in the config, ``--executor`` and friends).

    ``cpus_per_cell`` is torch's thread count in each cell (and the CPUs Ray reserves for
    it); ``None`` keeps torch's default in a serial run and means 1 under Ray.
    ``gpus_per_cell`` may be fractional (0.25: four small-CNN cells share a GPU).
    ``images_per_shard``: split each attack cell into shards of that many images (rounded
    up to whole batches) that run as separate tasks, then one task joins and grades them;
    0 never splits; ``None`` never splits serially and, under Ray, spreads a cell over the
    cells that can run at once. Split or not, a cell's figures are the same.
    ``shared_cache``: every worker can read the driver's weights cache (a shared
    filesystem), so weights travel as paths rather than through Ray's object store.
    """

    name: str = "serial"
    address: str | None = None
    cpus_per_cell: int | None = None
    gpus_per_cell: float = 0.0
    images_per_shard: int | None = None
    shared_cache: bool = False
    max_retries: int = 3


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
