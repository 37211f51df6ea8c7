"""Security-evaluation curves of the fixed-budget attacks (records with ``has_eps_curve``:
I-FGSM by default): one point per run, so the curve (robust accuracy against ε, as SecML and
ARES draw it; Carlini et al. 2019, arXiv:1902.06705: report the whole curve, not one ε) joins
the main cell with its ε-curve cells (role ``eps_curve``), plus ε = 0 where robust accuracy
is the clean accuracy."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from advcompare.analysis.curves import has_eps_curve
from advcompare.attacks.spec import ATTACKS


COLUMNS = [
    "dataset",
    "defense",
    "threat",
    "attack",
    "backend",
    "eps",
    "robust_accuracy",
    "adv_f1",
    "role",
    "norm",
]


def eps_curve_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Robust accuracy and adversarial F1 against ε for every label of an attack with an ε
    curve (``AttackRecord.has_eps_curve``) that has ε-curve cells: its main cell, its
    ``eps_curve`` cells and ε = 0 (the clean figures).

    Robust accuracy is ``clean accuracy × (1 − success rate)``: images classified right
    that the attack did not fool, as for the L2 curves.
    """
    if "role" not in frame or not (frame["role"] == "eps_curve").any():
        return pd.DataFrame(columns=COLUMNS)
    part = frame[frame["attack"].map(has_eps_curve).astype(bool)]
    rows = []
    for (dataset, defense, threat, label, backend), cells in part.groupby(
        ["dataset", "defense", "threat", "label", "backend"], sort=False
    ):
        if (cells["role"] == "eps_curve").any():
            where = {"dataset": dataset, "defense": defense, "threat": threat, "attack": label}
            rows += _curve_points(cells, {**where, "backend": backend})
    return pd.DataFrame(rows)


def _curve_points(cells: pd.DataFrame, where: dict[str, Any]) -> list[dict[str, Any]]:
    """One curve's points in ε order: ε = 0 from the clean figures, then one per cell."""
    first = cells.iloc[0]
    where = {**where, "norm": ATTACKS[first["attack"]].norm}
    clean = {"robust_accuracy": first["clean_accuracy"], "adv_f1": first["clean_f1"]}
    points = {0.0: {**where, "eps": 0.0, **clean, "role": "clean"}}
    for row in cells.itertuples():
        eps = None if _nan(row.eps) else float(row.eps)
        if eps is None or eps in points:
            continue
        success = 0.0 if _nan(row.success_rate) else row.success_rate
        points[eps] = {
            **where,
            "eps": eps,
            "robust_accuracy": row.clean_accuracy * (1 - success),
            "adv_f1": row.adv_f1,
            "role": row.role,
        }
    return [points[eps] for eps in sorted(points)]


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
