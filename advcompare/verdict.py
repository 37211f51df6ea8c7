"""Does a cell reproduce the paper? A verdict per cell, and the documented cause when not.

A cell with a paper figure *reproduces* the paper when its adversarial macro F1 lies within
``tolerance`` of the paper's (|adv. F1 − paper F1| ≤ tolerance, default 0.10); otherwise it
*differs*. Cells the paper reports nothing for (another dataset, a library comparator or
another attack the paper does not have, a defended classifier, an ε-curve point) get *no
paper figure*.

Why a cell differs is data, not prose in the code: ``advcompare.causes.CAUSES`` is one table
of patterns (which cells a cause can apply to) and texts. For a differing cell every matching
pattern applies, and the one shown is the most specific: the pattern that constrains the most
(see :attr:`~advcompare.causes.Cause.specificity`); ties go to the earlier row.
``docs/fidelity.md`` explains the fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from advcompare.causes import (
    CAUSES,
    DIFFERS,
    NO_FIGURE,
    REPRODUCES,
    VERDICTS,
    Cause,
    cell_field,
)
from advcompare.paper import paper_value

__all__ = [
    "CAUSES",
    "DEFAULT_TOLERANCE",
    "DIFFERS",
    "NO_FIGURE",
    "REPRODUCES",
    "VERDICTS",
    "VERDICT_COLUMNS",
    "Cause",
    "applicable_causes",
    "cell_paper_f1",
    "judge_cell",
    "judge_frame",
    "summary_line",
    "tolerance_from_meta",
]

DEFAULT_TOLERANCE = 0.10

# Float rounding must not turn a gap of exactly the tolerance into "differs".
_EPS = 1e-9


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def cell_paper_f1(cell: Mapping[str, Any]) -> float | None:
    """The paper's adversarial F1 for this cell, or None where the paper gives none."""
    if cell_field(cell, "role") != "main":
        return None
    return paper_value(cell["dataset"], cell["attack"], "f1", cell_field(cell, "defense"))


def applicable_causes(
    cell: Mapping[str, Any],
    verdict: str = DIFFERS,
    gap: float | None = None,
    causes: tuple[Cause, ...] = CAUSES,
) -> list[Cause]:
    """Every cause in ``causes`` that explains ``verdict`` for ``cell``, most specific
    first (ties in table order)."""
    hits = [(i, c) for i, c in enumerate(causes) if c.explains == verdict and c.matches(cell, gap)]
    hits.sort(key=lambda pair: (-pair[1].specificity, pair[0]))
    return [c for _, c in hits]


def judge_cell(cell: Mapping[str, Any], tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """The verdict for one cell record (a dict shaped like ``CellRecord.as_dict()``).

    Returns ``{"verdict", "paper_f1", "gap", "tolerance", "cause"}``: ``gap`` is our
    adversarial F1 minus the paper's (None without a paper figure); ``cause`` is the most
    specific documented cause for a cell that differs or has no figure, else None.
    """
    tolerance = float(tolerance)
    paper_f1 = cell_paper_f1(cell)
    adv_f1 = _number((cell.get("metrics") or {}).get("adv_f1"))
    if paper_f1 is None:
        verdict, gap = NO_FIGURE, None
    elif adv_f1 is None:
        verdict, gap = DIFFERS, None
    else:
        gap = adv_f1 - paper_f1
        verdict = REPRODUCES if abs(gap) <= tolerance + _EPS else DIFFERS
    cause = None
    if verdict != REPRODUCES:
        found = applicable_causes(cell, verdict, gap)
        if found:
            cause = found[0].render(cell)
        elif verdict == DIFFERS and adv_f1 is None:
            cause = "no adversarial F1 was measured"
    return {
        "verdict": verdict,
        "paper_f1": paper_f1,
        "gap": gap,
        "tolerance": tolerance,
        "cause": cause,
    }


VERDICT_COLUMNS = ("verdict", "verdict_gap", "verdict_cause", "verdict_tolerance")


def judge_frame(frame: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Verdicts for every row of a results frame (``advcompare.results.results_frame``'s
    shape: the cell's fields, ``spec`` as JSON or a dict, and its metrics as columns).

    Returns a frame on the same index with the columns ``verdict``, ``verdict_gap``,
    ``verdict_cause`` and ``verdict_tolerance``.
    """
    rows = []
    for record in frame.to_dict(orient="records"):
        cell = dict(record)
        cell["metrics"] = {"adv_f1": record.get("adv_f1")}
        judged = judge_cell(cell, tolerance)
        rows.append(
            {
                "verdict": judged["verdict"],
                "verdict_gap": judged["gap"],
                "verdict_cause": judged["cause"],
                "verdict_tolerance": tolerance,
            }
        )
    return pd.DataFrame(rows, index=frame.index, columns=list(VERDICT_COLUMNS))


def tolerance_from_meta(value: str | None) -> float:
    """The run's tolerance as stored in ``store.meta("fidelity_tolerance")`` (a string)."""
    if value in (None, ""):
        return DEFAULT_TOLERANCE
    return float(value)


def summary_line(verdicts: pd.Series | list[str], tolerance: float) -> str:
    """ "N of M cells reproduce the paper (tolerance 0.10)", M counting cells with a figure."""
    verdicts = list(verdicts)
    judged = [v for v in verdicts if v != NO_FIGURE]
    n = sum(v == REPRODUCES for v in judged)
    return f"{n} of {len(judged)} cells reproduce the paper (tolerance {tolerance:.2f})"
