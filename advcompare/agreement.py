"""Where two backends agree on the same attack: per-sample outcomes and distances.

For every pair of backends that ran the same attack spec on the same images, the share of
initially correct images both fooled, both failed on, or only one fooled, and the mean L2
distance between their adversarial images. Computed from each cell's stored per-sample
results (``adv/<key>.safetensors``), never from the libraries themselves.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pandas as pd
import torch

from advcompare.results.store import load_samples


def pair_agreement(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, float]:
    """Agreement between two cells' per-sample results on the same images."""
    if not torch.equal(a["correct"], b["correct"]):
        raise ValueError("cells were graded on different images or models")
    correct = a["correct"].bool()
    sa, sb = a["success"].bool()[correct], b["success"].bool()[correct]
    n = max(int(correct.sum()), 1)
    distance = (a["x_adv"] - b["x_adv"]).flatten(1).norm(dim=1)
    return {
        "both_succeed": float((sa & sb).sum()) / n,
        "both_fail": float((~sa & ~sb).sum()) / n,
        "only_first": float((sa & ~sb).sum()) / n,
        "only_second": float((~sa & sb).sum()) / n,
        "mean_l2_between": float(distance.mean()),
        "max_linf_between": float((a["x_adv"] - b["x_adv"]).abs().max()),
    }


def agreement_frame(cells: pd.DataFrame, run_dir: Path) -> pd.DataFrame:
    """One row per (dataset, defense, threat, attack label, backend pair) whose per-sample
    files exist: only cells graded on the same classifier and images are paired."""
    rows = []
    for (dataset, defense, threat, label, _spec), group in cells.groupby(
        ["dataset", "defense", "threat", "label", "spec"], sort=False
    ):
        loaded = {}
        for row in group.itertuples():
            samples = load_samples(Path(run_dir), str(row.key))
            if samples is not None:
                loaded[row.backend] = samples
        for first, second in combinations(loaded, 2):
            shown = label if defense == "none" else f"{label} ({defense}, {threat})"
            rows.append(
                {
                    "dataset": dataset,
                    "attack": shown,
                    "first": first,
                    "second": second,
                    **pair_agreement(loaded[first], loaded[second]),
                }
            )
    return pd.DataFrame(rows)
