"""One dataset's cells as figures for the paper's claims (:mod:`advcompare.paper.claims`): per
(defense, attack) the per-image labels, predictions and L2 norms of a run's main cells, the
adaptive ones at their worst case, with the bootstrap resample weights shared by all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from advcompare.analysis.statistics import DEFAULT_RESAMPLES, resample_counts, weighted_macro_f1
from advcompare.defenses.defended import ADAPTIVE, OBLIVIOUS
from advcompare.defenses.worst_case import worse_threat
from advcompare.paper.conditions import PAPER_ATTACKS, PAPER_DEFENSES, UNBOUNDED_ATTACKS

THREATS = ("oblivious", "adaptive")
# Controls held in the grids beside the paper's defenses (no claim names them): the
# undefended CNN retrained from another seed (advcompare.defenses.retrained).
RETRAINED = "retrained"
# The results frame's time to classify one attacked image (the paper's Tables 11-14).
PREDICTION_TIME = "adv_prediction_time_per_image"


# --- figures of one dataset's cells, with their bootstrap resamples -----------------------


class MissingCells(Exception):
    """The run lacks cells a condition needs (their names in ``args``)."""


@dataclass
class Grid:
    """One dataset's cells at one threat model (and L2 budget: None, unbounded): per
    (defense, attack) the per-image labels, predictions and L2 norms, and the resample
    weights shared by all of them (row 0: every image once; rows 1…: resamples)."""

    dataset: str
    threat: str
    cells: dict[tuple[str, str], Mapping[str, np.ndarray]]
    weights: np.ndarray
    n: int
    budget: float | None = None
    times: dict[tuple[str, str], float] = field(default_factory=dict)
    _memo: dict[Any, np.ndarray] = field(default_factory=dict)

    def at_budget(self, budget: float | None) -> "Grid":
        """The same cells judged at an L2 budget (DeepFool and CW only)."""
        return replace(self, budget=budget, _memo={})

    def _cell(self, defense: str, attack: str) -> Mapping[str, np.ndarray]:
        if (defense, attack) not in self.cells:
            threat = "" if defense == "none" else f":{self.threat}"
            where = "" if defense == "none" else f"/{defense}{threat}"
            raise MissingCells(f"{self.dataset}{where}/{attack}")
        return self.cells[(defense, attack)]

    def pred(self, defense: str, attack: str) -> np.ndarray:
        """Adversarial predictions; at a budget, an unbounded attack's example whose L2 norm
        exceeds it is out of reach, and the image keeps its clean prediction."""
        c = self._cell(defense, attack)
        if self.budget is None or attack not in UNBOUNDED_ATTACKS:
            return c["pred_adv"]
        if "l2" not in c:
            raise MissingCells(f"{self.dataset}/{defense}/{attack} (per-image L2 norms)")
        return np.where(c["l2"] <= self.budget, c["pred_adv"], c["pred_clean"])

    def correct(self, defense: str, attack: str | None) -> np.ndarray:
        """Per image, whether the prediction is right (``attack`` None: clean)."""
        if attack is None:
            return self._clean_cell(defense)["pred_clean"] == self._clean_cell(defense)["y"]
        return self.pred(defense, attack) == self._cell(defense, attack)["y"]

    def f1(self, defense: str, attack: str) -> np.ndarray:
        key = ("f1", defense, attack)
        if key not in self._memo:
            y = self._cell(defense, attack)["y"]
            self._memo[key] = weighted_macro_f1(y, self.pred(defense, attack), self.weights)
        return self._memo[key]

    def acc(self, defense: str, attack: str) -> np.ndarray:
        return (self.weights @ self.correct(defense, attack)) / self.weights.sum(1)

    def _clean_cell(self, defense: str) -> Mapping[str, np.ndarray]:
        cell = next((v for (d, _), v in self.cells.items() if d == defense), None)
        if cell is None:
            raise MissingCells(f"{self.dataset}/{defense} (any attack)")
        return cell

    def clean(self, defense: str) -> np.ndarray:
        key = ("clean", defense)
        if key not in self._memo:
            cell = self._clean_cell(defense)
            self._memo[key] = weighted_macro_f1(cell["y"], cell["pred_clean"], self.weights)
        return self._memo[key]

    def time_ratios(self, defense: str) -> np.ndarray:
        """Per attack, the defended model's time to classify an attacked image over the
        undefended model's (the paper's Tables 11-14 against Tables 2-10)."""
        ratios = [
            self.times[(defense, a)] / self.times[("none", a)]
            for a in PAPER_ATTACKS
            if (defense, a) in self.times and ("none", a) in self.times
        ]
        if not ratios:
            raise MissingCells(f"{self.dataset}/{defense} (prediction times)")
        return np.asarray(ratios)

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
        if func == "F1_RATIO":
            with np.errstate(divide="ignore", invalid="ignore"):
                return self.f1(args[0], args[1]) / self.f1("none", args[1])
        if func == "TIME_RATIO":  # no resamples: the attacks' ratios, judged as a range
            return self.time_ratios(args[0])
        if func == "MEAN_F1":
            return np.mean([self.f1(args[0], a) for a in PAPER_ATTACKS], axis=0)
        if func == "ATTACK_GAIN":
            return np.mean([self.value("GAIN", (d, args[0])) for d in PAPER_DEFENSES], axis=0)
        if func == "ALL_GAIN":
            return np.mean([self.value("ATTACK_GAIN", (a,)) for a in PAPER_ATTACKS], axis=0)
        raise ValueError(f"unknown function {func}")


Grids = Callable[[str | None], Grid]


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
    per-image labels, predictions and L2 norms ``load(key)`` returns, with each cell's
    time to classify an attacked image. The adaptive grid holds each defended cell's worst
    case: the transfer cell where it beats the white-box one."""
    main = cells[cells["role"] == "main"] if "role" in cells else cells
    grids: dict[tuple[str, str], Grid] = {}
    loaded: dict[str, Mapping[str, np.ndarray]] = {}

    def arrays(key: str) -> Mapping[str, np.ndarray] | None:
        if key not in loaded:
            raw = load(key)
            if raw is None or not {"y", "pred_adv", "pred_clean"} <= set(raw):
                return None
            keep = [k for k in ("y", "pred_adv", "pred_clean", "l2") if k in raw]
            loaded[key] = {k: np.asarray(raw[k]) for k in keep}
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
            times: dict[tuple[str, str], float] = {}
            for defense in ("none", *PAPER_DEFENSES, RETRAINED):
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
                    seconds = None if row is None else row.get(PREDICTION_TIME)
                    if seconds is not None and seconds == seconds and seconds > 0:
                        times[(defense, attack)] = float(seconds)
            n = len(next(iter(found.values()))["y"]) if found else 0
            weights = np.vstack(
                [np.ones((1, n), dtype=np.int64), resample_counts(n, resamples, seed)]
            )
            grid = Grid(str(dataset), threat, found, weights, n, times=times)
            grids[(str(dataset), threat)] = grid
    return grids
