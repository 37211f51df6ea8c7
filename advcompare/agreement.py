"""Does the library matter? Paired comparisons of backends that ran the same attack.

For every pair of backends that ran the same attack spec on the same classifier (dataset,
defense, threat model, training seed) and images: the share of initially correct images both
fooled, both failed on, or only one fooled; the distance between their adversarial images;
and two paired tests (:mod:`advcompare.statistics`):

- McNemar's exact test on per-image fooled / not fooled (``p_fooled``);
- the Wilcoxon signed-rank test on per-image L2 where both fooled (``p_l2``).

Every p-value of the table is Holm-corrected together (``*_holm``); a pair *differs* when
either corrected p-value is below α (default 0.05). Computed from each cell's stored
per-sample results, never from the libraries themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from advcompare.results.store import load_samples
from advcompare.statistics import DEFAULT_ALPHA, holm, mcnemar_exact, wilcoxon_paired

Samples = Mapping[str, Any]
# What identifies one classifier and attack whose backends are paired.
GROUP = ("dataset", "defense", "threat", "seed", "label")
COLUMNS = (
    *GROUP,
    "attack",
    "first",
    "second",
    "n",
    "both_succeed",
    "both_fail",
    "only_first",
    "only_second",
    "mean_l2_between",
    "max_linf_between",
    "p_fooled",
    "n_both_fooled",
    "median_l2_difference",
    "p_l2",
    "p_fooled_holm",
    "p_l2_holm",
    "differ",
)


def _array(samples: Samples, name: str) -> np.ndarray:
    value = samples[name]
    return value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def pair_agreement(a: Samples, b: Samples) -> dict[str, float]:
    """Agreement and paired tests between two cells' per-sample results on the same images
    (``correct``, ``success``, ``l2``; ``x_adv`` for the distances between them, NaN
    without)."""
    correct = _array(a, "correct").astype(bool)
    if not np.array_equal(correct, _array(b, "correct").astype(bool)):
        raise ValueError("cells were graded on different images or models")
    sa = _array(a, "success").astype(bool)[correct]
    sb = _array(b, "success").astype(bool)[correct]
    n = int(correct.sum())
    share = max(n, 1)
    fooled_test = mcnemar_exact(sa, sb)
    out: dict[str, float] = {
        "n": n,
        "both_succeed": float((sa & sb).sum()) / share,
        "both_fail": float((~sa & ~sb).sum()) / share,
        "only_first": fooled_test["only_first"] / share,
        "only_second": fooled_test["only_second"] / share,
        "mean_l2_between": float("nan"),
        "max_linf_between": float("nan"),
    }
    if "x_adv" in a and "x_adv" in b:
        xa, xb = torch.as_tensor(a["x_adv"]), torch.as_tensor(b["x_adv"])
        out["mean_l2_between"] = float((xa - xb).flatten(1).norm(dim=1).mean())
        out["max_linf_between"] = float((xa - xb).abs().max())
    out["p_fooled"] = fooled_test["p"]
    both = sa & sb
    if "l2" in a and "l2" in b:
        tested = wilcoxon_paired(_array(a, "l2")[correct][both], _array(b, "l2")[correct][both])
        out |= {
            "n_both_fooled": tested["n"],
            "median_l2_difference": tested["median_difference"],
            "p_l2": tested["p"],
        }
    else:
        out |= {"n_both_fooled": int(both.sum()), "median_l2_difference": np.nan, "p_l2": np.nan}
    return out


def pairs_frame(
    groups: Iterable[tuple[dict[str, Any], dict[str, Samples]]], alpha: float = DEFAULT_ALPHA
) -> pd.DataFrame:
    """One row per pair of backends within each group (its identity, backend → samples),
    with every p-value of the table Holm-corrected together and ``differ`` at ``alpha``."""
    rows = []
    for identity, by_backend in groups:
        for first, second in combinations(by_backend, 2):
            rows.append(
                {
                    **identity,
                    "first": first,
                    "second": second,
                    **pair_agreement(by_backend[first], by_backend[second]),
                }
            )
    frame = pd.DataFrame(
        rows, columns=[c for c in COLUMNS if c not in ("p_fooled_holm", "p_l2_holm", "differ")]
    )
    return with_holm(frame, alpha)


def with_holm(frame: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """``frame`` with ``p_fooled_holm``, ``p_l2_holm`` (Holm across every p-value of both
    columns) and ``differ`` (either below ``alpha``)."""
    frame = frame.copy()
    if not len(frame):
        return frame.reindex(columns=list(COLUMNS))
    values = list(frame["p_fooled"].astype(float)) + list(frame["p_l2"].astype(float))
    adjusted = holm(values)
    frame["p_fooled_holm"] = adjusted[: len(frame)]
    frame["p_l2_holm"] = adjusted[len(frame) :]
    frame["differ"] = (frame["p_fooled_holm"] < alpha) | (frame["p_l2_holm"] < alpha)
    return frame


def _identity(row: Any, display: Callable[[str], str] | None = None) -> dict[str, Any]:
    return {
        "dataset": row.dataset,
        "defense": getattr(row, "defense", "none"),
        "threat": getattr(row, "threat", "adaptive"),
        "seed": int(getattr(row, "seed", 0) or 0),
        "label": row.label,
        "attack": row.attack,
    }


def agreement_frame(
    cells: pd.DataFrame, run_dir: Path, alpha: float = DEFAULT_ALPHA
) -> pd.DataFrame:
    """The paired comparison of every group of cells in a results frame whose per-sample
    files exist: only cells graded on the same classifier and images are paired."""
    if not len(cells):
        return with_holm(pd.DataFrame(columns=list(COLUMNS)), alpha)
    keys = [c for c in (*GROUP, "spec") if c in cells]
    groups = []
    for _, group in cells.groupby(keys, sort=False, dropna=False):
        loaded: dict[str, Samples] = {}
        for row in group.itertuples():
            samples = load_samples(Path(run_dir), str(row.key))
            if samples is not None:
                loaded[row.backend] = samples
        if len(loaded) > 1:
            groups.append((_identity(group.iloc[0]), loaded))
    return pairs_frame(groups, alpha)


def samples_groups(samples: pd.DataFrame) -> list[tuple[dict[str, Any], dict[str, Samples]]]:
    """Groups of a long per-image frame (:attr:`advcompare.results.Results.samples`):
    per classifier and attack label, each backend's per-image arrays in image order."""
    if not len(samples):
        return []
    keys = [c for c in GROUP if c in samples]
    out = []
    for _, group in samples.groupby(keys, sort=False, dropna=False):
        by_backend: dict[str, Samples] = {}
        for backend, part in group.groupby("backend", sort=False):
            part = part.sort_values("index")
            by_backend[str(backend)] = {
                "correct": part["correct"].to_numpy(bool),
                "success": part["success"].to_numpy(bool),
                "l2": part["l2"].to_numpy(float),
            }
        if len(by_backend) > 1:
            out.append((_identity(group.iloc[0]), by_backend))
    return out


def attack_conclusions(pairs: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Per classifier and attack: "libraries differ (p = …)" with the smallest corrected
    p-value and the pair it belongs to, or "no detectable difference at n = …"."""
    rows = []
    if not len(pairs):
        return pd.DataFrame(
            columns=[*GROUP, "attack", "backends", "differ", "p", "conclusion", "cause"]
        )
    for _, group in pairs.groupby(list(GROUP), sort=False, dropna=False):
        first = group.iloc[0]
        smallest = group[["p_fooled_holm", "p_l2_holm"]].min(axis=1)
        at = smallest.idxmin() if smallest.notna().any() else group.index[0]
        p = float(smallest.loc[at])
        differ = bool(group["differ"].any())
        backends = sorted(set(group["first"]) | set(group["second"]))
        cause = ""
        if differ:
            pair = group.loc[at]
            test = "fooled, McNemar" if pair["p_fooled_holm"] == p else "L2, Wilcoxon"
            text = f"libraries differ ({test} p = {p:.2g}, {pair['first']} vs {pair['second']})"
            cause = documented_cause(str(first["attack"]), str(pair["first"]), str(pair["second"]))
        else:
            text = f"no detectable difference at n = {int(group['n'].min())} (α = {alpha:g})"
        rows.append(
            {
                **{k: first[k] for k in GROUP},
                "attack": first["attack"],
                "backends": ", ".join(backends),
                "differ": differ,
                "p": p,
                "conclusion": text,
                "cause": cause,
            }
        )
    return pd.DataFrame(rows)


def documented_cause(attack: str, first: str, second: str) -> str:
    """What the two backends' entries for ``attack`` say they differ in (their capability
    notes, ``advcompare backends``): the documented candidates for a measured difference."""
    from advcompare.adapters.registry import implementation

    notes = []
    for backend in (first, second):
        impl = implementation(backend, attack)
        if impl is not None and impl.capability.note:
            notes.append(f"{backend}: {impl.capability.note}")
    return "; ".join(notes)
