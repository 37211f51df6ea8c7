"""Closed-form checks of the claims' smallest parts, so a one-character bug in them fails a
test (issue 29: mutation testing of the modules that decide conclusions). The deciding
figure's words and numbers (``Judged.text``) and the per-image outcomes behind a claim's
exact interval (``_outcomes``), on a hand-made grid whose right and wrong images are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advcompare.paper.claims import _outcomes, parse_condition
from advcompare.paper.grids import Grid
from advcompare.paper.judged import (
    CONTRADICTED,
    INCONCLUSIVE,
    SUPPORTED,
    Judged,
    _holds,
    _number,
    _state,
)

LABELS = np.arange(10) % 5
RIGHT_NONE = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], bool)  # undefended: 2 of 10 right
RIGHT_AT = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], bool)  # adv. training: 5 of 10
CLEAN_NONE = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 0], bool)
CLEAN_AT = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], bool)


def _cell(right_adv: np.ndarray, right_clean: np.ndarray) -> dict[str, np.ndarray]:
    wrong = (LABELS + 1) % 5
    return {
        "y": LABELS,
        "pred_adv": np.where(right_adv, LABELS, wrong),
        "pred_clean": np.where(right_clean, LABELS, wrong),
    }


GRID = Grid(
    dataset="mnist-sample",
    threat="adaptive",
    cells={
        ("none", "ifgsm"): _cell(RIGHT_NONE, CLEAN_NONE),
        ("adversarial_training", "ifgsm"): _cell(RIGHT_AT, CLEAN_AT),
    },
    weights=np.ones((1, 10)),
    n=10,
)


def grids(dataset: str | None) -> Grid:
    assert dataset is None
    return GRID


def _as_pairs(outcomes):
    return [(c, v.astype(int).tolist()) for c, v in outcomes]


def test_a_gain_is_the_defended_outcomes_minus_the_undefended():
    outcomes = _outcomes(parse_condition("GAIN(adversarial_training, ifgsm) > 0"), grids)
    assert _as_pairs(outcomes) == [
        (1.0, RIGHT_AT.astype(int).tolist()),
        (-1.0, RIGHT_NONE.astype(int).tolist()),
    ]


def test_an_f1_or_accuracy_cell_is_its_own_outcomes():
    for text in ("F1(adversarial_training, ifgsm) > 0.5", "ACC(adversarial_training, ifgsm) > 0.5"):
        assert _as_pairs(_outcomes(parse_condition(text), grids)) == [
            (1.0, RIGHT_AT.astype(int).tolist())
        ]


def test_clean_figures_read_the_clean_predictions():
    clean = _outcomes(parse_condition("CLEAN(adversarial_training) > 0.5"), grids)
    assert _as_pairs(clean) == [(1.0, CLEAN_AT.astype(int).tolist())]
    gain = _outcomes(parse_condition("CLEAN_GAIN(adversarial_training) <= -0.02"), grids)
    assert _as_pairs(gain) == [
        (1.0, CLEAN_AT.astype(int).tolist()),
        (-1.0, CLEAN_NONE.astype(int).tolist()),
    ]


def test_scaled_terms_add_their_coefficients_and_cancelling_terms_vanish():
    scaled = "0.5 * F1(adversarial_training, ifgsm) - 2 * F1(none, ifgsm) > 0"
    assert [c for c, _ in _outcomes(parse_condition(scaled), grids)] == [0.5, -2.0]
    # the undefended cell appears in both gains: +1 − 1 cancels it, AT's outcomes add to 2
    twice = "GAIN(adversarial_training, ifgsm) + F1(adversarial_training, ifgsm) > 0"
    assert _as_pairs(_outcomes(parse_condition(twice), grids)) == [
        (2.0, RIGHT_AT.astype(int).tolist()),
        (-1.0, RIGHT_NONE.astype(int).tolist()),
    ]
    cancel = "F1(adversarial_training, ifgsm) - F1(adversarial_training, ifgsm) > 0"
    assert _outcomes(parse_condition(cancel), grids) == []


def test_a_figure_without_per_image_outcomes_has_none():
    assert _outcomes(parse_condition("MEAN_F1(adversarial_training) > 0.5"), grids) is None


def _judged(text: str, value: float, lo: float, hi: float, n: int = 200, p: float = math.nan):
    condition = parse_condition(text)
    return Judged(condition, value, lo, hi, SUPPORTED, n, condition.threshold, p)


@pytest.mark.parametrize(
    "text, value, lo, hi, n, p, expected",
    [
        (
            "GAIN(adversarial_training, ifgsm) > 0", 0.74, 0.68, 0.8, 200, 0.0004,
            "adv. training − none, I-FGSM: +0.740 (0.680 to 0.800), needs > 0, "
            "exact p < 0.001",
        ),
        (
            "GAIN(adversarial_training, ifgsm) > 0", 0.1171, 0.047, 0.187, 200, 0.1234,
            "adv. training − none, I-FGSM: +0.117 (0.047 to 0.187), needs > 0, exact p = 0.12",
        ),
        (
            "CLEAN_GAIN(adversarial_training) <= -0.02", -0.006, -0.028, 0.013, 200, math.nan,
            "clean F1 adv. training − none: −0.006 (−0.028 to 0.013), needs ≤ −0.02",
        ),
        (
            "F1(defensive_distillation, cw) <= 0.5", 0.846, 0.786, 0.888, 200, math.nan,
            "F1 distillation, CW: +0.846 (0.786 to 0.888), needs ≤ 0.5",
        ),
        (
            "TIME_RATIO(feature_smoothing) <= 1.5", 1.027, 0.987, 1.107, 0, math.nan,
            "prediction time smoothing / none: +1.027 (0.987 to 1.107 over the attacks), "
            "needs ≤ 1.5",
        ),
        (
            "GAIN(adversarial_training, ifgsm) >= -0.05", 0.0, -0.019, 0.019, 200, 1.0,
            "adv. training − none, I-FGSM: +0.000 (−0.019 to 0.019), needs ≥ −0.05, "
            "exact p = 1",
        ),
    ],
)  # fmt: skip
def test_the_deciding_figure_in_words_and_numbers(text, value, lo, hi, n, p, expected):
    assert _judged(text, value, lo, hi, n, p).text() == expected


@pytest.mark.parametrize(
    "value, op, threshold, holds",
    [
        (0.1, ">", 0.0, True), (0.0, ">", 0.0, False), (0.0, ">=", 0.0, True),
        (-0.1, ">=", 0.0, False), (-0.1, "<", 0.0, True), (0.0, "<", 0.0, False),
        (0.0, "<=", 0.0, True), (0.1, "<=", 0.0, False),
    ],
)  # fmt: skip
def test_each_comparison_holds_exactly_at_its_edge(value, op, threshold, holds):
    assert _holds(value, op, threshold) is holds


@pytest.mark.parametrize(
    "lo, hi, op, state",
    [
        (0.1, 0.3, ">", SUPPORTED),  # the pessimistic (low) end clears the threshold
        (-0.3, -0.1, ">", CONTRADICTED),  # even the optimistic (high) end fails
        (-0.1, 0.1, ">", INCONCLUSIVE),
        (0.0, 0.2, ">=", SUPPORTED),  # at the edge, >= holds
        (0.0, 0.2, ">", INCONCLUSIVE),  # at the edge, > does not
        (-0.3, -0.1, "<", SUPPORTED),  # for ≤ and < the pessimistic end is the high one
        (0.1, 0.3, "<", CONTRADICTED),
        (-0.2, 0.0, "<=", SUPPORTED),
        (-0.2, 0.0, "<", INCONCLUSIVE),
        (0.2, 0.2, ">", INCONCLUSIVE),  # a zero-width interval decides nothing
        (-0.2, -0.2, ">", INCONCLUSIVE),
    ],
)
def test_a_verdict_reads_the_pessimistic_and_the_optimistic_end(lo, hi, op, state):
    assert _state(lo, hi, op, 0.0) == state


def test_numbers_carry_the_true_minus_sign_and_their_digits():
    assert _number(-0.0061, 3, True) == "−0.006"
    assert _number(0.0061, 3, True) == "+0.006"
    assert _number(0.0061, 3, False) == "0.006"
    assert _number(-0.02, 3, False, short=True) == "−0.02"
    assert _number(1.5, 3, False, short=True) == "1.5"
    assert _number(0.12345, 2, False) == "0.12"
