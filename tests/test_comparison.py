"""The libraries' answer per pair: differ, agree within the margin, inconclusive, or not
comparable at equal cost (advcompare.analysis.comparison), on hand-made backends whose truth is
known; and the proportions behind it (advcompare.analysis.proportions) against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, norm

from advcompare.analysis.agreement import pairs_frame
from advcompare.analysis.comparison import attack_conclusions, images_needed
from advcompare.analysis.proportions import (
    _tango_score,
    detectable_difference,
    equivalent,
    images_for_power,
    mcnemar_power,
    tango_interval,
    wilson_interval,
)

IDENTITY = {"dataset": "d", "defense": "none", "threat": "adaptive", "seed": 0}


def _backend(fooled: np.ndarray, passes: float = 10.0, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n = len(fooled)
    return {
        "correct": np.ones(n, bool),
        "success": fooled.astype(bool),
        "l2": np.where(fooled, rng.gamma(4, 0.5, n), 0.0),
        "passes_per_image": passes,
    }


def _conclude(a: dict, b: dict, **kwargs) -> dict:
    pairs = pairs_frame([({**IDENTITY, "label": "x", "attack": "x"}, {"a": a, "b": b})])
    return attack_conclusions(pairs, **kwargs).iloc[0].to_dict()


def _fooled(n: int, share: float, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < share


def test_a_known_ten_point_difference_is_reported_as_differ_with_its_interval():
    n = 400
    base = _fooled(n, 0.6)
    extra = np.flatnonzero(~base)[: n // 10]  # the second backend fools 10% more images
    second = base.copy()
    second[extra] = True
    row = _conclude(_backend(base), _backend(second))
    assert row["answer"] == "differ" and row["differ"]
    assert row["success_difference"] == pytest.approx(-0.10)
    assert row["success_difference_lo"] < -0.10 < row["success_difference_hi"] < 0
    assert "differ by −10.0 points" in row["conclusion"]
    assert row["p"] < 1e-9


def test_identical_backends_agree_within_the_margin_at_enough_images():
    fooled = _fooled(400, 0.7)
    row = _conclude(_backend(fooled), _backend(fooled))
    assert row["answer"] == "agree" and not row["differ"]
    assert row["success_difference_lo"] < 0 < row["success_difference_hi"]  # positive width
    assert "agree within ±5.0 points" in row["conclusion"]


def test_identical_backends_are_inconclusive_at_twenty_images_and_say_how_many_would_do():
    fooled = _fooled(20, 0.7)
    row = _conclude(_backend(fooled), _backend(fooled))
    assert row["answer"] == "inconclusive"
    # no discordant image: the 90% interval is ±z²/(n + z²), so n·(that / 0.05)² images
    z = norm.ppf(0.95)
    half = z * z / (20 + z * z)
    assert row["images_needed"] == math.ceil(20 * (half / 0.05) ** 2)
    assert (
        f"inconclusive at n = 20: would need about {row['images_needed']:,} images"
        in (row["conclusion"])
    )


def test_a_cost_mismatch_is_not_comparable_even_when_the_success_differs():
    n = 400
    first = _fooled(n, 0.4)
    second = first | _fooled(n, 0.5, seed=2)
    row = _conclude(_backend(first, passes=10.0), _backend(second, passes=16.0))
    assert row["answer"] == "not comparable" and not row["differ"]
    assert row["cost_ratio"] == pytest.approx(1.6)
    assert "not comparable at equal cost: 1.6× the passes per image" in row["conclusion"]
    # at 1.5× it is still compared (the bound is "more than")
    row = _conclude(_backend(first, passes=10.0), _backend(second, passes=15.0))
    assert row["answer"] == "differ"


def test_the_margin_and_cost_bound_come_from_the_arguments():
    n = 400
    first = _fooled(n, 0.7)
    second = first.copy()
    second[np.flatnonzero(first)[:12]] = False  # 12 images each way: no difference,
    second[np.flatnonzero(~first)[:12]] = True  # but an interval about ±3 points wide
    assert _conclude(_backend(first), _backend(second))["answer"] == "agree"
    row = _conclude(_backend(first), _backend(second), margin=0.02)
    assert row["answer"] == "inconclusive" and row["margin"] == 0.02


def test_an_attack_with_one_differing_pair_differs_whatever_its_other_pairs_say():
    fooled = _fooled(400, 0.5)
    more = fooled | _fooled(400, 0.3, seed=5)
    pairs = pairs_frame(
        [
            (
                {**IDENTITY, "label": "x", "attack": "x"},
                {"a": _backend(fooled), "b": _backend(fooled), "c": _backend(more)},
            )
        ]
    )
    row = attack_conclusions(pairs).iloc[0]
    assert row["answer"] == "differ" and row["pair"] in ("a vs c", "b vs c")
    assert row["backends"] == "a, b, c"


def test_images_needed_targets_the_nearer_question():
    row = {"n": 100, "success_difference": 0.02, "equivalence_lo": -0.04, "equivalence_hi": 0.08}
    assert images_needed(row, 0.05) == math.ceil(100 * (0.06 / 0.03) ** 2)  # equivalence
    row = {"n": 100, "success_difference": 0.08, "equivalence_lo": -0.02, "equivalence_hi": 0.18}
    assert images_needed(row, 0.05) == math.ceil(100 * (0.10 / 0.08) ** 2)  # a difference


# --- the proportions -------------------------------------------------------------------------


@pytest.mark.parametrize("k, n", [(0, 50), (50, 50), (491, 491), (3, 7)])
def test_wilson_has_positive_width_at_the_edges_and_holds_its_estimate(k, n):
    lo, hi = wilson_interval(k, n)
    assert 0 <= lo <= k / n <= hi <= 1 and hi - lo > 0


def test_wilson_at_a_hundred_percent_is_n_over_n_plus_z_squared():
    z = norm.ppf(0.975)
    assert wilson_interval(491, 491)[0] == pytest.approx(491 / (491 + z * z))
    assert wilson_interval(491, 491)[0] == pytest.approx(0.9922, abs=1e-4)  # the figure


@pytest.mark.parametrize("b, c, n", [(1, 7, 21), (6, 16, 161), (0, 0, 40), (30, 2, 200)])
def test_tango_limits_are_where_the_score_statistic_equals_z(b, c, n):
    z = norm.ppf(0.975)
    lo, hi = tango_interval(b, c, n)
    assert lo <= (b - c) / n <= hi
    assert _tango_score(lo, b, c, n) == pytest.approx(z, abs=1e-6)
    assert _tango_score(hi, b, c, n) == pytest.approx(-z, abs=1e-6)


def test_tango_without_discordant_images_is_z_squared_over_n_plus_z_squared():
    z = norm.ppf(0.975)
    assert tango_interval(0, 0, 491) == pytest.approx(
        (-z * z / (491 + z * z), z * z / (491 + z * z))
    )


def test_tango_covers_the_true_difference_at_its_level():
    rng = np.random.default_rng(0)
    n, p12, p21 = 120, 0.10, 0.04
    counts = rng.multinomial(n, [p12, p21, 1 - p12 - p21], size=400)
    covered = [lo <= p12 - p21 <= hi for lo, hi in (tango_interval(b, c, n) for b, c, _ in counts)]
    assert 0.92 <= np.mean(covered) <= 0.98


def test_equivalence_needs_the_interval_strictly_inside_the_margin():
    assert equivalent(-0.04, 0.049, 0.05)
    assert not equivalent(-0.05, 0.01, 0.05)


@pytest.mark.parametrize("n, tests", [(50, 40), (150, 40), (80, 1)])
def test_one_way_power_is_the_binomial_tail_past_the_critical_count(n, tests):
    # one backend fools 10% more, the other none it misses: every discordant image is
    # first-only, and the exact test rejects once 2·0.5^D ≤ α/k
    critical = math.ceil(math.log2(2 * tests / 0.05))
    assert mcnemar_power(n, 0.10, 0.0, 0.05, tests) == pytest.approx(
        binom.sf(critical - 1, n, 0.10), rel=1e-9
    )


def test_fifty_images_under_holm_over_forty_tests_have_about_one_percent_power():
    assert mcnemar_power(50, 0.10, 0.0, 0.05, 40) == pytest.approx(0.0094, abs=5e-4)
    n = images_for_power(0.10, 0.05, 40)
    assert mcnemar_power(n, 0.10, 0.0, 0.05, 40) >= 0.8 > mcnemar_power(n - 1, 0.10, 0, 0.05, 40)
    assert detectable_difference(50, 0.05, 40) == pytest.approx(0.265)
