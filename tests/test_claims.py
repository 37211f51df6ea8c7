"""The paper's defense claims (advcompare.claims): every claim comes out supported on a
hand-made grid shaped like the paper's findings and contradicted on a grid changed where
the claim looks; a claim whose cells a run lacks is "not run", naming them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advcompare.claims import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_RUN,
    PAPER_ATTACKS,
    PAPER_DEFENSES,
    SUPPORTED,
    claims_frame,
    paper_claims,
    parse_condition,
)

N = 2000
ORDER = np.random.default_rng(0).permutation(N)  # the same images are the "easy" ones in every cell
LABELS = np.arange(N) % 10

# Adversarial accuracy per (defense, attack), clean accuracy per defense: the paper's story.
BASE_ADV = {
    "none": {"ifgsm": 0.10, "deepfool": 0.02, "cw": 0.05, "pixel_swap": 0.20},
    "adversarial_training": {"ifgsm": 0.80, "deepfool": 0.85, "cw": 0.75, "pixel_swap": 0.60},
    "feature_smoothing": {"ifgsm": 0.25, "deepfool": 0.80, "cw": 0.30, "pixel_swap": 0.70},
    "gradient_masking": {"ifgsm": 0.10, "deepfool": 0.02, "cw": 0.05, "pixel_swap": 0.20},
    "defensive_distillation": {"ifgsm": 0.30, "deepfool": 0.95, "cw": 0.20, "pixel_swap": 0.45},
}
BASE_CLEAN = {
    "none": 0.97,
    "adversarial_training": 0.95,
    "feature_smoothing": 0.96,
    "gradient_masking": 0.93,
    "defensive_distillation": 0.98,
}


def _predictions(accuracy: float) -> np.ndarray:
    """Right on the first ``accuracy × N`` images of one fixed order, one class off elsewhere
    (so macro F1 tracks accuracy and the sets of right images are nested across cells)."""
    right = np.zeros(N, bool)
    right[ORDER[: round(accuracy * N)]] = True
    return np.where(right, LABELS, (LABELS + 1) % 10)


def grid(adv=None, clean=None, dataset="mnist-sample", gain_scale=1.0):
    """Cells and their per-image arrays for one dataset, both threat models."""
    adv = {d: dict(v) for d, v in BASE_ADV.items()} | (adv or {})
    clean = dict(BASE_CLEAN) | (clean or {})
    rows, arrays = [], {}
    for defense, by_attack in adv.items():
        threats = ["adaptive"] if defense == "none" else ["oblivious", "adaptive"]
        for threat in threats:
            for attack, acc in by_attack.items():
                if defense != "none":
                    acc = adv["none"][attack] + gain_scale * (acc - adv["none"][attack])
                key = f"{dataset}-{defense}-{threat}-{attack}"
                rows.append(
                    {
                        "key": key,
                        "dataset": dataset,
                        "defense": defense,
                        "threat": threat,
                        "label": attack,
                        "attack": attack,
                        "role": "main",
                    }
                )
                arrays[key] = {
                    "y": LABELS,
                    "pred_adv": _predictions(acc),
                    "pred_clean": _predictions(clean[defense]),
                }
    return pd.DataFrame(rows), arrays


def judge(*grids, resamples=200):
    cells = pd.concat([g[0] for g in grids], ignore_index=True)
    arrays = {k: v for g in grids for k, v in g[1].items()}
    return claims_frame(cells, arrays.get, resamples=resamples)


def verdicts(frame, dataset="mnist-sample", threat="adaptive"):
    part = frame[
        (frame["threat"] == threat) & (frame["dataset"].isin([dataset, "across datasets"]))
    ]
    return dict(zip(part["id"], part["verdict"]))


CONTRADICTIONS = {
    "at-every-attack": (
        {"adversarial_training": {**BASE_ADV["adversarial_training"], "ifgsm": 0.05}},
        {},
    ),
    "at-clean": ({}, {"adversarial_training": 0.85}),
    "fs-every-attack": ({"feature_smoothing": {**BASE_ADV["feature_smoothing"], "cw": 0.02}}, {}),
    "fs-deepfool-pixel": (
        {"feature_smoothing": {**BASE_ADV["feature_smoothing"], "ifgsm": 0.95}},
        {},
    ),
    "gm-little-effect": ({"gradient_masking": {**BASE_ADV["gradient_masking"], "ifgsm": 0.40}}, {}),
    "gm-black-box": (
        {"gradient_masking": {**BASE_ADV["gradient_masking"], "pixel_swap": 0.50}},
        {},
    ),
    "gm-clean": ({}, {"gradient_masking": 0.99}),
    "dd-deepfool": (
        {"defensive_distillation": {**BASE_ADV["defensive_distillation"], "deepfool": 0.40}},
        {},
    ),
    "dd-pixel-swap": (
        {"defensive_distillation": {**BASE_ADV["defensive_distillation"], "pixel_swap": 0.22}},
        {},
    ),
    "dd-cw": ({"defensive_distillation": {**BASE_ADV["defensive_distillation"], "cw": 0.80}}, {}),
    "dd-ifgsm": (
        {"defensive_distillation": {**BASE_ADV["defensive_distillation"], "ifgsm": 0.80}},
        {},
    ),
    "dd-clean": ({}, {"defensive_distillation": 0.90}),
    "deepfool-dominated": (
        {
            d: {**BASE_ADV[d], "deepfool": max(v["deepfool"], 0.6) if d != "none" else 0.6}
            for d, v in BASE_ADV.items()
        },
        {},
    ),
    "ranking": ({"adversarial_training": {a: 0.30 for a in PAPER_ATTACKS}}, {}),
    "network-beats-image": (
        {
            "adversarial_training": dict(BASE_ADV["none"]),
            "defensive_distillation": dict(BASE_ADV["none"]),
        },
        {},
    ),
}


def test_at_least_twelve_claims_each_with_a_quote_and_conditions():
    claims = paper_claims()
    assert len(claims) >= 12
    assert len({c.id for c in claims}) == len(claims)
    for claim in claims:
        assert claim.quote and claim.section and claim.conditions
    assert {c.id for c in claims} == set(CONTRADICTIONS) | {"mnist-easiest"}


def test_every_claim_is_supported_on_a_grid_shaped_like_the_paper():
    frame = judge(
        grid(), grid(dataset="cifar10", gain_scale=0.6), grid(dataset="gtsrb", gain_scale=0.5)
    )
    for threat in ("oblivious", "adaptive"):
        got = verdicts(frame, threat=threat)
        assert got == {c.id: SUPPORTED for c in paper_claims()}, threat
    row = frame[(frame["id"] == "dd-pixel-swap") & (frame["threat"] == "adaptive")].iloc[0]
    assert row["deciding"].startswith("ACC(defensive_distillation, pixel_swap) - 1.5 * ACC(none")


@pytest.mark.parametrize("claim", sorted(CONTRADICTIONS))
def test_each_claim_is_contradicted_where_the_grid_says_otherwise(claim):
    adv, clean = CONTRADICTIONS[claim]
    got = verdicts(judge(grid(adv, clean)))
    assert got[claim] == CONTRADICTED


def test_mnist_easiest_is_contradicted_when_cifar_gains_more():
    frame = judge(
        grid(), grid(dataset="cifar10", gain_scale=1.3), grid(dataset="gtsrb", gain_scale=0.5)
    )
    assert verdicts(frame)["mnist-easiest"] == CONTRADICTED


def test_missing_cells_make_a_claim_not_run_and_name_them():
    cells, arrays = grid()
    cells = cells[~((cells["defense"] == "gradient_masking") & (cells["threat"] == "oblivious"))]
    frame = judge((cells, arrays))
    row = frame[(frame["id"] == "gm-clean") & (frame["threat"] == "oblivious")].iloc[0]
    assert row["verdict"] == NOT_RUN
    assert row["missing"] == ["mnist-sample/gradient_masking (any attack)"]
    across = frame[frame["id"] == "mnist-easiest"].iloc[0]
    assert across["verdict"] == NOT_RUN and "cifar10 (dataset not in the run)" in across["missing"]
    assert verdicts(frame)["gm-clean"] == SUPPORTED  # the adaptive cells are there


def test_too_few_images_is_inconclusive_with_the_images_that_would_settle_it():
    """Feature smoothing's CW gain is 0.01, but on other images than the undefended
    model's: at 2,000 images its interval straddles 0."""
    cells, arrays = grid()
    other = np.random.default_rng(1).permutation(N)[: round(0.06 * N)]
    right = np.zeros(N, bool)
    right[other] = True
    for threat in ("oblivious", "adaptive"):
        key = f"mnist-sample-feature_smoothing-{threat}-cw"
        arrays[key] = {**arrays[key], "pred_adv": np.where(right, LABELS, (LABELS + 1) % 10)}
    row = judge((cells, arrays))
    row = row[(row["id"] == "fs-every-attack") & (row["threat"] == "adaptive")].iloc[0]
    assert row["verdict"] == INCONCLUSIVE
    assert row["images_needed"] > N
    assert "GAIN(feature_smoothing, cw)" in row["deciding"]


def test_the_condition_language_refuses_what_it_cannot_read():
    c = parse_condition("0.5 * MEAN_F1(a) - MEAN_F1(b) >= -0.1")
    assert [t.coef for t in c.terms] == [0.5, -1.0] and c.op == ">=" and c.threshold == -0.1
    assert [x.text for x in parse_condition("GAIN(d, *) > 0").expand()] == [
        f"GAIN(d, {a}) > 0" for a in PAPER_ATTACKS
    ]
    with pytest.raises(ValueError, match="GAIN takes 2 argument"):
        parse_condition("GAIN(d) > 0")
    with pytest.raises(ValueError, match="expected 'expression op number'"):
        parse_condition("GAIN(d, a)")
    assert set(PAPER_DEFENSES) == {
        "adversarial_training",
        "feature_smoothing",
        "gradient_masking",
        "defensive_distillation",
    }
