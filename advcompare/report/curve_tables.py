"""The curve tables: robust accuracy and optimality against each norm's reference, and the
bounded attacks' robust accuracy at each ε of their budget curve."""

from __future__ import annotations

import pandas as pd

from advcompare.report.tables import _fmt, _pct, attack_name, defense_name


def norm_curve_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The L2-budget table: robust accuracy at fixed budgets, median needed L2, optimality."""
    budgets = [c for c in table.columns if c.startswith("robust_at_")]
    out = pd.DataFrame(
        {
            "classifier": table["classifier"],
            "attack": [attack_name(a) for a in table["attack"]],
            "backend": [
                f"{b} (reference)" if r == "reference" else b
                for b, r in zip(table["backend"], table.get("role", [""] * len(table)))
            ],
            "clean acc.": table["clean_accuracy"].map(_pct),
            **{f"acc. @ L2 ≤ {c[len('robust_at_') :]}": table[c].map(_pct) for c in budgets},
            "median L2": table["median_l2"].map(_fmt),
            "optimality": table["optimality"].map(lambda v: _fmt(v, 2)),
        }
    )
    if out["classifier"].nunique() == 1:
        out = out.drop(columns="classifier")
    return out


def eps_table_frame(curves: pd.DataFrame) -> pd.DataFrame:
    """The ε table: one row per classifier, attack and ε; robust accuracy and adversarial
    F1 per backend."""
    rows: dict[tuple, dict[str, str]] = {}
    backends = list(dict.fromkeys(curves["backend"]))
    for r in curves.itertuples():
        where = "undefended" if r.defense == "none" else f"{defense_name(r.defense)} ({r.threat})"
        row = rows.setdefault(
            (where, r.attack, r.eps),
            {"classifier": where, "attack": attack_name(r.attack), "ε": f"{r.eps:g}"},
        )
        row[f"acc. {r.backend}"] = _pct(r.robust_accuracy)
        row[f"F1 {r.backend}"] = _fmt(r.adv_f1)
    columns = ["classifier", "attack", "ε"] + [
        f"{kind} {b}" for b in backends for kind in ("acc.", "F1")
    ]
    out = pd.DataFrame(list(rows.values()), columns=columns).fillna("—")
    if out["classifier"].nunique() == 1:
        out = out.drop(columns="classifier")
    return out


# --- attacks named from their records ------------------------------------------------------
