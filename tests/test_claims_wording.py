"""The claims as the paper words them (advcompare.paper.claims, issue 28 items 3-5): exact tests
on discrete outcomes, claims scoped to datasets, "by construction", L2 budgets for DeepFool
and CW, the sensitivity of vague words' thresholds, "k of n", and figures in words."""

from __future__ import annotations

import re

import pytest
from test_claims import BASE_ADV, N, grid, judge, row

from advcompare.config.experiment import parse_config
from advcompare.errors import ConfigError
from advcompare.paper.claims import (
    BY_CONSTRUCTION,
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_RUN,
    SUPPORTED,
    paper_claims,
)
from advcompare.paper.conditions import Claim, parse_group


def test_a_one_image_difference_is_inconclusive_not_contradicted():
    """Distillation's clean F1 one image below the undefended model's (1939 vs 1940 of
    2000): the bootstrap's upper end is 0.000, but McNemar's exact test on the one
    discordant image gives p = 1 and Tango's interval straddles 0."""
    frame = judge(grid({}, {"defensive_distillation": 1939 / N}, dataset="cifar10"))
    got = row(frame, "dd-clean", dataset="cifar10")
    assert got["verdict"] == INCONCLUSIVE
    assert "exact p = 1" in got["deciding"]
    high = re.search(r"to (−?\d\.\d{3})\)", got["deciding"])[1]
    assert float(high.replace("−", "-")) > 0  # Tango's interval: no zero-width end at 0


def test_a_gain_on_five_images_needs_mcnemar_s_exact_test():
    """Five images right only with distillation: the bootstrap interval lies above 0, but
    McNemar's exact test gives p = 0.0625 > 0.05 (inconclusive); seven give p = 0.016."""
    five = judge(grid({}, {"defensive_distillation": 1945 / N}, dataset="cifar10"))
    got = row(five, "dd-clean", dataset="cifar10")
    assert got["verdict"] == INCONCLUSIVE and "exact p = 0.062" in got["deciding"]
    seven = judge(grid({}, {"defensive_distillation": 1947 / N}, dataset="cifar10"))
    assert row(seven, "dd-clean", dataset="cifar10")["verdict"] == SUPPORTED


def test_a_claim_made_for_cifar10_and_gtsrb_is_not_run_on_an_mnist_only_grid():
    frame = judge(grid())
    for claim in ("dd-clean", "at-clean"):
        got = row(frame, claim, dataset="mnist-sample")
        assert got["verdict"] == NOT_RUN
        assert list(got["missing"]) == ["needs cifar10, gtsrb"]
    assert row(frame, "at-clean-mnist")["verdict"] != NOT_RUN


def test_masking_s_unchanged_clean_predictions_are_by_construction():
    same = judge(grid({}, {"gradient_masking": 0.97}))  # the undefended model's predictions
    got = row(same, "gm-clean")
    assert got["verdict"] == BY_CONSTRUCTION and "forward pass is the identity" in got["deciding"]
    assert row(judge(grid()), "gm-clean")["verdict"] == SUPPORTED  # 0.93 < 0.97: judged


def test_every_deepfool_or_cw_claim_names_its_budget():
    frame = judge(grid(), budgets=(1.0, 2.0))
    for claim in paper_claims():
        budgets = set(frame[frame["id"] == claim.id]["budget"])
        if claim.touches_unbounded():
            assert budgets == {"L2 ≤ 1", "L2 ≤ 2", "unbounded"}, claim.id
        else:
            assert budgets == {""}, claim.id
    assert {"dd-cw", "dd-deepfool", "at-every-attack"} <= {
        c.id for c in paper_claims() if c.touches_unbounded()
    }


def test_a_budget_below_the_needed_norms_keeps_the_clean_predictions():
    """CW takes distillation to F1 0.35 with examples of L2 norm 1.5: beyond the budget
    of 1, so there distillation keeps its clean F1 (0.98) and the claim falls."""
    frame = judge(grid(l2=1.5))
    assert row(frame, "dd-cw", budget="unbounded")["verdict"] == SUPPORTED
    assert row(frame, "dd-cw", budget="L2 ≤ 2")["verdict"] == SUPPORTED
    assert row(frame, "dd-cw", budget="L2 ≤ 1")["verdict"] == CONTRADICTED


def test_the_sensitivity_column_shows_a_claim_that_flips_at_half_its_threshold():
    """dd-cw: F1 0.35 against "≤ 0.50"; at 0.5× (0.25) it fails, at 1.5× (0.75) it holds."""
    frame = judge(grid())
    assert row(frame, "dd-cw", budget="unbounded")["sensitivity"] == (
        "at 0.5×: contradicted; at 1.5×: supported"
    )
    assert row(frame, "gm-black-box")["sensitivity"] == "holds at 0.5× and 1.5× the threshold"
    assert row(frame, "at-every-attack", budget="unbounded")["sensitivity"] == ""  # no word


def test_k_of_n_needs_k_conditions_to_hold():
    """dd-most ("most attacks": 3 of 4): one attack not helped is still most; two made
    worse leave at most 2 of 4, and the claim falls."""
    base = {"none": {"ifgsm": 0.10, "deepfool": 0.02, "cw": 0.05, "pixel_swap": 0.25}}
    three = {
        "defensive_distillation": {"ifgsm": 0.40, "deepfool": 0.95, "cw": 0.05, "pixel_swap": 0.50}
    }
    two = {"defensive_distillation": {**three["defensive_distillation"], "cw": 0.02, "ifgsm": 0.05}}
    got = row(judge(grid(base | three)), "dd-most", budget="unbounded")
    assert got["verdict"] == SUPPORTED and got["deciding"].startswith("3 of 4 hold, 3 needed")
    got = row(judge(grid(base | two)), "dd-most", budget="unbounded")
    assert got["verdict"] == CONTRADICTED and got["deciding"].startswith("2 of 4 hold, 3 needed")
    with pytest.raises(ValueError, match="needs 1 <= k <= 4"):
        parse_group("at least 5 of: GAIN(d, *) > 0")


def test_figures_are_in_words_with_the_true_minus_sign():
    frame = judge(grid({}, {"defensive_distillation": 0.90}, dataset="cifar10"))
    for text in frame["deciding"]:
        assert not re.search(r"[A-Z_]{2,}\(|_", text), text
        assert not re.search(r"-\d", text), text
    got = row(frame, "at-every-attack", dataset="cifar10", budget="unbounded")["deciding"]
    assert re.match(r"adv\. training − none, [\w ]+: \+0\.\d{3} \(0\.\d{3} to 0\.\d{3}\)", got)
    assert (
        "clean F1 distillation − none: −0.070 (−0.082 to −0.059)"
        in row(frame, "dd-clean", "cifar10")["deciding"]
    )


def test_claim_budgets_come_from_the_config_with_a_one_line_error():
    base = {"name": "x", "datasets": ["mnist-sample"], "attacks": {"ifgsm": {}}}
    assert parse_config(base).claim_budgets == (1.0, 2.0)
    assert parse_config(base | {"claims": {"l2_budgets": [2.0, 0.5]}}).claim_budgets == (0.5, 2.0)
    for bad in ([], [0.0], ["one"], [1.0, 1.0]):
        with pytest.raises(ConfigError, match="claims.l2_budgets"):
            parse_config(base | {"claims": {"l2_budgets": bad}})


def test_a_cell_at_zero_gets_wilson_s_width():
    """CW takes distillation to F1 0 on every image: the bootstrap interval is 0 to 0,
    Wilson's for 0 of 2000 right gives it width, and "F1 ≤ 0.50" is supported."""
    frame = judge(grid({"defensive_distillation": {"ifgsm": 0.4, "cw": 0.0}}))
    got = row(frame, "dd-cw", budget="unbounded")
    assert got["verdict"] == SUPPORTED
    assert got["deciding"].startswith("F1 distillation, CW: +0.000 (0.000 to 0.002)")


def test_an_interval_of_zero_width_never_decides():
    """Two means over identical cells differ by exactly 0 on every resample: no exact
    interval applies (eight cells), and a zero-width interval settles nothing."""
    claim = Claim(
        "zero",
        "0",
        "zero",
        "zero",
        (parse_group("MEAN_F1(gradient_masking) - MEAN_F1(none) >= 0"),),
    )
    frame = judge(grid({"gradient_masking": dict(BASE_ADV["none"])}), claims=(claim,))
    got = row(frame, "zero", budget="unbounded")
    assert got["verdict"] == INCONCLUSIVE
    assert "+0.000 (0.000 to 0.000)" in got["deciding"]


def test_the_claims_table_has_one_row_per_claim_naming_budgets_without_code():
    from advcompare.report.claim_tables import claim_frame

    table = claim_frame(judge(grid(l2=1.5)))
    assert len(table) == len(paper_claims())
    assert list(table.columns) == [
        "the paper's words",
        "oblivious",
        "adaptive (worst case)",
        "deciding figure",
        "at 0.5× and 1.5× the threshold",
    ]
    by_words = {w.split("” (§")[0].strip("“"): r for w, r in zip(table.iloc[:, 0], table.index)}
    for claim in paper_claims():
        line = table.loc[by_words[claim.quote]]
        text = " ".join(line.astype(str))
        assert not re.search(r"[A-Z_]{2,}\(|_|\bGAIN\b", text), text
        if claim.touches_unbounded() and claim.id != "mnist-easiest":
            assert "L2 ≤ 1" in line["oblivious"] and "L2 ≤ 1" in line["adaptive (worst case)"]
    cw = table.loc[by_words[next(c.quote for c in paper_claims() if c.id == "dd-cw")]]
    assert cw["adaptive (worst case)"] == (
        "L2 ≤ 1: contradicted; L2 ≤ 2: supported; unbounded: supported"
    )
    assert (
        table.loc[by_words[next(c.quote for c in paper_claims() if c.id == "dd-clean")]][
            "oblivious"
        ]
        == "not run (needs cifar10, gtsrb)"
    )


def test_prediction_time_claims_read_the_range_over_attacks_or_name_what_is_missing():
    """Tables 11-14: one timing per cell, so a prediction-time claim is judged on the range
    of the defended-over-undefended ratios across the attacks; without timings, not run."""
    got = row(judge(grid(slower={"defensive_distillation": 1.45})), "dd-time")
    assert got["verdict"] == INCONCLUSIVE  # 1.45 × (0.95 to 1.05): straddles 1.5
    assert "over the attacks), needs ≤ 1.5" in got["deciding"]
    cells, arrays = grid()
    frame = judge((cells.drop(columns="adv_prediction_time_per_image"), arrays))
    got = row(frame, "dd-time")
    assert got["verdict"] == NOT_RUN
    assert list(got["missing"]) == ["mnist-sample/defensive_distillation (prediction times)"]
