"""The seeds rule (:mod:`advcompare.analysis.seeds`, DESIGN.md §9) on hand-made results: libraries
"differ by more than the seeds" only when the range of their seed-means exceeds twice the
largest standard deviation across seeds of any one of them; at exactly twice it is still
"within training variation".

The adversarial F1s are multiples of 1/32, so every mean, sd and range below is exact in
float and the boundary case sits exactly on the boundary.
"""

from __future__ import annotations

import pandas as pd
import pytest

from advcompare.analysis.seeds import library_vs_seeds, seed_spread

DIFFER = "libraries differ by more than the seeds"
WITHIN = "within training variation"


def _frame(adv_f1: dict[str, list[float]]) -> pd.DataFrame:
    """A results frame's main cells: one attack on the undefended digits CNN, each backend
    with one cell per training seed (seeds 0, 1, 2, ... in the order given)."""
    rows = []
    for backend, values in adv_f1.items():
        for seed, value in enumerate(values):
            rows.append(
                {
                    "dataset": "digits",
                    "defense": "none",
                    "threat": "oblivious",
                    "label": "bim",
                    "attack": "ifgsm",
                    "backend": backend,
                    "role": "main",
                    "seed": seed,
                    "clean_f1": 0.9,
                    "adv_f1": value,
                    "success_rate": 1 - value,
                }
            )
    return pd.DataFrame(rows)


def _judged(adv_f1: dict[str, list[float]]) -> pd.Series:
    versus = library_vs_seeds(seed_spread(_frame(adv_f1)))
    assert len(versus) == 1
    return versus.iloc[0]


# each backend's three seeds: mean m, sd exactly 0.125 (deviations -1/8, 0, +1/8)
def _around(mean: float) -> list[float]:
    return [mean - 0.125, mean, mean + 0.125]


@pytest.mark.parametrize(
    "second_mean,exceeds,said,range_text",
    [
        (0.5 + 1 / 32, True, DIFFER, "range 0.281 > 2 × seed sd 0.125"),  # just above
        (0.5, False, WITHIN, "range 0.250 ≤ 2 × seed sd 0.125"),  # exactly on the boundary
        (0.5 - 1 / 32, False, WITHIN, "range 0.219 ≤ 2 × seed sd 0.125"),  # just below
    ],
    ids=["just-above", "on-the-boundary", "just-below"],
)
def test_libraries_differ_only_beyond_twice_the_seed_sd(second_mean, exceeds, said, range_text):
    row = _judged({"torchattacks": _around(0.25), "art": _around(second_mean)})
    assert row["seed_sd"] == 0.125
    assert row["library_range"] == second_mean - 0.25
    assert bool(row["exceeds_seeds"]) is exceeds
    assert row["conclusion"] == f"{said}: {range_text}"
    assert row["backends"] == "torchattacks, art"


def test_the_largest_sd_of_any_backend_is_the_yardstick():
    """One backend steady across seeds (sd 0), the other noisy (sd 0.375): a range of 0.25
    is within the noisy one's variation, though far beyond the steady one's."""
    row = _judged({"torchattacks": [0.25, 0.25, 0.25], "art": [0.125, 0.5, 0.875]})
    assert row["seed_sd"] == 0.375 and row["library_range"] == 0.25
    assert not row["exceeds_seeds"]
    assert row["conclusion"].startswith(WITHIN)


def test_far_apart_libraries_differ_by_more_than_the_seeds():
    row = _judged({"torchattacks": _around(0.25), "art": _around(0.75), "foolbox": _around(0.5)})
    assert row["library_range"] == 0.5 and row["exceeds_seeds"]
    assert row["backends"] == "torchattacks, art, foolbox"
    assert row["conclusion"] == f"{DIFFER}: range 0.500 > 2 × seed sd 0.125"


def test_the_spread_is_mean_and_sample_sd_per_backend():
    spread = seed_spread(_frame({"torchattacks": _around(0.25), "art": [0.5, 0.75]}))
    by = spread.set_index("backend")
    assert by.loc["torchattacks", "adv_f1_mean"] == 0.25
    assert by.loc["torchattacks", "adv_f1_sd"] == 0.125  # ddof 1: (2 × 1/64) / 2 = 1/64
    assert by.loc["art", "n_seeds"] == 2 and by.loc["art", "seeds"] == "0,1"
    assert by.loc["art", "success_rate_mean"] == 0.375


def test_no_rule_without_two_seeds_or_two_backends():
    assert not len(seed_spread(_frame({"torchattacks": [0.25], "art": [0.5]})))  # one seed
    alone = seed_spread(_frame({"torchattacks": _around(0.25)}))
    assert len(alone) == 1 and not len(library_vs_seeds(alone))  # one backend
