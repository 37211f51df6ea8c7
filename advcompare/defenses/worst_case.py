"""The adaptive column as the worst case: per (defense, attack) cell, the stronger of the
white-box adaptive attack and the transfer (oblivious) attack, and a flag where transfer beats
white-box by more than chance.

A white-box attack that does worse than examples transferred from another model is the
signature of obfuscated gradients (Athalye, Carlini & Wagner 2018, ICML, §3.1; Tramèr et al.
2020, "On Adaptive Attacks to Adversarial Example Defenses", NeurIPS): the defense's figure
is then the transfer attack's, and the cell says so. Beyond chance means: the transfer cell's
bootstrap interval lies wholly below the white-box one's, or McNemar's exact test on the
per-image outcomes (right or wrong after the attack; both cells attack the same images)
rejects at the run's α, per cell (a flag is a warning to look, not a verdict: no
correction for the number of cells).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from advcompare.analysis.statistics import DEFAULT_ALPHA, mcnemar_exact
from advcompare.defenses.defended import ADAPTIVE, OBLIVIOUS

WHITE_BOX, TRANSFER = "white-box", "transfer"
OBFUSCATION_NOTE = "white-box weaker than transfer: gradients obfuscated?"
#: The columns :func:`with_worst_case` adds to a results frame (filled on adaptive rows).
WORST_COLUMNS = (
    "worst_f1",
    "worst_f1_lo",
    "worst_f1_hi",
    "worst_by",
    "paired_p",
    "obfuscated",
    "worst_note",
)
# What pairs an adaptive cell with its transfer cell (those of these a frame has).
PAIRED_BY = ("dataset", "defense", "label", "backend", "role", "seed")


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def worse_threat(adaptive_f1: float, oblivious_f1: float | None) -> str:
    """The threat model whose attack is the stronger: the transfer (oblivious) one only
    when its F1 is strictly lower; a tie or a missing figure keeps the white-box attack."""
    transfer = math.nan if oblivious_f1 is None else _number(oblivious_f1)
    if math.isfinite(transfer) and not transfer >= _number(adaptive_f1):
        return OBLIVIOUS
    return ADAPTIVE


@dataclass(frozen=True)
class WorstCase:
    """One cell's worst case: its F1 and interval, which attack gave it, McNemar's two-sided
    p of white-box against transfer on the same images (NaN without per-image outcomes)
    and whether it flags obfuscated gradients."""

    f1: float
    lo: float
    hi: float
    by: str
    p: float
    obfuscated: bool

    @property
    def note(self) -> str:
        return OBFUSCATION_NOTE if self.obfuscated else ""


def _right(samples: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels, right after the attack) per image, or None without them."""
    if samples is None or not {"y", "pred_adv"} <= set(samples):
        return None
    y = np.asarray(samples["y"])
    return y, np.asarray(samples["pred_adv"]) == y


def worst_case(
    white_box: Mapping[str, Any],
    transfer: Mapping[str, Any] | None,
    white_samples: Mapping[str, Any] | None = None,
    transfer_samples: Mapping[str, Any] | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> WorstCase:
    """The worst case of a white-box cell and its transfer cell (rows with ``adv_f1`` and,
    when known, ``adv_f1_lo``/``adv_f1_hi``; samples with ``y`` and ``pred_adv``).

    Flagged when transfer has the lower F1 and beats white-box beyond chance: its bootstrap
    interval lies wholly below the white-box one's, or (with paired outcomes) McNemar's
    exact test on who is right after each attack gives p < ``alpha`` with more images lost
    to transfer only than to white-box only."""

    def figures(row: Mapping[str, Any]) -> tuple[float, float, float]:
        return (
            _number(row.get("adv_f1")),
            _number(row.get("adv_f1_lo")),
            _number(row.get("adv_f1_hi")),
        )

    white = figures(white_box)
    if transfer is None:
        return WorstCase(*white, WHITE_BOX, math.nan, False)
    other = figures(transfer)
    wins = worse_threat(white[0], other[0]) == OBLIVIOUS
    beyond_chance = other[2] < white[1]  # disjoint intervals (NaN compares False)
    p = math.nan
    first, second = _right(white_samples), _right(transfer_samples)
    if first is not None and second is not None and np.array_equal(first[0], second[0]):
        test = mcnemar_exact(first[1], second[1])
        p = float(test["p"])
        # only_first: right after the white-box attack, wrong after the transfer one
        beyond_chance |= test["only_first"] > test["only_second"] and p < alpha
    if wins:
        return WorstCase(*other, TRANSFER, p, bool(beyond_chance))
    return WorstCase(*white, WHITE_BOX, p, False)


def with_worst_case(
    frame: pd.DataFrame,
    load: Callable[[str], Mapping[str, Any] | None] | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """``frame`` (a results frame) with :data:`WORST_COLUMNS` filled on every adaptive row:
    its worst case against the oblivious row of the same dataset, defense, attack label,
    backend, role and seed (the white-box figure itself where there is none). ``load(key)``
    gives a cell's per-image outcomes for the paired test."""
    out = frame.copy()
    if not len(out) or "adv_f1" not in out or "threat" not in out:
        return out
    by = [c for c in PAIRED_BY if c in out]
    transfers = {
        tuple(row[c] for c in by): row for _, row in out[out["threat"] == OBLIVIOUS].iterrows()
    }
    untouched: tuple[Any, ...] = (math.nan, math.nan, math.nan, None, math.nan, False, "")
    cases: list[tuple[Any, ...]] = []
    for _, row in out.iterrows():
        if row["threat"] != ADAPTIVE:
            cases.append(untouched)
            continue
        transfer = transfers.get(tuple(row[c] for c in by))
        white_samples = transfer_samples = None
        if transfer is not None and load is not None:
            white_samples, transfer_samples = load(str(row["key"])), load(str(transfer["key"]))
        case = worst_case(row, transfer, white_samples, transfer_samples, alpha)
        cases.append((case.f1, case.lo, case.hi, case.by, case.p, case.obfuscated, case.note))
    columns = dict(zip(WORST_COLUMNS, zip(*cases)))
    for c, values in columns.items():
        out[c] = list(values)
    return out
