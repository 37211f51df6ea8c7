"""Tests that kill mutants mutation testing left alive in the modules that decide conclusions
(docs/mutation.md): each one fails with its mutant applied."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advcompare.analysis.statistics import (
    INTERVAL_METRICS,
    StatisticsConfig,
    bootstrap_intervals,
    images_to_settle,
    lower_median,
    weighted_lower_median,
    weighted_macro_f1,
    with_intervals,
)

# -- advcompare.analysis.statistics ----------------------------------------------------------------


def test_lower_median_is_the_ceil_half_th_smallest_and_nan_for_none():
    assert lower_median(np.array([3.0, 1.0, 2.0])) == 2.0
    assert lower_median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.0  # lower of the two middle ones
    assert lower_median(np.array([5.0, 1.0, 4.0, 2.0, 3.0])) == 3.0
    assert math.isnan(lower_median(np.array([])))


def test_weighted_lower_median_repeats_each_value_by_its_count():
    values = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    counts = np.array([[1, 1, 1, 1, 1], [0, 1, 0, 1, 1], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]])
    expected = [lower_median(np.repeat(values, row)) for row in counts[:3]]
    out = weighted_lower_median(values, counts)
    assert list(out[:3]) == expected == [3.0, 2.0, 4.0]  # a single drawn value is the median
    assert math.isnan(out[3])


def test_weighted_macro_f1_counts_a_class_drawn_once():
    y, pred = np.array([0, 1, 1]), np.array([1, 1, 1])
    # class 0: F1 0; class 1: 2·2 / (2·2 + 1) = 0.8; macro = 0.4
    assert weighted_macro_f1(y, pred, np.ones((1, 3), int))[0] == pytest.approx(0.4)


def _cell(n: int = 30, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    success = rng.random(n) < 0.6
    return {
        "y": y,
        "pred_adv": np.where(success, (y + 1) % 3, y),
        "correct": np.ones(n, bool),
        "success": success,
        "l0": np.where(success, rng.integers(1, 50, n), 0),
        "l2": np.where(success, rng.gamma(2.0, 0.5, n), 0.0),
        "linf": np.where(success, rng.random(n), 0.0),
    }


def test_bootstrap_intervals_default_seed_is_zero_and_every_norm_gets_an_interval():
    c = _cell()
    norms = {k: c[k] for k in ("l0", "l2", "linf")}
    args = (c["y"], c["pred_adv"], c["correct"], c["success"], norms)
    out = bootstrap_intervals(*args, StatisticsConfig(resamples=100))
    assert out == bootstrap_intervals(*args, StatisticsConfig(resamples=100), seed=0)
    assert out != bootstrap_intervals(*args, StatisticsConfig(resamples=100), seed=1)
    for metric in INTERVAL_METRICS:
        assert out[f"{metric}_lo"] <= out[f"{metric}_hi"], metric  # finite, not NaN
    one = bootstrap_intervals(*args, StatisticsConfig(resamples=1))
    assert all(np.isfinite(v) for v in one.values())  # one resample is still an interval


@pytest.mark.parametrize("n, resamples", [(0, 100), (30, 0), (30, -1)])
def test_no_images_or_no_resamples_give_every_interval_as_nan(n, resamples):
    c = _cell(max(n, 1))
    take = slice(0, n)
    out = bootstrap_intervals(
        c["y"][take],
        c["pred_adv"][take],
        c["correct"][take],
        c["success"][take],
        {"l2": c["l2"][take]},
        StatisticsConfig(resamples=resamples),
    )
    assert set(out) == {f"{m}_{end}" for m in INTERVAL_METRICS for end in ("lo", "hi")}
    assert all(math.isnan(v) for v in out.values())


def test_images_to_settle_needs_two_positive_widths():
    assert images_to_settle(100, 0.4, 0.2) == 400
    assert images_to_settle(100, 0.0, 0.2) is None
    assert images_to_settle(100, 0.4, 0.0) is None
    assert images_to_settle(0, 0.4, 0.2) is None


def test_with_intervals_adds_the_cells_bootstrap_columns():
    c = _cell()
    config = StatisticsConfig(resamples=50, confidence=0.9)
    metrics = {"adv_f1": 0.5}
    out = with_intervals(metrics, c, config, seed=7)
    norms = {k: c[k] for k in ("l0", "l2", "linf")}
    expected = bootstrap_intervals(
        c["y"], c["pred_adv"], c["correct"], c["success"], norms, config, 7
    )
    assert out == {**metrics, **expected, "bootstrap_resamples": 50, "confidence": 0.9}
    for missing in ("y", "pred_adv"):
        partial = {k: v for k, v in c.items() if k != missing}
        kept = with_intervals(metrics, partial, config, seed=7)
        assert kept == metrics and kept is not metrics


# -- advcompare.paper.verdict ----------------------------------------------------------------------


def _paper_cell(**metrics) -> dict:
    """An I-FGSM cell on the MNIST sample: the paper's adversarial F1 is 0.08 (Table 3)."""
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
        "metrics": metrics,
    }


def test_a_wide_interval_is_inconclusive_with_the_images_that_would_settle_it():
    from advcompare.paper.verdict import INCONCLUSIVE, judge_cell

    judged = judge_cell(_paper_cell(adv_f1=0.2, adv_f1_lo=0.1, adv_f1_hi=0.6, n=100), 0.1)
    assert judged["verdict"] == INCONCLUSIVE
    assert (judged["lo"], judged["hi"]) == (0.1, 0.6)
    assert judged["images_needed"] == 625  # 100 · (0.5 / 0.2)², from the width hi − lo
    assert judged["cause"] == (
        "the interval (0.100–0.600) is wider than twice the tolerance; "
        "about 625 images would settle it"
    )
    unsized = judge_cell(_paper_cell(adv_f1=0.08, adv_f1_lo=0.0, adv_f1_hi=0.5), 0.1)
    assert unsized["verdict"] == INCONCLUSIVE
    assert unsized["images_needed"] is None and unsized["cause"] is None


def test_half_an_interval_is_judged_on_the_point_estimate():
    from advcompare.paper.verdict import REPRODUCES, judge_cell

    for half in ({"adv_f1_lo": 0.5}, {"adv_f1_hi": 0.5}):
        judged = judge_cell(_paper_cell(adv_f1=0.1, **half), 0.1)
        assert judged["verdict"] == REPRODUCES
        assert judged["lo"] == judged["hi"] == 0.1


@pytest.mark.parametrize("adv_f1", [None, float("nan")])
def test_an_interval_without_a_measured_f1_differs_for_that_reason(adv_f1, monkeypatch):
    from advcompare.paper import verdict
    from advcompare.paper.verdict import DIFFERS, judge_cell

    with_cause = judge_cell(_paper_cell(adv_f1=adv_f1, adv_f1_lo=0.0, adv_f1_hi=0.2), 0.1)
    assert with_cause["verdict"] == DIFFERS and with_cause["gap"] is None
    assert with_cause["cause"].startswith("the paper does not give I-FGSM's")
    # every paper attack has a documented cause; without one the reason is the missing F1
    monkeypatch.setattr(verdict, "applicable_causes", lambda *args, **kwargs: [])
    judged = judge_cell(_paper_cell(adv_f1=adv_f1, adv_f1_lo=0.0, adv_f1_hi=0.2), 0.1)
    assert judged["verdict"] == DIFFERS and judged["gap"] is None
    assert judged["cause"] == "no adversarial F1 was measured"
    # a cell the paper has no figure for needs no measured F1 to have no cause
    no_figure = judge_cell({**_paper_cell(adv_f1=adv_f1), "role": "comparator"}, 0.1)
    assert no_figure["verdict"] == verdict.NO_FIGURE and no_figure["cause"] is None


def test_the_interval_edges_with_the_rounding_margin_count_as_inside():
    from advcompare.paper.verdict import _EPS, INCONCLUSIVE, REPRODUCES, judge_interval

    lo, hi, tol = 0.3, 0.4, 0.1
    assert judge_interval(lo - tol - _EPS, lo, hi, tol) == REPRODUCES
    assert judge_interval(hi + tol + _EPS, lo, hi, tol) == REPRODUCES
    assert judge_interval(0.1, 0.0, 2 * tol + _EPS, tol) == REPRODUCES  # width at the limit
    assert judge_interval(0.1, 0.0, 2 * tol, tol) == REPRODUCES
    assert judge_interval(0.1, 0.0, 2 * tol + 3 * _EPS, tol) == INCONCLUSIVE


def test_judge_frame_reads_the_interval_and_keeps_the_index():
    import pandas as pd

    from advcompare.paper.verdict import INCONCLUSIVE, REPRODUCES, VERDICT_COLUMNS, judge_frame

    rows = [
        {**_paper_cell(), "adv_f1": 0.08, "adv_f1_lo": 0.0, "adv_f1_hi": 0.5, "n": 100},
        {**_paper_cell(), "adv_f1": 0.1, "adv_f1_lo": None, "adv_f1_hi": None, "n": 100},
    ]
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "metrics"} for r in rows])
    frame.index = ["wide", "point"]
    out = judge_frame(frame, 0.1)
    assert list(out.columns) == list(VERDICT_COLUMNS) and list(out.index) == ["wide", "point"]
    assert list(out["verdict"]) == [INCONCLUSIVE, REPRODUCES]
    assert out.loc["wide", "verdict_images_needed"] == 625
    assert list(out["verdict_tolerance"]) == [0.1, 0.1]


def test_an_empty_stored_tolerance_is_the_default_and_the_summary_counts_reproductions():
    from advcompare.paper.verdict import (
        DEFAULT_TOLERANCE,
        DIFFERS,
        NO_FIGURE,
        REPRODUCES,
        summary_line,
        tolerance_from_meta,
    )

    assert tolerance_from_meta("") == DEFAULT_TOLERANCE and tolerance_from_meta("0.2") == 0.2
    line = summary_line([REPRODUCES, DIFFERS, DIFFERS, NO_FIGURE], 0.1)
    assert line.startswith("1 of 3 cells reproduce the paper")


# -- advcompare.paper.causes -----------------------------------------------------------------------


def _attack_cell(attack: str = "ifgsm", **spec) -> dict:
    return {"dataset": "mnist-sample", "attack": attack, "backend": "art", "spec": spec}


def test_a_cause_rejects_a_malformed_pattern_with_the_reason():
    from advcompare.paper.causes import Cause

    with pytest.raises(ValueError, match="is not '<param> <op> <value>'"):
        Cause("parameter", "t", when=("eps",))
    for direction in ("weaker", "stronger", None):
        Cause("parameter", "t", direction=direction)
    with pytest.raises(ValueError, match="must be weaker or stronger, not 'Weaker'"):
        Cause("parameter", "t", direction="Weaker")
    with pytest.raises(ValueError, match="explains 'differs' or 'no paper figure'"):
        Cause("parameter", "t", explains="reproduces")
    Cause("scope", "t", paper_role="!paper")
    Cause("scope", "t", paper_role=("paper", "comparator"))
    for role in ("paper!", "papers", ("paper", "x")):
        with pytest.raises(ValueError, match="paper_role is one of"):
            Cause("scope", "t", paper_role=role)


def test_a_cause_matches_fields_negations_conditions_and_direction():
    from advcompare.paper.causes import Cause

    cell = _attack_cell(eps=0.1, decay=None)
    assert Cause("x", "t", backend="!foolbox").matches(cell)
    assert not Cause("x", "t", backend="!art").matches(cell)
    assert Cause("x", "t", backend=("art", "foolbox")).matches(cell)
    assert not Cause("x", "t", backend="ar").matches(cell)  # a name, not a substring
    assert Cause("x", "t", when=("eps < 0.2",)).matches(cell)
    assert not Cause("x", "t", when=("eps > 0.2",)).matches(cell)
    assert not Cause("x", "t", when=("steps > 1",)).matches(cell)  # not in the spec
    assert Cause("x", "t", when=("decay == None",)).matches(cell)  # "none" is Python's None
    assert not Cause("x", "t", when=("decay < 1",)).matches(cell)  # None < 1: no cap
    weaker = Cause("x", "t", direction="weaker")
    assert weaker.matches(cell, 0.2) and not weaker.matches(cell, -0.2)
    assert not weaker.matches(cell, 0.0) and not weaker.matches(cell, None)
    assert Cause("x", "t", direction="stronger").matches(cell, -0.2)
    assert not Cause("x", "t", direction="stronger").matches(cell, 0.0)  # no gap, no direction
    assert not Cause("x", "t", backend="artx").matches(cell)  # one name is not a substring


def test_a_cause_names_the_attack_and_a_comparators_paper_attack():
    from advcompare.attacks.spec import display_name
    from advcompare.paper.causes import Cause, cell_field, paper_role

    cause = Cause("x", "{display} beside {comparator}")
    assert cause.render(_attack_cell("pixle")) == f"{display_name('pixle')} beside pixel swap"
    assert cause.render(_attack_cell("ifgsm")) == "I-FGSM beside {comparator}"
    assert paper_role(None) == "other" and paper_role("ifgsm") == "paper"
    assert cell_field({"defense": float("nan")}, "defense") == "none"


# -- advcompare.analysis.comparison ----------------------------------------------------------------


def _pair_row(**over):
    import pandas as pd

    row = {
        "dataset": "d",
        "defense": "none",
        "threat": "adaptive",
        "seed": 0,
        "label": "x",
        "attack": "deepfool",
        "first": "art",
        "second": "foolbox",
        "n": 200,
        "p_fooled": 0.5,
        "p_l2": 0.5,
        "p_fooled_holm": 0.5,
        "p_l2_holm": 0.5,
        "success_difference": 0.01,
        "success_difference_lo": -0.02,
        "success_difference_hi": 0.04,
        "equivalence_lo": -0.01,
        "equivalence_hi": 0.03,
        "l2_ratio": 1.25,
        "l2_ratio_lo": 1.1,
        "l2_ratio_hi": 1.4,
        "cost_ratio": 1.0,
    }
    row.update(over)
    return pd.Series(row)


def test_a_pair_answer_at_each_boundary():
    from advcompare.analysis.comparison import pair_answer

    assert pair_answer(_pair_row()) == (
        "agree",
        "agree within ±5.0 points: +1.0 points (−2.0 to +4.0)",
    )
    assert pair_answer(_pair_row(p_fooled_holm=0.05))[0] != "differ"  # p = α does not reject
    assert pair_answer(_pair_row(p_l2_holm=0.05))[0] != "differ"
    assert pair_answer(_pair_row(equivalence_lo=-0.05))[0] == "inconclusive"  # on the margin
    assert pair_answer(_pair_row(equivalence_hi=0.05))[0] == "inconclusive"
    assert pair_answer(_pair_row(equivalence_lo=-0.2))[0] == "inconclusive"  # one side out
    assert pair_answer(_pair_row(cost_ratio=float("nan")))[0] == "agree"
    assert pair_answer(_pair_row().drop("cost_ratio"))[0] == "agree"  # cost unknown
    assert pair_answer(_pair_row(cost_ratio=1.6))[0] == "not comparable"
    assert pair_answer(_pair_row(cost_ratio=1.6), max_cost_ratio=2.0)[0] == "agree"
    assert pair_answer(_pair_row(p_l2_holm=0.001)) == (
        "differ",
        "differ in L2: median ratio 1.25 (1.10 to 1.40), Wilcoxon p = 0.001",
    )
    # an inconclusive pair without an interval says nothing about images
    flat = pair_answer(_pair_row(equivalence_lo=0.1, equivalence_hi=0.1, n=0))
    assert flat == ("inconclusive", "inconclusive at n = 0 (success +1.0 points (−2.0 to +4.0))")


def test_images_needed_at_the_margin_and_without_an_interval():
    from advcompare.analysis.comparison import images_needed

    row = _pair_row(success_difference=0.05, equivalence_lo=0.0, equivalence_hi=0.1)
    assert images_needed(row, 0.05) == 200  # room = |d| at the margin: 200 · (0.05 / 0.05)²
    assert images_needed(_pair_row(equivalence_lo=0.0, equivalence_hi=0.0), 0.05) is None
    assert images_needed(_pair_row(n=0), 0.05) is None
    assert images_needed(_pair_row(success_difference=0.0), 0.0) is None  # nothing to settle


def test_attack_conclusions_carry_the_deciding_pairs_measure_cause_and_settings():
    import pandas as pd

    from advcompare.analysis.comparison import CONCLUSION_COLUMNS, attack_conclusions
    from advcompare.analysis.proportions import detectable_difference

    empty = attack_conclusions(pd.DataFrame())
    assert list(empty.columns) == list(CONCLUSION_COLUMNS) and empty.empty
    l2 = pd.DataFrame([_pair_row(p_l2_holm=0.001, p_l2=0.0005)])
    row = attack_conclusions(l2, alpha=0.01, margin=0.05, max_cost_ratio=2.0).iloc[0]
    assert list(row.index) == list(CONCLUSION_COLUMNS)
    assert (row["answer"], row["differ_in"]) == ("differ", "l2")
    assert (row["attack"], row["n"]) == ("deepfool", 200)
    assert row["p"] == 0.001 and row["max_cost_ratio"] == 2.0
    assert row["detectable_difference"] == detectable_difference(200, 0.01, 2)
    assert row["cause"] == (
        "art: overshoot applied once at the end; predicted class as reference; "
        "foolbox: overshoot on the cumulative perturbation each step"
    )
    success = pd.DataFrame([_pair_row(p_fooled_holm=0.001)])
    assert attack_conclusions(success).iloc[0]["differ_in"] == "success"
    agree = attack_conclusions(pd.DataFrame([_pair_row()])).iloc[0]
    assert (agree["differ_in"], agree["cause"]) == ("", "")
    costly = attack_conclusions(pd.DataFrame([_pair_row(cost_ratio=1.6)]), max_cost_ratio=1.5)
    assert costly.iloc[0]["answer"] == "not comparable" and costly.iloc[0]["cause"]
    cheap = attack_conclusions(pd.DataFrame([_pair_row(cost_ratio=1.6)]), max_cost_ratio=2.0)
    assert cheap.iloc[0]["answer"] == "agree"
    nan_p = pd.DataFrame([_pair_row(p_fooled_holm=float("nan"), p_l2_holm=float("nan"))])
    assert math.isnan(attack_conclusions(nan_p).iloc[0]["p"])


def test_the_widest_of_equal_answers_decides_and_groups_keep_their_order():
    import pandas as pd

    from advcompare.analysis.comparison import attack_conclusions

    narrow = _pair_row(second="torchattacks", equivalence_lo=0.2, equivalence_hi=0.3)
    wide = _pair_row(equivalence_lo=0.1, equivalence_hi=0.5)
    other = _pair_row(label="b", dataset=None)
    first = _pair_row(label="a")
    out = attack_conclusions(pd.DataFrame([other, first, narrow, wide]))
    assert list(out["label"]) == ["b", "a", "x"]  # table order, a missing dataset kept
    assert out.iloc[2]["pair"] == "art vs foolbox"  # the widest interval (0.4 over 0.1)


# -- advcompare.analysis.proportions ---------------------------------------------------------------


def test_no_images_give_nan_intervals():
    from advcompare.analysis.proportions import tango_interval, wilson_interval

    for interval in (wilson_interval(0, 0), tango_interval(0, 0, 0)):
        assert all(math.isnan(v) for v in interval) and len(interval) == 2


def test_tango_score_without_variance_is_zero_or_infinite():
    from advcompare.analysis.proportions import _tango_score

    assert _tango_score(0.0, 0, 0, 10) == 0.0
    assert _tango_score(1.0, 0, 0, 10) == -math.inf  # no image supports a difference of 1
    assert _tango_score(-1.0, 0, 0, 10) == math.inf


def test_mcnemar_rejects_at_a_p_value_equal_to_the_level():
    from advcompare.analysis.proportions import _reject_counts

    # 0 or 5 of 5 discordant images one way: p = 2 · (1/2)⁵ = 0.0625 exactly
    assert list(_reject_counts(5, 0.0625)) == [True, False, False, False, False, True]
    assert not _reject_counts(5, 0.0624).any()


def test_equivalence_needs_the_interval_strictly_inside_the_margin():
    from advcompare.analysis.proportions import equivalent

    assert equivalent(-0.04, 0.04, 0.05)
    assert not equivalent(-0.04, 0.05, 0.05) and not equivalent(-0.05, 0.04, 0.05)


def test_images_for_power_is_the_fewest_and_respects_its_defaults_and_limit():
    from advcompare.analysis.proportions import (
        DEFAULT_DIFFERENCE,
        detectable_difference,
        images_for_power,
        mcnemar_power,
    )

    n = images_for_power(0.25)
    assert mcnemar_power(n, 0.25) >= 0.8 > mcnemar_power(n - 1, 0.25)
    assert images_for_power(0.25, limit=32) == n == 31  # the limit is reached, not passed
    assert images_for_power(0.25, limit=16) == 16
    assert images_for_power() == images_for_power(DEFAULT_DIFFERENCE, 0.05, 1, 0.8)
    assert images_for_power(0.25, tests=2) > n
    assert detectable_difference(200) == detectable_difference(200, 0.05, 1, 0.8)
    assert detectable_difference(200, tests=10) > detectable_difference(200)
    assert detectable_difference(2) == 1.0  # two images detect nothing


# -- tests/docs_quotes.py ----------------------------------------------------------------


def _checkout(root, readme: str, report: str, doc: str = "# Doc\n\nNo figures here.\n"):
    (root / "docs").mkdir()
    (root / "reports").mkdir()
    (root / "README.md").write_text(readme, encoding="utf-8")
    (root / "docs" / "b.md").write_text(doc, encoding="utf-8")
    (root / "docs" / "a.md").write_text("# A\n", encoding="utf-8")
    (root / "reports" / "r.md").write_text(report, encoding="utf-8")


REPORT = "| attack | backend | time |\n|---|---|---|\n| ifgsm | art | 12.5 s |\n"


def test_the_quotes_command_names_each_stale_figure_and_its_file(tmp_path, capsys):
    from docs_quotes import documentation, main

    stale = REPORT.replace("12.5 s", "99.9 s")
    readme = f"# R\n\n<!-- quote: reports/r.md -->\n{stale}<!-- /quote -->\n\nIt took 3.25 s.\n"
    _checkout(tmp_path, readme, REPORT)
    assert documentation(tmp_path) == [
        tmp_path / "README.md",
        tmp_path / "docs" / "a.md",
        tmp_path / "docs" / "b.md",
    ]
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "README.md:6: not a line of reports/r.md: | ifgsm | art | 99.9 s |",
        "README.md:9: unsourced figure '3.25 s'",
        "2 unsourced or stale figures",
    ]


def test_the_quotes_command_refreshes_a_stale_row_then_traces_every_figure(tmp_path, capsys):
    from docs_quotes import main

    stale = REPORT.replace("12.5 s", "99.9 s")
    readme = f"# R\n\n<!-- quote: reports/r.md -->\n{stale}<!-- /quote -->\n"
    _checkout(tmp_path, readme, REPORT)
    assert main([str(tmp_path), "--write"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "refreshed quoted rows in README.md",
        "every figure traced",
    ]
    assert "| ifgsm | art | 12.5 s |" in (tmp_path / "README.md").read_text(encoding="utf-8")
    assert main([str(tmp_path)]) == 0


def test_the_drift_check_names_the_file_and_line_of_each_problem(tmp_path):
    from docs_quotes import Finding, check_file

    doc = tmp_path / "d.md"
    doc.write_text(
        "# D\n\n"
        "<!-- figures: reports/r.md -->\n"
        "It took 12.5 s, not 7.25 s.\n\n"
        "<!-- quote: reports/gone.md -->\n"
        "| a |\n"
        "<!-- /quote -->\n\n"
        "<!-- quote: reports/r.md -->\n"
        "| ifgsm | art | 12.5 s |\n",
        encoding="utf-8",
    )
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "r.md").write_text(REPORT, encoding="utf-8")
    assert check_file(doc, tmp_path) == [
        Finding(doc, 4, "'7.25 s' is in none of reports/r.md"),
        Finding(doc, 6, "quoted source reports/gone.md is not a committed file"),
        Finding(doc, 10, "quote block is never closed (<!-- /quote -->)"),
    ]


def test_the_quotes_command_reads_its_arguments_in_any_order(tmp_path, capsys, monkeypatch):
    import sys

    from docs_quotes import main

    _checkout(tmp_path, "# R\n", REPORT)
    assert main(["--write", str(tmp_path)]) == 0
    monkeypatch.setattr(sys, "argv", ["quotes", str(tmp_path)])
    assert main() == 0
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    assert capsys.readouterr().out.splitlines() == ["every figure traced"] * 3
