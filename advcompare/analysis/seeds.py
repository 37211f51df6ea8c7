"""Training-seed variation: the same cells on models trained with other seeds.

A difference between libraries smaller than the spread between training seeds is not a
library effect (DESIGN.md §9). :func:`seed_spread` gives mean ± sd across seeds per cell;
:func:`library_vs_seeds` says, per attack, whether the spread of the libraries' seed-means
exceeds twice the largest standard deviation across seeds of any one of them.
"""

from __future__ import annotations

import pandas as pd

CELL = ["dataset", "defense", "threat", "label", "attack", "backend"]
METRICS = ("clean_f1", "adv_f1", "success_rate")
# The libraries' spread counts as larger than the seeds' when it exceeds this many seed sds.
SEED_SD_MULTIPLE = 2.0


def seed_spread(frame: pd.DataFrame) -> pd.DataFrame:
    """Per attack × backend × classifier over the seeds of a results frame's main cells:
    ``n_seeds`` and ``<metric>_mean``/``<metric>_sd`` (sample sd, ddof 1) of clean F1,
    adversarial F1 and success rate. Empty when the run has one seed."""
    if "seed" not in frame or frame["seed"].nunique() < 2:
        return pd.DataFrame()
    main = frame[frame["role"] == "main"] if "role" in frame else frame
    rows = []
    for identity, group in main.groupby(CELL, sort=False, dropna=False):
        row = dict(zip(CELL, identity))
        row["n_seeds"] = int(group["seed"].nunique())
        row["seeds"] = ",".join(str(s) for s in sorted(group["seed"].unique()))
        for metric in METRICS:
            values = group[metric].astype(float)
            row[f"{metric}_mean"] = float(values.mean())
            row[f"{metric}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def library_vs_seeds(spread: pd.DataFrame) -> pd.DataFrame:
    """Per classifier and attack run by two or more backends: the range of the backends'
    mean adversarial F1 across seeds against the largest sd across seeds, and whether the
    libraries differ by more than :data:`SEED_SD_MULTIPLE` seed sds."""
    if not len(spread):
        return pd.DataFrame()
    rows = []
    keys = ["dataset", "defense", "threat", "label", "attack"]
    for identity, group in spread.groupby(keys, sort=False, dropna=False):
        if group["backend"].nunique() < 2:
            continue
        means = group["adv_f1_mean"]
        library_range = float(means.max() - means.min())
        seed_sd = float(group["adv_f1_sd"].max())
        exceeds = library_range > SEED_SD_MULTIPLE * seed_sd
        text = (
            f"libraries differ by more than the seeds: range {library_range:.3f} > "
            f"{SEED_SD_MULTIPLE:g} × seed sd {seed_sd:.3f}"
            if exceeds
            else f"within training variation: range {library_range:.3f} ≤ "
            f"{SEED_SD_MULTIPLE:g} × seed sd {seed_sd:.3f}"
        )
        rows.append(
            {
                **dict(zip(keys, identity)),
                "backends": ", ".join(group["backend"]),
                "library_range": library_range,
                "seed_sd": seed_sd,
                "exceeds_seeds": exceeds,
                "conclusion": text,
            }
        )
    return pd.DataFrame(rows)
