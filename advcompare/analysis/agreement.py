"""Does the library matter? Paired comparisons of backends that ran the same attack.

For every pair of backends that ran the same attack spec on the same classifier (dataset,
defense, threat model, training seed) and images: the share of initially correct images both
fooled, both failed on, or only one fooled; the distance between their adversarial images;
two paired tests (:mod:`advcompare.analysis.statistics`) and their effect sizes:

- McNemar's exact test on per-image fooled / not fooled (``p_fooled``), and the paired
  difference in success rate with Tango's score interval (``success_difference``, ``_lo``,
  ``_hi`` at the confidence level; ``equivalence_lo``/``_hi`` at ``1 − 2α`` for the TOST);
- the Wilcoxon signed-rank test on per-image L2 where both fooled (``p_l2``), and the median
  per-image L2 ratio first / second with its bootstrap interval (``l2_ratio``, ``_lo``, ``_hi``).
  The test is applied only to attacks that minimise a distance (minimum-norm and
  decision-based, :func:`distance_is_tested`): a bounded attack's L2 is not its aim (any
  point inside the ε ball that fools is a success), so its ratio is reported, not tested;
- each backend's measured cost, forward plus backward passes per image (``cost_first``,
  ``cost_second``, ``cost_ratio``: the larger over the smaller).

Every p-value of the table is Holm-corrected together (``*_holm``); a pair *differs* when
either corrected p-value is below α (default 0.05). What a pair's figures answer ("agree
within ±m points", "differ by d points", …) is :mod:`advcompare.analysis.comparison`'s. Computed
from each cell's stored per-sample results and measured passes, never from the libraries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from advcompare.analysis.proportions import tango_interval
from advcompare.analysis.statistics import (
    DEFAULT_ALPHA,
    DEFAULT_CONFIDENCE,
    holm,
    lower_median,
    mcnemar_exact,
    percentile_interval,
    resample_counts,
    weighted_lower_median,
    wilcoxon_paired,
)
from advcompare.attacks.record import BOUNDED
from advcompare.attacks.spec import ATTACKS
from advcompare.storage.store import load_samples

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
    "success_difference",
    "success_difference_lo",
    "success_difference_hi",
    "equivalence_lo",
    "equivalence_hi",
    "l2_ratio",
    "l2_ratio_lo",
    "l2_ratio_hi",
    "cost_first",
    "cost_second",
    "cost_ratio",
    "p_fooled_holm",
    "p_l2_holm",
    "differ",
)


def _array(samples: Samples, name: str) -> np.ndarray:
    value = samples[name]
    return value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def pair_agreement(
    a: Samples, b: Samples, alpha: float = DEFAULT_ALPHA, confidence: float = DEFAULT_CONFIDENCE
) -> dict[str, float]:
    """Agreement, paired tests and effect sizes between two cells' per-sample results on the
    same images (``correct``, ``success``, ``l2``; ``x_adv`` for the distances between them
    and ``passes_per_image`` for the cost, NaN without)."""
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
    only_first, only_second = int(fooled_test["only_first"]), int(fooled_test["only_second"])
    lo, hi = tango_interval(only_first, only_second, n, confidence)
    eq_lo, eq_hi = tango_interval(only_first, only_second, n, 1 - 2 * alpha)
    out |= {
        "success_difference": (only_first - only_second) / share if n else np.nan,
        "success_difference_lo": lo,
        "success_difference_hi": hi,
        "equivalence_lo": eq_lo,
        "equivalence_hi": eq_hi,
    }
    if "l2" in a and "l2" in b:
        out |= l2_ratio(_array(a, "l2")[correct][both], _array(b, "l2")[correct][both], confidence)
    else:
        out |= {"l2_ratio": np.nan, "l2_ratio_lo": np.nan, "l2_ratio_hi": np.nan}
    return out | pass_costs(a, b)


def l2_ratio(
    first: np.ndarray, second: np.ndarray, confidence: float = DEFAULT_CONFIDENCE, seed: int = 0
) -> dict[str, float]:
    """The lower median of the per-image L2 ratios first / second (images both fooled, both
    norms positive) with a seeded percentile bootstrap interval (1,000 resamples)."""
    keep = (first > 0) & (second > 0) & np.isfinite(first) & np.isfinite(second)
    ratios = first[keep] / second[keep]
    if not ratios.size:
        return {"l2_ratio": np.nan, "l2_ratio_lo": np.nan, "l2_ratio_hi": np.nan}
    medians = weighted_lower_median(ratios, resample_counts(ratios.size, 1000, seed))
    lo, hi = percentile_interval(medians, confidence)
    return {"l2_ratio": lower_median(ratios), "l2_ratio_lo": lo, "l2_ratio_hi": hi}


def pass_costs(a: Samples, b: Samples) -> dict[str, float]:
    """Each backend's forward plus backward passes per image, and the larger over the
    smaller (NaN where a cost was not measured)."""
    first = float(a.get("passes_per_image", np.nan))
    second = float(b.get("passes_per_image", np.nan))
    if np.isnan(first) or np.isnan(second):  # min/max with a NaN depend on its place
        return {"cost_first": first, "cost_second": second, "cost_ratio": np.nan}
    low, high = min(first, second), max(first, second)
    ratio = high / low if low > 0 else (np.inf if high > 0 else np.nan)
    return {"cost_first": first, "cost_second": second, "cost_ratio": ratio}


def pairs_frame(
    groups: Iterable[tuple[dict[str, Any], dict[str, Samples]]],
    alpha: float = DEFAULT_ALPHA,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """One row per pair of backends within each group (its identity, backend → samples),
    with every p-value of the table Holm-corrected together and ``differ`` at ``alpha``;
    intervals at ``confidence`` (the equivalence interval at ``1 − 2α``)."""
    rows = []
    for identity, by_backend in groups:
        for first, second in combinations(by_backend, 2):
            attack = str(identity.get("attack", ""))
            pair = attack_pair(by_backend[first], by_backend[second], attack, alpha, confidence)
            rows.append({**identity, "first": first, "second": second, **pair})
    frame = pd.DataFrame(
        rows, columns=[c for c in COLUMNS if c not in ("p_fooled_holm", "p_l2_holm", "differ")]
    )
    return with_holm(frame, alpha)


def distance_is_tested(attack: str) -> bool:
    """Whether a difference in L2 between two backends' examples says one attack is
    stronger: for attacks that minimise a distance, not for ε-bounded ones (Carlini et al.
    2019, "On evaluating adversarial robustness": a bounded attack is judged by success at ε).
    An attack without a record (a user's) is tested."""
    record = ATTACKS.get(attack)
    return record is None or record.kind != BOUNDED


def attack_pair(
    first: Samples, second: Samples, attack: str, alpha: float, confidence: float
) -> dict[str, float]:
    """:func:`pair_agreement` for two backends' cells of ``attack``, its L2 test left out
    (``p_l2`` NaN: not tested, not in Holm's family) where the attack does not minimise a
    distance (:func:`distance_is_tested`)."""
    pair = pair_agreement(first, second, alpha, confidence)
    if not distance_is_tested(attack):
        pair["p_l2"] = np.nan
    return pair


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
    cells: pd.DataFrame,
    run_dir: Path,
    alpha: float = DEFAULT_ALPHA,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """The paired comparison of every group of cells in a results frame whose per-sample
    files exist: only cells graded on the same classifier and images are paired; each
    cell's measured passes per image go with its samples."""
    if not len(cells):
        return with_holm(pd.DataFrame(columns=list(COLUMNS)), alpha)
    keys = [c for c in (*GROUP, "spec") if c in cells]
    groups = []
    for _, group in cells.groupby(keys, sort=False, dropna=False):
        loaded: dict[str, Samples] = {}
        for row in group.itertuples():
            samples = load_samples(Path(run_dir), str(row.key))
            if samples is not None:
                loaded[row.backend] = {**samples, "passes_per_image": passes_per_image(row)}
        if len(loaded) > 1:
            groups.append((_identity(group.iloc[0]), loaded))
    return pairs_frame(groups, alpha, confidence)


def passes_per_image(row: Any) -> float:
    """A cell's forward plus backward passes per image (NaN for a cell stored without)."""
    forward = getattr(row, "forward_per_image", np.nan)
    backward = getattr(row, "backward_per_image", np.nan)
    return float(forward) + float(backward)


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
