"""The paper's reported figures (Campbell & Lasselle 2024, Tables 2-14), kept as data.

``resources/paper_reference.csv`` holds one row per figure: table, defense, attack, metric
("f1" or "prediction_time"), dataset ("mnist", "cifar10", "gtsrb"), value, unit.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from advcompare.attacks.spec import ATTACKS
from advcompare.data.datasets import paper_dataset as paper_dataset_of


@lru_cache(maxsize=1)
def paper_table() -> pd.DataFrame:
    """All figures the paper reports, as a DataFrame."""
    with resources.files("advcompare.resources").joinpath("paper_reference.csv").open() as fh:
        return pd.read_csv(fh)


def paper_value(
    dataset: str | None, attack: str, metric: str, defense: str = "none"
) -> float | None:
    """The paper's figure for this cell, or None where the paper gives none.

    ``dataset`` is one of ours (None: no dataset of ours, so no figure); it is mapped to the
    paper's (``mnist-sample`` → ``mnist``).
    ``attack`` is mapped through its record's ``paper`` name (an attack whose record has
    none, such as a library comparator, has no paper figure); a name without a record
    (``"none"``: no attack) is looked up as it is.
    """
    paper_dataset = paper_dataset_of(dataset)
    if paper_dataset is None:
        return None
    record = ATTACKS.get(attack)
    if record is not None:
        if record.paper is None:
            return None
        attack = record.paper
    t = paper_table()
    hit = t[
        (t.dataset == paper_dataset)
        & (t.attack == attack)
        & (t.metric == metric)
        & (t.defense == defense)
    ]
    return float(hit.value.iloc[0]) if len(hit) else None
