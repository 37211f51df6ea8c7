"""The paper's defense claims, checked on the grid (§3.5-3.6): data in, verdicts out.

``resources/paper_claims.toml`` holds one table per claim: its id, section, a short label,
the quoted text, the datasets it is made for and conditions in the language of
:mod:`advcompare.paper.conditions` (documented at the top of that file and in
``docs/defenses.md``). Each claim is judged per dataset and threat model (oblivious,
adaptive), and a claim whose figures read DeepFool or CW cells also at each L2 budget
(robust predictions: an image whose example needed more than the budget keeps its clean
prediction) beside the unbounded attack. Intervals: a paired bootstrap over the attacked
images, never narrower than the exact interval of the per-image outcomes behind the figure
(Wilson's for one cell, Tango's for a paired difference of two cells); a difference claimed
against 0 also needs McNemar's exact test at α = 1 − confidence, per condition, with no
correction across the table. The adaptive verdicts use each defended cell's worst case
(``advcompare.defenses.worst_case``).

- *supported*: every condition (or k of n) holds at its interval's pessimistic end;
- *contradicted*: some condition fails even at its optimistic end (too many, for k of n);
- *inconclusive*: in between, with the images that would settle it; also a zero-width
  interval or an exact test that does not reject;
- *by construction*: the figure is 0 on every image because of how the defense is built;
- *not run*: the run lacks cells or datasets the claim needs (they are named).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from advcompare.analysis.proportions import tango_interval, wilson_interval
from advcompare.analysis.statistics import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    images_to_settle,
    mcnemar_exact,
    percentile_interval,
)
from advcompare.data.datasets import paper_dataset
from advcompare.paper.conditions import (
    HOLDS_AT_BOTH,
    PAPER_ATTACKS,
    PAPER_DEFENSES,
    Claim,
    Condition,
    Group,
    paper_claims,
    parse_condition,
    parse_group,
)
from advcompare.paper.grids import THREATS, Grid, Grids, MissingCells, build_grids
from advcompare.paper.judged import (
    BY_CONSTRUCTION,
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_RUN,
    SUPPORTED,
    Judged,
    _state,
)

__all__ = [
    "BY_CONSTRUCTION",
    "CONTRADICTED",
    "INCONCLUSIVE",
    "NOT_RUN",
    "SUPPORTED",
    "Claim",
    "PAPER_ATTACKS",
    "PAPER_DEFENSES",
    "paper_claims",
    "parse_condition",
    "parse_group",
    "claims_frame",
]

DEFAULT_CLAIM_BUDGETS = (1.0, 2.0)  # L2 budgets of DeepFool and CW claims ([curves])
SENSITIVITY = (0.5, 1.5)  # each vague word's threshold is also tried at these multiples


def _missing_all(condition: Condition, grids: Grids) -> list[str]:
    missing = []
    for term in condition.terms:
        try:
            grids(term.dataset).value(term.func, term.args)
        except MissingCells as exc:
            missing.append(str(exc.args[0]))
    return missing


def _outcomes(condition: Condition, grids: Grids) -> list[tuple[float, np.ndarray]] | None:
    """The condition as coefficients on per-image outcomes (right or wrong) of single
    cells, when it is a combination of F1/ACC/CLEAN cells and gains (None otherwise)."""
    coefs: dict[tuple[Any, ...], float] = {}
    vectors: dict[tuple[Any, ...], np.ndarray] = {}
    for term in condition.terms:
        grid, (f, args) = grids(term.dataset), (term.func, term.args)
        parts: list[tuple[float, str, str | None]]
        if f in ("F1", "ACC"):
            parts = [(1.0, args[0], args[1])]
        elif f == "GAIN":
            parts = [(1.0, args[0], args[1]), (-1.0, "none", args[1])]
        elif f == "CLEAN":
            parts = [(1.0, args[0], None)]
        elif f == "CLEAN_GAIN":
            parts = [(1.0, args[0], None), (-1.0, "none", None)]
        else:
            return None
        for sign, defense, attack in parts:
            key = (term.dataset, defense, attack)
            coefs[key] = coefs.get(key, 0.0) + sign * term.coef
            vectors[key] = grid.correct(defense, attack)
    return [(c, vectors[k]) for k, c in coefs.items() if c != 0]


def judge_condition(
    condition: Condition,
    grids: Grids,
    confidence: float,
    scale: float = 1.0,
    anchor: float = 0.0,
) -> Judged:
    """A condition's figure with its interval, and whether it holds at the pessimistic end
    (supported), fails at the optimistic end (contradicted) or neither. The threshold is
    ``anchor + scale × (threshold − anchor)`` (the sensitivity of a vague word)."""
    if any(t.func == "TIME_RATIO" for t in condition.terms):
        return _judge_times(condition, grids, scale, anchor)
    total = sum(t.coef * grids(t.dataset).value(t.func, t.args) for t in condition.terms)
    total = np.asarray(total, dtype=float)
    point = float(total[0])
    lo, hi = percentile_interval(total[1:], confidence)
    if math.isnan(lo):  # no resample drew a finite figure: the point estimate alone
        lo = hi = point
    lo, hi = min(lo, point), max(hi, point)
    outcomes, p = _outcomes(condition, grids), float("nan")
    if outcomes and len(outcomes) <= 2:  # the exact interval of the outcomes behind it
        n = len(outcomes[0][1])
        if len(outcomes) == 1:
            c, right = outcomes[0]
            k = int(right.sum())
            w_lo, w_hi = wilson_interval(k, n, confidence)
            ends = (c * (w_lo - k / n), c * (w_hi - k / n))
        elif outcomes[0][0] == -outcomes[1][0]:
            (c, first), (_, second) = sorted(outcomes, key=lambda o: -o[0])
            test = mcnemar_exact(first, second)
            b, d = int(test["only_first"]), int(test["only_second"])
            t_lo, t_hi = tango_interval(b, d, n, confidence)
            ends, p = (c * (t_lo - (b - d) / n), c * (t_hi - (b - d) / n)), float(test["p"])
        else:
            ends = (0.0, 0.0)
        lo, hi = min(lo, point + min(ends)), max(hi, point + max(ends))
    op = condition.op
    t = anchor + scale * (condition.threshold - anchor)
    state = _state(lo, hi, op, t)
    if t == 0 and not math.isnan(p) and p >= 1 - confidence:
        state = INCONCLUSIVE  # a sign on the same images needs McNemar's exact test
    n = min(grids(term.dataset).n for term in condition.terms)
    return Judged(condition, point, lo, hi, state, n, t, p)


def _judge_times(condition: Condition, grids: Grids, scale: float, anchor: float) -> Judged:
    """A prediction-time condition (one ``TIME_RATIO`` term): one timing per cell, so no
    interval; its range is the ratios over the attacks' cells, and the claim holds when all
    of them hold, fails when none does."""
    [term] = condition.terms
    ratios = term.coef * grids(term.dataset).value(term.func, term.args)
    point, lo, hi = float(np.median(ratios)), float(ratios.min()), float(ratios.max())
    op = condition.op
    t = anchor + scale * (condition.threshold - anchor)
    return Judged(condition, point, lo, hi, _state(lo, hi, op, t), 0, t)


def _group_state(group: Group, judged: list[Judged]) -> str:
    """All (or k of n) hold at the pessimistic end: supported; fewer than k can still hold:
    contradicted; else inconclusive."""
    held = sum(j.state == SUPPORTED for j in judged)
    failed = sum(j.state == CONTRADICTED for j in judged)
    if held >= group.needed():
        return SUPPORTED
    if len(judged) - failed < group.needed():
        return CONTRADICTED
    return INCONCLUSIVE


def _deciding(judged: list[Judged]) -> str:
    return "; ".join(j.text() for j in judged[:2]) + (
        f"; and {len(judged) - 2} more" if len(judged) > 2 else ""
    )


def judge_claim(
    claim: Claim, grids: Grids, confidence: float, scale: float = 1.0
) -> dict[str, Any]:
    """A claim's verdict from its groups (see the module docstring) and the figure that
    decided it; thresholds of vague words scaled by ``scale`` around the claim's anchor."""
    conditions = [c for g in claim.groups for c in g.conditions()]
    missing = sorted({m for c in conditions for m in _missing_all(c, grids)})
    if missing:
        return {"verdict": NOT_RUN, "deciding": "", "images_needed": None, "missing": missing}
    per_group = [
        (g, [judge_condition(c, grids, confidence, scale, claim.anchor) for c in g.conditions()])
        for g in claim.groups
    ]
    if claim.by_construction and all(_zero_on_every_image(c, grids) for c in conditions):
        words = "; ".join(c.words() for c in conditions)
        return {
            "verdict": BY_CONSTRUCTION,
            "deciding": f"{words}: 0 on every image ({claim.by_construction})",
            "images_needed": None,
            "missing": [],
        }
    states = {g: _group_state(g, js) for g, js in per_group}
    needed = None
    judged = [j for _, js in per_group for j in js]
    if CONTRADICTED in states.values():
        verdict = CONTRADICTED
        deciding = [j for g, js in per_group if states[g] == CONTRADICTED for j in js]
        deciding = [j for j in deciding if j.state != SUPPORTED] or deciding
    elif INCONCLUSIVE in states.values():
        verdict = INCONCLUSIVE
        deciding = [j for g, js in per_group if states[g] == INCONCLUSIVE for j in js]
        deciding = [j for j in deciding if j.state == INCONCLUSIVE] or deciding
        counts = [
            images_to_settle(j.n, j.hi - j.lo, 2 * abs(j.value - j.threshold))
            for j in deciding
            if j.n > 0  # prediction times: no images would settle them
        ]
        needed = max((c for c in counts if c is not None), default=None)
    else:
        verdict = SUPPORTED
        deciding = [min((j for j in judged if j.state == SUPPORTED), key=lambda j: j.margin)]
    prefix = "".join(
        f"{sum(j.state == SUPPORTED for j in js)} of {len(js)} hold, {g.needed()} needed: "
        for g, js in per_group
        if g.at_least is not None and states[g] == verdict
    )
    return {
        "verdict": verdict,
        "deciding": prefix + _deciding(deciding),
        "images_needed": needed,
        "missing": [],
    }


def _zero_on_every_image(condition: Condition, grids: Grids) -> bool:
    """Whether the condition's figure is 0 because its two cells agree on every image."""
    outcomes = _outcomes(condition, grids)
    if not outcomes:
        return outcomes == []  # the terms cancel
    if len(outcomes) != 2:
        return False
    total = sum(t.coef * grids(t.dataset).value(t.func, t.args) for t in condition.terms)
    return bool(np.all(np.asarray(total) == 0)) and bool(
        np.array_equal(outcomes[0][1], outcomes[1][1])
    )


def _vague(claim: Claim) -> bool:
    """Whether some threshold of the claim is a vague word's (not its anchor)."""
    return any(g.condition.threshold != claim.anchor for g in claim.groups)


def _sensitivity(claim: Claim, grid: Grids, confidence: float, verdict: str) -> str:
    """Whether the verdict holds with every vague word's threshold at 0.5× and 1.5×."""
    if verdict in (NOT_RUN, BY_CONSTRUCTION) or not _vague(claim):
        return ""
    other = {s: judge_claim(claim, grid, confidence, s)["verdict"] for s in SENSITIVITY}
    if all(v == verdict for v in other.values()):
        return HOLDS_AT_BOTH
    return "; ".join(f"at {s:g}×: {v}" for s, v in other.items())


def _budget_label(budget: float | None, bounded: bool) -> str:
    return ("unbounded" if budget is None else f"L2 ≤ {budget:g}") if bounded else ""


def _view(
    grids: dict[tuple[str, str], Grid],
    datasets: list[str],
    views: dict[tuple[str, str, float | None], Grid],
    target: str | None,
    threat: str,
    budget: float | None,
) -> Grids:
    """The grid a claim's condition reads: ``target``'s (or the dataset a condition names,
    by its paper name) under ``threat`` at ``budget``, each view built once."""

    def grid(qualifier: str | None) -> Grid:
        name = target
        if qualifier is not None:
            name = next((d for d in datasets if paper_dataset(d) == qualifier), None)
            if name is None:
                raise MissingCells(f"{qualifier} (dataset not in the run)")
        if name is None:
            raise MissingCells("a dataset")
        key = (name, threat, budget)
        if key not in views:
            views[key] = grids[(name, threat)].at_budget(budget)
        return views[key]

    return grid


def _not_run(base: dict[str, Any], datasets: list[str], claim: Claim) -> dict[str, Any]:
    """The row of a claim about datasets the run does not have."""
    return base | {
        "dataset": ", ".join(datasets),
        "budget": "",
        "verdict": NOT_RUN,
        "deciding": "",
        "images_needed": None,
        "missing": [f"needs {', '.join(claim.datasets)}"],
        "sensitivity": "",
    }


def claims_frame(
    cells: pd.DataFrame,
    load: Callable[[str], Mapping[str, Any] | None],
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    claims: tuple[Claim, ...] | None = None,
    budgets: tuple[float, ...] = DEFAULT_CLAIM_BUDGETS,
) -> pd.DataFrame:
    """One row per claim × dataset (or across datasets) × threat model × L2 budget (claims
    on DeepFool or CW: each of ``budgets`` and unbounded): the verdict, the figure that
    decided it, the images that would settle it, the cells it lacks and whether the
    verdict survives 0.5× and 1.5× each vague word's threshold."""
    claims = paper_claims() if claims is None else claims
    grids = build_grids(cells, load, resamples, seed)
    datasets = list(dict.fromkeys(d for d, _ in grids))
    rows = []
    views: dict[tuple[str, str, float | None], Grid] = {}
    for threat in THREATS:
        for claim in claims:
            base: dict[str, Any] = {"id": claim.id, "section": claim.section}
            base["claim"] = claim.label
            base |= {"quote": claim.quote, "threat": threat}
            targets: list[str | None] = [None] if claim.scope == "across" else list(datasets)
            if claim.datasets:
                targets = [d for d in targets if d is None or paper_dataset(d) in claim.datasets]
                if not targets:
                    rows.append(_not_run(base, datasets, claim))
                    continue
            bounded = claim.touches_unbounded()
            for target in targets:
                for budget in [*budgets, None] if bounded else [None]:
                    grid = _view(grids, datasets, views, target, threat, budget)
                    judged = judge_claim(claim, grid, confidence)
                    rows.append(
                        base
                        | {
                            "dataset": "across datasets" if target is None else target,
                            "budget": _budget_label(budget, bounded),
                            **judged,
                            "sensitivity": _sensitivity(claim, grid, confidence, judged["verdict"]),
                        }
                    )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["images_needed"] = frame["images_needed"].astype("Int64")
    return frame
