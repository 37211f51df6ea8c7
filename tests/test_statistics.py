"""The statistics behind every interval and every "libraries differ" (analysis.statistics,
analysis.agreement): hand-computed values, closed forms and calibration by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import binomtest
from sklearn.metrics import f1_score

from advcompare.analysis.agreement import pair_agreement, pairs_frame
from advcompare.analysis.comparison import attack_conclusions
from advcompare.analysis.proportions import wilson_interval
from advcompare.analysis.statistics import (
    StatisticsConfig,
    bootstrap_intervals,
    holm,
    images_to_settle,
    lower_median,
    mcnemar_exact,
    resample_counts,
    weighted_lower_median,
    weighted_macro_f1,
    wilcoxon_paired,
)


def test_weighted_macro_f1_is_sklearns_on_every_resample():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 60)
    pred = np.where(rng.random(60) < 0.6, y, rng.integers(0, 4, 60))
    # every image once, 25 resamples, and two drawn by hand: one without any image of class
    # 3 (absent classes are left out of the mean, as sklearn's labels=unique(truth)), one
    # with class 0 only
    absent = np.where(y == 3, 0, 1)
    only = np.where(y == 0, 2, 0)
    counts = np.vstack([np.ones(60, int), resample_counts(60, 25, seed=3), absent, only])
    ours = weighted_macro_f1(y, pred, counts)
    for row, value in zip(counts, ours):
        idx = np.repeat(np.arange(60), row)
        truth, guess = y[idx], pred[idx]
        expected = f1_score(truth, guess, labels=np.unique(truth), average="macro", zero_division=0)
        assert value == pytest.approx(expected, abs=1e-12)


def test_weighted_lower_median_is_the_lower_median_of_the_repeated_values():
    values = np.array([5.0, 1.0, 3.0, 2.0])
    counts = np.array([[1, 1, 1, 1], [0, 2, 0, 1], [3, 0, 0, 0], [0, 0, 0, 0]])
    assert lower_median(np.array([1.0, 2.0, 3.0, 5.0])) == 2.0  # torch.median's choice
    out = weighted_lower_median(values, counts)
    assert out[:3].tolist() == [2.0, 1.0, 5.0]
    assert np.isnan(out[3])


def test_intervals_are_seeded_contain_the_estimate_and_shrink_with_n():
    def cell(n, seed=0):
        rng = np.random.default_rng(0)
        y = rng.integers(0, 10, n)
        fooled = rng.random(n) < 0.7
        pred = np.where(fooled, (y + 1) % 10, y)
        l2 = rng.gamma(4, 0.5, n)
        return bootstrap_intervals(
            y, pred, np.ones(n, bool), fooled, {"l2": l2}, StatisticsConfig(resamples=1000), seed
        ), (fooled.mean(), float(np.median(l2[fooled])))

    small, (rate, _) = cell(100)
    again, other = cell(100)[0], cell(100, seed=1)[0]
    assert (
        small["adv_f1_lo"] == again["adv_f1_lo"] and small["l2_median_hi"] == again["l2_median_hi"]
    )
    assert (small["adv_f1_lo"], small["adv_f1_hi"]) != (other["adv_f1_lo"], other["adv_f1_hi"])
    assert small["success_rate_lo"] <= rate <= small["success_rate_hi"]
    large, _ = cell(1600)
    width = small["success_rate_hi"] - small["success_rate_lo"]
    narrower = large["success_rate_hi"] - large["success_rate_lo"]
    assert narrower == pytest.approx(width / 4, rel=0.35)  # 1/√n
    assert large["l2_median_lo"] < large["l2_median_hi"]
    assert np.isnan(small["linf_median_lo"])  # no L∞ norms given


def test_images_to_settle_scales_with_the_square_of_the_width():
    assert images_to_settle(100, 0.4, 0.2) == 400
    assert images_to_settle(100, 0.1, 0.2) == 25
    assert images_to_settle(0, 0.4, 0.2) is None


def test_mcnemar_is_exact_and_gives_one_without_discordant_pairs():
    a = np.array([True] * 30 + [False] * 20)
    assert mcnemar_exact(a, a)["p"] == 1.0
    b = a.copy()
    b[:10] = False  # ten images only the first fooled
    result = mcnemar_exact(a, b)
    assert (result["only_first"], result["only_second"]) == (10, 0)
    assert result["p"] == pytest.approx(2 * 0.5**10)
    assert result["p"] == pytest.approx(binomtest(10, 10).pvalue)


def test_wilcoxon_gives_one_for_identical_norms_and_small_p_for_a_shift():
    rng = np.random.default_rng(0)
    x = rng.gamma(4, 0.5, 80)
    assert wilcoxon_paired(x, x)["p"] == 1.0
    shifted = wilcoxon_paired(x, x * 1.2)
    assert shifted["p"] < 1e-6 and shifted["median_difference"] < 0


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = holm([0.5, float("nan"), 0.2])
    assert out[0] == pytest.approx(0.5) and np.isnan(out[1]) and out[2] == pytest.approx(0.4)


def _samples(correct, success, l2):
    return {"correct": np.asarray(correct), "success": np.asarray(success), "l2": np.asarray(l2)}


def test_identical_backends_give_p_one_and_never_differ():
    rng = np.random.default_rng(0)
    correct = rng.random(200) < 0.95
    success = correct & (rng.random(200) < 0.8)
    a = _samples(correct, success, rng.gamma(4, 0.5, 200))
    pair = pair_agreement(a, dict(a))
    assert pair["p_fooled"] == 1.0 and pair["p_l2"] == 1.0
    frame = pairs_frame([({"dataset": "d", "label": "x", "attack": "x"}, {"a": a, "b": a})])
    assert not frame["differ"].any()
    assert frame.loc[0, "p_fooled_holm"] == 1.0
    text = attack_conclusions(frame.assign(defense="none", threat="adaptive", seed=0))
    assert text.loc[0, "answer"] == "agree"
    assert text.loc[0, "conclusion"].startswith("a vs b: agree within ±5.0 points: +0.0 points")


def test_same_random_distribution_is_flagged_at_most_ten_percent_of_the_time():
    """Two attacks that fool each image with the same probability and draw norms from the
    same distribution, independently: over 20 seeds, α = 0.05 flags at most 2."""
    flagged = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n = 300
        p = rng.uniform(0.3, 0.95, n)  # some images are harder than others
        correct = np.ones(n, bool)
        scale = rng.uniform(0.5, 2.0, n)
        a = _samples(correct, rng.random(n) < p, scale * rng.gamma(4, 0.5, n))
        b = _samples(correct, rng.random(n) < p, scale * rng.gamma(4, 0.5, n))
        frame = pairs_frame([({"dataset": "d", "label": "r", "attack": "r"}, {"a": a, "b": b})])
        flagged += bool(frame["differ"].iloc[0])
    assert flagged <= 2


def test_agreement_numbers_from_two_hand_made_sample_files(tmp_path):
    """Two stored cells of one attack on the same 6 images, written by hand: image 5 was
    misclassified before the attack (not counted); of the other 5, both libraries fool 0
    and 1, neither fools 2, only the first fools 3 and only the second fools 4."""
    from advcompare.analysis.agreement import agreement_frame
    from advcompare.storage.store import save_samples

    correct = torch.tensor([1, 1, 1, 1, 1, 0], dtype=torch.uint8)
    x_a = torch.zeros(6, 1, 2, 2)
    x_b = torch.zeros(6, 1, 2, 2)
    x_b[0, 0, 0, 0] = 0.3  # image 0: the two adversarial images are 0.3 apart in L2
    x_b[1, 0, :, 0] = 0.4  # image 1: two pixels 0.4 apart: L2 0.4·√2, L∞ 0.4
    for key, success, x_adv in (
        ("cell-a", [1, 1, 0, 1, 0, 0], x_a),
        ("cell-b", [1, 1, 0, 0, 1, 0], x_b),
    ):
        save_samples(
            tmp_path,
            key,
            {
                "correct": correct,
                "success": torch.tensor(success, dtype=torch.uint8),
                "x_adv": x_adv,
            },
        )
    cells = pd.DataFrame(
        {
            "key": ["cell-a", "cell-b"],
            "backend": ["art", "foolbox"],
            "dataset": "digits",
            "label": "cw",
            "attack": "cw",
            "spec": '{"c": 1}',
        }
    )
    (row,) = agreement_frame(cells, tmp_path).to_dict("records")
    assert (row["first"], row["second"], row["n"]) == ("art", "foolbox", 5)
    assert row["both_succeed"] == pytest.approx(2 / 5)
    assert row["both_fail"] == pytest.approx(1 / 5)
    assert row["only_first"] == pytest.approx(1 / 5)
    assert row["only_second"] == pytest.approx(1 / 5)
    assert row["mean_l2_between"] == pytest.approx((0.3 + 0.4 * 2**0.5) / 6)  # all 6 images
    assert row["max_linf_between"] == pytest.approx(0.4)
    assert row["p_fooled"] == pytest.approx(1.0)  # 1 against 1 discordant: McNemar's p = 1


def test_the_success_interval_is_wilsons_over_the_initially_correct_images_at_the_level():
    # 40 images, 30 classified right before the attack, 30 of those fooled: 100% success.
    # The interval is Wilson's on 30 of 30 (positive width), not a bootstrap's 1.000-1.000,
    # and not over all 40 images; its level is the config's.
    n = 40
    y = np.arange(n) % 10
    correct = np.arange(n) < 30
    fooled = correct.copy()
    pred = np.where(fooled, (y + 1) % 10, y)
    for confidence in (0.95, 0.8):
        config = StatisticsConfig(resamples=200, confidence=confidence)
        out = bootstrap_intervals(y, pred, correct, fooled, {}, config, 0)
        assert (out["success_rate_lo"], out["success_rate_hi"]) == pytest.approx(
            wilson_interval(30, 30, confidence)
        )
        assert out["success_rate_hi"] == 1.0 and out["success_rate_lo"] < 1.0
