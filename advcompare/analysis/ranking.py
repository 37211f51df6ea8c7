"""A ranking table per attack family, across the backends that implement it, as AttackBench
(Cinà et al. 2024, arXiv:2404.19460) ranks implementations of one attack.

Per attack row (label) run by two or more backends on one classifier, each backend's:

- success rate with its interval (the results frame's, Wilson's score interval);
- cost: forward and backward passes per image as the grader counted them, and the ratio to
  the family's cheapest backend; a family whose backends' passes differ by more than the
  run's ``max_cost_ratio`` (default 1.5×) is not compared at equal queries
  (``equal_cost`` false), which the report says beside the ranks;
- median perturbation over fooled images in the attack's *own* norm (EAD: L1, JSMA: L0,
  PGD: L∞ ...) with its interval;
- optimality against the independent reference of that norm (``advcompare.analysis.curves``), for
  norm-minimising attacks with a reference; NaN otherwise.

Rank 1 is best: higher optimality first, then higher success, then smaller median norm.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from advcompare.analysis.curves import NO_REFERENCE
from advcompare.analysis.statistics import DEFAULT_MAX_COST_RATIO
from advcompare.attacks.spec import ATTACKS

KEYS = ["dataset", "defense", "threat", "label"]
COLUMNS = [
    "dataset",
    "defense",
    "threat",
    "attack",
    "label",
    "backend",
    "rank",
    "norm",
    "success_rate",
    "success_rate_lo",
    "success_rate_hi",
    "forward_per_image",
    "backward_per_image",
    "passes_per_image",
    "cost_ratio",
    "equal_cost",
    "max_cost_ratio",
    "median_norm",
    "median_norm_lo",
    "median_norm_hi",
    "optimality",
    "reference",
]


def _value(row: Any, name: str) -> float:
    value = getattr(row, name, float("nan"))
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _scores(optimality: pd.DataFrame) -> dict[tuple, dict[str, Any]]:
    """The optimality frame's main rows by (dataset, defense, threat, label, backend)."""
    if optimality is None or not len(optimality):
        return {}
    main = optimality[optimality["role"] == "main"]
    return {
        (r.dataset, r.defense, r.threat, r.attack, r.backend): r._asdict()
        for r in main.itertuples(index=False)
    }


def _sort_key(row: dict[str, Any]) -> tuple[float, float, float]:
    """Best first: higher optimality, then higher success, then smaller median norm (NaN
    last in each)."""

    def low(v: float) -> float:
        return math.inf if math.isnan(v) else v

    return (low(-row["optimality"]), low(-row["success_rate"]), low(row["median_norm"]))


def ranking_frame(
    frame: pd.DataFrame,
    optimality: pd.DataFrame | None = None,
    max_cost_ratio: float = DEFAULT_MAX_COST_RATIO,
) -> pd.DataFrame:
    """One row per backend of every attack family (a main-cell label run by two or more
    backends on one classifier), ranked best first within the family (see the module
    docstring). ``frame``: the results frame; ``optimality``: ``curves.optimality_frame``;
    ``max_cost_ratio``: the run's ``[statistics]`` limit on a pair's cost ratio."""
    if "role" in frame:
        frame = frame[frame["role"].fillna("main") == "main"]
    scores = _scores(optimality if optimality is not None else pd.DataFrame())
    rows: list[dict[str, Any]] = []
    for (dataset, defense, threat, label), cells in frame.groupby(KEYS, sort=False):
        if cells["backend"].nunique() < 2:
            continue
        family = []
        for r in cells.itertuples(index=False):
            record = ATTACKS.get(r.attack)
            norm = record.norm if record else "l2"
            forward, backward = _value(r, "forward_per_image"), _value(r, "backward_per_image")
            scored = scores.get((dataset, defense, threat, label, r.backend))
            ends = ("", "_lo", "_hi")
            if scored is not None and not math.isnan(scored["median_norm"]):
                median = [float(scored[f"median_norm{end}"]) for end in ends]
            else:
                median = [_value(r, f"{norm}_median{end}") for end in ends]
            family.append(
                {
                    "dataset": dataset,
                    "defense": defense,
                    "threat": threat,
                    "attack": r.attack,
                    "label": label,
                    "backend": r.backend,
                    "norm": norm,
                    "success_rate": _value(r, "success_rate"),
                    "success_rate_lo": _value(r, "success_rate_lo"),
                    "success_rate_hi": _value(r, "success_rate_hi"),
                    "forward_per_image": forward,
                    "backward_per_image": backward,
                    "passes_per_image": forward + backward,
                    "median_norm": median[0],
                    "median_norm_lo": median[1],
                    "median_norm_hi": median[2],
                    "optimality": scored["optimality"] if scored else float("nan"),
                    "reference": scored["reference"] if scored else NO_REFERENCE,
                }
            )
        passes = np.array([f["passes_per_image"] for f in family], dtype=float)
        cheapest = np.nanmin(passes) if np.isfinite(passes).any() else float("nan")
        spread = np.nanmax(passes) / cheapest if cheapest and cheapest > 0 else float("nan")
        for f in family:
            f["cost_ratio"] = f["passes_per_image"] / cheapest if cheapest > 0 else float("nan")
            f["equal_cost"] = bool(spread <= max_cost_ratio)
            f["max_cost_ratio"] = max_cost_ratio
        for rank, f in enumerate(sorted(family, key=_sort_key), start=1):
            rows.append({**f, "rank": rank})
    return pd.DataFrame(rows, columns=COLUMNS)
