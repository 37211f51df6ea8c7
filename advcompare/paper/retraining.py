"""Oblivious gains read against plain retraining (issue 28, item 6).

An oblivious (transfer) attack crafts its examples on the undefended model; any other network
classifies them better, defended or not. The retrained control (the undefended CNN trained
again from another seed, :mod:`advcompare.defenses.retrained`) measures that transfer loss, so
a defense's oblivious F1 is compared with the control's on the same images: the gain beyond
retraining, with a paired bootstrap interval over the attacked images.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from advcompare.analysis.statistics import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    percentile_interval,
)
from advcompare.defenses.defended import OBLIVIOUS
from advcompare.paper.conditions import PAPER_ATTACKS, PAPER_DEFENSES
from advcompare.paper.grids import RETRAINED, build_grids

BEYOND, WITHIN, BELOW = "beyond retraining", "within retraining's", "below retraining"


def reading(lo: float, hi: float) -> str:
    """What the interval of (defense F1 − control F1) says: the defense adds to plain
    retraining only when the whole interval is above 0."""
    if lo > 0:
        return BEYOND
    if hi < 0:
        return BELOW
    return WITHIN


def retraining_frame(
    cells: pd.DataFrame,
    load: Callable[[str], Mapping[str, Any] | None],
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> pd.DataFrame:
    """Per dataset × attack × paper defense, under the oblivious threat model: the
    defense's F1 gain over the undefended model, the retrained control's, and the
    defense's F1 minus the control's with its interval and reading. Empty without
    retrained cells."""
    rows = []
    for (dataset, threat), grid in build_grids(cells, load, resamples, seed).items():
        if threat != OBLIVIOUS:
            continue
        for attack in PAPER_ATTACKS:
            if not {(RETRAINED, attack), ("none", attack)} <= set(grid.cells):
                continue
            control = grid.f1(RETRAINED, attack)
            none = grid.f1("none", attack)
            for defense in PAPER_DEFENSES:
                if (defense, attack) not in grid.cells:
                    continue
                defended = grid.f1(defense, attack)
                beyond = defended - control
                lo, hi = percentile_interval(beyond[1:], confidence)
                rows.append(
                    {
                        "dataset": dataset,
                        "attack": attack,
                        "defense": defense,
                        "gain": float(defended[0] - none[0]),
                        "control_gain": float(control[0] - none[0]),
                        "beyond": float(beyond[0]),
                        "beyond_lo": lo,
                        "beyond_hi": hi,
                        "reading": reading(lo, hi),
                        "n": grid.n,
                    }
                )
    return pd.DataFrame(rows)
