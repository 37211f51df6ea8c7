"""A documented cause is a hypothesis until a control run confirms it.

For every pair of backends that differ, or that spent unequal cost
(:mod:`advcompare.analysis.comparison`), the run holds a *control* cell (role ``control``, planned
by :func:`advcompare.grid.plan.control_entries`) for a backend whose entry declares how to equalise
its documented cause (:class:`advcompare.adapters.base.Control`). The control cell is paired
with the other backend's main cell on the same images, with the same tests and answers
(uncorrected: one confirmatory comparison per difference):

- **confirmed**: the difference vanishes within its interval: the success difference's
  interval holds 0 and, for an attack that minimises a distance, the median L2 ratio's
  holds 1. For a pair
  that was not comparable at equal cost, the control is its re-run at matched cost;
- **unexplained**: it persists: the documented cause is not (all of) the reason;
- **no control**: neither backend's entry names a parameter that equalises its cause (the
  cause is the algorithm itself), so the difference stands unconfirmed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from advcompare.analysis.agreement import GROUP, attack_pair, distance_is_tested, passes_per_image
from advcompare.analysis.comparison import DIFFER, NOT_COMPARABLE, pair_answer
from advcompare.analysis.statistics import DEFAULT_ALPHA, DEFAULT_CONFIDENCE
from advcompare.storage.store import load_samples

CONFIRMED, UNEXPLAINED, NO_CONTROL = "confirmed", "unexplained", "no control"
CONTROL_ROLE = "control"


def control_status(control: dict[str, Any], distance_tested: bool) -> str:
    """Whether a control pair's difference vanished within its intervals: in success, and in
    L2 too for an attack that minimises a distance (a matched-cost re-run of such an attack
    that still lands elsewhere has not removed the difference)."""
    vanished = control["success_difference_lo"] <= 0 <= control["success_difference_hi"]
    if distance_tested and np.isfinite(control["l2_ratio"]):
        vanished = vanished and control["l2_ratio_lo"] <= 1 <= control["l2_ratio_hi"]
    return CONFIRMED if vanished else UNEXPLAINED


def _cell(frame: pd.DataFrame, identity: dict[str, Any], backend: str, role: str) -> Any:
    """The row of ``frame`` with ``identity``'s group, ``backend`` and ``role`` (or None)."""
    mask = (frame["backend"] == backend) & (frame["role"] == role)
    for column in GROUP:
        if column in frame:
            mask &= frame[column].astype(str) == str(identity[column])
    rows = frame[mask]
    return rows.iloc[0] if len(rows) else None


def judge_controls(
    conclusions: pd.DataFrame,
    frame: pd.DataFrame,
    run_dir: Path,
    alpha: float = DEFAULT_ALPHA,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """``conclusions`` with ``cause_status`` (confirmed, unexplained, no control; empty where
    the libraries do not differ) and ``control`` (what ran and what it measured)."""
    out = conclusions.copy()
    statuses, texts = [], []
    for _, row in conclusions.iterrows():
        status, text = "", ""
        if row.get("answer") in (DIFFER, NOT_COMPARABLE):
            status, text = _judge(row, frame, Path(run_dir), alpha, confidence)
        statuses.append(status)
        texts.append(text)
    out["cause_status"] = statuses
    out["control"] = texts
    return out


def _judge(
    row: Any, frame: pd.DataFrame, run_dir: Path, alpha: float, confidence: float
) -> tuple[str, str]:
    identity = {k: row[k] for k in GROUP}
    for (a, b), (cell_a, cell_b) in _control_pairs(frame, identity, str(row["pair"])):
        samples_a = load_samples(run_dir, str(cell_a["key"]))
        samples_b = load_samples(run_dir, str(cell_b["key"]))
        if samples_a is None or samples_b is None:
            continue
        pair = attack_pair(
            {**samples_a, "passes_per_image": passes_per_image(cell_a)},
            {**samples_b, "passes_per_image": passes_per_image(cell_b)},
            str(row["attack"]),
            alpha,
            confidence,
        )
        answer, sentence = pair_answer(
            {**pair, "p_fooled_holm": pair["p_fooled"], "p_l2_holm": pair["p_l2"]},
            alpha,
            float(row["margin"]),
            float(row["max_cost_ratio"]),
        )
        tested = distance_is_tested(str(row["attack"]))
        status = control_status(pair, tested)
        if answer == NOT_COMPARABLE:
            status = NOT_COMPARABLE
        if tested and np.isfinite(pair["l2_ratio"]) and "L2" not in sentence:
            # the status asked the ratio too: say what it was
            sentence += (
                f"; median L2 ratio {pair['l2_ratio']:.2f} "
                f"({pair['l2_ratio_lo']:.2f} to {pair['l2_ratio_hi']:.2f})"
            )
        return status, f"{a} vs {b}: {sentence}"
    return NO_CONTROL, "neither backend's entry names a parameter that equalises its cause"


def _control_pairs(frame: pd.DataFrame, identity: dict[str, Any], pair: str):
    """The cells a control pairs, with how each is named, in order of preference: both
    backends' control cells where both declare a cause (each library's own departure undone),
    else one backend's control cell against the other's main cell (the first backend's
    tried first)."""
    first, second = pair.split(" vs ")
    main = {b: _cell(frame, identity, b, "main") for b in (first, second)}
    control = {b: _cell(frame, identity, b, CONTROL_ROLE) for b in (first, second)}

    def named(backend: str) -> str:  # every backend of a row runs the row's spec
        row_spec = main[first] if main[first] is not None else main[second]
        return f"{backend} with {_overrides(control[backend], row_spec)}"

    if control[first] is not None and control[second] is not None:
        yield (named(first), named(second)), (control[first], control[second])
    for controlled, other in ((first, second), (second, first)):
        if control[controlled] is not None and main[other] is not None:
            yield (named(controlled), other), (control[controlled], main[other])


def _overrides(control: Any, main: Any) -> str:
    """The control cell's parameters that differ from the row's spec (every backend of a
    row runs the same spec), as ``k = v``."""
    if main is None:
        return "its cause equalised"
    mine, theirs = json.loads(control["spec"]), json.loads(main["spec"])
    changed = {k: v for k, v in mine.items() if theirs.get(k) != v}
    return ", ".join(f"{k} = {v}" for k, v in changed.items()) or "its cause equalised"
