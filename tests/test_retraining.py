"""Oblivious gains read against the retrained control (issue 28, item 6)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_claims import grid

from advcompare.paper.claims import claims_frame
from advcompare.paper.retraining import BELOW, BEYOND, WITHIN, reading, retraining_frame

# The control: another seed of the undefended CNN, which examples crafted on the base model
# fool less (transfer loss): I-FGSM 0.10 → 0.45 under the oblivious threat model.
CONTROL = {"ifgsm": 0.45, "deepfool": 0.90, "cw": 0.60, "pixel_swap": 0.30}


def frame(control=CONTROL, resamples=300):
    cells, arrays = grid(adv={"retrained": dict(control)}, clean={"retrained": 0.97})
    return retraining_frame(cells, arrays.get, resamples=resamples), cells, arrays


def test_gains_are_read_against_the_control_on_the_same_images():
    out, _, _ = frame()
    at = out.set_index(["attack", "defense"])
    # adversarial training's I-FGSM F1 0.60: a gain of 0.50 over none, 0.15 beyond retraining
    r = at.loc[("ifgsm", "adversarial_training")]
    assert r.gain == pytest.approx(0.50, abs=0.01) and r.control_gain == pytest.approx(
        0.35, abs=0.01
    )
    assert r.beyond == pytest.approx(0.15, abs=0.01) and r.reading == BEYOND
    assert r.beyond_lo > 0.1 and r.beyond_hi < 0.2 and r.n == 2000
    # smoothing's 0.85 against DeepFool is below the control's 0.90: no gain beyond transfer
    assert at.loc[("deepfool", "feature_smoothing"), "reading"] == BELOW
    # distillation's CW 0.35 is below the control's 0.60; masking equals none everywhere
    assert at.loc[("cw", "defensive_distillation"), "reading"] == BELOW
    assert (out[out.defense == "gradient_masking"]["reading"] == BELOW).sum() == 4


def test_a_defense_equal_to_the_control_is_within_and_zero_width_is_not_beyond():
    same = {"ifgsm": 0.60, "deepfool": 0.90, "cw": 0.45, "pixel_swap": 0.55}
    out, _, _ = frame(control=same)
    trained = out[out.defense == "adversarial_training"]
    assert (trained["reading"] == WITHIN).all() and (trained["beyond"] == 0).all()
    assert reading(0.0, 0.0) == WITHIN and reading(0.01, 0.2) == BEYOND
    assert reading(-0.2, -0.01) == BELOW


def test_without_the_control_there_is_nothing_to_read_and_claims_ignore_it():
    cells, arrays = grid()
    assert retraining_frame(cells, arrays.get, resamples=50).empty
    with_control, c2, a2 = frame(resamples=50)
    assert len(with_control) == 4 * 4
    plain = claims_frame(cells, arrays.get, resamples=100)
    controlled = claims_frame(c2, a2.get, resamples=100)
    pd.testing.assert_frame_equal(plain, controlled)  # no claim reads the control


def test_a_defenses_run_with_the_control_reports_gains_beyond_it(tmp_path, monkeypatch):
    """A real run on the digits (the CNN and its retrained control, 2 epochs each): the
    control's oblivious and adaptive cells, retraining.csv and the report's section."""
    from advcompare.cli import main

    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "c.toml"
    config.write_text(
        'name = "control"\ndatasets = ["digits"]\nsamples = 60\n'
        'defenses = ["none", "feature_smoothing", "retrained"]\n[train]\nepochs = 2\n'
        "[curves]\nreference = false\n"
        '[attacks.ifgsm]\nbackend = "torchattacks"\neps = 0.1\nstep_size = 0.02\nsteps = 5\n'
    )
    out = tmp_path / "run"
    assert main(["run", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    results = pd.read_csv(out / "results.csv")
    control = results[results["defense"] == "retrained"]
    assert sorted(control["threat"]) == ["adaptive", "oblivious"]
    frame = pd.read_csv(out / "retraining.csv")
    assert list(frame["defense"]) == ["feature_smoothing"] and list(frame["attack"]) == ["ifgsm"]
    transfer = control[control["threat"] == "oblivious"]["adv_f1"].iloc[0]
    white_box = results[results["defense"] == "none"]["adv_f1"].iloc[0]
    assert frame["control_gain"].iloc[0] == pytest.approx(transfer - white_box, abs=1e-9)
    assert transfer > white_box  # examples crafted on one network fool another less
    report = (out / "report.md").read_text()
    assert "## Oblivious gains against plain retraining" in report
    assert "retrained control (oblivious)" in report
