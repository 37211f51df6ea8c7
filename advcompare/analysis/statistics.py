"""Uncertainty and tests, so a reader can tell a library effect from chance (DESIGN.md §9).

- :func:`bootstrap_intervals`: a seeded percentile bootstrap over images (the same images
  resampled together for every figure of a cell) for macro F1 and the median norms, and
  Wilson's score interval for the success rate (:mod:`advcompare.analysis.proportions`). The
  resamples are drawn from the run's seed, so a report is reproducible.
- :func:`mcnemar_exact` and :func:`wilcoxon_paired`: two backends that attacked the same images
  on the same classifier are *paired*; McNemar's exact test on per-image fooled / not fooled,
  the Wilcoxon signed-rank test on per-image L2 where both fooled.
- :func:`holm`: Holm's step-down correction across every test of a table.
- :func:`images_to_settle`: how many images an interval wider than the question needs.

Medians are the *lower* median everywhere (``torch.median``'s definition: the ⌈n/2⌉-th
smallest value), so the table and the intervals quote the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from advcompare.analysis.proportions import wilson_interval

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_ALPHA = 0.05

# The figures that get an interval: metric name → what it is computed from.
INTERVAL_METRICS = ("adv_f1", "success_rate", "l2_median", "linf_median", "l0_median")


DEFAULT_MARGIN = 0.05  # equivalence margin of a success difference: "agree within ±5 points"
DEFAULT_MAX_COST_RATIO = 1.5  # a pair spending more than this × the passes is not comparable


@dataclass(frozen=True)
class StatisticsConfig:
    """``[statistics]`` in the config: bootstrap resamples and level, the tests' α, the
    equivalence margin and the largest cost ratio at which two backends are compared."""

    resamples: int = DEFAULT_RESAMPLES
    confidence: float = DEFAULT_CONFIDENCE
    alpha: float = DEFAULT_ALPHA
    margin: float = DEFAULT_MARGIN
    max_cost_ratio: float = DEFAULT_MAX_COST_RATIO


def lower_median(values: np.ndarray) -> float:
    """The lower median (``torch.median``'s): NaN for no values."""
    values = np.sort(np.asarray(values, dtype=float))
    return float(values[(len(values) - 1) // 2]) if len(values) else float("nan")


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, n)`` counts: how often each image is drawn in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    flat = idx + n * np.arange(resamples)[:, None]
    return np.bincount(flat.ravel(), minlength=resamples * n).reshape(resamples, n)


def weighted_macro_f1(y: np.ndarray, pred: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Macro F1 (over the classes present in each resample's labels, as
    :func:`advcompare.analysis.metrics.macro_f1`) for every row of ``counts``.

    Every class's true positives, false positives, false negatives and support come from
    one floating-point product (BLAS: NumPy's integer products are not), exact because the
    sums are integers far below 2**53; the scores are then added class by class."""
    y, pred = np.asarray(y), np.asarray(pred)
    classes = np.unique(y)
    truth = y[:, None] == classes[None, :]
    guess = pred[:, None] == classes[None, :]
    columns = np.concatenate([truth & guess, ~truth & guess, truth & ~guess, truth], axis=1)
    sums = np.asarray(counts, dtype=float) @ columns.astype(float)
    tp, fp, fn, support = np.split(np.ascontiguousarray(sums.T), 4)  # each (classes, rows)
    denom = 2 * tp + fp + fn
    scores = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    present = support > 0
    return (scores * present).sum(0) / np.maximum(present.sum(0), 1)


def weighted_lower_median(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The lower median of ``values`` repeated ``counts[r]`` times, for every row ``r``
    (NaN where a resample drew none of them)."""
    order = np.argsort(values, kind="stable")
    values, counts = np.asarray(values, dtype=float)[order], counts[:, order]
    if values.size == 0:
        return np.full(len(counts), np.nan)
    cum = counts.cumsum(1)
    total = cum[:, -1]
    k = (total - 1) // 2
    pos = (cum <= k[:, None]).sum(1)
    out = values[np.minimum(pos, len(values) - 1)]
    return np.where(total > 0, out, np.nan)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of the finite ``values`` (NaN, NaN
    when there are none)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_intervals(
    y: Any,
    pred_adv: Any,
    correct: Any,
    success: Any,
    norms: dict[str, Any],
    config: StatisticsConfig = StatisticsConfig(),
    seed: int = 0,
) -> dict[str, float]:
    """``<metric>_lo`` and ``<metric>_hi`` for every metric of :data:`INTERVAL_METRICS`:
    a percentile bootstrap over images (``config.resamples`` resamples seeded by ``seed``),
    except the success rate, which gets Wilson's score interval.

    ``norms`` maps ``l0``/``l2``/``linf`` to every image's norm; the medians are over fooled
    images, as in the table. Success rate is over the images classified right before.
    """
    y = np.asarray(y)
    n = len(y)
    out: dict[str, float] = {}
    if n == 0 or config.resamples <= 0:
        return {f"{m}_{end}": float("nan") for m in INTERVAL_METRICS for end in ("lo", "hi")}
    counts = resample_counts(n, config.resamples, seed)
    correct = np.asarray(correct).astype(bool)
    success = np.asarray(success).astype(bool) & correct
    stats = {"adv_f1": weighted_macro_f1(y, np.asarray(pred_adv), counts)}
    for name in ("l2", "linf", "l0"):
        if name in norms:
            values = np.asarray(norms[name], dtype=float)
            stats[f"{name}_median"] = weighted_lower_median(values[success], counts[:, success])
    for metric in INTERVAL_METRICS:
        lo, hi = (
            percentile_interval(stats[metric], config.confidence)
            if metric in stats
            else (
                float("nan"),
                float("nan"),
            )
        )
        out[f"{metric}_lo"], out[f"{metric}_hi"] = lo, hi
    # a count out of the initially correct images: Wilson's interval, which keeps a positive
    # width at 0% and 100% where a percentile bootstrap collapses
    rate = wilson_interval(int(success.sum()), int(correct.sum()), config.confidence)
    out["success_rate_lo"], out["success_rate_hi"] = rate
    return out


def images_to_settle(n: int, width: float, target: float) -> int | None:
    """Images an interval of ``width`` over ``n`` images needs to narrow to ``target``
    (width shrinks as 1/√n); None when either width is not a positive number."""
    if not n or not (width > 0) or not (target > 0) or math.isnan(width):
        return None
    return int(math.ceil(n * (width / target) ** 2))


def mcnemar_exact(first: Any, second: Any) -> dict[str, float]:
    """McNemar's exact test on paired booleans (fooled or not, per image): a two-sided
    binomial test on the discordant pairs. No discordant pair gives p = 1 exactly."""
    a, b = np.asarray(first).astype(bool), np.asarray(second).astype(bool)
    only_first, only_second = int((a & ~b).sum()), int((~a & b).sum())
    discordant = only_first + only_second
    from scipy.stats import binomtest  # 0.8 s to import: on use, not in every Ray worker

    p = 1.0 if discordant == 0 else float(binomtest(only_first, discordant, 0.5).pvalue)
    return {"only_first": only_first, "only_second": only_second, "p": min(p, 1.0)}


def wilcoxon_paired(first: Any, second: Any) -> dict[str, float]:
    """The Wilcoxon signed-rank test on paired norms (two-sided; zero differences dropped).
    Fewer than one non-zero difference gives p = 1 exactly."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    diff = a - b
    diff = diff[np.isfinite(diff)]
    nonzero = diff[diff != 0]
    median = lower_median(diff) if diff.size else float("nan")
    if nonzero.size == 0:
        return {"n": int(diff.size), "median_difference": median, "p": 1.0}
    from scipy.stats import wilcoxon

    p = float(wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided").pvalue)
    return {"n": int(diff.size), "median_difference": median, "p": min(p, 1.0)}


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error at α across the list); NaN
    entries stay NaN and are not counted."""
    indexed = [(p, i) for i, p in enumerate(pvalues) if p is not None and not math.isnan(p)]
    indexed.sort()
    m = len(indexed)
    adjusted = [float("nan")] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def with_intervals(
    metrics: dict[str, Any], samples: dict[str, Any], config: StatisticsConfig, seed: int
) -> dict[str, Any]:
    """``metrics`` with the bootstrap interval columns of :func:`bootstrap_intervals`,
    computed from a graded cell's per-sample tensors (labels ``y`` and predictions
    included, as :func:`advcompare.analysis.metrics.grade_attack_samples` returns them)."""
    if "pred_adv" not in samples or "y" not in samples:
        return dict(metrics)
    norms: dict[str, Any] = {k: samples[k] for k in ("l0", "l2", "linf") if k in samples}
    intervals = bootstrap_intervals(
        np.asarray(samples["y"]),
        samples["pred_adv"],
        samples["correct"],
        samples["success"],
        norms,
        config,
        seed,
    )
    return {
        **metrics,
        **intervals,
        "bootstrap_resamples": config.resamples,
        "confidence": config.confidence,
    }
