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
from advcompare.paper.conditions import HOLDS_AT_BOTH
from advcompare.paper.reference import paper_value


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


def _claim_verdict(row: Any) -> str:
    """One verdict in words: what it lacks when not run, the images that would settle it."""
    verdict = str(row["verdict"])
    if verdict == "not run":
        missing = [str(m) for m in row["missing"]]
        needs = [m for m in missing if m.startswith("needs ")]
        if needs:
            return f"not run ({'; '.join(needs)})"
        plural = "s" if len(missing) != 1 else ""
        return (
            f"not run (the grid lacks {len(missing)} cell{plural} it reads; claims.csv names them)"
        )
    n = row["images_needed"]
    if verdict == "inconclusive" and isinstance(n, (int, float)) and n == n:
        return f"inconclusive (≈{_images(n)} images would settle it)"
    return verdict


# Beyond this many images a count says only that the run cannot settle the claim.
MANY_IMAGES = 100_000


def _images(n: float) -> str:
    """An image count for a reader: thousands separated, and "> 100,000" past MANY_IMAGES
    (a figure like 17,117,655 is a precise-looking way to say "never")."""
    return f"> {MANY_IMAGES:,}" if n > MANY_IMAGES else f"{int(n):,}"


def _same_verdict_at_budgets(part: pd.DataFrame) -> str | None:
    """Inconclusive at every budget, said once: "inconclusive at L2 ≤ 1, unbounded (≈72,
    ≈304 images would settle it)"; None when the budgets' verdicts differ in kind."""
    if not (part["verdict"] == "inconclusive").all():
        return None
    needed = [float(n) for n in part["images_needed"] if n is not None and pd.notna(n)]
    if len(needed) != len(part):
        return None
    counts = ", ".join(f"≈{_images(n)}" for n in needed)
    return f"inconclusive at {', '.join(part['budget'])} ({counts} images would settle it)"


def _claim_verdicts(part: pd.DataFrame) -> str:
    """A threat model's verdict, per L2 budget where the claim is about DeepFool or CW."""
    if not len(part):
        return "—"
    if len(part) == 1 and not part["budget"].iloc[0]:
        return _claim_verdict(part.iloc[0])
    verdicts = [_claim_verdict(r) for _, r in part.iterrows()]
    if len(set(verdicts)) == 1 and verdicts[0].startswith("not run"):
        return verdicts[0]  # a claim that did not run was judged at no budget
    if len(set(verdicts)) == 1:  # the same at every budget: named once
        return f"{verdicts[0]} at {', '.join(part['budget'])}"
    if (same := _same_verdict_at_budgets(part)) is not None:
        return same
    return "; ".join(f"{b}: {v}" for b, v in zip(part["budget"], verdicts))


def claim_frame(claims: pd.DataFrame) -> pd.DataFrame:
    """The paper's defense claims, one row per claim (and dataset): the paper's words, the
    oblivious and the adaptive (worst-case) verdict, each per L2 budget for DeepFool and CW
    claims, the deciding figure in words (adaptive, at the first budget) and whether the
    verdict survives 0.5× and 1.5× each vague word's threshold."""
    claims = claims.assign(**{c: "" for c in ("budget", "sensitivity") if c not in claims})
    rows = []
    for (_, dataset), part in claims.groupby(["id", "dataset"], sort=False):
        first = part.iloc[0]
        adaptive = part[part["threat"] == "adaptive"]
        headline = (adaptive if len(adaptive) else part).iloc[0]
        figure = str(headline["deciding"] or "")
        if figure and headline["budget"]:
            figure = f"{headline['budget']}: {figure}"
        rows.append(
            {
                "the paper's words": f"“{first['quote']}” (§{first['section']})",
                "dataset": dataset,
                "oblivious": _claim_verdicts(part[part["threat"] == "oblivious"]),
                "adaptive (worst case)": _claim_verdicts(adaptive),
                "deciding figure": figure or "—",
                "at 0.5× and 1.5× the threshold": str(headline["sensitivity"] or "—").replace(
                    HOLDS_AT_BOTH,
                    "holds at both",  # as headed
                ),
            }
        )
    out = pd.DataFrame(rows)
    if len(set(out["dataset"]) - {"across datasets"}) <= 1:
        out = out.drop(columns="dataset")
    return out


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


def defense_column(defense: str, threat: str) -> str:
    """A defense's column: its display name, with the threat model when it defends."""
    return defense_name(defense) if defense == "none" else f"{defense_name(defense)} ({threat})"


OBFUSCATED_MARK = "†"


def _worst(r: Any) -> str | None:
    """A defended adaptive row's worst case, ``0.093 (transfer) †``; None where it has none
    (the undefended model, an oblivious row, a frame without the worst-case columns)."""
    by = getattr(r, "worst_by", None)
    if r.defense == "none" or not isinstance(by, str):
        return None
    return f"{_fmt(r.worst_f1)} ({by})" + (f" {OBFUSCATED_MARK}" if r.obfuscated else "")


def defense_f1_frame(part: pd.DataFrame, defenses: dict[str, dict]) -> pd.DataFrame:
    """Adversarial F1 of every attack (rows) under every defense and threat (columns), each
    defense's threat columns followed by its worst case (the stronger of its white-box and
    transfer attacks, † where transfer beats white-box beyond chance)."""
    columns: dict[str, list[str]] = {}
    rows: dict[tuple[str, str], dict[str, str]] = {}
    clean = {"attack": "no attack (clean F1)"}
    for r in part.itertuples():
        column = defense_column(r.defense, r.threat)
        mine = columns.setdefault(r.defense, [])
        row = rows.setdefault(
            (r.label, r.backend), {"attack": f"{attack_name(r.label, r.attack)} ({r.backend})"}
        )
        row[column] = _fmt(r.adv_f1)
        here = [column]
        worst = _worst(r)
        if worst is not None:
            here.append(f"{defense_name(r.defense)} (worst case)")
            row[here[-1]] = worst
        mine += [c for c in here if c not in mine]
        record = defenses.get(r.defense)
        if record:
            for c in here:
                clean[c] = _fmt(record["clean"]["clean_f1"])
    ordered = [
        c for cs in columns.values() for c in sorted(cs, key=lambda c: c.endswith("(worst case)"))
    ]
    return pd.DataFrame([clean, *rows.values()], columns=["attack", *ordered]).fillna("—")


def obfuscation_lines(part: pd.DataFrame) -> list[str]:
    """One line per cell whose transfer attack beats its white-box one beyond chance."""
    if "obfuscated" not in part:
        return []
    flagged = part[part["obfuscated"].fillna(False).astype(bool)]
    out = []
    for r in flagged.itertuples():
        test = "" if _missing(r.paired_p) else f", McNemar p = {_p(r.paired_p)}"
        out.append(
            f"- {OBFUSCATED_MARK} {attack_name(r.label, r.attack)} ({r.backend}) against "
            f"{defense_name(r.defense)}: {r.worst_note} (white-box F1 {_fmt(r.adv_f1)}, "
            f"transfer {_fmt(r.worst_f1)}{test})"
        )
    return out


def defense_time_frame(part: pd.DataFrame, defenses: dict[str, dict], dataset: str) -> pd.DataFrame:
    """Time per image after each defense, ours beside the paper's (Tables 11-14), in ms."""
    names = list(dict.fromkeys(part.defense))
    header = ["attack"] + [f"{defense_name(d)} {who}" for d in names for who in ("ours", "paper")]
    rows = [
        ["no attack"]
        + [
            v
            for d in names
            for v in (
                _ms(defenses[d]["clean"]["prediction_time_per_image"]) if d in defenses else "—",
                _ms(paper_value(dataset, "none", "prediction_time", d)),
            )
        ]
    ]
    adaptive = part[part.threat == "adaptive"]
    for (label, backend), group in adaptive.groupby(["label", "backend"], sort=False):
        by_defense = {r.defense: r for r in group.itertuples()}
        rows.append(
            [f"{label} ({backend})"]
            + [
                v
                for d in names
                for v in (
                    _ms(by_defense[d].paper_time_per_image) if d in by_defense else "—",
                    _ms(by_defense[d].paper_time_per_image_reported) if d in by_defense else "—",
                )
            ]
        )
    return pd.DataFrame(rows, columns=header)


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
