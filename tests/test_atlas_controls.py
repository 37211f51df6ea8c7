"""The atlas's matched-cost controls (docs/backends.md "Equal cost: the matched-cost
controls"): every library entry that spends more than 1.5× the other library's passes per
image at the same budget declares the budget that equalises it, so the atlas run adds the
re-run at matched cost (advcompare.grid.plan.control_entries) beside the comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from advcompare.adapters import get_backend
from advcompare.analysis.metrics import PassCounter
from advcompare.attacks.spec import AttackSpec
from advcompare.config.experiment import load_config
from advcompare.grid.entries import control_entries
from advcompare.models.cnn import predict

ATLAS = Path(__file__).resolve().parent.parent / "configs" / "atlas.toml"
MAX_COST_RATIO = 1.5  # [statistics] max_cost_ratio's default (advcompare.analysis.comparison)

# The atlas's budgets (configs/atlas.toml) and the overrides each control must plan, by hand:
# AutoAttack 100 APGD steps, Square 5,000 queries; Square 1,000 queries; EAD 100 steps;
# NewtonFool 100 steps; Boundary 200 steps.
EXPECTED = {
    ("autoattack", "art"): {"steps": 66, "square_queries": 1666},
    ("square", "art"): {"queries": 333},
    ("ead", "art"): {"steps": 14},
    ("newtonfool", "art"): {"steps": 16},
    ("boundary", "art"): {"steps": 100},
    # not a cost control: both libraries undo their departure from Chen et al.'s loop
    ("hopskipjump", "art"): {"reference_loop": True},
    ("hopskipjump", "foolbox"): {"reference_loop": True},
}


def test_the_atlas_plans_a_matched_cost_control_for_each_costly_entry():
    entries = load_config(ATLAS).attacks
    main = {(e.label, e.backend): e for e in entries}
    planned = {}
    for control in control_entries(entries):
        base = main[(control.label, control.backend)]
        assert control.samples == base.samples  # the same images as the cell it controls
        planned[(control.label, control.backend)] = {
            k: v for k, v in control.spec.params.items() if base.spec.params[k] != v
        }
    assert planned == EXPECTED


@pytest.fixture(scope="module")
def sixteen(digits, trained_digits):
    """16 test digits the session's CNN classifies right, and the model. All ten classes are
    among them, as in a batch of the atlas's: ART's NewtonFool and EAD spend a backward
    pass per class present, so the controls' factors hold on batches holding every class."""
    model = trained_digits.model.eval()
    x, y = digits.test.x[:24], digits.test.y[:24]
    keep = predict(model, x) == y
    return model, x[keep][:16], y[keep][:16]


def _passes(backend: str, model, x, y, attack: str, **params) -> float:
    """Forward plus backward passes per image of one seeded attack, counted as the grader
    counts them."""
    torch.manual_seed(0)
    np.random.seed(0)
    counter = PassCounter(model)
    get_backend(backend).run(counter, x, y, AttackSpec.create(attack, **params))
    return (counter.forward_samples + counter.backward_samples) / len(x)


def _ratio(a: float, b: float) -> float:
    return max(a, b) / min(a, b)


def _control(backend: str, attack: str, params: dict) -> dict:
    impl = get_backend(backend).impl(AttackSpec.create(attack, **params))
    assert impl.control is not None
    return {**params, **impl.control.params(params)}


@pytest.mark.parametrize(
    "attack,params,n",
    [
        ("newtonfool", {"steps": 12, "eta": 0.01}, 16),
        ("boundary", {"steps": 60}, 4),
    ],
)
def test_art_control_brings_the_cost_ratio_within_bound(sixteen, attack, params, n):
    """ART's NewtonFool (a backward pass per class present each step) and Boundary (retries
    within a step) spend more than 1.5× Foolbox's passes at the same budget; their controls
    bring it within 1.5×."""
    model, x, y = sixteen
    x, y = x[:n], y[:n]
    foolbox = _passes("foolbox", model, x, y, attack, **params)
    art = _passes("art", model, x, y, attack, **params)
    matched = _passes("art", model, x, y, attack, **_control("art", attack, params))
    assert _ratio(art, foolbox) > MAX_COST_RATIO, (art, foolbox)
    assert _ratio(matched, foolbox) <= MAX_COST_RATIO, (matched, foolbox)
