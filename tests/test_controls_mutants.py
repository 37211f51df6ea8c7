"""Fast tests of advcompare.analysis.controls on synthetic stored cells (no attack run): a results
frame of main and control cells with their spec and measured passes, per-image ``correct`` /
``success`` / ``l2`` saved as a run stores them, and conclusion rows as
advcompare.analysis.comparison writes them. Each test pins what the control settles: confirmed,
unexplained, not comparable or no control, and the sentence that says which control ran."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from advcompare.analysis.comparison import AGREE, DIFFER, INCONCLUSIVE, NOT_COMPARABLE
from advcompare.analysis.controls import (
    CONFIRMED,
    CONTROL_ROLE,
    NO_CONTROL,
    UNEXPLAINED,
    control_status,
    judge_controls,
)
from advcompare.storage.store import save_samples

N = 20
GROUP_VALUES = {
    "dataset": "digits",
    "defense": "none",
    "threat": "adaptive",
    "seed": 0,
    "label": "bim",
}
SPEC = {"eps": 0.1, "step_size": 0.02, "steps": 6}
NO_CAUSE = "neither backend's entry names a parameter that equalises its cause"


def _status(lo, hi, ratio=float("nan"), ratio_lo=float("nan"), ratio_hi=float("nan"), l2=False):
    control = {
        "success_difference_lo": lo,
        "success_difference_hi": hi,
        "l2_ratio": ratio,
        "l2_ratio_lo": ratio_lo,
        "l2_ratio_hi": ratio_hi,
    }
    return control_status(control, l2)


def test_a_success_difference_vanishes_when_its_interval_holds_zero():
    assert _status(-0.1, 0.1) == CONFIRMED
    assert _status(0.0, 0.1) == CONFIRMED  # the interval's ends count as inside
    assert _status(-0.1, 0.0) == CONFIRMED
    assert _status(0.01, 0.1) == UNEXPLAINED
    assert _status(-0.1, -0.01) == UNEXPLAINED


def test_a_difference_in_l2_also_needs_the_ratio_interval_to_hold_one():
    assert _status(-0.1, 0.1, 1.0, 0.9, 1.1, l2=True) == CONFIRMED
    assert _status(-0.1, 0.1, 1.1, 1.0, 1.2, l2=True) == CONFIRMED
    assert _status(-0.1, 0.1, 0.9, 0.8, 1.0, l2=True) == CONFIRMED
    assert _status(-0.1, 0.1, 1.2, 1.01, 1.3, l2=True) == UNEXPLAINED
    assert _status(-0.1, 0.1, 0.8, 0.7, 0.99, l2=True) == UNEXPLAINED
    # the success difference must vanish as well
    assert _status(0.05, 0.2, 1.0, 0.9, 1.1, l2=True) == UNEXPLAINED
    # a difference in success only: the ratio is not asked
    assert _status(-0.1, 0.1, 2.0, 1.5, 2.5, l2=False) == CONFIRMED
    # no ratio measured (no image fooled by both): the success interval decides
    assert _status(-0.1, 0.1, l2=True) == CONFIRMED


def _store(run_dir, key: str, fooled: int, l2: float = 1.0) -> None:
    """A cell on N correct images that fooled the first ``fooled`` of them at L2 ``l2``."""
    success = torch.arange(N) < fooled
    save_samples(
        run_dir,
        key,
        {
            "correct": torch.ones(N, dtype=torch.bool),
            "success": success,
            "l2": torch.where(success, l2 * (1 + torch.arange(N) / N), torch.zeros(N)),
        },
    )


def _cell(key: str, backend: str, role: str, passes: float = 12.0, **spec) -> dict:
    return {
        "key": key,
        **GROUP_VALUES,
        "seed": "0",  # stored as text: matched as text
        "attack": "deepfool",
        "backend": backend,
        "role": role,
        "spec": json.dumps({**SPEC, **spec}),
        "forward_per_image": passes / 2,
        "backward_per_image": passes / 2,
    }


def _conclusion(pair: str, answer: str = DIFFER, differ_in: str = "success", **extra) -> dict:
    return {
        **GROUP_VALUES,
        "attack": "deepfool",
        "pair": pair,
        "answer": answer,
        "differ_in": differ_in,
        "margin": 0.2,
        "max_cost_ratio": 1.5,
    } | extra


def _judge(tmp_path, cells: list[dict], rows: list[dict], **kwargs) -> pd.DataFrame:
    return judge_controls(pd.DataFrame(rows), pd.DataFrame(cells), str(tmp_path), **kwargs)


@pytest.fixture
def stored(tmp_path):
    """torchattacks fools 10 of 20; ``halfstep`` fooled 4 (main) and 10 (its control, the
    step size doubled); ``halfboth`` fooled 2 and its control still only 3."""
    for key, fooled in (("ta", 10), ("hs", 4), ("hs-control", 10), ("hb", 2), ("hb-control", 3)):
        _store(tmp_path, key, fooled)
    return [
        _cell("ta", "torchattacks", "main"),
        _cell("hs", "halfstep", "main"),
        _cell("hs-control", "halfstep", CONTROL_ROLE, step_size=0.04),
        _cell("hb", "halfboth", "main"),
        _cell("hb-control", "halfboth", CONTROL_ROLE, step_size=0.04),
    ]


def test_a_control_that_removes_the_difference_confirms_the_cause(tmp_path, stored):
    out = _judge(tmp_path, stored, [_conclusion("torchattacks vs halfstep")])
    row = out.iloc[0]
    assert row["cause_status"] == CONFIRMED
    # the control is paired with the *other* backend's main cell: no discordant image;
    # Tango's 95% interval for 0 of 20 is ±16.1 points, its TOST one (90%) ±11.9 < 20
    assert row["control"] == (
        "halfstep with step_size = 0.04 vs torchattacks: agree within ±20.0 points: "
        "+0.0 points (−16.1 to +16.1); median L2 ratio 1.00 (1.00 to 1.00)"
    )


def test_a_control_named_first_in_the_pair_is_found_too(tmp_path, stored):
    out = _judge(tmp_path, stored, [_conclusion("halfstep vs torchattacks")])
    assert out.iloc[0]["cause_status"] == CONFIRMED
    assert out.iloc[0]["control"].startswith("halfstep with step_size = 0.04 vs torchattacks:")


def test_a_difference_the_control_leaves_is_unexplained(tmp_path, stored):
    out = _judge(tmp_path, stored, [_conclusion("torchattacks vs halfboth")])
    row = out.iloc[0]
    assert row["cause_status"] == UNEXPLAINED
    # 3 against 10 fooled: the control fooled 7 fewer, McNemar 2·2⁻⁷ uncorrected
    assert row["control"] == (
        "halfboth with step_size = 0.04 vs torchattacks: differ by −35.0 points "
        "(−56.7 to −13.2), McNemar p = 0.016; median L2 ratio 1.00 (1.00 to 1.00)"
    )


def test_only_differing_or_not_comparable_rows_are_judged(tmp_path, stored):
    rows = [
        _conclusion("torchattacks vs halfstep", answer=AGREE),
        _conclusion("torchattacks vs halfstep", answer=INCONCLUSIVE),
        _conclusion("torchattacks vs halfboth", answer=NOT_COMPARABLE),
        _conclusion("torchattacks vs halfstep"),
    ]
    frame = pd.DataFrame(rows)
    out = judge_controls(frame, pd.DataFrame(stored), tmp_path)
    assert list(out["cause_status"]) == ["", "", UNEXPLAINED, CONFIRMED]
    assert list(out["control"].str.len() > 0) == [False, False, True, True]
    assert list(out["pair"]) == list(frame["pair"]) and "cause_status" not in frame
    assert list(out.columns) == [*frame.columns, "cause_status", "control"]


def test_without_a_control_cell_the_cause_stands_unconfirmed(tmp_path, stored):
    # torchattacks vs halfstep at another seed: no cell of that classifier at all
    other_seed = _conclusion("torchattacks vs halfstep", seed=1)
    row = _judge(tmp_path, stored, [other_seed]).iloc[0]
    assert (row["cause_status"], row["control"]) == (NO_CONTROL, NO_CAUSE)


def test_a_control_is_matched_on_the_classifier_backend_and_role(tmp_path, stored):
    # halfstep's control belongs to another label; torchattacks' own main cell is not a control
    cells = [{**c, "label": "other"} if c["key"] == "hs-control" else c for c in stored]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["cause_status"] == NO_CONTROL
    # without its control cell, halfstep's main cell does not stand in for one
    cells = [c for c in stored if c["key"] != "hs-control"]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["cause_status"] == NO_CONTROL


def test_a_control_without_the_other_main_cell_is_skipped(tmp_path, stored):
    cells = [{**c, "role": "extra"} if c["key"] == "ta" else c for c in stored]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["cause_status"] == NO_CONTROL


def test_a_control_whose_samples_are_missing_is_skipped(tmp_path, stored):
    cells = [{**c, "key": "gone"} if c["key"] == "hs-control" else c for c in stored]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["cause_status"] == NO_CONTROL
    cells = [{**c, "key": "gone"} if c["key"] == "ta" else c for c in stored]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["cause_status"] == NO_CONTROL


def test_the_second_backend_is_tried_when_the_first_has_no_control(tmp_path, stored):
    # both backends declare a control, but only the second one's samples exist
    _store(tmp_path, "ta-control", 4)
    cells = [*stored, {**_cell("ta-gone", "torchattacks", CONTROL_ROLE, steps=12)}]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["control"].startswith("halfstep with step_size = 0.04 vs torchattacks:")


def test_where_both_backends_declare_a_cause_their_control_cells_are_paired(tmp_path, stored):
    # each library's own cause undone (HopSkipJump's reference loop): control against
    # control, not either control against the other's main cell
    _store(tmp_path, "ta-control", 4)
    cells = [*stored, {**_cell("ta-control", "torchattacks", CONTROL_ROLE, steps=12)}]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["control"] == (
        "torchattacks with steps = 12 vs halfstep with step_size = 0.04: differ by −30.0 "
        "points (−51.9 to −9.1), McNemar p = 0.031; median L2 ratio 1.00 (1.00 to 1.00)"
    )
    assert row["cause_status"] == UNEXPLAINED
    # 10 against 10 fooled: the difference vanished with both causes undone
    _store(tmp_path, "ta-control", 10)
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["control"].startswith(
        "torchattacks with steps = 12 vs halfstep with step_size = 0.04: agree"
    )
    assert row["cause_status"] == CONFIRMED
    # every backend of a row runs its spec: either main cell names the overrides
    cells = [c for c in cells if c["key"] != "ta"]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["control"].startswith("torchattacks with steps = 12 vs halfstep with step_size")
    cells = [c for c in cells if c["key"] != "hs"]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["control"].startswith("torchattacks with its cause equalised vs halfstep with its")


def test_a_control_at_unequal_cost_settles_nothing(tmp_path, stored):
    # the control spent twice the main cell's passes (18 + 6 against 6 + 6): more than the
    # row's 1.5× allowed
    cells = [{**c, "forward_per_image": 18.0} if c["key"] == "hs-control" else c for c in stored]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["cause_status"] == NOT_COMPARABLE
    expected = "vs torchattacks: not comparable at equal cost: 2.0× the passes per image"
    assert expected in row["control"]
    # the row's own limit is used: at 2× allowed, the same control confirms
    wide = _conclusion("torchattacks vs halfstep", max_cost_ratio=2.0)
    assert _judge(tmp_path, cells, [wide]).iloc[0]["cause_status"] == CONFIRMED


def test_the_rows_margin_decides_agree_or_inconclusive(tmp_path, stored):
    narrow = _conclusion("torchattacks vs halfstep", margin=0.1)
    row = _judge(tmp_path, stored, [narrow]).iloc[0]
    assert row["control"].startswith("halfstep with step_size = 0.04 vs torchattacks: inconclusive")
    assert row["cause_status"] == CONFIRMED  # the difference vanished all the same


def test_the_control_uses_the_confidence_and_alpha_uncorrected(tmp_path):
    # the control fooled 3 more of 20: Tango's 95% interval −3.5 to +36.0 points holds 0,
    # its 90% interval +1.3 to +32.2 does not; McNemar p = 2·2⁻³ = 0.25
    for key, fooled in (("main", 0), ("control", 3), ("main6", 0), ("control6", 6)):
        _store(tmp_path, key, fooled)
    cells = [
        _cell("main", "a", "main"),
        _cell("control", "b", CONTROL_ROLE, steps=12),
        {**_cell("main6", "a", "main"), "label": "six"},
        {**_cell("control6", "b", CONTROL_ROLE, steps=12), "label": "six"},
    ]
    row = _conclusion("a vs b")
    assert _judge(tmp_path, cells, [row]).iloc[0]["cause_status"] == CONFIRMED
    assert _judge(tmp_path, cells, [row], confidence=0.9).iloc[0]["cause_status"] == UNEXPLAINED
    # 6 more of 20: McNemar p = 2·2⁻⁶ = 0.031, below α = 0.05 (one test: not corrected)
    six = _conclusion("a vs b", label="six")
    assert ", McNemar p = 0.031" in _judge(tmp_path, cells, [six]).iloc[0]["control"]
    assert "differ by" not in _judge(tmp_path, cells, [six], alpha=0.01).iloc[0]["control"]


def test_a_difference_in_l2_is_confirmed_only_when_the_ratio_holds_one(tmp_path):
    # the control fools the same images as the main cell, at twice its L2
    _store(tmp_path, "main", 10, l2=1.0)
    _store(tmp_path, "control", 10, l2=2.0)
    _store(tmp_path, "same", 10, l2=1.0)
    cells = [
        _cell("main", "a", "main"),
        _cell("control", "b", CONTROL_ROLE, steps=12),
        {**_cell("same", "b", CONTROL_ROLE, steps=12), "label": "same"},
        {**_cell("main", "a", "main"), "label": "same"},
    ]
    in_l2 = _conclusion("a vs b", differ_in="l2")
    row = _judge(tmp_path, cells, [in_l2]).iloc[0]
    assert row["cause_status"] == UNEXPLAINED
    assert row["control"].startswith("b with steps = 12 vs a: differ in L2: median ratio 2.00")
    # a minimum-norm attack that differed in success: its L2 still differs, not confirmed
    in_success = _conclusion("a vs b", differ_in="success")
    assert _judge(tmp_path, cells, [in_success]).iloc[0]["cause_status"] == UNEXPLAINED
    # an ε-bounded attack: L2 is not its aim; the ratio is neither tested nor asked
    bounded = [{**c, "attack": "ifgsm"} for c in cells]
    row = _judge(tmp_path, bounded, [{**in_success, "attack": "ifgsm"}]).iloc[0]
    assert row["cause_status"] == CONFIRMED and "Wilcoxon" not in row["control"]
    same = _conclusion("a vs b", differ_in="l2", label="same")
    row = _judge(tmp_path, cells, [same]).iloc[0]
    assert row["cause_status"] == CONFIRMED
    # the ratio that confirmed it is in the sentence, beside the success difference
    assert row["control"].endswith("; median L2 ratio 1.00 (1.00 to 1.00)")
    # an ε-bounded attack's sentence has none (its ratio is not asked)
    assert (
        "ratio"
        not in _judge(tmp_path, bounded, [{**in_success, "attack": "ifgsm"}]).iloc[0]["control"]
    )


def test_the_sentence_names_only_the_parameters_the_control_changed(tmp_path, stored):
    cells = [
        {**c, "spec": json.dumps({**SPEC, "steps": 12, "step_size": 0.04})}
        if c["key"] == "hs-control"
        else c
        for c in stored
    ]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["control"].startswith("halfstep with step_size = 0.04, steps = 12 vs torchattacks")
    cells = [{**c, "spec": json.dumps(SPEC)} if c["key"] == "hs-control" else c for c in stored]
    row = _judge(tmp_path, cells, [_conclusion("torchattacks vs halfstep")]).iloc[0]
    assert row["control"].startswith("halfstep with its cause equalised vs torchattacks")
