"""Robust-accuracy curves and AttackBench's optimality, checked against hand-computed areas."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from advcompare.analysis.curves import (
    budget_limit,
    curve_area,
    curve_points,
    envelope,
    has_eps_curve,
    is_minimum_norm,
    needed_norms,
    norm_groups,
    optimality,
    optimality_frame,
    robust_accuracy,
)
from advcompare.analysis.eps_curves import eps_curve_frame
from advcompare.attacks import spec
from advcompare.attacks.spec import MINIMUM_NORM, AttackRecord
from advcompare.report.figures import LINE_STYLES, attack_style

INF = math.inf
# Four images; the fourth was misclassified before any attack (needed norm 0).
# Backend a fools image 1 at L2 1 and image 2 at 2, fails on image 3;
# backend b fools them at 0.5, 3 and 2.
A = np.array([1.0, 2.0, INF, 0.0])
B = np.array([0.5, 3.0, 2.0, 0.0])


def test_needed_norms_from_per_sample_outcomes():
    correct = [1, 1, 1, 0]
    success = [1, 1, 0, 0]
    l2 = [1.0, 2.0, 0.0, 5.0]  # the misclassified image's norm is ignored
    assert np.array_equal(needed_norms(correct, success, l2), A)


def test_robust_accuracy_is_the_share_still_right_within_the_budget():
    # at 0: the three correct images; at 1: image 1 needed exactly 1 → fooled
    assert list(robust_accuracy(A, [0, 0.99, 1, 2, 10])) == [0.75, 0.75, 0.5, 0.25, 0.25]


def test_envelope_and_optimality_in_closed_form():
    best = envelope([A, B])
    assert list(best) == [0.5, 2.0, 2.0, 0.0]
    assert budget_limit(best) == 2.0  # D: the envelope's largest finite norm
    # A* = (0.5 + 2 + 2 + 0) / 4; W = D × clean accuracy = 2 × 0.75
    assert curve_area(best, 2.0) == pytest.approx(1.125)
    assert curve_area(A, 2.0) == pytest.approx(1.25)  # (1 + 2 + 2 + 0) / 4
    # (W − A) / (W − A*) = (1.5 − 1.25) / (1.5 − 1.125)
    assert optimality(A, best) == pytest.approx(2 / 3)
    assert optimality(B, best) == pytest.approx(1.0)
    never = np.array([INF, INF, INF, 0.0])
    assert optimality(never, envelope([A, B, never])) == pytest.approx(0.0)


def test_the_exact_area_matches_numerical_integration_of_the_curve():
    rng = np.random.default_rng(0)
    norms = np.where(rng.random(200) < 0.2, INF, rng.gamma(2.0, 1.0, 200))
    norms[:10] = 0.0
    limit = 4.0
    grid = np.linspace(0, limit, 400_001)
    numeric = np.trapezoid(robust_accuracy(norms, grid), grid)
    assert curve_area(norms, limit) == pytest.approx(numeric, abs=1e-4)


def test_optimality_is_undefined_when_nothing_is_fooled():
    assert math.isnan(optimality(np.array([INF, 0.0]), np.array([INF, 0.0])))
    with pytest.raises(ValueError):
        optimality(A, A[:2])


def test_curve_points_draw_the_steps():
    x, y = curve_points(A, 2.0)
    assert list(x) == [0.0, 1.0, 2.0]
    assert list(y) == [0.75, 0.5, 0.25]


def _store(run_dir, key, correct, success, l2, with_norms=True):
    adv = run_dir / "adv"
    adv.mkdir(parents=True, exist_ok=True)
    tensors = {
        "x_adv": torch.zeros(len(correct), 1),
        "correct": torch.tensor(correct, dtype=torch.uint8),
        "success": torch.tensor(success, dtype=torch.uint8),
    }
    if with_norms:
        tensors["l2"] = torch.tensor(l2, dtype=torch.float32)
    save_file(tensors, str(adv / f"{key}.safetensors"))


def _row(key, label, attack, backend, role="main", **extra):
    return {
        "key": key,
        "dataset": "mnist-sample",
        "defense": "none",
        "threat": "adaptive",
        "label": label,
        "attack": attack,
        "backend": backend,
        "role": role,
        "spec": json.dumps(extra.pop("spec", {})),
        **extra,
    }


def test_norm_groups_read_stored_per_sample_norms(tmp_path):
    _store(tmp_path, "a", [1, 1, 1, 0], [1, 1, 0, 0], [1.0, 2.0, 0.0, 0.0])
    _store(tmp_path, "b", [1, 1, 1, 0], [1, 1, 1, 0], [0.5, 3.0, 2.0, 0.0])
    _store(tmp_path, "old", [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0], with_norms=False)
    _store(tmp_path, "other", [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1])
    frame = pd.DataFrame(
        [
            _row("a", "deepfool", "deepfool", "torchattacks"),
            _row("b", "fmn", "fmn", "foolbox", role="reference"),
            _row("old", "cw", "cw", "art"),
            _row("other", "deepfool", "deepfool", "art"),
            _row("i", "ifgsm", "ifgsm", "art"),
        ]
    )
    groups, notes = norm_groups(frame, tmp_path)
    assert len(groups) == 1 and [c.backend for c in groups[0].curves] == ["torchattacks", "foolbox"]
    assert any("cw (art): no per-image L2" in n for n in notes)
    assert any("deepfool (art): graded on other images" in n for n in notes)
    table = optimality_frame(groups, budgets=(1.0, 2.0))
    # DeepFool against the reference (FMN); FMN, the only L2 reference, against nothing; the
    # reference envelope is the yardstick, unscored
    assert list(table["backend"]) == ["torchattacks", "foolbox", "reference"]
    assert list(table["reference"]) == ["fmn (foolbox)", "no reference", "fmn (foolbox)"]
    # D = 3, W = 3 × 0.75, A* = (0.5 + 3 + 2) / 4, A = (1 + 2 + 3) / 4: (W − A) / (W − A*)
    assert table["optimality"].iloc[0] == pytest.approx((2.25 - 1.5) / (2.25 - 1.375))
    assert table["optimality"].iloc[1:].isna().all()
    assert list(table["robust_at_1"]) == [0.5, 0.5, 0.5]
    assert list(table["robust_at_2"]) == [0.25, 0.25, 0.25]
    assert list(table["clean_accuracy"]) == [0.75] * 3
    # the lower median over fooled images (1.0 and 2.0 → 1.0), as in the attacks table; and
    # over an odd count (0.5, 2.0, 3.0 → 2.0)
    assert list(table["median_l2"]) == pytest.approx([1.0, 2.0, 2.0])
    assert list(table["budget_limit"]) == [3.0, 0.0, 3.0]  # D: the reference's largest norm


def _metric_row(key, label, backend, eps, role, success, clean=0.9, f1=0.5):
    return _row(
        key,
        label,
        "ifgsm",
        backend,
        role=role,
        eps=eps,
        spec={"eps": eps},
        clean_accuracy=clean,
        clean_f1=0.95,
        success_rate=success,
        adv_f1=f1,
    )


def test_the_eps_curve_joins_the_main_cell_and_its_eps_cells():
    frame = pd.DataFrame(
        [
            _metric_row("m", "ifgsm", "art", 0.1, "main", 0.5),
            _metric_row("e1", "ifgsm", "art", 0.05, "eps_curve", 0.2),
            _metric_row("e2", "ifgsm", "art", 0.2, "eps_curve", 1.0),
            _metric_row("m2", "ifgsm", "foolbox", 0.1, "main", 0.6),
            _metric_row("bim", "bim", "art", 0.1, "main", 0.7),  # no ε cells: no curve
        ]
    )
    curves = eps_curve_frame(frame)
    art = curves[curves.backend == "art"]
    assert list(art["eps"]) == [0.0, 0.05, 0.1, 0.2]
    assert list(art["robust_accuracy"]) == pytest.approx([0.9, 0.72, 0.45, 0.0])
    assert list(art["role"]) == ["clean", "eps_curve", "main", "eps_curve"]
    assert art["adv_f1"].iloc[0] == 0.95  # ε = 0 is the clean model
    # a backend with only its main cell still gets its two points beside the others
    assert set(curves.attack) == {"ifgsm"}
    assert eps_curve_frame(frame.assign(role="main")).empty


def test_which_attacks_have_curves_is_asked_of_their_records(monkeypatch):
    assert [is_minimum_norm(a) for a in ("deepfool", "cw", "ifgsm", "unknown")] == [
        True,
        True,
        False,
        False,
    ]
    assert [has_eps_curve(a) for a in ("ifgsm", "deepfool", "unknown")] == [True, False, False]
    assert [attack_style(a) for a in ("deepfool", "cw", "ifgsm")] == ["-", "--", ":"]
    new = AttackRecord("l2_test", {}, "foolbox", "a test", "L2 test", "l2", MINIMUM_NORM, True)
    assert not is_minimum_norm("l2_test") and attack_style("l2_test") == ":"
    monkeypatch.setitem(spec.ATTACKS, "l2_test", new)  # registered at run time: asked, not cached
    assert is_minimum_norm("l2_test")
    # the last minimum-norm L2 record (after deepfool, cw, fmn, ddn, newtonfool): its
    # position among them picks the line style
    position = [a for a in spec.ATTACKS if is_minimum_norm(a)].index("l2_test")
    assert position == 5
    assert attack_style("l2_test") == LINE_STYLES[position % len(LINE_STYLES)]


def test_a_registered_minimum_norm_attack_gets_its_curve(tmp_path, monkeypatch):
    ddn = AttackRecord("ddn", {}, "foolbox", "a test", "DDN", "l2", MINIMUM_NORM, True)
    monkeypatch.setitem(spec.ATTACKS, "ddn", ddn)
    _store(tmp_path, "a", [1, 1, 1, 0], [1, 1, 0, 0], [1.0, 2.0, 0.0, 0.0])
    _store(tmp_path, "d", [1, 1, 1, 0], [1, 1, 1, 0], [0.5, 3.0, 2.0, 0.0])
    frame = pd.DataFrame(
        [_row("a", "deepfool", "deepfool", "art"), _row("d", "ddn", "ddn", "foolbox")]
    )
    groups, _ = norm_groups(frame, tmp_path)
    assert [c.attack for c in groups[0].curves] == ["deepfool", "ddn"]
