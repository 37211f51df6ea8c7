"""What a pair of backends' figures answer, and per attack what the libraries' answer is.

A pair (:mod:`advcompare.analysis.agreement`) gets one of four answers, checked in this order:

1. **not comparable at equal cost**: one backend spent more than ``max_cost_ratio`` (1.5×)
   the other's forward plus backward passes per image. A difference would be the budget's,
   not the library's, so it is never reported as "differ".
2. **differ by d points (lo to hi)**: McNemar's exact test on fooled / not fooled rejects
   after Holm's correction across the run's table; d is the paired difference in success
   rate with its interval. Or **differ in L2**: the Wilcoxon test rejects; the effect is the
   median per-image L2 ratio with its interval.
3. **agree within ±m points**: the paired difference's ``1 − 2α`` interval lies inside
   ``±margin`` (two one-sided tests, each at α; equivalence is a claim per pair, not
   corrected across the table).
4. **inconclusive at n = N: would need about K images**: neither. K scales the interval's
   half-width as 1/√n until it would settle the nearer question (equivalence when the
   estimate is inside the margin, a difference otherwise).

Per attack, the answer is that of the pair that decides it: a difference first, then a cost
mismatch, then an inconclusive pair; "agree" only when every pair agrees.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from advcompare.analysis.agreement import GROUP
from advcompare.analysis.proportions import detectable_difference
from advcompare.analysis.statistics import DEFAULT_ALPHA, DEFAULT_MARGIN, DEFAULT_MAX_COST_RATIO

# Answers, in the order an attack's pairs decide it.
DIFFER, NOT_COMPARABLE, INCONCLUSIVE, AGREE = (
    "differ",
    "not comparable",
    "inconclusive",
    "agree",
)
PRIORITY = {DIFFER: 0, NOT_COMPARABLE: 1, INCONCLUSIVE: 2, AGREE: 3}
# The deciding pair's effect sizes, carried to its attack's row.
EFFECTS = (
    "success_difference",
    "success_difference_lo",
    "success_difference_hi",
    "l2_ratio",
    "l2_ratio_lo",
    "l2_ratio_hi",
    "cost_ratio",
)
CONCLUSION_COLUMNS = (
    *GROUP,
    "attack",
    "backends",
    "pair",
    "answer",
    "differ",
    "differ_in",
    "p",
    "n",
    "success_difference",
    "success_difference_lo",
    "success_difference_hi",
    "margin",
    "l2_ratio",
    "l2_ratio_lo",
    "l2_ratio_hi",
    "cost_ratio",
    "max_cost_ratio",
    "images_needed",
    "detectable_difference",
    "conclusion",
    "cause",
)


def points(value: float, sign: bool = True) -> str:
    """A share as percentage points with one decimal and a true minus sign (+2.0, −3.5)."""
    text = f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}"
    return text.replace("-", "−")


def images_needed(row: Any, margin: float) -> int | None:
    """Images at which the pair's interval would settle its nearer question: equivalence
    (estimate inside the margin) or a difference (outside); None without an interval."""
    n, d = int(row["n"]), float(row["success_difference"])
    half = (float(row["equivalence_hi"]) - float(row["equivalence_lo"])) / 2
    if not n or not (half > 0):
        return None
    room = margin - abs(d) if abs(d) < margin else abs(d)
    if room <= 0:
        return None
    return int(math.ceil(n * (half / room) ** 2))


def pair_answer(
    row: Any,
    alpha: float = DEFAULT_ALPHA,
    margin: float = DEFAULT_MARGIN,
    max_cost_ratio: float = DEFAULT_MAX_COST_RATIO,
) -> tuple[str, str]:
    """The answer and sentence of one row of :func:`~advcompare.analysis.agreement.pairs_frame`."""
    diff = (
        f"{points(row['success_difference'])} points "
        f"({points(row['success_difference_lo'])} to {points(row['success_difference_hi'])})"
    )
    cost = float(row.get("cost_ratio", np.nan))
    if cost > max_cost_ratio:
        return NOT_COMPARABLE, (
            f"not comparable at equal cost: {cost:.1f}× the passes per image (success {diff})"
        )
    if float(row["p_fooled_holm"]) < alpha:
        return DIFFER, f"differ by {diff}, McNemar p = {float(row['p_fooled_holm']):.2g}"
    if float(row["p_l2_holm"]) < alpha:
        ratio = f"{row['l2_ratio']:.2f} ({row['l2_ratio_lo']:.2f} to {row['l2_ratio_hi']:.2f})"
        return DIFFER, (
            f"differ in L2: median ratio {ratio}, Wilcoxon p = {float(row['p_l2_holm']):.2g}"
        )
    within = f"±{points(margin, sign=False)}"
    if -margin < float(row["equivalence_lo"]) and float(row["equivalence_hi"]) < margin:
        return AGREE, f"agree within {within} points: {diff}"
    needed = images_needed(row, margin)
    more = f": would need about {needed:,} images" if needed else ""
    return INCONCLUSIVE, f"inconclusive at n = {int(row['n'])}{more} (success {diff})"


def with_answers(
    pairs: pd.DataFrame,
    alpha: float = DEFAULT_ALPHA,
    margin: float = DEFAULT_MARGIN,
    max_cost_ratio: float = DEFAULT_MAX_COST_RATIO,
) -> pd.DataFrame:
    """``pairs`` with each pair's ``answer``, ``answer_text`` and ``images_needed``."""
    pairs = pairs.copy()
    answers = [pair_answer(r, alpha, margin, max_cost_ratio) for _, r in pairs.iterrows()]
    pairs["answer"] = [a for a, _ in answers]
    pairs["answer_text"] = [t for _, t in answers]
    pairs["images_needed"] = [images_needed(r, margin) for _, r in pairs.iterrows()]
    return pairs


def attack_conclusions(
    pairs: pd.DataFrame,
    alpha: float = DEFAULT_ALPHA,
    margin: float = DEFAULT_MARGIN,
    max_cost_ratio: float = DEFAULT_MAX_COST_RATIO,
) -> pd.DataFrame:
    """Per classifier and attack: the deciding pair's answer and effect sizes, the smallest
    difference the run could detect (80% power after Holm over the table's p-values), and
    the documented cause of a difference (:func:`documented_cause`)."""
    if not len(pairs):
        return pd.DataFrame(columns=list(CONCLUSION_COLUMNS))
    pairs = with_answers(pairs, alpha, margin, max_cost_ratio)
    tests = int(pairs[["p_fooled", "p_l2"]].notna().to_numpy().sum())
    rows = []
    for _, group in pairs.groupby(list(GROUP), sort=False, dropna=False):
        at = min(group.index, key=lambda i: _decides(group.loc[i]))
        pair = group.loc[at]
        differ = pair["answer"] == DIFFER
        smallest = group[["p_fooled_holm", "p_l2_holm"]].min(axis=1)
        rows.append(
            {
                **{k: pair[k] for k in GROUP},
                "attack": pair["attack"],
                "backends": ", ".join(sorted(set(group["first"]) | set(group["second"]))),
                "pair": f"{pair['first']} vs {pair['second']}",
                "answer": pair["answer"],
                "differ": bool(differ),
                "differ_in": _measure(pair, alpha) if differ else "",
                "p": float(smallest.min()) if smallest.notna().any() else float("nan"),
                "n": int(group["n"].min()),
                **{c: pair[c] for c in EFFECTS},
                "margin": margin,
                "max_cost_ratio": max_cost_ratio,
                "images_needed": pair["images_needed"],
                "detectable_difference": detectable_difference(
                    int(group["n"].min()), alpha, max(tests, 1)
                ),
                "conclusion": f"{pair['first']} vs {pair['second']}: {pair['answer_text']}",
                "cause": _cause(pair) if pair["answer"] in (DIFFER, NOT_COMPARABLE) else "",
            }
        )
    return pd.DataFrame(rows, columns=list(CONCLUSION_COLUMNS))


def _measure(pair: Any, alpha: float) -> str:
    """What a differing pair differs in: ``success`` (McNemar) before ``l2`` (Wilcoxon)."""
    return "success" if float(pair["p_fooled_holm"]) < alpha else "l2"


def _cause(pair: Any) -> str:
    return documented_cause(str(pair["attack"]), str(pair["first"]), str(pair["second"]))


def _decides(pair: Any) -> tuple[int, float]:
    """Which pair decides an attack's answer: by answer, then the widest interval."""
    width = float(pair["equivalence_hi"]) - float(pair["equivalence_lo"])
    return PRIORITY[str(pair["answer"])], -(width if width == width else 0.0)


def documented_cause(attack: str, first: str, second: str) -> str:
    """What the two backends' entries for ``attack`` say they differ in (their capability
    notes, ``advcompare backends``): the documented candidates for a measured difference."""
    from advcompare.adapters.registry import implementation, known_backends

    notes = []
    for backend in (first, second):
        impl = implementation(backend, attack) if backend in known_backends() else None
        if impl is not None and impl.capability.note:
            notes.append(f"{backend}: {impl.capability.note}")
    return "; ".join(notes)
