"""Properties of the statistics that decide conclusions, checked on generated inputs
(hypothesis, derandomized so the suite is reproducible): intervals contain their estimate and
widen with the level, Holm never lowers a p-value, McNemar is symmetric, the verdict is
monotone in the distance to the paper's figure, and a library pair's answer does not depend on
which backend is named first (DESIGN.md §9)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from advcompare.analysis.agreement import pairs_frame
from advcompare.analysis.comparison import attack_conclusions
from advcompare.analysis.proportions import tango_interval, wilson_interval
from advcompare.analysis.statistics import (
    StatisticsConfig,
    bootstrap_intervals,
    holm,
    lower_median,
    mcnemar_exact,
    percentile_interval,
)
from advcompare.paper.verdict import DIFFERS, INCONCLUSIVE, REPRODUCES, judge_cell, judge_interval

FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
SLOWER = settings(FAST, max_examples=20)  # properties that run a bootstrap or a pair frame

LEVELS = st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99])
TINY = 1e-12


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 400))
    return draw(st.integers(0, n)), n


@st.composite
def paired(draw: st.DrawFn) -> tuple[int, int, int]:
    n = draw(st.integers(1, 300))
    only_first = draw(st.integers(0, n))
    return only_first, draw(st.integers(0, n - only_first)), n


@st.composite
def two_levels(draw: st.DrawFn) -> tuple[float, float]:
    low, high = sorted(draw(st.lists(LEVELS, min_size=2, max_size=2, unique=True)))
    return low, high


# -- intervals -------------------------------------------------------------------------------


@FAST
@given(counts(), LEVELS)
def test_wilson_contains_its_estimate_and_stays_in_zero_one(kn, level):
    k, n = kn
    lo, hi = wilson_interval(k, n, level)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert hi - lo > 0  # positive width everywhere, 0% and 100% included


@FAST
@given(counts(), two_levels())
def test_wilson_widens_with_the_level(kn, levels):
    k, n = kn
    low, high = levels
    lo_a, hi_a = wilson_interval(k, n, low)
    lo_b, hi_b = wilson_interval(k, n, high)
    assert lo_b <= lo_a + TINY and hi_a <= hi_b + TINY
    assert hi_b - lo_b > hi_a - lo_a  # strictly wider: a 90% interval is not a 95% one


@FAST
@given(st.integers(1, 2000), LEVELS)
def test_wilson_has_positive_width_at_zero_and_all(n, level):
    lo0, hi0 = wilson_interval(0, n, level)
    lo1, hi1 = wilson_interval(n, n, level)
    assert lo0 == 0.0 < hi0 and lo1 < hi1 == 1.0
    # symmetric: 0 of n mirrors n of n
    assert hi0 == pytest.approx(1 - lo1, abs=1e-12)


@FAST
@given(paired(), LEVELS)
def test_tango_contains_the_paired_difference(counts3, level):
    only_first, only_second, n = counts3
    lo, hi = tango_interval(only_first, only_second, n, level)
    estimate = (only_first - only_second) / n
    assert -1.0 <= lo <= estimate + 1e-9 and estimate - 1e-9 <= hi <= 1.0
    assert hi > lo


@FAST
@given(paired(), two_levels())
def test_tango_widens_with_the_level(counts3, levels):
    only_first, only_second, n = counts3
    low, high = levels
    lo_a, hi_a = tango_interval(only_first, only_second, n, low)
    lo_b, hi_b = tango_interval(only_first, only_second, n, high)
    assert lo_b <= lo_a + 1e-8 and hi_a <= hi_b + 1e-8
    assert hi_b - lo_b > hi_a - lo_a


@FAST
@given(paired(), LEVELS)
def test_tango_mirrors_when_the_pair_is_swapped(counts3, level):
    only_first, only_second, n = counts3
    lo, hi = tango_interval(only_first, only_second, n, level)
    lo_s, hi_s = tango_interval(only_second, only_first, n, level)
    assert lo_s == pytest.approx(-hi, abs=1e-8) and hi_s == pytest.approx(-lo, abs=1e-8)


@st.composite
def graded_cell(draw: st.DrawFn) -> dict:
    """A cell's per-image arrays: labels, adversarial predictions, correct, fooled, L2."""
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    classes = draw(st.integers(2, 4))
    y = rng.integers(0, classes, n)
    correct = rng.random(n) < draw(st.floats(0.3, 1.0))
    # "fooled" as an attack reports it, misclassified images included: the success rate and
    # the medians must count only the images classified right before
    success = rng.random(n) < draw(st.sampled_from([0.0, 0.5, 1.0]))
    pred = np.where(success | ~correct, (y + 1) % classes, y)
    l2 = np.where(success, rng.gamma(2.0, 0.5, n), 0.0)
    return {"y": y, "pred": pred, "correct": correct, "success": success, "l2": l2}


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    scores = []
    for c in np.unique(y):
        tp = np.sum((y == c) & (pred == c))
        denom = 2 * tp + np.sum((y != c) & (pred == c)) + np.sum((y == c) & (pred != c))
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


@SLOWER
@given(graded_cell(), LEVELS, st.integers(0, 1000))
def test_bootstrap_intervals_contain_their_estimate(cell, level, seed):
    config = StatisticsConfig(resamples=200, confidence=level)
    out = bootstrap_intervals(
        cell["y"], cell["pred"], cell["correct"], cell["success"], {"l2": cell["l2"]}, config, seed
    )
    # a percentile interval of 200 resamples need not cover the estimate at a low level: the
    # containment is checked at the widest one, the whole bootstrap distribution
    wide = bootstrap_intervals(
        cell["y"],
        cell["pred"],
        cell["correct"],
        cell["success"],
        {"l2": cell["l2"]},
        StatisticsConfig(resamples=200, confidence=1.0),
        seed,
    )
    f1 = _macro_f1(cell["y"], cell["pred"])
    assert wide["adv_f1_lo"] - 1e-12 <= f1 <= wide["adv_f1_hi"] + 1e-12
    fooled = cell["l2"][cell["success"] & cell["correct"]]
    if fooled.size:
        median = lower_median(fooled)
        assert wide["l2_median_lo"] <= median <= wide["l2_median_hi"]
        assert out["l2_median_lo"] <= out["l2_median_hi"]
    else:
        assert math.isnan(out["l2_median_lo"]) and math.isnan(out["l2_median_hi"])
    assert out["adv_f1_lo"] <= out["adv_f1_hi"]
    assert wide["adv_f1_lo"] <= out["adv_f1_lo"] and out["adv_f1_hi"] <= wide["adv_f1_hi"]
    # success rate: Wilson over the initially correct images, never over all of them
    k, n = int((cell["success"] & cell["correct"]).sum()), int(cell["correct"].sum())
    assume(n > 0)
    assert (out["success_rate_lo"], out["success_rate_hi"]) == wilson_interval(k, n, level)
    assert out["success_rate_lo"] <= k / n <= out["success_rate_hi"]
    assert out["success_rate_hi"] > out["success_rate_lo"]


@SLOWER
@given(st.integers(1, 60), st.booleans(), LEVELS)
def test_bootstrap_success_interval_has_width_at_zero_and_all(n, all_fooled, level):
    y = np.arange(n) % 3
    correct = np.ones(n, bool)
    success = np.full(n, all_fooled)
    pred = np.where(success, (y + 1) % 3, y)
    out = bootstrap_intervals(
        y, pred, correct, success, {}, StatisticsConfig(resamples=50, confidence=level)
    )
    assert out["success_rate_hi"] - out["success_rate_lo"] > 0
    assert out["success_rate_lo"] <= float(all_fooled) <= out["success_rate_hi"]


@SLOWER
@given(graded_cell(), two_levels(), st.integers(0, 1000))
def test_bootstrap_intervals_widen_with_the_level(cell, levels, seed):
    low, high = levels
    args = (cell["y"], cell["pred"], cell["correct"], cell["success"], {"l2": cell["l2"]})
    a = bootstrap_intervals(*args, StatisticsConfig(resamples=200, confidence=low), seed)
    b = bootstrap_intervals(*args, StatisticsConfig(resamples=200, confidence=high), seed)
    for metric in ("adv_f1", "l2_median", "success_rate"):
        if math.isnan(a[f"{metric}_lo"]):
            continue
        assert b[f"{metric}_lo"] <= a[f"{metric}_lo"] + TINY
        assert a[f"{metric}_hi"] <= b[f"{metric}_hi"] + TINY


@FAST
@given(st.integers(50, 2000), LEVELS, st.integers(0, 2**16))
def test_a_percentile_interval_leaves_half_the_rest_in_each_tail(size, level, seed):
    values = np.random.default_rng(seed).permutation(size).astype(float)
    lo, hi = percentile_interval(values, level)
    tail = (1 - level) / 2
    below, above = np.mean(values < lo), np.mean(values > hi)
    assert abs(below - tail) <= 1 / size + 1e-12 and abs(above - tail) <= 1 / size + 1e-12
    assert np.mean((values >= lo) & (values <= hi)) >= level - 2 / size


# -- Holm and McNemar ------------------------------------------------------------------------

PVALUES = st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan"))), min_size=0, max_size=12)


@FAST
@given(PVALUES)
def test_holm_is_at_least_raw_at_most_one_and_monotone(pvalues):
    adjusted = holm(pvalues)
    assert len(adjusted) == len(pvalues)
    real = [(p, a) for p, a in zip(pvalues, adjusted) if not math.isnan(p)]
    m = len(real)
    for p, a in zip(pvalues, adjusted):
        assert math.isnan(a) == math.isnan(p)  # NaN stays NaN and is not counted
    for p, a in real:
        assert p <= a <= 1.0
        assert a <= min(1.0, m * p) + 1e-15  # never above Bonferroni
    for (_, a1), (_, a2) in zip(sorted(real), sorted(real)[1:]):
        assert a1 <= a2  # monotone in the raw order
    if real:
        smallest = min(p for p, _ in real)
        assert min(a for _, a in real) == pytest.approx(min(1.0, m * smallest))


@FAST
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=10), st.randoms())
def test_holm_does_not_depend_on_the_order_of_the_table(pvalues, random):
    order = list(range(len(pvalues)))
    random.shuffle(order)
    adjusted = holm(pvalues)
    shuffled = holm([pvalues[i] for i in order])
    assert shuffled == [adjusted[i] for i in order]


FOOLED = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=0, max_size=60)


@FAST
@given(FOOLED)
def test_mcnemar_is_symmetric_in_its_pair(pairs):
    first = [a for a, _ in pairs]
    second = [b for _, b in pairs]
    forward, backward = mcnemar_exact(first, second), mcnemar_exact(second, first)
    assert forward["p"] == pytest.approx(backward["p"], rel=1e-12, abs=0)
    assert forward["only_first"] == backward["only_second"]
    assert forward["only_second"] == backward["only_first"]
    assert 0.0 < forward["p"] <= 1.0


@FAST
@given(st.lists(st.booleans(), min_size=0, max_size=60))
def test_mcnemar_of_identical_inputs_is_one(fooled):
    result = mcnemar_exact(fooled, list(fooled))
    assert result == {"only_first": 0, "only_second": 0, "p": 1.0}


# -- the verdict against the paper -----------------------------------------------------------

SEVERITY = {REPRODUCES: 0, INCONCLUSIVE: 0, DIFFERS: 1}
UNIT = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def interval(draw: st.DrawFn) -> tuple[float, float]:
    lo, hi = sorted((draw(UNIT), draw(UNIT)))
    return lo, hi


@FAST
@given(interval(), st.floats(0.01, 0.3), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_verdict_is_monotone_in_the_distance_to_the_paper(bounds, tolerance, near, far):
    lo, hi = bounds
    near, far = sorted((near, far))
    centre = (lo + hi) / 2
    for side in (-1, 1):
        # the paper's figure moves away from the interval along one side
        edge = hi if side > 0 else lo
        closer = judge_interval(edge + side * near, lo, hi, tolerance)
        farther = judge_interval(edge + side * far, lo, hi, tolerance)
        assert SEVERITY[closer] <= SEVERITY[farther]
        # differs exactly when the figure is beyond the tolerance from the interval
        assert (farther == DIFFERS) == (far > tolerance + 1e-6) or abs(far - tolerance) < 1e-6
    # inside the widened interval the verdict depends only on the width, not the distance
    inside = [judge_interval(centre + d, lo, hi, tolerance) for d in (-tolerance, 0, tolerance)]
    assert len(set(inside)) == 1
    expected = INCONCLUSIVE if hi - lo > 2 * tolerance + 1e-6 else REPRODUCES
    assert inside[0] == expected or abs(hi - lo - 2 * tolerance) < 1e-6


PAPER_IFGSM_MNIST = 0.08  # Table 3 of the paper: I-FGSM's adversarial F1 on MNIST


def _cell(adv_f1: float) -> dict:
    from advcompare.attacks.spec import AttackSpec

    return {
        "dataset": "mnist-sample",
        "attack": "ifgsm",
        "backend": "torchattacks",
        "defense": "none",
        "threat": "adaptive",
        "label": "ifgsm",
        "role": "main",
        "spec": AttackSpec.create("ifgsm").as_dict(),
        "metrics": {"adv_f1": adv_f1},
    }


@FAST
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.02, 0.3))
def test_a_cell_verdict_is_monotone_in_its_gap_to_the_paper(a, b, tolerance):
    near, far = sorted((a, b), key=lambda f: abs(f - PAPER_IFGSM_MNIST))
    judged_near, judged_far = judge_cell(_cell(near), tolerance), judge_cell(_cell(far), tolerance)
    assert judged_near["paper_f1"] == PAPER_IFGSM_MNIST
    assert judged_far["gap"] == pytest.approx(far - PAPER_IFGSM_MNIST)
    assert SEVERITY[judged_near["verdict"]] <= SEVERITY[judged_far["verdict"]]
    gap = abs(far - PAPER_IFGSM_MNIST)
    if abs(gap - tolerance) > 1e-6:  # a point estimate: reproduces within, differs beyond
        assert judged_far["verdict"] == (DIFFERS if gap > tolerance else REPRODUCES)


# -- a pair's answer does not depend on which backend is named first --------------------------

IDENTITY = {"dataset": "d", "defense": "none", "threat": "adaptive", "seed": 0}


def _backend(fooled: np.ndarray, passes: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = len(fooled)
    return {
        "correct": np.ones(n, bool),
        "success": fooled,
        "l2": np.where(fooled, rng.gamma(4, 0.5, n), 0.0),
        "passes_per_image": passes,
    }


@SLOWER
@given(
    st.integers(20, 200),
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.3),
    st.floats(0.0, 0.3),
    st.sampled_from([10.0, 20.0]),
    st.integers(0, 1000),
)
def test_swapping_a_pairs_backends_negates_the_difference_and_keeps_the_answer(
    n, share, gain, loss, passes, seed
):
    rng = np.random.default_rng(seed)
    first = rng.random(n) < share
    second = first.copy()
    second[(~first) & (rng.random(n) < gain)] = True
    second[first & (rng.random(n) < loss)] = False
    a, b = _backend(first, 10.0, seed), _backend(second, passes, seed + 1)
    key = {**IDENTITY, "label": "x", "attack": "x"}
    forward = attack_conclusions(pairs_frame([(key, {"a": a, "b": b})])).iloc[0]
    backward = attack_conclusions(pairs_frame([(key, {"b": b, "a": a})])).iloc[0]
    assert forward["pair"] == "a vs b" and backward["pair"] == "b vs a"
    assert forward["answer"] == backward["answer"]
    assert backward["success_difference"] == pytest.approx(-forward["success_difference"])
    assert backward["success_difference_lo"] == pytest.approx(
        -forward["success_difference_hi"], abs=1e-8
    )
    assert backward["success_difference_hi"] == pytest.approx(
        -forward["success_difference_lo"], abs=1e-8
    )
    assert backward["p"] == pytest.approx(forward["p"], rel=1e-9)
    assert backward["cost_ratio"] == pytest.approx(forward["cost_ratio"])
