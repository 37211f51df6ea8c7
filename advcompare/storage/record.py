"""The typed record of one graded cell: what a task's result becomes once the driver stores
it, what the store returns and what the API builds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MAIN = "main"


@dataclass(frozen=True)
class CellRecord:
    """One graded cell: what ran (dataset, defense, threat model, label, attack, backend,
    spec), on which model (``model_key``, trained with ``seed``), its role (``main``,
    ``eps_curve`` or ``reference``), the backend's
    notes, every metric of :mod:`advcompare.analysis.metrics`, how it ran (executor, cells at once,
    node) and its verdict against the paper when it was stored."""

    key: str
    dataset: str | None
    label: str
    attack: str
    backend: str
    spec: dict[str, Any]
    notes: list[str]
    metrics: dict[str, Any]
    model_key: str
    defense: str = "none"
    threat: str = "adaptive"
    role: str = MAIN
    executor: str = "serial"
    concurrency: int = 1
    node: str = ""
    verdict: dict[str, Any] | None = None
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The record as a plain dict (the shape the verdict's cause table matches)."""
        return asdict(self)
