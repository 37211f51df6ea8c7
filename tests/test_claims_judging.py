"""Closed-form checks of how ``advcompare.paper.claims`` judges a condition and a claim, so a
one-character bug there fails a test (issue 29: mutation testing of the modules that decide
conclusions). Ten hand-made images whose right and wrong answers are known: the intervals are
Wilson's (one cell) or Tango's (a paired difference) when no resample is drawn, the exact
McNemar p-value of the discordant pairs decides a sign, and the claim's verdict, deciding
figure and images needed follow from the conditions' states."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from advcompare.analysis.proportions import tango_interval
from advcompare.analysis.statistics import images_to_settle, percentile_interval
from advcompare.paper.claims import (
    _budget_label,
    _deciding,
    _group_state,
    _missing_all,
    _not_run,
    _sensitivity,
    _vague,
    _view,
    _zero_on_every_image,
    claims_frame,
    judge_claim,
    judge_condition,
)
from advcompare.paper.conditions import (
    HOLDS_AT_BOTH,
    Claim,
    paper_claims,
    parse_condition,
    parse_group,
)
from advcompare.paper.grids import Grid, MissingCells
from advcompare.paper.judged import (
    BY_CONSTRUCTION,
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_RUN,
    SUPPORTED,
    Judged,
)

LABELS = np.arange(10) % 5
FIRST = {k: np.arange(10) < k for k in range(11)}  # the first k images right
WILSON_5_OF_10 = (0.236593090512564, 0.7634069094874361)  # 95%, closed form
WILSON_5_OF_10_90 = (0.2692718211382672, 0.7307281788617328)


def _cell(right: np.ndarray, clean: np.ndarray | None = None) -> dict[str, np.ndarray]:
    wrong = (LABELS + 1) % 5
    clean = FIRST[9] if clean is None else clean
    return {
        "y": LABELS,
        "pred_adv": np.where(right, LABELS, wrong),
        "pred_clean": np.where(clean, LABELS, wrong),
    }


def _grid(weights: np.ndarray | None = None, **extra) -> Grid:
    cells = {
        ("none", "ifgsm"): _cell(FIRST[2]),
        ("adversarial_training", "ifgsm"): _cell(FIRST[5], FIRST[8]),  # 3 more right, 1 less clean
        ("feature_smoothing", "ifgsm"): _cell(FIRST[7]),  # 5 pairs only it gets right
        ("defensive_distillation", "ifgsm"): _cell(FIRST[8]),  # 6 such pairs
        ("gradient_masking", "ifgsm"): _cell(FIRST[2]),  # the undefended answers
    }
    weights = np.ones((1, 10)) if weights is None else weights
    return Grid("mnist-sample", "adaptive", cells, weights, 10, **extra)


GRID = _grid()


def _judge(text: str, grid: Grid = GRID, confidence: float = 0.95, **kw) -> Judged:
    return judge_condition(parse_condition(text), lambda _: grid, confidence, **kw)


def test_one_cell_without_resamples_gets_wilsons_interval_of_its_outcomes():
    judged = _judge("ACC(adversarial_training, ifgsm) > 0.2")
    assert (judged.value, judged.n, judged.threshold) == (0.5, 10, 0.2)
    assert (judged.lo, judged.hi) == pytest.approx(WILSON_5_OF_10, abs=1e-12)
    assert judged.state == SUPPORTED and math.isnan(judged.p)
    assert _judge("ACC(adversarial_training, ifgsm) > 0.3").state == INCONCLUSIVE
    assert _judge("ACC(adversarial_training, ifgsm) > 0.8").state == CONTRADICTED
    assert _judge("ACC(adversarial_training, ifgsm) <= 0.8").state == SUPPORTED
    at_90 = _judge("ACC(adversarial_training, ifgsm) > 0.2", confidence=0.9)
    assert (at_90.lo, at_90.hi) == pytest.approx(WILSON_5_OF_10_90, abs=1e-12)


def test_a_scaled_coefficient_scales_the_exact_interval():
    judged = _judge("2 * ACC(adversarial_training, ifgsm) > 0.2")
    assert judged.value == 1.0
    assert (judged.lo, judged.hi) == pytest.approx(
        (1 + 2 * (WILSON_5_OF_10[0] - 0.5), 1 + 2 * (WILSON_5_OF_10[1] - 0.5))
    )


def test_a_vague_threshold_scales_around_the_claims_anchor():
    assert _judge("ACC(adversarial_training, ifgsm) > 0.2", scale=2.0, anchor=0.1).threshold == (
        pytest.approx(0.3)
    )
    half = _judge("ACC(adversarial_training, ifgsm) > 0.2", scale=0.5, anchor=0.4)
    assert half.threshold == pytest.approx(0.3) and half.state == INCONCLUSIVE


def test_resampled_figures_widen_the_interval_past_the_exact_one():
    rows = [np.ones(10), np.r_[2 * np.ones(5), np.zeros(5)], np.r_[np.zeros(5), 2 * np.ones(5)]]
    judged = _judge("ACC(adversarial_training, ifgsm) > 0.2", _grid(np.array(rows)))
    boot = percentile_interval(np.array([1.0, 0.0]), 0.95)
    assert judged.value == 0.5
    assert (judged.lo, judged.hi) == pytest.approx(boot)  # wider than Wilson's
    assert judged.lo < WILSON_5_OF_10[0] and judged.hi > WILSON_5_OF_10[1]


@pytest.mark.parametrize(
    "text",
    [
        "ACC(feature_smoothing, ifgsm) - ACC(none, ifgsm) > 0",
        "-ACC(none, ifgsm) + ACC(feature_smoothing, ifgsm) > 0",  # the same pair, reversed
    ],
)
def test_a_paired_difference_gets_tangos_interval_and_mcnemars_p(text):
    judged = _judge(text)
    assert judged.value == pytest.approx(0.5)
    assert (judged.lo, judged.hi) == pytest.approx(tango_interval(5, 0, 10, 0.95))
    assert judged.lo > 0  # the interval alone would support it ...
    assert judged.p == pytest.approx(2 * 0.5**5)  # ... but 5 discordant pairs give p = 0.0625
    assert judged.state == INCONCLUSIVE


def test_mcnemars_test_decides_a_sign_only_against_zero_and_at_the_level():
    six = _judge("ACC(defensive_distillation, ifgsm) - ACC(none, ifgsm) > 0")
    assert six.p == pytest.approx(2 * 0.5**6) and six.state == SUPPORTED  # 0.031 < 0.05
    not_zero = _judge("ACC(feature_smoothing, ifgsm) - ACC(none, ifgsm) > 0.05")
    assert not_zero.state == SUPPORTED  # a threshold other than 0: the interval decides
    at_80 = _judge("ACC(feature_smoothing, ifgsm) - ACC(none, ifgsm) > 0", confidence=0.8)
    assert at_80.state == SUPPORTED  # p = 0.0625 < 1 − 0.8


def test_three_cells_have_no_exact_interval_and_no_resamples_decide_nothing():
    judged = _judge(
        "ACC(adversarial_training, ifgsm) - ACC(none, ifgsm) + ACC(feature_smoothing, ifgsm) > 0"
    )
    assert judged.value == pytest.approx(1.0) and judged.lo == judged.hi == judged.value
    assert judged.state == INCONCLUSIVE and math.isnan(judged.p)


def test_prediction_times_are_judged_on_their_range_over_the_attacks():
    times = {
        ("none", "ifgsm"): 1.0, ("feature_smoothing", "ifgsm"): 1.2,
        ("none", "cw"): 2.0, ("feature_smoothing", "cw"): 3.0,
        ("none", "deepfool"): 1.0, ("feature_smoothing", "deepfool"): 0.9,
    }  # fmt: skip
    grid = _grid(times=times)
    judged = _judge("TIME_RATIO(feature_smoothing) <= 1.5", grid)
    assert (judged.value, judged.lo, judged.hi) == pytest.approx((1.2, 0.9, 1.5))
    assert judged.n == 0 and judged.state == SUPPORTED and math.isnan(judged.p)
    doubled = _judge("2 * TIME_RATIO(feature_smoothing) <= 3", grid)
    assert (doubled.value, doubled.lo, doubled.hi) == pytest.approx((2.4, 1.8, 3.0))
    scaled = _judge("TIME_RATIO(feature_smoothing) <= 1.5", grid, scale=0.5, anchor=1.0)
    assert scaled.threshold == 1.25 and scaled.state == INCONCLUSIVE
    named = judge_condition(  # a figure @dataset reads that dataset's grid
        parse_condition("TIME_RATIO(feature_smoothing)@mnist <= 1.5"),
        lambda d: grid if d == "mnist" else GRID,
        0.95,
    )
    assert named.value == pytest.approx(1.2)


def test_missing_cells_are_each_named_in_order():
    condition = parse_condition("F1(feature_smoothing, cw) - F1(none, deepfool) > 0")
    assert _missing_all(condition, lambda _: GRID) == [
        "mnist-sample/feature_smoothing:adaptive/cw",
        "mnist-sample/deepfool",
    ]
    assert _missing_all(parse_condition("F1(none, ifgsm) > 0"), lambda _: GRID) == []


def _states(*states: str) -> list[Judged]:
    condition = parse_condition("F1(none, ifgsm) > 0")
    return [Judged(condition, 0.5, 0.4, 0.6, s, 10, 0.0) for s in states]


@pytest.mark.parametrize(
    "group, states, verdict",
    [
        ("F1(adversarial_training, *) > 0", "SSSS", SUPPORTED),
        ("F1(adversarial_training, *) > 0", "SSSI", INCONCLUSIVE),
        ("F1(adversarial_training, *) > 0", "SSSC", CONTRADICTED),
        ("at least 2 of: F1(adversarial_training, *) > 0", "SSCC", SUPPORTED),
        ("at least 2 of: F1(adversarial_training, *) > 0", "SICC", INCONCLUSIVE),
        ("at least 2 of: F1(adversarial_training, *) > 0", "SCCC", CONTRADICTED),
        ("at least 3 of: F1(adversarial_training, *) > 0", "SSIC", INCONCLUSIVE),
    ],
)
def test_a_group_holds_when_enough_conditions_hold_and_fails_when_too_many_fail(
    group, states, verdict
):
    words = {"S": SUPPORTED, "I": INCONCLUSIVE, "C": CONTRADICTED}
    assert _group_state(parse_group(group), _states(*(words[s] for s in states))) == verdict


def test_the_deciding_figures_name_two_and_count_the_rest():
    one = _states(SUPPORTED)[0].text()
    assert _deciding(_states(SUPPORTED)) == one
    assert _deciding(_states(SUPPORTED, SUPPORTED)) == f"{one}; {one}"
    assert _deciding(_states(*[SUPPORTED] * 3)) == f"{one}; {one}; and 1 more"
    assert _deciding(_states(*[SUPPORTED] * 5)) == f"{one}; {one}; and 3 more"


def _claim(*groups: str, by_construction: str = "", anchor: float = 0.0) -> Claim:
    parsed = tuple(parse_group(g) for g in groups)
    return Claim("c1", "3.5", "a claim", "quoted", parsed, by_construction=by_construction,
                 anchor=anchor)  # fmt: skip


def _verdict(claim: Claim, grid: Grid = GRID, scale: float = 1.0) -> dict:
    return judge_claim(claim, lambda _: grid, 0.95, scale)


def test_a_claim_with_missing_cells_is_not_run_and_names_them_once():
    claim = _claim(
        "F1(feature_smoothing, cw) > 0", "F1(feature_smoothing, cw) < 1", "F1(none, deepfool) > 0"
    )
    assert _verdict(claim) == {
        "verdict": NOT_RUN,
        "deciding": "",
        "images_needed": None,
        "missing": ["mnist-sample/deepfool", "mnist-sample/feature_smoothing:adaptive/cw"],
    }


def test_a_figure_zero_on_every_image_by_construction_says_why():
    claim = _claim("GAIN(gradient_masking, ifgsm) <= 0.05", by_construction="identity forward")
    words = parse_condition("GAIN(gradient_masking, ifgsm) <= 0.05").words()
    assert _verdict(claim) == {
        "verdict": BY_CONSTRUCTION,
        "deciding": f"{words}: 0 on every image (identity forward)",
        "images_needed": None,
        "missing": [],
    }
    # the same words on a defense that changes answers: judged as usual
    other = _claim("GAIN(feature_smoothing, ifgsm) <= 0.05", by_construction="identity forward")
    assert _verdict(other)["verdict"] == CONTRADICTED


def test_zero_on_every_image_needs_two_cells_that_agree_everywhere():
    def zero(text: str) -> bool:
        return _zero_on_every_image(parse_condition(text), lambda _: GRID)

    assert zero("GAIN(gradient_masking, ifgsm) <= 0.05")
    assert zero("F1(none, ifgsm) - F1(none, ifgsm) <= 0.05")  # the terms cancel
    assert not zero("GAIN(feature_smoothing, ifgsm) <= 0.05")
    assert not zero("F1(gradient_masking, ifgsm) <= 0.05")  # one cell: not a difference
    assert not zero("MEAN_F1(none) <= 0.05")  # no per-image outcomes


def test_a_contradicted_claim_is_decided_by_its_failing_conditions():
    claim = _claim("ACC(adversarial_training, ifgsm) > 0.2", "ACC(none, ifgsm) > 0.8")
    verdict = _verdict(claim)
    failing = _judge("ACC(none, ifgsm) > 0.8")
    assert verdict == {"verdict": CONTRADICTED, "deciding": failing.text(),
                       "images_needed": None, "missing": []}  # fmt: skip


def test_an_inconclusive_claim_says_how_many_images_would_settle_it():
    claim = _claim(
        "ACC(adversarial_training, ifgsm) > 0.2", "ACC(adversarial_training, ifgsm) > 0.4"
    )
    verdict = _verdict(claim)
    open_ = _judge("ACC(adversarial_training, ifgsm) > 0.4")
    assert verdict["verdict"] == INCONCLUSIVE and verdict["deciding"] == open_.text()
    expected = images_to_settle(10, open_.hi - open_.lo, 2 * abs(0.5 - 0.4))
    assert verdict["images_needed"] == expected == 70


def test_a_supported_claim_is_decided_by_its_narrowest_margin():
    claim = _claim(
        "ACC(adversarial_training, ifgsm) > 0.1", "ACC(adversarial_training, ifgsm) > 0.2"
    )
    narrow = _judge("ACC(adversarial_training, ifgsm) > 0.2")
    assert _verdict(claim) == {"verdict": SUPPORTED, "deciding": narrow.text(),
                               "images_needed": None, "missing": []}  # fmt: skip


def test_a_k_of_n_claim_says_how_many_held():
    claim = _claim("at least 1 of: ACC(adversarial_training, *) > 0.2")
    grid = _grid()
    grid.cells |= {("adversarial_training", a): _cell(FIRST[5]) for a in ("cw", "deepfool")}
    grid.cells |= {("adversarial_training", "pixel_swap"): _cell(FIRST[0])}
    verdict = _verdict(claim, grid)
    assert verdict["verdict"] == SUPPORTED
    assert verdict["deciding"].startswith("3 of 4 hold, 1 needed: ")


def test_vague_words_are_thresholds_away_from_the_anchor():
    assert _vague(_claim("ACC(none, ifgsm) > 0.2"))
    assert not _vague(_claim("ACC(none, ifgsm) > 0.2", anchor=0.2))
    assert not _vague(_claim("ACC(none, ifgsm) > 0"))


def test_the_sensitivity_column_reads_each_scaled_threshold():
    grids = lambda _: GRID  # noqa: E731
    robust = _claim("ACC(adversarial_training, ifgsm) > 0.1")
    assert _sensitivity(robust, grids, 0.95, SUPPORTED) == HOLDS_AT_BOTH
    fragile = _claim("ACC(adversarial_training, ifgsm) > 0.2")  # 0.3 at 1.5×: open
    assert _sensitivity(fragile, grids, 0.95, SUPPORTED) == (
        f"at 0.5×: {SUPPORTED}; at 1.5×: {INCONCLUSIVE}"
    )
    assert _sensitivity(fragile, grids, 0.95, NOT_RUN) == ""
    assert _sensitivity(fragile, grids, 0.95, BY_CONSTRUCTION) == ""
    assert _sensitivity(_claim("ACC(none, ifgsm) > 0"), grids, 0.95, SUPPORTED) == ""


def test_budget_labels_and_not_run_rows():
    assert _budget_label(1.0, True) == "L2 ≤ 1"
    assert _budget_label(None, True) == "unbounded"
    assert _budget_label(2.0, False) == _budget_label(None, False) == ""
    claim = Claim("c", "3.6", "l", "q", (parse_group("F1(none, ifgsm) > 0"),),
                  datasets=("cifar10", "gtsrb"))  # fmt: skip
    row = _not_run({"id": "c"}, ["mnist-sample", "digits"], claim)
    assert row == {
        "id": "c",
        "dataset": "mnist-sample, digits",
        "budget": "",
        "verdict": NOT_RUN,
        "deciding": "",
        "images_needed": None,
        "missing": ["needs cifar10, gtsrb"],
        "sensitivity": "",
    }


def test_a_view_reads_the_target_or_the_named_dataset_at_the_budget_once():
    grids = {("mnist-sample", "adaptive"): GRID}
    views: dict = {}
    view = _view(grids, ["mnist-sample"], views, "mnist-sample", "adaptive", 1.0)
    first = view(None)
    assert first.budget == 1.0 and first.cells is GRID.cells
    assert view(None) is first and list(views) == [("mnist-sample", "adaptive", 1.0)]
    assert view("mnist") is first  # by its paper name
    with pytest.raises(MissingCells, match=r"cifar10 \(dataset not in the run\)"):
        view("cifar10")
    across = _view(grids, ["mnist-sample"], views, None, "adaptive", None)
    with pytest.raises(MissingCells, match="^a dataset$"):
        across(None)
    assert across("mnist").budget is None


# --- claims_frame: one row per claim × dataset × threat model × L2 budget --------------------

FORTY = np.arange(40)
LABELS_40 = FORTY % 5


def _frame_cells() -> tuple[pd.DataFrame, dict]:
    """40 images: undefended 8 right, adversarial training 20 right under both attacks and
    both threat models; CW's fooled images need L2 1.5 (within 2, beyond 1)."""
    rows, arrays = [], {}
    for defense, threats, right in (
        ("none", ["adaptive"], 8),
        ("adversarial_training", ["oblivious", "adaptive"], 20),
    ):
        for threat in threats:
            for attack in ("ifgsm", "cw"):
                key = f"{defense}-{threat}-{attack}"
                cell = {"defense": defense, "threat": threat, "label": attack, "attack": attack}
                rows.append({"key": key, "dataset": "mnist-sample", "role": "main", **cell})
                ok = FORTY < right
                arrays[key] = {
                    "y": LABELS_40,
                    "pred_adv": np.where(ok, LABELS_40, (LABELS_40 + 1) % 5),
                    "pred_clean": LABELS_40,
                    "l2": np.where(ok, 0.0, 1.5),
                }
    return pd.DataFrame(rows), arrays


def _frame_claim(cid: str, *groups: str, **kw) -> Claim:
    return Claim(cid, "3.5", f"label {cid}", f"quote {cid}",
                 tuple(parse_group(g) for g in groups), **kw)  # fmt: skip


FRAME_CLAIMS = (
    _frame_claim("bounded", "ACC(adversarial_training, cw) > 0.75"),
    _frame_claim("plain", "ACC(adversarial_training, ifgsm) > 0.2"),
    _frame_claim("elsewhere", "ACC(adversarial_training, ifgsm) > 0.2", datasets=("cifar10",)),
    _frame_claim("across", "ACC(adversarial_training, ifgsm)@mnist > 0.2", scope="across"),
)


def _claims(**kw) -> pd.DataFrame:
    cells, arrays = _frame_cells()
    return claims_frame(cells, arrays.get, claims=FRAME_CLAIMS, **{"resamples": 200, **kw})


def test_the_claims_frame_has_a_row_per_claim_dataset_threat_and_budget():
    frame = _claims()
    assert list(frame.columns) == [
        "id", "section", "claim", "quote", "threat", "dataset", "budget", "verdict",
        "deciding", "images_needed", "missing", "sensitivity",
    ]  # fmt: skip
    rows = [tuple(r) for r in frame[["threat", "id", "dataset", "budget"]].itertuples(index=False)]
    per_threat = [
        ("bounded", "mnist-sample", "L2 ≤ 1"),
        ("bounded", "mnist-sample", "L2 ≤ 2"),
        ("bounded", "mnist-sample", "unbounded"),
        ("plain", "mnist-sample", ""),
        ("elsewhere", "mnist-sample", ""),
        ("across", "across datasets", ""),
    ]
    assert rows == [(t, *r) for t in ("oblivious", "adaptive") for r in per_threat]
    first = frame.iloc[0]
    assert (first["section"], first["claim"], first["quote"]) == (
        "3.5",
        "label bounded",
        "quote bounded",
    )
    assert str(frame["images_needed"].dtype) == "Int64"


def test_a_budget_keeps_the_clean_prediction_of_an_image_beyond_it():
    frame = _claims().set_index(["threat", "id", "budget"])
    # CW's fooled images need L2 1.5: at L2 ≤ 1 every image keeps its clean (right) answer
    assert frame.loc[("adaptive", "bounded", "L2 ≤ 1"), "verdict"] == SUPPORTED
    assert frame.loc[("adaptive", "bounded", "L2 ≤ 2"), "verdict"] == CONTRADICTED
    assert frame.loc[("adaptive", "bounded", "unbounded"), "verdict"] == CONTRADICTED
    assert "+1.000" in frame.loc[("adaptive", "bounded", "L2 ≤ 1"), "deciding"]
    assert "+0.500" in frame.loc[("adaptive", "bounded", "unbounded"), "deciding"]


def test_claims_for_other_datasets_are_not_run_and_across_claims_read_the_named_one():
    frame = _claims().set_index(["threat", "id"])
    elsewhere = frame.loc[("oblivious", "elsewhere")]
    assert elsewhere["verdict"] == NOT_RUN and elsewhere["missing"] == ["needs cifar10"]
    assert elsewhere["sensitivity"] == "" and elsewhere["budget"] == ""
    across = frame.loc[("oblivious", "across")]
    assert across["verdict"] == SUPPORTED and across["dataset"] == "across datasets"
    assert across["deciding"].startswith(parse_condition(FRAME_CLAIMS[3].groups[0].text).words())
    plain = frame.loc[("oblivious", "plain")]
    assert plain["verdict"] == SUPPORTED and plain["sensitivity"] == HOLDS_AT_BOTH


def test_the_bootstrap_follows_the_seed_and_the_claims_given():
    default, again, other = _claims(), _claims(seed=0), _claims(seed=5)
    assert default.equals(again)
    assert not default["deciding"].equals(other["deciding"])  # the resamples moved
    paper = claims_frame(*(lambda c, a: (c, a.get))(*_frame_cells()), resamples=20)
    assert set(paper["id"]) == {c.id for c in paper_claims()}  # no claims given: the paper's
