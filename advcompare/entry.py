"""One row of an experiment: a label, a validated attack spec and the backend that runs it."""

from __future__ import annotations

from dataclasses import dataclass

from advcompare.spec import AttackSpec


@dataclass(frozen=True)
class AttackEntry:
    """A labelled attack spec on one backend (the label names the report's row)."""

    label: str
    spec: AttackSpec
    backend: str
