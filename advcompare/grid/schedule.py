"""The order a parallel executor starts work in: longest path first, by a rough cost per
task (never a reported figure)."""

from __future__ import annotations

from advcompare.adapters.registry import implementation
from advcompare.grid.plan import Task

# An attack whose adapter entry gives no cost: assume a slow one (ordering only).
UNKNOWN_SECONDS_PER_IMAGE = 0.5


def expected_seconds(task: Task) -> float:
    """A rough cost of ``task`` for ordering work: images × the adapter entry's seconds per
    image (measured by ``benchmarks/executor_scaling.py``; never a reported figure) for
    attack cells and shards; a small positive cost for everything else."""
    if task.cell is None or not task.images:
        return 1e-3
    entry = task.cell.entry
    impl = implementation(entry.backend, entry.spec.attack)
    rate = impl.seconds_per_image if impl and impl.seconds_per_image else None
    return task.images * (rate or UNKNOWN_SECONDS_PER_IMAGE)


def by_priority(tasks: list[Task]) -> list[Task]:
    """``tasks`` longest path first (a task's rank: its cost plus the largest rank among the
    tasks that wait for it), which is still a dependency order since every cost is positive.
    A parallel executor that starts work in this order does not leave a long cell for last."""
    waiting_on: dict[str, list[Task]] = {}
    for task in tasks:
        for key in task.deps:
            waiting_on.setdefault(key, []).append(task)
    rank: dict[str, float] = {}
    for task in reversed(tasks):  # dependents come after what they need
        after = [rank[t.key] for t in waiting_on.get(task.key, []) if t.key in rank]
        rank[task.key] = expected_seconds(task) + max(after, default=0.0)
    return sorted(tasks, key=lambda t: -rank[t.key])  # stable: plan order among equals
