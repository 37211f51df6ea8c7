"""Optimality against the independent reference of each attack's own norm (issue 27, item 7):
no cell scores 1 for being the best of the run's cells, EAD is scored in L1 against FMN-L1,
JSMA reads "no reference", and each attack's backends are ranked (AttackBench)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from advcompare.adapters.entry import AttackEntry
from advcompare.analysis import curves
from advcompare.analysis.curves import (
    NO_REFERENCE,
    NormCurve,
    NormGroup,
    minimises_norm,
    norm_groups,
    optimality_frame,
)
from advcompare.analysis.metrics import perturbation_norms
from advcompare.analysis.ranking import ranking_frame
from advcompare.attacks.spec import AttackSpec
from advcompare.config.settings import ExperimentConfig, ReferenceConfig
from advcompare.grid.entries import reference_entries
from advcompare.report import write_report
from advcompare.results import CellRecord
from advcompare.storage.store import ResultStore

INF = math.inf
# Five images; the fifth was misclassified before any attack (needed norm 0).
REF = np.array([1.0, 1.0, 2.0, 2.0, 0.0])  # the reference: fools all four, D = 2
WEAK = np.array([2.0, 2.0, INF, 2.0, 0.0])
BEST_OF_RUN = np.array([1.5, 1.0, 2.0, 2.0, 0.0])  # beats WEAK everywhere, not REF on image 1


def _group(*curves: tuple[str, np.ndarray, bool], norm: str = "l2") -> NormGroup:
    group = NormGroup("mnist-sample", "none", "adaptive", norm=norm)
    for label, norms, reference in curves:
        group.curves.append(NormCurve(label, label, "lib", norms, reference, norm))
    return group


def test_the_best_of_the_run_scores_below_one_against_a_stronger_reference():
    group = _group(("weak", WEAK, False), ("best", BEST_OF_RUN, False), ("fmn", REF, True))
    best, weak = group.curves[1], group.curves[0]
    # W = D × clean accuracy = 2 × 0.8; A* = (1 + 1 + 2 + 2) / 5; A = (1.5 + 1 + 2 + 2) / 5
    assert group.optimality(best) == pytest.approx((1.6 - 1.3) / (1.6 - 1.2))
    assert group.optimality(best) < 1 and group.optimality(weak) < group.optimality(best)
    # the old self-envelope (best of the run's own cells) would have scored it exactly 1
    assert group.reference_of(best) == "fmn (lib)"


def test_a_cell_equal_to_the_reference_scores_one_and_no_cell_scores_itself():
    group = _group(("same", REF.copy(), False), ("fmn", REF, True), ("ddn", REF.copy(), True))
    same, fmn, ddn = group.curves
    assert group.optimality(same) == pytest.approx(1.0)
    # a reference cell is scored against the other reference of its norm, never itself
    assert group.reference_of(fmn) == "ddn (lib)" and group.optimality(fmn) == pytest.approx(1.0)
    lone = _group(("ead", WEAK, False), ("fmn_l1", REF, True), norm="l1")
    assert math.isnan(lone.optimality(lone.curves[1]))  # alone in its norm: no yardstick
    assert lone.reference_of(lone.curves[1]) == NO_REFERENCE
    # a cell that beats the reference scores above 1 (the reference was weak), not 1
    beats = _group(("x", np.array([0.5, 1.0, 2.0, 2.0, 0.0]), False), ("fmn", REF, True))
    assert beats.optimality(beats.curves[0]) > 1


def test_without_a_reference_no_cell_is_scored():
    group = _group(("weak", WEAK, False), ("best", BEST_OF_RUN, False))
    assert all(math.isnan(group.optimality(c)) for c in group.curves)
    table = optimality_frame([group])
    assert table["optimality"].isna().all() and set(table["reference"]) == {NO_REFERENCE}
    assert "envelope" not in set(table["attack"])  # no best-of-the-run envelope row


def test_a_cell_on_fewer_images_is_compared_on_the_reference_s_first_ones():
    group = _group(("few", REF[:3].copy(), False), ("fmn", REF, True))
    # on the first three images (all correct) the two agree: D = 2, W = 2, A = A*
    assert group.optimality(group.curves[0]) == pytest.approx(1.0)


def test_l1_is_stored_per_image():
    x = torch.zeros(2, 1, 2, 2)
    adv = x.clone()
    adv[0, 0, 0, 0], adv[0, 0, 1, 1] = 0.3, -0.4
    assert perturbation_norms(x, adv)["l1"].tolist() == pytest.approx([0.7, 0.0])


def test_which_attacks_minimise_their_norm():
    assert [minimises_norm(a) for a in ("ead", "jsma", "newtonfool", "hopskipjump")] == [True] * 4
    assert [minimises_norm(a) for a in ("pgd", "pixel_swap", "one_pixel", "nope")] == [False] * 4


def _cfg(*attacks: str, enabled: bool = True) -> ExperimentConfig:
    return ExperimentConfig(
        attacks=tuple(AttackEntry(a, AttackSpec.create(a), "art") for a in attacks),
        reference=ReferenceConfig(enabled=enabled, fmn_steps=70, ddn_steps=90),
    )


def test_the_reference_is_planned_per_norm_of_the_run_s_attacks(monkeypatch):
    def planned(*attacks: str, enabled: bool = True) -> list[tuple[str, int]]:
        cfg = _cfg(*attacks, enabled=enabled)
        return [(e.spec.attack, e.spec["steps"]) for e in reference_entries(cfg)]

    # the sparse references run at least 200 steps whatever fmn_steps (70 here) says
    assert planned("ead") == [("fmn_l1", 200)]
    assert planned("newtonfool", "ead", "pgd") == [("fmn", 70), ("ddn", 90), ("fmn_l1", 200)]
    assert planned("hopskipjump") == [("fmn", 70), ("ddn", 90)]
    assert planned("jsma", "pgd") == [("fmn_l0", 200)]
    assert planned("pgd", "pixel_swap") == [] and planned("ead", enabled=False) == []
    assert all(e.backend == "foolbox" for e in reference_entries(_cfg("ead", "cw")))
    # a norm without a reference in the libraries plans none (its cells read "no reference")
    monkeypatch.delitem(curves.REFERENCES, "l0")
    assert planned("jsma") == []


def _ep(values):
    import eagerpy as ep

    return ep.astensor(torch.tensor(values, dtype=torch.float32))


def test_the_l0_reference_keeps_epsilon_coordinates_where_foolbox_keeps_one_more():
    import foolbox.attacks as fa

    from advcompare.adapters.references import _projected_l0_fmn

    x0 = _ep([[0.0] * 6, [0.0] * 6])
    x = _ep([[0.5, -0.3, 0.2, 0.0, 0.1, 0.05], [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]])
    eps = _ep([2.0, 6.0])
    repaired = _projected_l0_fmn()().project(x, x0, eps).raw
    assert repaired[0].tolist() == pytest.approx([0.5, -0.3, 0, 0, 0, 0])
    assert (repaired[1] != 0).sum() == 6  # ε = the input size: all kept (Foolbox: IndexError)
    original = fa.L0FMNAttack().project(x, x0, _ep([2.0, 2.0])).raw
    assert (original != 0).sum(1).tolist() == [3, 3]  # Foolbox 3.3.4 keeps ε + 1


def test_the_l1_reference_projects_onto_the_l1_ball():
    import foolbox.attacks as fa

    x0 = _ep([[0.0] * 6, [0.0] * 6])
    x = _ep([[0.5, -0.3, 0.2, 0.0, 0.1, 0.05], [0.1] * 6])
    out = fa.L1FMNAttack().project(x, x0, _ep([0.4, 1.0])).raw
    assert out[0].tolist() == pytest.approx([0.3, -0.1, 0, 0, 0, 0], abs=1e-6)  # θ = 0.2
    assert out[1].tolist() == pytest.approx([0.1] * 6)  # inside the ball: unchanged


def _samples(correct, success, **norms):
    n = len(correct)
    out = {
        "correct": torch.tensor(correct, dtype=torch.uint8),
        "success": torch.tensor(success, dtype=torch.uint8),
        "linf": torch.zeros(n),
    }
    return out | {k: torch.tensor(v, dtype=torch.float32) for k, v in norms.items()}


CORRECT = [1, 1, 1, 0]
# (label, attack, backend, role, success, norms, passes): EAD's L2 order is the reverse of
# its L1 order, so only an L1 score ranks foolbox's above art's
CELLS = [
    ("ead", "ead", "art", "main", [1, 1, 1, 0], {"l1": [4, 6, 8, 0], "l2": [1, 1, 1, 0]}, 100),
    ("ead", "ead", "foolbox", "main", [1, 1, 1, 0], {"l1": [2, 3, 8, 0], "l2": [2, 2, 2, 0]}, 90),
    ("fmn_l1", "fmn_l1", "foolbox", "reference", [1, 1, 1, 0], {"l1": [2, 3, 4, 0]}, 100),
    ("jsma", "jsma", "torchattacks", "main", [1, 1, 0, 0], {"l0": [10, 20, 0, 0]}, 50),
    ("jsma", "jsma", "art", "main", [1, 1, 1, 0], {"l0": [12, 20, 30, 0]}, 400),
    ("newtonfool", "newtonfool", "art", "main", [1, 1, 1, 0], {"l2": [1, 2, 2, 0]}, 30),
    ("newtonfool", "newtonfool", "foolbox", "main", [1, 0, 1, 0], {"l2": [1, 0, 2, 0]}, 30),
    ("fmn", "fmn", "foolbox", "reference", [1, 1, 1, 0], {"l2": [0.5, 1, 2, 0]}, 30),
    ("ddn", "ddn", "foolbox", "reference", [1, 1, 1, 0], {"l2": [1, 1, 1.5, 0]}, 30),
]


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    with ResultStore(run) as store:
        store.set_meta("name", "optimality")
        for i, (label, attack, backend, role, success, norms, passes) in enumerate(CELLS):
            rate = sum(success) / 3
            store.add_cell(
                CellRecord(
                    f"k{i}",
                    dataset="mnist-sample",
                    label=label,
                    attack=attack,
                    backend=backend,
                    spec=AttackSpec.create(attack).as_dict(),
                    notes=[],
                    metrics={
                        "n": 4,
                        "n_clean_correct": 3,
                        "clean_f1": 0.7,
                        "clean_accuracy": 0.75,
                        "adv_f1": 0.7 * (1 - rate),
                        "adv_accuracy": 0.75 * (1 - rate),
                        "success_rate": rate,
                        "forward_per_image": passes / 2,
                        "backward_per_image": passes / 2,
                        "output_valid": True,
                        "delta_f1": -0.7 * rate,
                        "attack_time_per_image": 0.01,
                        "adv_prediction_time_per_image": 0.001,
                        "paper_time_per_image": 0.011,
                        **{f"{k}_median": float("nan") for k in ("l0", "l2", "linf")},
                        **{f"{k}_median": float(np.median(v[:3])) for k, v in norms.items()},
                    },
                    model_key="m",
                    role=role,
                )
            )
            (run / "adv").mkdir(exist_ok=True)
            save_file(_samples(CORRECT, success, **norms), str(run / "adv" / f"k{i}.safetensors"))
    return run


def _frame(run_dir) -> pd.DataFrame:
    rows = [
        {
            "key": f"k{i}",
            "dataset": "mnist-sample",
            "defense": "none",
            "threat": "adaptive",
            "label": label,
            "attack": attack,
            "backend": backend,
            "role": role,
        }
        for i, (label, attack, backend, role, *_) in enumerate(CELLS)
    ]
    return pd.DataFrame(rows)


def test_ead_is_scored_in_l1_against_the_l1_reference(run_dir):
    groups, notes = norm_groups(_frame(run_dir), run_dir)
    assert [g.norm for g in groups] == ["l2", "l1", "l0"] and not notes
    l1 = groups[1]
    assert [(c.label, c.backend) for c in l1.curves] == [
        ("ead", "art"),
        ("ead", "foolbox"),
        ("fmn_l1", "foolbox"),
    ]
    art, foolbox = l1.curves[0], l1.curves[1]
    # L1: D = 4, W = 4 × 0.75 = 3, A* = (2 + 3 + 4) / 4, art's A = (4 + 4 + 4) / 4,
    # foolbox's A = (2 + 3 + 4) / 4 (its 8 is cut at D)
    assert l1.optimality(art) == pytest.approx((3 - 3) / (3 - 2.25))
    assert l1.optimality(foolbox) == pytest.approx(1.0)
    assert l1.reference_of(art) == "fmn_l1 (foolbox)"
    # the L2 group holds no EAD cell: it is never scored against the L2 reference
    assert {c.attack for c in groups[0].curves} == {"newtonfool", "fmn", "ddn"}


def test_jsma_reads_no_reference_and_old_stores_say_what_is_missing(run_dir):
    groups, _ = norm_groups(_frame(run_dir), run_dir)
    table = optimality_frame(groups)
    jsma = table[table["attack"] == "jsma"]
    assert list(jsma["norm"]) == ["l0", "l0"] and set(jsma["reference"]) == {NO_REFERENCE}
    assert jsma["optimality"].isna().all()
    assert list(jsma["median_norm"]) == [10.0, 20.0]  # lower medians of the fooled L0 counts
    # a store from before L1 was kept: EAD is left out with a note naming L1
    path = run_dir / "adv" / "k0.safetensors"
    save_file(_samples(CORRECT, [1, 1, 1, 0], l2=[1, 1, 1, 0]), str(path))
    groups, notes = norm_groups(_frame(run_dir), run_dir)
    assert any("ead (art): no per-image L1 norms stored" in n for n in notes)


def test_the_ranking_orders_each_family_s_backends(run_dir):
    frame = _frame(run_dir)
    metrics = {f"k{i}": c for i, c in enumerate(CELLS)}
    frame["success_rate"] = [sum(metrics[k][4]) / 3 for k in frame["key"]]
    frame["forward_per_image"] = [metrics[k][6] / 2 for k in frame["key"]]
    frame["backward_per_image"] = [metrics[k][6] / 2 for k in frame["key"]]
    groups, _ = norm_groups(frame, run_dir)
    ranking = ranking_frame(frame, optimality_frame(groups))
    order = {
        label: list(part.sort_values("rank")["backend"])
        for label, part in ranking.groupby("label", sort=False)
    }
    # EAD: foolbox's L1 optimality 1.0 beats art's 0.0 (equal success); NewtonFool: equal
    # optimality (1/3 each), art fools more; JSMA (no reference): art's higher success
    assert order == {
        "ead": ["foolbox", "art"],
        "newtonfool": ["art", "foolbox"],
        "jsma": ["art", "torchattacks"],
    }
    assert set(ranking["label"]) == {"ead", "newtonfool", "jsma"}  # references are no family
    by = ranking.set_index(["label", "backend"])
    assert by.loc[("ead", "foolbox"), "median_norm"] == 3.0  # L1, not L2
    assert by.loc[("jsma", "art"), "cost_ratio"] == pytest.approx(8.0)
    assert not by.loc[("jsma", "art"), "equal_cost"] and by.loc[("ead", "art"), "equal_cost"]
    assert by.loc[("jsma", "art"), "reference"] == NO_REFERENCE


def test_the_report_ranks_implementations_and_keeps_l1_out_of_the_l2_table(run_dir):
    text = write_report(run_dir).read_text()
    flat = " ".join(text.split())
    ranking = text[text.index("### Ranking across implementations") :]
    assert "| EAD " in ranking and "L1 3.000" in ranking and "no reference" in ranking
    assert "≠ cost" in ranking and "(JSMA)" in " ".join(ranking.split())
    l2 = text[text.index("### Attack strength") : text.index("### Ranking")]
    assert "| EAD " not in l2 and "| NewtonFool " in l2
    assert "Envelope of fmn (foolbox), ddn (foolbox)" in flat
    saved = pd.read_csv(run_dir / "ranking.csv")
    assert list(saved.columns[:7]) == [
        "dataset",
        "defense",
        "threat",
        "attack",
        "label",
        "backend",
        "rank",
    ]
    table = pd.read_csv(run_dir / "optimality.csv")
    assert set(table["norm"]) == {"l2", "l1", "l0"}


def test_the_sparse_references_find_the_one_pixel_a_linear_model_turns_on():
    """Logits (10·(x₀ − t), 0) with x = 0.5 everywhere: class 0 needs x₀ ≥ t, so the
    smallest change is one coordinate (L0 = 1) moved by t − 0.5 (L1). (Class 0 wins the tie:
    FMN steps exactly onto a linear boundary before its first adversarial point.)"""
    from advcompare.adapters.registry import get_backend

    thresholds = torch.tensor([0.6, 0.7, 0.8, 0.9])
    x = torch.full((4, 1, 4, 4), 0.5)
    y = torch.ones(4, dtype=torch.long)

    class Linear(torch.nn.Module):
        def forward(self, inputs):
            first = inputs.flatten(1)[:, 0]
            return torch.stack([10 * (first - thresholds), torch.zeros_like(first)], 1)

    model = Linear()
    for attack, norm, expected in (
        ("fmn_l0", "l0", [1.0] * 4),
        ("fmn_l1", "l1", [0.1, 0.2, 0.3, 0.4]),
    ):
        adv = get_backend("foolbox").run(model, x, y, AttackSpec.create(attack, steps=100))
        assert (model(adv).argmax(1) == 0).all(), attack
        found = perturbation_norms(x, adv)[norm]
        assert found.tolist() == pytest.approx(expected, rel=0.05, abs=1e-3), attack
