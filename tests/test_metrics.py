"""The one grader, on hand-made cases whose answers are known."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from advcompare.analysis.metrics import (
    PassCounter,
    grade_attack,
    grade_clean,
    macro_f1,
    output_is_valid,
    perturbation_norms,
)


class FirstPixelClassifier(nn.Module):
    """Class 1 when the first coordinate is above 0.5, else class 0: predictable by hand."""

    def forward(self, x):
        v = x.flatten(1)[:, :1]
        return torch.cat([0.5 - v, v - 0.5], dim=1)


def test_macro_f1_by_hand():
    y = torch.tensor([0, 0, 1, 1])
    pred = torch.tensor([0, 1, 1, 1])
    # class 0: P=1, R=0.5, F1=2/3; class 1: P=2/3, R=1, F1=0.8
    assert macro_f1(y, pred) == pytest.approx((2 / 3 + 0.8) / 2)
    assert macro_f1(y, y) == 1.0
    assert macro_f1(y, 1 - y) == 0.0


def test_norms_by_hand():
    x = torch.zeros(2, 1, 2, 2)
    adv = x.clone()
    adv[0, 0, 0, 0] = 0.3
    adv[0, 0, 1, 1] = 0.4
    adv[1, 0, 0, 1] = 1e-7  # below the L0 tolerance (ART's integer round trip)
    norms = perturbation_norms(x, adv)
    assert norms["l0"].tolist() == [2.0, 0.0]
    assert norms["l2"][0].item() == pytest.approx(0.5)
    assert norms["linf"][0].item() == pytest.approx(0.4)


def test_grade_attack_counts_success_over_initially_correct_only():
    model = FirstPixelClassifier()
    x = torch.zeros(4, 1, 2, 2)
    x[2:, 0, 0, 0] = 1.0  # samples 2, 3 are class 1
    y = torch.tensor([0, 0, 1, 0])  # sample 3 is misclassified before any attack
    adv = x.clone()
    adv[0, 0, 0, 0] = 0.75  # flips sample 0 (L2 = Linf = 0.75)
    adv[1, 0, 1, 1] = 0.2  # does not flip sample 1
    m = grade_attack(model, x, y, adv, attack_seconds=2.0, forward_samples=8, backward_samples=4)
    assert m["n_clean_correct"] == 3
    assert m["success_rate"] == pytest.approx(1 / 3)
    assert m["clean_accuracy"] == 0.75 and m["adv_accuracy"] == 0.5
    assert m["l2_median"] == pytest.approx(0.75) and m["l0_median"] == 1
    assert m["attack_time_per_image"] == 0.5
    assert m["paper_time_per_image"] >= 0.5
    assert m["forward_per_image"] == 2 and m["backward_per_image"] == 1
    assert m["output_valid"]
    assert m["delta_f1"] == pytest.approx(m["adv_f1"] - m["clean_f1"])


def test_no_success_gives_nan_norms_not_zero():
    model = FirstPixelClassifier()
    x = torch.zeros(2, 1, 2, 2)
    m = grade_attack(model, x, torch.tensor([0, 0]), x.clone(), attack_seconds=0.0)
    assert m["success_rate"] == 0.0 and math.isnan(m["l2_median"])


def test_output_validity_checks_shape_box_and_finiteness():
    x = torch.rand(2, 3, 4, 4)
    assert output_is_valid(x, x)
    assert not output_is_valid(x, x + 1.5)
    assert not output_is_valid(x, x[:, :2])
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    assert not output_is_valid(x, bad)


def test_grade_clean_and_pass_counter():
    y = torch.tensor([0, 1, 1, 0])
    m = grade_clean(y, torch.tensor([0, 1, 0, 0]), seconds=0.4)
    assert m["clean_accuracy"] == 0.75 and m["prediction_time_per_image"] == pytest.approx(0.1)
    counter = PassCounter(FirstPixelClassifier())
    x = torch.rand(3, 1, 2, 2, requires_grad=True)
    counter(x).sum().backward()
    counter(x[:2])
    assert counter.forward_samples == 5 and counter.backward_samples == 3
