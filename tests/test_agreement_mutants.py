"""Fast tests of advcompare.analysis.agreement's columns, written to kill the mutants that only the
end-to-end tests reached (benchmarks/mutation.py agreement): each pins one column of a pair
row, computed by hand from small per-image arrays shaped like a stored cell's (``correct``,
``success``, ``l2``, ``x_adv``, passes per image), or the order and grouping of the rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from advcompare.analysis.agreement import (
    COLUMNS,
    agreement_frame,
    distance_is_tested,
    l2_ratio,
    pair_agreement,
    pairs_frame,
    pass_costs,
    passes_per_image,
    samples_groups,
    with_holm,
)
from advcompare.analysis.proportions import tango_interval
from advcompare.analysis.statistics import (
    percentile_interval,
    resample_counts,
    weighted_lower_median,
)
from advcompare.storage.store import save_samples

IDENTITY = {"dataset": "digits", "defense": "none", "threat": "adaptive", "seed": 0}

# 8 images, the 7th (index 6) misclassified before the attack: it must not count.
CORRECT = [1, 1, 1, 1, 1, 1, 0, 1]
# on the 7 correct images: both fooled 0, 1, 7; both failed 3, 5; only the first 2, 4
SUCCESS_A = [1, 1, 1, 0, 1, 0, 1, 1]
SUCCESS_B = [1, 1, 0, 0, 0, 0, 0, 1]
L2_A = [1.0, 2.0, 3.0, 0.5, 4.0, 0.0, 9.0, 3.0]
L2_B = [0.5, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]


def _cell(correct, success, l2=None, **extra) -> dict:
    cell = {
        "correct": torch.tensor(correct, dtype=torch.bool),
        "success": torch.tensor(success, dtype=torch.bool),
    }
    if l2 is not None:
        cell["l2"] = torch.tensor(l2, dtype=torch.float32)
    return cell | extra


def test_shares_count_only_the_initially_correct_images():
    row = pair_agreement(_cell(CORRECT, SUCCESS_A, L2_A), _cell(CORRECT, SUCCESS_B, L2_B))
    assert row["n"] == 7
    assert row["both_succeed"] == pytest.approx(3 / 7)
    assert row["both_fail"] == pytest.approx(2 / 7)
    assert row["only_first"] == pytest.approx(2 / 7)
    assert row["only_second"] == 0.0
    # McNemar on 2 discordant pairs, both one way: 2 · (1/2)² = 0.5
    assert row["p_fooled"] == pytest.approx(0.5)
    assert row["success_difference"] == pytest.approx(2 / 7)


def test_the_first_and_second_backend_are_not_swapped():
    row = pair_agreement(_cell(CORRECT, SUCCESS_B, L2_B), _cell(CORRECT, SUCCESS_A, L2_A))
    assert row["only_first"] == 0.0 and row["only_second"] == pytest.approx(2 / 7)
    assert row["success_difference"] == pytest.approx(-2 / 7)
    assert row["median_l2_difference"] == pytest.approx(-1.0)
    assert row["l2_ratio"] == pytest.approx(0.5)


def test_l2_is_compared_on_the_images_both_fooled():
    row = pair_agreement(_cell(CORRECT, SUCCESS_A, L2_A), _cell(CORRECT, SUCCESS_B, L2_B))
    # images 0, 1, 7: L2 (1, 2, 3) against (0.5, 1, 1); differences 0.5, 1, 2
    assert row["n_both_fooled"] == 3
    assert row["median_l2_difference"] == pytest.approx(1.0)
    # Wilcoxon, 3 positive differences: the exact two-sided p is 2 · (1/2)³
    assert row["p_l2"] == pytest.approx(0.25)
    # ratios 2, 2, 3: lower median 2; every resample's median is 2 or 3
    assert row["l2_ratio"] == pytest.approx(2.0)
    assert 2.0 <= row["l2_ratio_lo"] <= row["l2_ratio_hi"] <= 3.0


def test_intervals_use_the_confidence_and_the_equivalence_level_uses_alpha():
    a, b = _cell(CORRECT, SUCCESS_A, L2_A), _cell(CORRECT, SUCCESS_B, L2_B)
    row = pair_agreement(a, b, alpha=0.1, confidence=0.9)
    assert (row["success_difference_lo"], row["success_difference_hi"]) == pytest.approx(
        tango_interval(2, 0, 7, 0.9)
    )
    # the TOST's interval at 1 − 2α = 0.8: narrower, here above 0
    assert (row["equivalence_lo"], row["equivalence_hi"]) == pytest.approx(
        tango_interval(2, 0, 7, 0.8)
    )
    assert 0 < row["equivalence_lo"] < row["equivalence_hi"] < row["success_difference_hi"]
    default = pair_agreement(a, b)
    assert default["success_difference_lo"] == pytest.approx(tango_interval(2, 0, 7, 0.95)[0])
    assert default["equivalence_lo"] == pytest.approx(tango_interval(2, 0, 7, 0.9)[0])


def test_cells_graded_on_different_images_are_refused():
    other = [1, 1, 1, 1, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="^cells were graded on different images or models$"):
        pair_agreement(_cell(CORRECT, SUCCESS_A), _cell(other, SUCCESS_B))


def test_arrays_or_tensors_give_the_same_row():
    tensors = pair_agreement(_cell(CORRECT, SUCCESS_A, L2_A), _cell(CORRECT, SUCCESS_B, L2_B))
    lists = pair_agreement(
        {"correct": CORRECT, "success": SUCCESS_A, "l2": L2_A},
        {"correct": np.array(CORRECT), "success": np.array(SUCCESS_B), "l2": np.array(L2_B)},
    )
    for key in ("n", "both_succeed", "only_first", "p_fooled", "p_l2", "l2_ratio"):
        assert lists[key] == pytest.approx(tensors[key]), key


def test_without_l2_the_l2_columns_are_missing_but_both_fooled_is_counted():
    row = pair_agreement(_cell(CORRECT, SUCCESS_A, L2_A), _cell(CORRECT, SUCCESS_B))
    assert row["n_both_fooled"] == 3
    for key in ("median_l2_difference", "p_l2", "l2_ratio", "l2_ratio_lo", "l2_ratio_hi"):
        assert math.isnan(row[key]), key
    assert math.isnan(row["mean_l2_between"]) and math.isnan(row["max_linf_between"])
    assert math.isnan(row["cost_first"]) and math.isnan(row["cost_ratio"])


def test_distances_between_the_adversarial_images():
    ones = torch.ones(4, 1, 2, 2)
    other = ones.clone()
    other[0, 0, 0, 0] += 3.0  # image 0: 3 and 4 apart in two pixels of different rows
    other[0, 0, 1, 1] -= 4.0
    other[2, 0, 1, 0] += 0.5  # image 2: 0.5 apart in one pixel
    a = _cell([1] * 4, [1] * 4, x_adv=ones)
    b = _cell([1] * 4, [1] * 4, x_adv=other)
    row = pair_agreement(a, b)
    assert row["mean_l2_between"] == pytest.approx((5.0 + 0.5) / 4)
    assert row["max_linf_between"] == pytest.approx(4.0)
    # one side without its adversarial images: no distance, not an error
    lone = pair_agreement(a, _cell([1] * 4, [1] * 4))
    assert math.isnan(lone["mean_l2_between"]) and math.isnan(lone["max_linf_between"])


def test_a_pair_with_no_correct_image_has_no_difference():
    row = pair_agreement(_cell([0, 0], [0, 1]), _cell([0, 0], [1, 0]))
    assert row["n"] == 0
    assert row["both_succeed"] == 0.0 and row["only_first"] == 0.0 and row["only_second"] == 0.0
    assert row["p_fooled"] == 1.0
    assert math.isnan(row["success_difference"])


def test_a_single_correct_image_is_a_whole_share():
    row = pair_agreement(_cell([1, 0], [1, 1]), _cell([1, 0], [0, 0]))
    assert row["n"] == 1 and row["only_first"] == 1.0 and row["success_difference"] == 1.0
    assert row["both_succeed"] == 0.0 and row["both_fail"] == 0.0


def test_l2_ratio_keeps_only_positive_finite_norms():
    # a zero first norm would add a ratio 0 and move the lower median of (4) to 0
    assert l2_ratio(np.array([4.0, 0.0]), np.array([1.0, 1.0]))["l2_ratio"] == 4.0
    # a zero second norm would add an infinite ratio: the lower median of (1, 2) is 1
    assert l2_ratio(np.array([1.0, 2.0, 1.0]), np.array([1.0, 1.0, 0.0]))["l2_ratio"] == 1.0
    # an infinite first norm likewise
    assert l2_ratio(np.array([1.0, 2.0, np.inf]), np.ones(3))["l2_ratio"] == 1.0
    # an infinite second norm would add a ratio 0: the lower median of (2, 3, 4) is 3
    first, second = np.array([2.0, 3.0, 4.0, 5.0]), np.array([1.0, 1.0, 1.0, np.inf])
    assert l2_ratio(first, second)["l2_ratio"] == 3.0
    # negative norms are not norms
    assert l2_ratio(np.array([-2.0, 3.0]), np.array([-1.0, 1.0]))["l2_ratio"] == 3.0
    empty = l2_ratio(np.array([0.0]), np.array([1.0]))
    assert all(math.isnan(v) for v in empty.values())
    assert set(empty) == {"l2_ratio", "l2_ratio_lo", "l2_ratio_hi"}


def test_l2_ratio_interval_is_the_seeded_1000_resample_percentile_bootstrap():
    first = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    second = np.ones(10)
    out = l2_ratio(first, second)
    medians = weighted_lower_median(first, resample_counts(10, 1000, 0))
    assert (out["l2_ratio_lo"], out["l2_ratio_hi"]) == percentile_interval(medians, 0.95)
    assert out["l2_ratio"] == 5.0
    narrow = l2_ratio(first, second, confidence=0.5)
    assert (narrow["l2_ratio_lo"], narrow["l2_ratio_hi"]) == percentile_interval(medians, 0.5)
    assert out["l2_ratio_lo"] < narrow["l2_ratio_lo"] <= narrow["l2_ratio_hi"] < out["l2_ratio_hi"]
    seeded = l2_ratio(first, second, seed=1)
    other = percentile_interval(weighted_lower_median(first, resample_counts(10, 1000, 1)), 0.95)
    assert (seeded["l2_ratio_lo"], seeded["l2_ratio_hi"]) == other


def test_cost_ratio_is_the_larger_over_the_smaller():
    assert pass_costs({"passes_per_image": 10.0}, {"passes_per_image": 40.0}) == {
        "cost_first": 10.0,
        "cost_second": 40.0,
        "cost_ratio": 4.0,
    }
    assert pass_costs({"passes_per_image": 40.0}, {"passes_per_image": 10.0})["cost_ratio"] == 4.0
    assert pass_costs({"passes_per_image": 0.0}, {"passes_per_image": 5.0})["cost_ratio"] == np.inf
    assert pass_costs({"passes_per_image": 5.0}, {"passes_per_image": 0.0})["cost_ratio"] == np.inf
    assert math.isnan(
        pass_costs({"passes_per_image": 0.0}, {"passes_per_image": 0.0})["cost_ratio"]
    )
    # costs below one pass per image are costs too: 2 / 0.5, and 0.5 against nothing spent
    assert pass_costs({"passes_per_image": 0.5}, {"passes_per_image": 2.0})["cost_ratio"] == 4.0
    assert pass_costs({"passes_per_image": 0.0}, {"passes_per_image": 0.5})["cost_ratio"] == np.inf
    missing = pass_costs({}, {})
    assert all(math.isnan(v) for v in missing.values())
    assert math.isnan(pass_costs({}, {"passes_per_image": 5.0})["cost_ratio"])


def test_an_unmeasured_cost_on_either_side_has_no_ratio():
    """min/max with a NaN keep whichever comes first: the ratio once read 1.0 here."""
    assert math.isnan(pass_costs({"passes_per_image": 5.0}, {})["cost_ratio"])
    assert math.isnan(pass_costs({}, {"passes_per_image": 5.0})["cost_ratio"])


def _three_backends() -> dict[str, dict]:
    """a and b fool all 8 images (a at L2 2…9, b at 1); c fools only the last two."""
    return {
        "a": _cell([1] * 8, [1] * 8, [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
        "b": _cell([1] * 8, [1] * 8, [1.0] * 8),
        "c": _cell([1] * 8, [0] * 6 + [1, 1], [0.0] * 6 + [10.0, 1.0]),
    }


def test_pairs_frame_pairs_every_two_backends_in_order_with_holm_across_the_table():
    identity = {**IDENTITY, "label": "bim", "attack": "deepfool"}
    frame = pairs_frame([(identity, _three_backends())])
    assert list(frame.columns) == list(COLUMNS)
    assert list(zip(frame["first"], frame["second"], strict=True)) == [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    ]
    assert (frame["dataset"] == "digits").all() and (frame["label"] == "bim").all()
    assert (frame["attack"] == "deepfool").all()
    # raw: McNemar 1 (no discordant), 2·2⁻⁶ (6 to 0), 2·2⁻⁶; Wilcoxon 2·2⁻⁸ (8 positive
    # differences), 1 (two of opposite sign), 1 (one non-zero difference)
    assert list(frame["p_fooled"]) == pytest.approx([1.0, 0.03125, 0.03125])
    assert list(frame["p_l2"]) == pytest.approx([0.0078125, 1.0, 1.0])
    # Holm over the 6 together: 0.0078125·6, then 0.03125·5 (and ·4, kept monotone)
    assert list(frame["p_l2_holm"]) == pytest.approx([0.046875, 1.0, 1.0])
    assert list(frame["p_fooled_holm"]) == pytest.approx([1.0, 0.15625, 0.15625])
    assert list(frame["differ"]) == [True, False, False]


def test_pairs_frame_passes_alpha_and_confidence():
    identity = {**IDENTITY, "label": "bim", "attack": "deepfool"}
    frame = pairs_frame([(identity, _three_backends())], alpha=0.2, confidence=0.9)
    assert list(frame["differ"]) == [True, True, True]
    ac = frame.iloc[1]
    assert (ac["success_difference_lo"], ac["success_difference_hi"]) == pytest.approx(
        tango_interval(6, 0, 8, 0.9)
    )
    assert ac["equivalence_lo"] == pytest.approx(tango_interval(6, 0, 8, 0.6)[0])


def test_pairs_frame_of_nothing_has_every_column():
    frame = pairs_frame([])
    assert frame.empty and list(frame.columns) == list(COLUMNS)


def _pvalues(p_fooled: list[float], p_l2: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"label": list("xyz")[: len(p_fooled)], "p_fooled": p_fooled, "p_l2": p_l2})


def test_with_holm_corrects_both_columns_together_and_differs_below_alpha():
    frame = _pvalues([0.01, 0.04, 0.5], [np.nan, 0.2, 0.02])
    out = with_holm(frame)
    assert "p_fooled_holm" not in frame  # the caller's frame is left alone
    # 5 p-values (the NaN is not one): 0.01·5, 0.02·4, 0.04·3, 0.2·2, 0.5·1
    assert list(out["p_fooled_holm"]) == pytest.approx([0.05, 0.12, 0.5])
    assert out["p_l2_holm"].iloc[1:].tolist() == pytest.approx([0.4, 0.08])
    assert math.isnan(out["p_l2_holm"].iloc[0])
    # strictly below α: 0.05 is not
    assert list(out["differ"]) == [False, False, False]
    assert list(with_holm(frame, alpha=0.06)["differ"]) == [True, False, False]
    # either column: the third row differs in L2 only
    assert list(with_holm(frame, alpha=0.1)["differ"]) == [True, False, True]
    assert list(with_holm(frame, alpha=0.08)["differ"]) == [True, False, False]


def test_with_holm_of_an_empty_frame_has_every_column():
    out = with_holm(pd.DataFrame(columns=["p_fooled", "p_l2"]))
    assert out.empty and list(out.columns) == list(COLUMNS)


def test_passes_per_image_adds_forward_and_backward():
    row = pd.Series({"forward_per_image": 20.0, "backward_per_image": 19.0})
    assert passes_per_image(next(pd.DataFrame([row]).itertuples())) == 39.0
    bare = next(pd.DataFrame([{"key": "k"}]).itertuples())
    assert math.isnan(passes_per_image(bare))


def _stored(tmp_path, key: str, success: list[int], l2: list[float]) -> None:
    n = len(success)
    save_samples(
        tmp_path,
        key,
        {
            "correct": torch.ones(n, dtype=torch.bool),
            "success": torch.tensor(success, dtype=torch.bool),
            "l2": torch.tensor(l2),
            "x_adv": torch.zeros(n, 1, 2, 2),
        },
    )


def _cells(rows: list[tuple]) -> pd.DataFrame:
    columns = ["key", "label", "spec", "backend", "forward_per_image", "backward_per_image"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(
        dataset="digits", defense="none", threat="adaptive", seed=1, attack="deepfool"
    )[["key", "dataset", "defense", "threat", "seed", "label", "attack", *columns[2:]]]


def test_agreement_frame_pairs_stored_cells_of_the_same_spec_in_order(tmp_path):
    fooled = [1, 1, 1, 1]
    _stored(tmp_path, "za", fooled, [1.0, 2.0, 3.0, 4.0])
    _stored(tmp_path, "zb", [1, 1, 0, 0], [1.0, 1.0, 0.0, 0.0])
    _stored(tmp_path, "xa", fooled, [2.0, 2.0, 2.0, 2.0])
    _stored(tmp_path, "xb", fooled, [1.0, 1.0, 1.0, 1.0])
    _stored(tmp_path, "xd", fooled, [4.0, 4.0, 4.0, 4.0])
    _stored(tmp_path, "ya", fooled, [1.0, 1.0, 1.0, 1.0])
    cells = _cells(
        [
            ("za", "z", "s1", "a", 10.0, 5.0),
            ("zb", "z", "s1", "b", 20.0, 10.0),
            ("xa", "x", "s1", "a", 1.0, 1.0),
            ("xb", "x", "s1", "b", 1.0, 1.0),
            ("xc", "x", "s1", "c", 1.0, 1.0),  # no samples file: left out
            ("xa2", "x", "s2", "a", 1.0, 1.0),  # another spec: not paired with s1
            ("xd", "x", "s2", "d", 3.0, 0.0),
            ("ya", "y", "s1", "a", 1.0, 1.0),  # alone with samples: no pair
            ("yb", "y", "s1", "b", 1.0, 1.0),
        ]
    )
    _stored(tmp_path, "xa2", fooled, [1.0, 1.0, 1.0, 1.0])
    frame = agreement_frame(cells, str(tmp_path), confidence=0.9)
    assert list(frame.columns) == list(COLUMNS)
    assert list(zip(frame["label"], frame["first"], frame["second"], strict=True)) == [
        ("z", "a", "b"),
        ("x", "a", "b"),
        ("x", "a", "d"),
    ]
    assert list(frame["seed"]) == [1, 1, 1] and (frame["attack"] == "deepfool").all()
    assert (frame["defense"] == "none").all() and (frame["threat"] == "adaptive").all()
    z = frame.iloc[0]
    assert (z["cost_first"], z["cost_second"], z["cost_ratio"]) == (15.0, 30.0, 2.0)
    assert z["only_first"] == 0.5 and z["n"] == 4
    assert z["success_difference_lo"] == pytest.approx(tango_interval(2, 0, 4, 0.9)[0])
    assert frame.iloc[1]["l2_ratio"] == 2.0 and frame.iloc[2]["l2_ratio"] == 0.25
    assert frame.iloc[2]["cost_ratio"] == pytest.approx(1.5)


def test_agreement_frame_passes_alpha_to_the_table(tmp_path):
    _stored(tmp_path, "a", [1] * 8, [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    _stored(tmp_path, "b", [1] * 8, [1.0] * 8)
    cells = _cells([("a", "x", "s", "a", 1.0, 1.0), ("b", "x", "s", "b", 1.0, 1.0)])
    # Wilcoxon p = 2·2⁻⁸ ≈ 0.0078, the only p-value below 1
    assert bool(agreement_frame(cells, tmp_path).iloc[0]["differ"])
    assert not bool(agreement_frame(cells, tmp_path, alpha=0.005).iloc[0]["differ"])


def test_agreement_frame_of_no_cells_has_every_column(tmp_path):
    frame = agreement_frame(pd.DataFrame(), tmp_path)
    assert frame.empty and list(frame.columns) == list(COLUMNS)


def _long(backend: str, label: str, order: list[int], success: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": "digits",
            "label": label,
            "attack": "deepfool",
            "backend": backend,
            "index": order,
            "correct": [1] * len(order),
            "success": success,
            "l2": [float(i) for i in order],
        }
    )


def test_samples_groups_orders_images_and_drops_a_lone_backend():
    samples = pd.concat(
        [
            _long("b", "x", [2, 0, 1], [1, 0, 0]),
            _long("a", "x", [0, 1, 2], [1, 1, 0]),
            _long("a", "w", [0, 1], [1, 1]),  # one backend: nothing to pair
        ]
    )
    ((identity, by_backend),) = samples_groups(samples)
    # a frame without defense, threat or seed columns: the run's defaults
    assert identity == {
        "dataset": "digits",
        "defense": "none",
        "threat": "adaptive",
        "seed": 0,
        "label": "x",
        "attack": "deepfool",
    }
    assert list(by_backend) == ["b", "a"]
    b = by_backend["b"]
    assert b["l2"].tolist() == [0.0, 1.0, 2.0] and b["success"].tolist() == [False, False, True]
    assert b["correct"].dtype == bool and b["success"].dtype == bool
    assert b["l2"].dtype == float
    assert samples_groups(samples.iloc[:0]) == []


def test_samples_groups_keeps_groups_in_order_of_appearance_by_classifier():
    samples = pd.concat(
        [
            _long("a", "z", [0, 1], [1, 0]).assign(seed=0, defense="none"),
            _long("b", "z", [0, 1], [1, 1]).assign(seed=0, defense="none"),
            _long("a", "x", [0, 1], [1, 0]).assign(seed=3, defense="jpeg"),
            _long("b", "x", [0, 1], [0, 0]).assign(seed=3, defense="jpeg"),
        ]
    )
    groups = samples_groups(samples)
    assert [(g["label"], g["seed"], g["defense"]) for g, _ in groups] == [
        ("z", 0, "none"),
        ("x", 3, "jpeg"),
    ]


def test_a_classifier_with_a_missing_key_value_is_still_paired(tmp_path):
    # an older results frame with no defense recorded for a cell: NaN is a group of its own
    _stored(tmp_path, "a", [1, 1, 0, 0], [1.0, 1.0, 0.0, 0.0])
    _stored(tmp_path, "b", [1, 0, 0, 0], [2.0, 0.0, 0.0, 0.0])
    cells = _cells([("a", "x", "s", "a", 1.0, 1.0), ("b", "x", "s", "b", 1.0, 1.0)])
    frame = agreement_frame(cells.assign(defense=np.nan), tmp_path)
    assert len(frame) == 1 and math.isnan(frame.iloc[0]["defense"])
    assert frame.iloc[0]["only_first"] == 0.25
    samples = pd.concat([_long("a", "x", [0, 1], [1, 0]), _long("b", "x", [0, 1], [1, 1])])
    ((identity, _),) = samples_groups(samples.assign(threat=np.nan))
    assert math.isnan(identity["threat"])


def test_an_eps_bounded_attack_is_not_tested_on_l2_and_leaves_holms_family():
    """A bounded attack's L2 is not its aim: its ratio is reported, its Wilcoxon p-value is
    neither computed into ``differ`` nor counted in Holm's family (k shrinks)."""
    backends = _three_backends()
    minimum = pairs_frame([({**IDENTITY, "label": "df", "attack": "deepfool"}, backends)])
    bounded = pairs_frame([({**IDENTITY, "label": "bim", "attack": "ifgsm"}, backends)])
    assert minimum["p_l2"].notna().any() and bounded["p_l2"].isna().all()
    assert bounded["p_l2_holm"].isna().all()
    assert list(bounded["l2_ratio"]) == list(minimum["l2_ratio"])  # still reported
    both = pairs_frame(
        [
            ({**IDENTITY, "label": "df", "attack": "deepfool"}, backends),
            ({**IDENTITY, "label": "bim", "attack": "ifgsm"}, backends),
        ]
    )
    k = int(both[["p_fooled", "p_l2"]].notna().to_numpy().sum())
    assert k == 3 + 3 + 3  # McNemar for six pairs, Wilcoxon for deepfool's three
    assert distance_is_tested("hopskipjump") and distance_is_tested("a_users_attack")
    assert not distance_is_tested("pgd_l2")
