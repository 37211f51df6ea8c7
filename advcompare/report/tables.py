"""The report's tables as frames of display strings, and the value formatters they use.

Every table is built from the results frame (``advcompare.results.results_frame``) or a
curve frame (``advcompare.analysis.curves``); Markdown and LaTeX render the same frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from advcompare.analysis.comparison import points
from advcompare.attacks.spec import ATTACKS, AttackRecord, display_name


def _fmt(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; "—" for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _signed(value: Any, digits: int = 3) -> str:
    """A number with its sign; "—" for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.{digits}f}"


def _pct(value: Any) -> str:
    """A share as a percentage; "—" for a missing one."""
    return "—" if value is None or value != value else f"{value * 100:.1f}%"


def _ms(value: Any) -> str:
    """Seconds as milliseconds; "—" for a missing value."""
    return "—" if value is None or value != value else f"{value * 1e3:.2f}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def with_interval(frame: pd.DataFrame, metric: str, show: Callable[[Any], str] = _fmt) -> pd.Series:
    """``metric`` with its bootstrap interval, ``0.117 (0.060–0.180)``; the bare figure where
    the cell has no interval (stored before intervals were kept)."""
    lo = frame.get(f"{metric}_lo", pd.Series(float("nan"), index=frame.index))
    hi = frame.get(f"{metric}_hi", pd.Series(float("nan"), index=frame.index))
    out = []
    for value, a, b in zip(frame[metric], lo, hi):
        if _missing(a) or _missing(b) or _missing(value):
            out.append(show(value))
        else:
            out.append(f"{show(value)} ({show(a)}–{show(b)})")
    return pd.Series(out, index=frame.index)


def _count(value: Any) -> str:
    return "—" if _missing(value) else str(int(value))


# --- tables, as frames of display strings ---------------------------------------------------


def attack_frame(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """Per-attack F1, success and perturbation size with their ``level`` intervals, the
    paper's F1 beside ours; medians over the ``n fooled`` images."""
    return pd.DataFrame(
        {
            "attack": row_attacks(frame),
            "backend": frame["backend"],
            "clean F1": frame["clean_f1"].map(_fmt),
            f"adv. F1 ({level} CI)": with_interval(frame, "adv_f1"),
            "paper F1": frame["paper_f1"].map(_fmt),
            "ΔF1": frame["delta_f1"].map(_fmt),
            f"success ({level} CI)": with_interval(frame, "success_rate", _pct),
            "n fooled": frame["n_fooled"].map(_count) if "n_fooled" in frame else "—",
            f"median L2 ({level} CI)": with_interval(frame, "l2_median"),
            "median L∞": frame["linf_median"].map(_fmt),
            "median L0": frame["l0_median"].map(lambda v: _fmt(v, 0)),
        }
    )


OUTCOME_COLUMNS = {
    "n_skipped": "skipped (clean wrong)",
    "n_fooled": "fooled",
    "n_unchanged": "not fooled, unchanged",
    "n_perturbed": "not fooled, perturbed",
    "n_repaired": "repaired by contract",
    "n_over_budget": "over budget",
}


def outcome_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cell, what happened to each attacked image (counts; the first four add up to
    the images attacked, the last two are flags beside them)."""
    out = {
        "attack": row_attacks(frame),
        "backend": frame["backend"],
        "images": frame["n"].map(_count),
    }
    for column, title in OUTCOME_COLUMNS.items():
        out[title] = frame[column].map(_count) if column in frame else "—"
    return pd.DataFrame(out)


def fidelity_frame(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """Attack × backend: our F1, the paper's, the gap, the verdict and its cause."""
    return pd.DataFrame(
        {
            "attack": where_label(frame),
            "backend": frame["backend"],
            f"our F1 ({level} CI)": with_interval(frame, "adv_f1"),
            "paper F1": frame["paper_f1"].map(_fmt),
            "gap": frame["verdict_gap"].map(_signed),
            "verdict": frame["verdict"],
            "cause": frame["verdict_cause"].map(lambda v: v if isinstance(v, str) else ""),
        }
    )


def cost_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-attack time per image (ours and the paper's) and model passes per image; how
    each cell ran is in :func:`how_cells_ran_frame`."""
    return pd.DataFrame(
        {
            "attack": row_attacks(frame),
            "backend": frame["backend"],
            "attack ms/image": frame["attack_time_per_image"].map(_ms),
            "attack+predict ms/image": frame["paper_time_per_image"].map(_ms),
            "paper ms/image": frame["paper_time_per_image_reported"].map(_ms),
            "forward/image": frame["forward_per_image"].map(lambda v: _fmt(v, 1)),
            "backward/image": frame["backward_per_image"].map(lambda v: _fmt(v, 1)),
        }
    )


def how_cells_ran_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Bookkeeping a paper does not print: per cell, the executor, how many cells ran at
    once (their times are comparable only at equal concurrency) and whether every output
    passed the adapter contract."""
    return pd.DataFrame(
        {
            "dataset": frame["dataset"],
            "attack": where_label(frame),
            "backend": frame["backend"],
            "executor": frame["executor"] if "executor" in frame else "serial",
            "concurrency": (frame["concurrency"] if "concurrency" in frame else 1),
            "outputs valid": frame["output_valid"].map(lambda v: "yes" if v else "NO"),
        }
    ).astype({"concurrency": str})


def _p(value: Any) -> str:
    """A p-value: two significant digits, "1" for exactly 1, "< 1e-12" below that."""
    if _missing(value):
        return "—"
    if value >= 1:
        return "1"
    if value < 1e-12:
        return "< 1e-12"
    return f"{value:.2g}"


def attack_name(label: str, attack: Any = None) -> str:
    """A row's attack as a paper prints it: the record's display name (``I-FGSM``), with
    the run's own label first when it is not the attack's name (``bim (I-FGSM)``)."""
    attack = attack if isinstance(attack, str) else label
    display = display_name(attack)
    return display if label == attack else f"{label} ({display})"


def defense_name(defense: str) -> str:
    """A defense's display name from its record (``adversarial training``)."""
    from advcompare.defenses.registry import DEFENSES

    record = DEFENSES.get(defense)
    return record.display if record else defense


def row_attacks(frame: pd.DataFrame) -> list[str]:
    """:func:`attack_name` for every row (by its ``label`` and ``attack`` columns)."""
    attacks = frame["attack"] if "attack" in frame else frame["label"]
    return [attack_name(label, attack) for label, attack in zip(frame["label"], attacks)]


def where_label(frame: pd.DataFrame) -> list[str]:
    """Each row's attack by its display name, with its defense and threat model when
    defended (``I-FGSM (feature smoothing, adaptive)``)."""
    return [
        name if d == "none" else f"{name} ({defense_name(d)}, {t})"
        for name, d, t in zip(row_attacks(frame), frame["defense"], frame["threat"])
    ]


def agreement_table_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Pairwise backend agreement: outcomes on the same images, distance between them and
    the Holm-corrected paired tests (McNemar on fooled, Wilcoxon on L2 where both fooled)."""
    return pd.DataFrame(
        {
            "attack": where_label(frame),
            "backends": frame["first"] + " vs " + frame["second"],
            "n": frame["n"].map(_count),
            "both succeed": frame["both_succeed"].map(_pct),
            "only first": frame["only_first"].map(_pct),
            "only second": frame["only_second"].map(_pct),
            "mean L2 between": frame["mean_l2_between"].map(_fmt),
            "p fooled (McNemar, Holm)": frame["p_fooled_holm"].map(_p),
            "p L2 (Wilcoxon, Holm)": frame["p_l2_holm"].map(_p),
            "differ": frame["differ"].map(lambda v: "yes" if v else "no"),
        }
    )


def conclusion_frame(conclusions: pd.DataFrame, level: str) -> pd.DataFrame:
    """Per attack: the libraries' answer, the deciding pair's success difference and median
    L2 ratio with their ``level`` intervals, its cost ratio, the documented cause of a
    difference and what its control run made of it; with a dataset column when there is
    more than one."""
    out = pd.DataFrame(
        {
            "attack": where_label(conclusions),
            "backends": conclusions["backends"],
            "answer": [short_answer(r) for _, r in conclusions.iterrows()],
            "pair": conclusions["pair"],
            f"success difference, points ({level} CI)": [
                _interval_points(r) for _, r in conclusions.iterrows()
            ],
            f"median L2 ratio ({level} CI)": [
                _ratio(r["l2_ratio"], r["l2_ratio_lo"], r["l2_ratio_hi"])
                for _, r in conclusions.iterrows()
            ],
            "cost ratio": conclusions["cost_ratio"].map(lambda v: _fmt(v, 1) + "×"),
            "documented cause": conclusions["cause"] if "cause" in conclusions else "",
            "cause": conclusions["cause_status"] if "cause_status" in conclusions else "",
        }
    )
    if conclusions["dataset"].nunique() > 1:
        out.insert(0, "dataset", conclusions["dataset"].to_numpy())
    return out


def short_answer(row: Any) -> str:
    """An attack's answer in a few words: "differ (McNemar p = …)", "agree within ±5 points",
    "inconclusive: ~K images needed", "not comparable at equal cost"."""
    answer = str(row["answer"])
    if answer == "differ":
        test = "McNemar" if row.get("differ_in") == "success" else "Wilcoxon, L2"
        p = _p(row["p"])
        return f"differ ({test} p {p if p.startswith('<') else '= ' + p})"
    if answer == "agree":
        return f"agree within ±{100 * float(row['margin']):.1f} points"
    if answer == "inconclusive":
        needed = row.get("images_needed")
        return "inconclusive" + ("" if _missing(needed) else f": ~{int(needed):,} images needed")
    return "not comparable at equal cost"


def _interval_points(row: Any) -> str:
    values = [row["success_difference"], row["success_difference_lo"], row["success_difference_hi"]]
    if any(_missing(v) for v in values):
        return "—"
    d, lo, hi = (points(float(v)) for v in values)
    return f"{d} ({lo} to {hi})"


def _ratio(value: Any, lo: Any, hi: Any) -> str:
    if _missing(value):
        return "—"
    return f"{float(value):.2f} ({_fmt(float(lo), 2)}–{_fmt(float(hi), 2)})"


def seed_frame(spread: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd across training seeds of adversarial F1 and success, per attack × backend."""
    return pd.DataFrame(
        {
            "attack": where_label(spread),
            "backend": spread["backend"],
            "seeds": spread["n_seeds"].map(_count),
            "clean F1": [
                f"{m:.3f} ± {s:.3f}" for m, s in zip(spread.clean_f1_mean, spread.clean_f1_sd)
            ],
            "adv. F1": [f"{m:.3f} ± {s:.3f}" for m, s in zip(spread.adv_f1_mean, spread.adv_f1_sd)],
            "success": [
                f"{m * 100:.1f}% ± {s * 100:.1f}"
                for m, s in zip(spread.success_rate_mean, spread.success_rate_sd)
            ],
        }
    )


def attack_names(attacks: Iterable[str], keep: Callable[[AttackRecord], bool]) -> list[str]:
    """The report names of ``attacks`` whose record satisfies ``keep``, in the order of the
    attack table (attacks without a record are left out)."""
    present = set(attacks)
    return [r.display for n, r in list(ATTACKS.items()) if n in present and keep(r)]


def minimum_norm_names(attacks: Iterable[str]) -> list[str]:
    """Report names of the minimum-norm attacks among ``attacks``."""
    return attack_names(attacks, lambda r: r.minimum_norm)


def eps_curve_names(frame: pd.DataFrame) -> list[str]:
    """Report names of the attacks with ε-curve cells in a results frame."""
    if "role" not in frame:
        return []
    return attack_names(frame[frame["role"] == "eps_curve"]["attack"], lambda r: r.has_eps_curve)


def ranking_table_frame(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking table (``advcompare.analysis.ranking``): per attack family, its backends best
    first, with success, passes per image, the median norm in the attack's own norm and
    optimality against the reference of that norm."""
    norm_names = {"linf": "L∞", "l2": "L2", "l1": "L1", "l0": "L0"}
    medians = []
    for r in ranking.itertuples():
        digits = 0 if r.norm == "l0" else 3
        value, lo, hi = (
            _fmt(v, digits) for v in (r.median_norm, r.median_norm_lo, r.median_norm_hi)
        )
        shown = value if "—" in (lo, hi) or value == "—" else f"{value} ({lo}–{hi})"
        medians.append(f"{norm_names.get(r.norm, r.norm)} {shown}")
    out = pd.DataFrame(
        {
            "classifier": [
                "undefended" if d == "none" else f"{defense_name(d)} ({t})"
                for d, t in zip(ranking["defense"], ranking["threat"])
            ],
            "attack": [
                attack_name(label, a) for label, a in zip(ranking["label"], ranking["attack"])
            ],
            "rank": ranking["rank"].astype(int).astype(str),
            "backend": ranking["backend"],
            "success": with_interval(ranking, "success_rate", _pct),
            "passes/image": [
                f"{_fmt(p, 0)} (×{_fmt(c, 2)})" + ("" if e else " ≠ cost")
                for p, c, e in zip(
                    ranking["passes_per_image"], ranking["cost_ratio"], ranking["equal_cost"]
                )
            ],
            "median norm": medians,
            "optimality": [
                "no reference" if _missing(o) and ref == "no reference" else _fmt(o, 2)
                for o, ref in zip(ranking["optimality"], ranking["reference"])
            ],
        }
    )
    if out["classifier"].nunique() == 1:
        out = out.drop(columns="classifier")
    return out
