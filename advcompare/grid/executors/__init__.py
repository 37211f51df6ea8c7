"""Executors by name: ``serial`` (in-process, one cell after another), ``processes`` (cells
side by side in a pool of worker processes on this machine's cores) and ``ray`` (Ray core
tasks on this machine's cores, its GPUs, or a cluster)."""

from __future__ import annotations

from advcompare.errors import require_known
from advcompare.grid.executors.base import EXECUTORS, Executor, ExecutorConfig


def make_executor(config: ExecutorConfig, device: str = "cpu") -> Executor:
    """The executor ``config`` names, ready to run tasks on ``device`` (close it when done)."""
    require_known("executor", config.name, list(EXECUTORS))
    if config.name == "ray":
        from advcompare.grid.executors.ray_executor import RayExecutor

        return RayExecutor(config)
    if config.name == "processes":
        from advcompare.grid.executors.processes import ProcessExecutor

        return ProcessExecutor(config.cpus_per_cell, device)
    from advcompare.grid.executors.serial import SerialExecutor

    return SerialExecutor(config.cpus_per_cell)


__all__ = ["EXECUTORS", "Executor", "ExecutorConfig", "make_executor"]
