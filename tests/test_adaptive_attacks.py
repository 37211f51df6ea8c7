"""Adaptive attacks as the field builds them (Tramèr et al. 2020; Athalye, Carlini & Wagner
2018; Carlini & Wagner 2016), and the adaptive column as the worst case of white-box and
transfer: on real digits with the session's CNN, and on hand-made cells."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from advcompare.adapters.entry import AttackEntry
from advcompare.attacks.spec import AttackSpec
from advcompare.data.datasets import Split
from advcompare.defenses.defended import ADAPTIVE, OBLIVIOUS
from advcompare.defenses.distillation import MarginOverT, distill
from advcompare.defenses.registry import assemble_defense, defense_params, threat_key
from advcompare.defenses.worst_case import OBFUSCATION_NOTE, TRANSFER, WHITE_BOX, with_worst_case
from advcompare.grid.crafting import craft, grade_crafted
from advcompare.grid.plan import CellId, CellSpec
from advcompare.grid.tasks import CellResult, attack_cell, oblivious_cell
from advcompare.models.cnn import predict
from advcompare.models.preflight import preflight, raised
from advcompare.models.train import TrainConfig
from advcompare.models.weights import Weights
from advcompare.paper.claims import SUPPORTED, Claim, claims_frame, parse_condition
from advcompare.report.defense_tables import defense_f1_frame, obfuscation_lines

N, BATCH = 120, 60
IFGSM = AttackEntry(
    "ifgsm", AttackSpec.create("ifgsm", eps=0.1, step_size=0.02, steps=10), "torchattacks"
)


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="module")
def data(digits):
    return Split(digits.test.x[:N], digits.test.y[:N])


@pytest.fixture(scope="module")
def base(trained_digits):
    return Weights.of("base", trained_digits.model.eval(), 10, [])


def cell(defense: str, threat: str, params=None, entry: AttackEntry = IFGSM) -> CellSpec:
    return CellSpec(
        id=CellId("digits", defense, threat, entry.label, entry.backend),
        key=f"{defense}-{threat}-{entry.label}",
        entry=entry,
        num_classes=10,
        params=dict(params or {}),
        defense_key=f"key-{defense}",
        base_key="base",
        batch_size=BATCH,
        seed=0,
        device="cpu",
    )


@pytest.fixture(scope="module")
def undefended(data, base):
    """The undefended I-FGSM cell: the figure to recover and the transfer attack's source."""
    torch.manual_seed(0)
    return attack_cell(cell("none", ADAPTIVE), data, base, None)


def row(result, defense: str, threat: str, key: str) -> dict:
    """A results-frame row of a graded cell."""
    return {
        "key": key,
        "dataset": "digits",
        "defense": defense,
        "threat": threat,
        "label": "ifgsm",
        "attack": "ifgsm",
        "backend": "torchattacks",
        "role": "main",
        "seed": 0,
        **result.metrics,
    }


def worst(rows: list[dict], samples: dict) -> pd.DataFrame:
    frame = with_worst_case(pd.DataFrame(rows), samples.get)
    return frame[frame["threat"] == ADAPTIVE].set_index("defense")


# --- the attacks ----------------------------------------------------------------------------


def test_a_noisy_backward_is_flagged_and_bpda_recovers_the_undefended_f1(
    trained_digits, data, undefended
):
    """A backward pass that is mostly noise (gradient masking at ε = 1, 20× the typical
    gradient entry) makes the naive white-box attack weaker than transfer: flagged. BPDA
    (identity backward, Athalye et al. 2018 §4.1) gets the undefended figure back."""
    model = trained_digits.model.eval()
    params = defense_params("gradient_masking", {"epsilon": 1.0})
    defended = assemble_defense("gradient_masking", params, model, "gm")
    device = torch.device("cpu")

    def crafted_on(attacked):
        return craft(attacked, IFGSM, data, BATCH, device, 10, 0)

    def graded(crafted):
        metrics, _, samples = grade_crafted(defended.classifier, data, crafted, device)
        return CellResult(metrics, [], samples)

    naive = graded(crafted_on(defended.classifier))  # through the noisy gradient
    bpda = graded(crafted_on(defended.attacked_model(ADAPTIVE, "ifgsm")))
    transfer = graded(crafted_on(model))
    samples = {
        "naive": naive.samples,
        "bpda": bpda.samples,
        "transfer": transfer.samples,
    }
    f1 = undefended.metrics["adv_f1"]
    assert naive.metrics["adv_f1"] > f1 + 0.3  # the noise blunts the naive attack
    flagged = worst(
        [row(naive, "gm", ADAPTIVE, "naive"), row(transfer, "gm", OBLIVIOUS, "transfer")], samples
    )
    assert flagged.loc["gm", "obfuscated"]
    assert flagged.loc["gm", "worst_by"] == TRANSFER
    assert flagged.loc["gm", "worst_note"] == OBFUSCATION_NOTE
    assert flagged.loc["gm", "worst_f1"] == transfer.metrics["adv_f1"]
    assert flagged.loc["gm", "paired_p"] < 1e-6
    # BPDA: the undefended model's exact gradient, so the undefended figure, no flag
    assert bpda.metrics["adv_f1"] == pytest.approx(f1, abs=0.01)
    fixed = worst(
        [row(bpda, "gm", ADAPTIVE, "bpda"), row(transfer, "gm", OBLIVIOUS, "transfer")], samples
    )
    assert not fixed.loc["gm", "obfuscated"] and fixed.loc["gm", "worst_note"] == ""
    assert fixed.loc["gm", "worst_f1"] == pytest.approx(f1, abs=0.01)


def test_gradient_masking_worst_case_ifgsm_is_the_undefended_figure(data, base, undefended):
    """Gradient masking as configs/defenses.toml runs it, through the grid's cell functions:
    its adaptive (BPDA) and worst-case I-FGSM F1 are within 0.05 of the undefended model's."""
    params = defense_params("gradient_masking", {"epsilon": 0.001, "eot_samples": 8})
    adaptive = attack_cell(cell("gradient_masking", ADAPTIVE, params), data, base, None)
    transfer = oblivious_cell(cell("gradient_masking", OBLIVIOUS, params), data, base, undefended)
    assert any("BPDA" in n for n in adaptive.notes)
    f1 = undefended.metrics["adv_f1"]
    assert abs(adaptive.metrics["adv_f1"] - f1) <= 0.05
    frame = worst(
        [
            row(undefended, "none", ADAPTIVE, "none"),
            row(adaptive, "gradient_masking", ADAPTIVE, "adaptive"),
            row(transfer, "gradient_masking", OBLIVIOUS, "oblivious"),
        ],
        {"adaptive": adaptive.samples, "oblivious": transfer.samples},
    )
    assert abs(frame.loc["gradient_masking", "worst_f1"] - f1) <= 0.05
    assert not frame.loc["gradient_masking", "obfuscated"]


def test_a_changed_adaptive_attack_changes_its_cells_keys_only(monkeypatch):
    """Adaptive cells crafted the old way (EOT, cross-entropy at T = 1) are not read back
    from a store: the record's revision is part of their keys, and only of theirs."""
    from advcompare.config.experiment import load_config
    from advcompare.defenses.registry import DEFENSES
    from advcompare.grid import plan

    cfg = load_config("configs/defenses.toml")
    entry = cfg.attacks[0]

    def key(defense: str, threat: str) -> str:
        where = CellId("mnist", defense, threat, entry.label, entry.backend)
        return plan._key(cfg, "model", where, entry, 200, 0)

    before = {
        (d, t): key(d, t) for d in ("none", "gradient_masking") for t in (ADAPTIVE, OBLIVIOUS)
    }
    assert threat_key("gradient_masking", ADAPTIVE) != ADAPTIVE
    record = DEFENSES["gradient_masking"]
    monkeypatch.setitem(
        DEFENSES,
        "gradient_masking",
        replace(record, adaptive_revision=record.adaptive_revision + 1),
    )
    after = {k: key(*k) for k in before}
    assert after[("gradient_masking", ADAPTIVE)] != before[("gradient_masking", ADAPTIVE)]
    assert all(after[k] == before[k] for k in before if k != ("gradient_masking", ADAPTIVE))
    assert threat_key("none", ADAPTIVE) == ADAPTIVE


def saturated_student(model: torch.nn.Module, temperature: float) -> torch.nn.Module:
    """A distilled student as deployed: its training-time logits scaled by T at T = 1
    (Carlini & Wagner 2016, §4), here the CNN's last layer multiplied by T."""
    student = type(model)(10)
    student.load_state_dict(model.state_dict())
    last = student.classifier[-2]
    with torch.no_grad():
        last.weight.mul_(temperature)
        last.bias.mul_(temperature)
    return student.eval()


def test_the_distillation_attack_beats_cross_entropy_on_a_saturated_student(
    trained_digits, data, base
):
    """Cross-entropy at T = 1 on a saturated soft-max loses gradients (the preflight's
    zero_gradients); the adaptive view's margin over T does not, and the examples are
    graded on the deployed model, whose predictions the view keeps."""
    t = 20.0
    student = saturated_student(trained_digits.model.eval(), t)
    trained = Weights.of("student", student, 10, [])
    params = defense_params("defensive_distillation", {"temperature": t})
    adaptive = attack_cell(cell("defensive_distillation", ADAPTIVE, params), data, base, trained)
    device = torch.device("cpu")
    plain = craft(student, IFGSM, data, BATCH, device, 10, 0)  # cross-entropy on the student
    ce_metrics, _, _ = grade_crafted(student, data, plain, device)
    assert "zero_gradients" in raised(preflight(student, data.x[:64], data.y[:64]))
    assert adaptive.metrics["adv_f1"] <= ce_metrics["adv_f1"] - 0.03
    assert any("margin" in n for n in adaptive.notes)
    # graded on the deployed model (T = 1), and the attacked view predicts as it does
    defended = assemble_defense(
        "defensive_distillation", params, trained_digits.model.eval(), "dd", student
    )
    view = defended.attacked_model(ADAPTIVE, "ifgsm")
    assert isinstance(view, MarginOverT) and defended.classifier is student
    assert torch.equal(predict(view, data.x), predict(student, data.x))
    x_adv = adaptive.samples["x_adv"]
    assert torch.equal(adaptive.samples["pred_adv"], predict(student, x_adv))
    # attacks whose loss is a logit margin already keep the deployed logits
    assert all(defended.attacked_model(ADAPTIVE, a) is student for a in ("cw", "deepfool", "fmn"))
    assert isinstance(defended.attacked_model(ADAPTIVE, "ddn"), MarginOverT)  # cross-entropy
    assert defended.attacked_model(ADAPTIVE, "pixel_swap") is student  # no gradients
    assert defended.attacked_model(OBLIVIOUS, "ifgsm") is not student


@pytest.mark.slow
def test_the_distillation_attack_beats_cross_entropy_on_a_distilled_model(digits, data):
    """The same on a student actually distilled at T = 20 (12 epochs on the digits)."""
    t = 20.0
    student = distill(digits, TrainConfig(epochs=12), t, torch.device("cpu")).student
    device = torch.device("cpu")

    def f1(attacked):
        crafted = craft(attacked, IFGSM, data, BATCH, device, 10, 0)
        return grade_crafted(student, data, crafted, device)[0]["adv_f1"]

    assert f1(MarginOverT(student, t)) <= f1(student)


# --- the worst case on hand-made cells --------------------------------------------------------

Y = np.arange(100) % 10


def outcomes(wrong: list[int]) -> dict[str, np.ndarray]:
    """Per-image labels and predictions, wrong on the images listed."""
    pred = Y.copy()
    pred[wrong] = (Y[wrong] + 1) % 10
    return {"y": Y, "pred_adv": pred, "pred_clean": Y}


def made(defense: str, threat: str, f1: float, lo: float = math.nan, hi: float = math.nan):
    key = f"{defense}-{threat}"
    return {
        "key": key,
        "dataset": "d",
        "defense": defense,
        "threat": threat,
        "label": "ifgsm",
        "attack": "ifgsm",
        "backend": "torchattacks",
        "role": "main",
        "seed": 0,
        "adv_f1": f1,
        "adv_f1_lo": lo,
        "adv_f1_hi": hi,
    }


CASES = [
    # (white-box wrong, transfer wrong, expected worst_by, flagged)
    (list(range(10)), list(range(60)), TRANSFER, True),  # transfer far stronger
    (list(range(60)), list(range(10)), WHITE_BOX, False),  # white-box stronger
    (list(range(10)), list(range(12)), TRANSFER, False),  # lower, but 2 images: chance
]


@pytest.mark.parametrize("white_wrong, transfer_wrong, by, flagged", CASES)
def test_worst_case_and_flag_on_paired_outcomes(white_wrong, transfer_wrong, by, flagged):
    from advcompare.analysis.metrics import macro_f1

    white, transfer = outcomes(white_wrong), outcomes(transfer_wrong)
    f1 = {
        k: macro_f1(torch.as_tensor(Y), torch.as_tensor(v["pred_adv"]))
        for k, v in (("white", white), ("transfer", transfer))
    }
    rows = [
        made("none", ADAPTIVE, 0.05),
        made("gm", ADAPTIVE, f1["white"]),
        made("gm", OBLIVIOUS, f1["transfer"]),
    ]
    frame = with_worst_case(
        pd.DataFrame(rows), {"gm-adaptive": white, "gm-oblivious": transfer}.get
    )
    got = frame.set_index(["defense", "threat"])
    assert got.loc[("gm", ADAPTIVE), "worst_by"] == by
    assert got.loc[("gm", ADAPTIVE), "worst_f1"] == min(f1.values())
    assert bool(got.loc[("gm", ADAPTIVE), "obfuscated"]) is flagged
    assert (got.loc[("gm", ADAPTIVE), "worst_note"] == OBFUSCATION_NOTE) is flagged
    # the undefended cell is its own worst case; an oblivious row carries no worst case
    assert got.loc[("none", ADAPTIVE), "worst_by"] == WHITE_BOX
    assert got.loc[("none", ADAPTIVE), "worst_f1"] == 0.05
    assert math.isnan(got.loc[("gm", OBLIVIOUS), "worst_f1"])


@pytest.mark.parametrize(
    "transfer, flagged",
    [((0.20, 0.15, 0.25), True), ((0.40, 0.35, 0.58), False)],  # disjoint / overlapping
)
def test_without_per_image_outcomes_the_intervals_decide(transfer, flagged):
    rows = [made("gm", ADAPTIVE, 0.6, 0.55, 0.65), made("gm", OBLIVIOUS, *transfer)]
    got = with_worst_case(pd.DataFrame(rows)).set_index("threat").loc[ADAPTIVE]
    assert got["worst_by"] == TRANSFER and got["worst_f1"] == transfer[0]
    assert (got["worst_f1_lo"], got["worst_f1_hi"]) == transfer[1:]
    assert bool(got["obfuscated"]) is flagged


def test_the_defense_table_shows_the_worst_case_and_the_flag():
    rows = [
        made("none", ADAPTIVE, 0.09),
        made("gradient_masking", OBLIVIOUS, 0.09, 0.05, 0.13),
        made("gradient_masking", ADAPTIVE, 0.82, 0.75, 0.88),
        made("feature_smoothing", OBLIVIOUS, 0.74, 0.68, 0.80),
        made("feature_smoothing", ADAPTIVE, 0.42, 0.35, 0.49),
    ]
    frame = with_worst_case(pd.DataFrame(rows))
    table = defense_f1_frame(frame, {}).set_index("attack")
    line = table.loc["I-FGSM (torchattacks)"]
    assert line["gradient masking (worst case)"] == "0.090 (transfer) †"
    assert line["feature smoothing (worst case)"] == "0.420 (white-box)"
    columns = list(table.columns)
    assert columns.index("gradient masking (worst case)") == (
        columns.index("gradient masking (adaptive)") + 1
    )
    [flag] = obfuscation_lines(frame)
    assert OBFUSCATION_NOTE in flag and "gradient masking" in flag


def test_adaptive_claims_are_judged_on_the_worst_case():
    """A claim about a defended cell reads the transfer cell when it is the stronger."""
    white, transfer = outcomes(list(range(20))), outcomes(list(range(90)))
    rows = [
        made("none", ADAPTIVE, 0.1),
        made("gradient_masking", ADAPTIVE, 0.8),
        made("gradient_masking", OBLIVIOUS, 0.1),
    ]
    arrays = {
        "none-adaptive": transfer,
        "gradient_masking-adaptive": white,
        "gradient_masking-oblivious": transfer,
    }
    claim = Claim(
        "gm",
        "§3.5.3",
        "little effect",
        "",
        (parse_condition("GAIN(gradient_masking, ifgsm) < 0.1"),),
    )
    verdicts = claims_frame(pd.DataFrame(rows), arrays.get, resamples=50, claims=(claim,))
    by_threat = dict(zip(verdicts["threat"], verdicts["verdict"]))
    assert by_threat[ADAPTIVE] == SUPPORTED  # worst case: no gain; white-box alone: +0.7
    assert ": +0.000" in verdicts.set_index("threat").loc[ADAPTIVE, "deciding"]
