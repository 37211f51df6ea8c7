"""The paper's defense claims, checked on the grid (§3.5-3.6): data in, verdicts out.

``resources/paper_claims.toml`` holds one table per claim: its id, section, a short label,
the quoted text and conditions such as ``GAIN(adversarial_training, *) > 0`` (the language
is documented at the top of that file and in ``docs/defenses.md``). Each claim is judged per
dataset and threat model (oblivious, adaptive) with a paired bootstrap over the attacked
images: every figure of a condition is recomputed on the same resampled images, so a
difference between two cells gets its own interval. The adaptive verdicts use each defended
cell's worst case, the stronger of the white-box and the transfer attack
(``advcompare.defenses.worst_case``).

- *supported*: every condition holds at its interval's pessimistic end;
- *contradicted*: some condition fails even at its optimistic end;
- *inconclusive*: in between, with the images that would settle it;
- *not run*: the run lacks cells the claim needs (they are named).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from advcompare.data import paper_dataset
from advcompare.defenses.defended import ADAPTIVE, OBLIVIOUS
from advcompare.defenses.worst_case import worse_threat
from advcompare.statistics import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    images_to_settle,
    percentile_interval,
    resample_counts,
    weighted_macro_f1,
)

SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_RUN = (
    "supported",
    "contradicted",
    "inconclusive",
    "not run",
)
PAPER_ATTACKS = ("ifgsm", "deepfool", "cw", "pixel_swap")
PAPER_DEFENSES = (
    "adversarial_training",
    "feature_smoothing",
    "gradient_masking",
    "defensive_distillation",
)
THREATS = ("oblivious", "adaptive")
FUNCTIONS = {
    "F1": 2,
    "ACC": 2,
    "CLEAN": 1,
    "GAIN": 2,
    "CLEAN_GAIN": 1,
    "MEAN_F1": 1,
    "ATTACK_GAIN": 1,
    "ALL_GAIN": 0,
}
_TERM = re.compile(
    r"\s*(?P<sign>[+-])?\s*(?:(?P<coef>\d+(?:\.\d+)?)\s*\*\s*)?"
    r"(?P<func>[A-Z_0-9]+)\((?P<args>[^)]*)\)(?:@(?P<dataset>\w+))?"
)
_CONDITION = re.compile(r"^(?P<expr>.*?)\s*(?P<op><=|>=|<|>)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Term:
    """``coef × FUNC(args)``, optionally from another dataset (``@dataset``)."""

    coef: float
    func: str
    args: tuple[str, ...]
    dataset: str | None = None


@dataclass(frozen=True)
class Condition:
    """``Σ terms op threshold``, as written (``text``)."""

    text: str
    terms: tuple[Term, ...]
    op: str
    threshold: float

    def expand(self) -> list["Condition"]:
        """One condition per attack a ``*`` stands for (the paper's attacks not named
        elsewhere in it); itself when it has no ``*``."""
        if not any("*" in t.args for t in self.terms):
            return [self]
        named = {a for t in self.terms for a in t.args if a in PAPER_ATTACKS}
        out = []
        for attack in (a for a in PAPER_ATTACKS if a not in named):
            terms = tuple(
                replace(t, args=tuple(attack if a == "*" else a for a in t.args))
                for t in self.terms
            )
            out.append(replace(self, text=self.text.replace("*", attack), terms=terms))
        return out


@dataclass(frozen=True)
class Claim:
    """One finding of the paper: where it is, its words and its conditions."""

    id: str
    section: str
    label: str
    quote: str
    conditions: tuple[Condition, ...]
    scope: str = "each"  # "each": judged per dataset; "across": once, across datasets


def parse_condition(text: str) -> Condition:
    """``"GAIN(adversarial_training, *) > 0"`` → :class:`Condition` (ValueError naming the
    problem when it is not in the language)."""
    found = _CONDITION.match(text)
    if not found:
        raise ValueError(f"condition {text!r}: expected 'expression op number'")
    expr, pos = found["expr"], 0
    terms: list[Term] = []
    while pos < len(expr):
        term = _TERM.match(expr, pos)
        if not term or (terms and not term["sign"]):
            raise ValueError(f"condition {text!r}: cannot read {expr[pos:]!r}")
        func = term["func"]
        args = tuple(a.strip() for a in term["args"].split(",") if a.strip())
        if FUNCTIONS.get(func) != len(args):
            raise ValueError(
                f"condition {text!r}: {func} takes {FUNCTIONS.get(func, '?')} argument(s); "
                f"known: {', '.join(FUNCTIONS)}"
            )
        coef = float(term["coef"] or 1.0) * (-1.0 if term["sign"] == "-" else 1.0)
        terms.append(Term(coef, func, args, term["dataset"]))
        pos = term.end()
    return Condition(text, tuple(terms), found["op"], float(found["value"]))


@lru_cache(maxsize=1)
def paper_claims() -> tuple[Claim, ...]:
    """Every claim of ``resources/paper_claims.toml``."""
    with resources.files("advcompare.resources").joinpath("paper_claims.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    return tuple(
        Claim(
            c["id"],
            c["section"],
            c["label"],
            c["quote"],
            tuple(parse_condition(t) for t in c["conditions"]),
            c.get("scope", "each"),
        )
        for c in raw["claim"]
    )


# --- figures of one dataset's cells, with their bootstrap resamples -----------------------


class MissingCells(Exception):
    """The run lacks cells a condition needs (their names in ``args``)."""


@dataclass
class Grid:
    """One dataset's cells at one threat model: per (defense, attack) the per-image labels
    and predictions, and the resample weights shared by all of them (row 0: every image
    once, the point estimate; rows 1…: bootstrap resamples)."""

    dataset: str
    threat: str
    cells: dict[tuple[str, str], Mapping[str, np.ndarray]]
    weights: np.ndarray
    n: int
    _memo: dict[Any, np.ndarray] = field(default_factory=dict)

    def _cell(self, defense: str, attack: str) -> Mapping[str, np.ndarray]:
        if (defense, attack) not in self.cells:
            threat = "" if defense == "none" else f":{self.threat}"
            where = "" if defense == "none" else f"/{defense}{threat}"
            raise MissingCells(f"{self.dataset}{where}/{attack}")
        return self.cells[(defense, attack)]

    def f1(self, defense: str, attack: str) -> np.ndarray:
        key = ("f1", defense, attack)
        if key not in self._memo:
            c = self._cell(defense, attack)
            self._memo[key] = weighted_macro_f1(c["y"], c["pred_adv"], self.weights)
        return self._memo[key]

    def acc(self, defense: str, attack: str) -> np.ndarray:
        c = self._cell(defense, attack)
        return (self.weights @ (c["pred_adv"] == c["y"])) / self.weights.sum(1)

    def clean(self, defense: str) -> np.ndarray:
        key = ("clean", defense)
        if key not in self._memo:
            cell = next((v for (d, _), v in self.cells.items() if d == defense), None)
            if cell is None:
                raise MissingCells(f"{self.dataset}/{defense} (any attack)")
            self._memo[key] = weighted_macro_f1(cell["y"], cell["pred_clean"], self.weights)
        return self._memo[key]

    def value(self, func: str, args: tuple[str, ...]) -> np.ndarray:
        """One function of the claim language (see ``resources/paper_claims.toml``)."""
        if func == "F1":
            return self.f1(*args)
        if func == "ACC":
            return self.acc(*args)
        if func == "CLEAN":
            return self.clean(*args)
        if func == "GAIN":
            return self.f1(args[0], args[1]) - self.f1("none", args[1])
        if func == "CLEAN_GAIN":
            return self.clean(args[0]) - self.clean("none")
        if func == "MEAN_F1":
            return np.mean([self.f1(args[0], a) for a in PAPER_ATTACKS], axis=0)
        if func == "ATTACK_GAIN":
            return np.mean([self.value("GAIN", (d, args[0])) for d in PAPER_DEFENSES], axis=0)
        if func == "ALL_GAIN":
            return np.mean([self.value("ATTACK_GAIN", (a,)) for a in PAPER_ATTACKS], axis=0)
        raise ValueError(f"unknown function {func}")


def _missing_all(condition: Condition, grids: Callable[[str | None], Grid]) -> list[str]:
    missing = []
    for term in condition.terms:
        try:
            grids(term.dataset).value(term.func, term.args)
        except MissingCells as exc:
            missing.append(str(exc.args[0]))
    return missing


@dataclass(frozen=True)
class Judged:
    """One condition's point estimate, interval and state."""

    condition: Condition
    value: float
    lo: float
    hi: float
    state: str
    n: int

    @property
    def margin(self) -> float:
        """How far the pessimistic end is on the right side of the threshold."""
        if self.condition.op in (">", ">="):
            return self.lo - self.condition.threshold
        return self.condition.threshold - self.hi

    def text(self) -> str:
        c = self.condition
        return (
            f"{c.text.rsplit(c.op, 1)[0].strip()} = {self.value:.3f} "
            f"({self.lo:.3f}–{self.hi:.3f}) {c.op} {c.threshold:g}"
        )


def _holds(value: float, op: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
    }[op]


def judge_condition(
    condition: Condition, grids: Callable[[str | None], Grid], confidence: float
) -> Judged:
    """A condition's figure with its bootstrap interval, and whether it holds at the
    pessimistic end (supported), fails at the optimistic end (contradicted) or neither."""
    total = sum(t.coef * grids(t.dataset).value(t.func, t.args) for t in condition.terms)
    total = np.asarray(total, dtype=float)
    lo, hi = percentile_interval(total[1:], confidence)
    if math.isnan(lo):  # no resample drew a finite figure: the point estimate alone
        lo = hi = float(total[0])
    lo, hi = min(lo, float(total[0])), max(hi, float(total[0]))
    op, t = condition.op, condition.threshold
    pessimistic, optimistic = (lo, hi) if op in (">", ">=") else (hi, lo)
    if _holds(pessimistic, op, t):
        state = SUPPORTED
    elif not _holds(optimistic, op, t):
        state = CONTRADICTED
    else:
        state = INCONCLUSIVE
    n = min(grids(term.dataset).n for term in condition.terms)
    return Judged(condition, float(total[0]), lo, hi, state, n)


def judge_claim(
    claim: Claim, grids: Callable[[str | None], Grid], confidence: float
) -> dict[str, Any]:
    """A claim's verdict from its conditions (see the module docstring) and the figure
    that decided it."""
    conditions = [c for condition in claim.conditions for c in condition.expand()]
    missing = sorted({m for c in conditions for m in _missing_all(c, grids)})
    if missing:
        return {"verdict": NOT_RUN, "deciding": "", "images_needed": None, "missing": missing}
    judged = [judge_condition(c, grids, confidence) for c in conditions]
    states = {j.state for j in judged}
    needed = None
    if CONTRADICTED in states:
        verdict, deciding = CONTRADICTED, [j for j in judged if j.state == CONTRADICTED]
    elif INCONCLUSIVE in states:
        verdict, deciding = INCONCLUSIVE, [j for j in judged if j.state == INCONCLUSIVE]
        counts = [
            images_to_settle(j.n, j.hi - j.lo, 2 * abs(j.value - j.condition.threshold))
            for j in deciding
        ]
        needed = max((c for c in counts if c is not None), default=None)
    else:
        verdict, deciding = SUPPORTED, [min(judged, key=lambda j: j.margin)]
    return {
        "verdict": verdict,
        "deciding": "; ".join(j.text() for j in deciding[:2])
        + (f"; and {len(deciding) - 2} more" if len(deciding) > 2 else ""),
        "images_needed": needed,
        "missing": [],
    }


# --- the run's cells as grids ---------------------------------------------------------------


def _pick(part: pd.DataFrame, attack: str) -> Any:
    """The cell of ``attack`` among a classifier's cells: the one labelled as the attack,
    else the first (a run with several backends compares like with like by label)."""
    mine = part[part["attack"] == attack]
    if not len(mine):
        return None
    named = mine[mine["label"] == attack]
    return (named if len(named) else mine).iloc[0]


def _worst_case(
    row: Any,
    data: Mapping[str, np.ndarray],
    cells: pd.DataFrame,
    attack: str,
    arrays: Callable[[str], Mapping[str, np.ndarray] | None],
    f1: Callable[[Any, Mapping[str, np.ndarray]], float],
) -> Mapping[str, np.ndarray]:
    """An adaptive cell's worst case: the transfer (oblivious) cell on the same images when
    its attack is the stronger (``advcompare.defenses.worst_case``), else the cell itself."""
    transfer = _pick(cells[cells["threat"] == OBLIVIOUS], attack)
    other = None if transfer is None else arrays(str(transfer["key"]))
    if other is None or not np.array_equal(other["y"], data["y"]):
        return data
    return other if worse_threat(f1(row, data), f1(transfer, other)) == OBLIVIOUS else data


def build_grids(
    cells: pd.DataFrame,
    load: Callable[[str], Mapping[str, Any] | None],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[tuple[str, str], Grid]:
    """Per (dataset, threat model), the grid of the main cells of a results frame whose
    per-image labels and predictions ``load(key)`` returns. The adaptive grid holds each
    defended cell's worst case: the transfer cell where it beats the white-box one."""
    main = cells[cells["role"] == "main"] if "role" in cells else cells
    grids: dict[tuple[str, str], Grid] = {}
    loaded: dict[str, Mapping[str, np.ndarray]] = {}

    def arrays(key: str) -> Mapping[str, np.ndarray] | None:
        if key not in loaded:
            raw = load(key)
            if raw is None or not {"y", "pred_adv", "pred_clean"} <= set(raw):
                return None
            loaded[key] = {k: np.asarray(raw[k]) for k in ("y", "pred_adv", "pred_clean")}
        return loaded[key]

    def f1(row: Any, data: Mapping[str, np.ndarray]) -> float:
        """The cell's F1 as the results frame has it, else from its predictions."""
        stored = row.get("adv_f1") if hasattr(row, "get") else None
        if stored is not None and stored == stored:
            return float(stored)
        ones = np.ones((1, len(data["y"])), dtype=np.int64)
        return float(weighted_macro_f1(data["y"], data["pred_adv"], ones)[0])

    for dataset, part in main.groupby("dataset", sort=False):
        for threat in THREATS:
            found: dict[tuple[str, str], Mapping[str, np.ndarray]] = {}
            for defense in ("none", *PAPER_DEFENSES):
                everything = part[part["defense"] == defense]
                rows = everything
                if defense != "none":
                    rows = rows[rows["threat"] == threat]
                for attack in PAPER_ATTACKS:
                    row = _pick(rows, attack)
                    data = None if row is None else arrays(str(row["key"]))
                    if data is not None and defense != "none" and threat == ADAPTIVE:
                        data = _worst_case(row, data, everything, attack, arrays, f1)
                    if data is not None:
                        found[(defense, attack)] = data
            n = len(next(iter(found.values()))["y"]) if found else 0
            weights = np.vstack(
                [np.ones((1, n), dtype=np.int64), resample_counts(n, resamples, seed)]
            )
            grids[(str(dataset), threat)] = Grid(str(dataset), threat, found, weights, n)
    return grids


def claims_frame(
    cells: pd.DataFrame,
    load: Callable[[str], Mapping[str, Any] | None],
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    claims: tuple[Claim, ...] | None = None,
) -> pd.DataFrame:
    """One row per claim × dataset (or across datasets) × threat model: the verdict, the
    figure that decided it, the images that would settle it and the cells it lacks."""
    claims = paper_claims() if claims is None else claims
    grids = build_grids(cells, load, resamples, seed)
    datasets = list(dict.fromkeys(d for d, _ in grids))
    rows = []
    for threat in THREATS:
        for claim in claims:
            if claim.scope == "across":
                targets: list[str | None] = [None]
            else:
                targets = list(datasets)
            for target in targets:

                def grid(
                    qualifier: str | None, target: str | None = target, threat: str = threat
                ) -> Grid:
                    name = target
                    if qualifier is not None:
                        name = next((d for d in datasets if paper_dataset(d) == qualifier), None)
                        if name is None:
                            raise MissingCells(f"{qualifier} (dataset not in the run)")
                    if name is None:
                        raise MissingCells("a dataset")
                    return grids[(name, threat)]

                judged = judge_claim(claim, grid, confidence)
                rows.append(
                    {
                        "id": claim.id,
                        "section": claim.section,
                        "claim": claim.label,
                        "quote": claim.quote,
                        "dataset": "across datasets" if target is None else target,
                        "threat": threat,
                        **judged,
                    }
                )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["images_needed"] = frame["images_needed"].astype("Int64")
    return frame
