"""Does a cell reproduce the paper? A verdict per cell, and the documented cause when not.

A cell with a paper figure gets one of three verdicts, from its adversarial macro F1's 95%
bootstrap interval ``[lo, hi]`` (:mod:`advcompare.analysis.statistics`) and the ``tolerance``
(default 0.10):

- *differs* when the paper's figure lies outside the interval widened by the tolerance, however
  wide the interval: the images already tell (with its documented cause);
- *inconclusive* when it lies inside but the interval alone is wider than twice the
  tolerance: the images were too few to tell; the verdict says how many would settle it
  (width shrinks as 1/√n);
- *reproduces* when it lies inside (``lo − tolerance ≤ paper ≤ hi + tolerance``) and the
  interval is narrow enough.

A cell stored without an interval is judged on its point estimate (``lo = hi = adv. F1``).
Cells the paper reports nothing for (another dataset, a library comparator or
another attack the paper does not have, a defended classifier, an ε-curve point) get *no
paper figure*.

Why a cell differs is data, not prose in the code: ``advcompare.paper.causes.CAUSES`` is one table
of patterns (which cells a cause can apply to) and texts. For a differing cell every matching
pattern applies, and the one shown is the most specific: the pattern that constrains the most
(see :attr:`~advcompare.paper.causes.Cause.specificity`); ties go to the earlier row.
``docs/fidelity.md`` explains the fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from advcompare.analysis.statistics import images_to_settle
from advcompare.paper.causes import (
    CAUSES,
    DIFFERS,
    INCONCLUSIVE,
    NO_FIGURE,
    REPRODUCES,
    VERDICTS,
    Cause,
    cell_field,
)
from advcompare.paper.reference import paper_value

__all__ = [
    "CAUSES",
    "DEFAULT_TOLERANCE",
    "DIFFERS",
    "INCONCLUSIVE",
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


def judge_interval(paper: float, lo: float, hi: float, tolerance: float) -> str:
    """:data:`INCONCLUSIVE`, :data:`REPRODUCES` or :data:`DIFFERS` for a paper figure
    against an interval ``[lo, hi]`` (see the module docstring)."""
    if not lo - tolerance - _EPS <= paper <= hi + tolerance + _EPS:
        return DIFFERS  # outside even a wide interval: more images would not change that
    if hi - lo > 2 * tolerance + _EPS:
        return INCONCLUSIVE
    return REPRODUCES


def judge_cell(cell: Mapping[str, Any], tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """The verdict for one cell record (a dict shaped like ``CellRecord.as_dict()``).

    Returns ``{"verdict", "paper_f1", "gap", "tolerance", "cause", "lo", "hi",
    "images_needed"}``: ``gap`` is our adversarial F1 minus the paper's (None without a
    paper figure); ``lo``/``hi`` the interval judged; ``images_needed`` the images that
    would narrow an inconclusive interval to twice the tolerance; ``cause`` the most
    specific documented cause for a cell that differs or has no figure, else None.
    """
    tolerance = float(tolerance)
    paper_f1 = cell_paper_f1(cell)
    metrics = cell.get("metrics") or {}
    adv_f1 = _number(metrics.get("adv_f1"))
    lo, hi = _number(metrics.get("adv_f1_lo")), _number(metrics.get("adv_f1_hi"))
    if lo is None or hi is None:
        lo = hi = adv_f1
    needed = None
    if paper_f1 is None:
        verdict, gap = NO_FIGURE, None
    elif adv_f1 is None or lo is None or hi is None:
        verdict, gap = DIFFERS, None
    else:
        gap = adv_f1 - paper_f1
        verdict = judge_interval(paper_f1, lo, hi, tolerance)
        if verdict == INCONCLUSIVE:
            needed = images_to_settle(int(metrics.get("n") or 0), hi - lo, 2 * tolerance)
    cause = None
    if verdict == INCONCLUSIVE:
        cause = (
            f"the interval ({lo:.3f}–{hi:.3f}) is wider than twice the tolerance; "
            f"about {needed} images would settle it"
            if needed
            else None
        )
    elif verdict != REPRODUCES:
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
        "lo": lo,
        "hi": hi,
        "images_needed": needed,
    }


VERDICT_COLUMNS = (
    "verdict",
    "verdict_gap",
    "verdict_cause",
    "verdict_tolerance",
    "verdict_images_needed",
)


def judge_frame(frame: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Verdicts for every row of a results frame (``advcompare.results.results_frame``'s
    shape: the cell's fields, ``spec`` as JSON or a dict, and its metrics as columns).

    Returns a frame on the same index with the columns ``verdict``, ``verdict_gap``,
    ``verdict_cause`` and ``verdict_tolerance``.
    """
    rows = []
    for record in frame.to_dict(orient="records"):
        cell = dict(record)
        cell["metrics"] = {k: record.get(k) for k in ("adv_f1", "adv_f1_lo", "adv_f1_hi", "n")}
        judged = judge_cell(cell, tolerance)
        rows.append(
            {
                "verdict": judged["verdict"],
                "verdict_gap": judged["gap"],
                "verdict_cause": judged["cause"],
                "verdict_tolerance": tolerance,
                "verdict_images_needed": judged["images_needed"],
            }
        )
    return pd.DataFrame(rows, index=frame.index, columns=list(VERDICT_COLUMNS))


def tolerance_from_meta(value: str | None) -> float:
    """The run's tolerance as stored in ``store.meta("fidelity_tolerance")`` (a string)."""
    if value in (None, ""):
        return DEFAULT_TOLERANCE
    return float(value)


def summary_line(verdicts: pd.Series | list[str], tolerance: float, level: str = "95%") -> str:
    """ "N of M cells reproduce the paper (tolerance 0.10 around each cell's 95% interval);
    K inconclusive", M counting cells with a figure; ``level`` the intervals' confidence."""
    verdicts = list(verdicts)
    judged = [v for v in verdicts if v != NO_FIGURE]
    n = sum(v == REPRODUCES for v in judged)
    open_ = sum(v == INCONCLUSIVE for v in judged)
    line = (
        f"{n} of {len(judged)} cells reproduce the paper "
        f"(tolerance {tolerance:.2f} around each cell's {level} interval)"
    )
    return line + (f"; {open_} inconclusive" if open_ else "")
