"""The typed record of one graded cell: what a task's result becomes once the driver stores
it, what the store returns and what the API builds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# A cell's role in the grid: a main entry, a point of a bounded attack's budget curve, the
# strength reference of the norm the main entries minimise, or a control run of a cause.
MAIN, EPS_CURVE, REFERENCE, CONTROL = "main", "eps_curve", "reference", "control"


@dataclass(frozen=True)
class CellId:
    """Where a cell sits in the grid, typed and carried from the plan to the report: the
    dataset (at training seed ``seed``, None when a run trains one), the defense and threat
    model, the attack row's ``label``, the backend, the cell's ``role`` and, for a bounded
    attack, its budget ``eps`` (a budget-curve point differs from its main cell by it alone).
    Names and key labels are composed from these fields, never parsed back."""

    dataset: str
    defense: str
    threat: str
    label: str
    backend: str
    role: str = MAIN
    eps: float | None = None
    seed: int | None = None

    @property
    def key_label(self) -> str:
        """The label a cell key hashes: the row's label, with the ε of a budget-curve point
        (``ifgsm@eps=0.05``, the form stored keys have always hashed)."""
        if self.role == EPS_CURVE and self.eps is not None:
            return f"{self.label}@eps={self.eps:g}"
        return self.label

    @property
    def name(self) -> str:
        """The cell's name in progress lines and logs: ``mnist/ifgsm@eps=0.05/torchattacks``,
        ``mnist#seed1/smoothing:oblivious/cw/art``, ``... (control)``."""
        where = self.dataset if self.seed is None else f"{self.dataset}#seed{self.seed}"
        where = where if self.defense == "none" else f"{where}/{self.defense}:{self.threat}"
        tail = " (control)" if self.role == CONTROL else ""
        return f"{where}/{self.key_label}/{self.backend}{tail}"


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

    @property
    def cell_id(self) -> CellId:
        """Where the cell sits in the grid (its budget ε from its spec, for a bounded attack's
        cell; the spec holds ``eps`` for those alone)."""
        eps = self.spec.get("eps")
        return CellId(
            self.dataset or "",
            self.defense,
            self.threat,
            self.label,
            self.backend,
            self.role,
            None if eps is None else float(eps),
        )

    def as_dict(self) -> dict[str, Any]:
        """The record as a plain dict (the shape the verdict's cause table matches)."""
        return asdict(self)
