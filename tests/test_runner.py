"""End to end on real small data: run, store, resume, report."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import advcompare
from advcompare.adapters import get_backend
from advcompare.config.experiment import load_config
from advcompare.grid.runner import run_experiment
from advcompare.report import write_report
from advcompare.storage.store import ResultStore

TINY = """
name = "tiny"
out = "{out}"
datasets = ["digits"]
samples = 40
batch_size = 20
[train]
epochs = 2
[attacks.ifgsm]
eps = 0.1
step_size = 0.02
steps = 3
[attacks.bim]
attack = "ifgsm"
decay = 0.0
steps = 3
[attacks.pixel_swap]
max_swaps = 20
"""


@pytest.fixture()
def tiny_config(tmp_path, shared_cache, monkeypatch):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.replace("{out}", str(tmp_path / "run")))
    return load_config(path)


def test_run_stores_every_cell_and_resumes_without_recomputing(tiny_config, monkeypatch, tmp_path):
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cold"))  # this run must train
    first = run_experiment(tiny_config, log=lambda *_: None)
    assert first.trained == ["digits"]
    assert first.computed == [
        "digits/ifgsm/torchattacks",
        "digits/bim/torchattacks",
        "digits/pixel_swap/native",
    ]
    with ResultStore(first.run_dir) as store:
        assert len(store.cells()) == 3

    calls = []
    for name in ("torchattacks", "native"):
        backend = get_backend(name)
        monkeypatch.setattr(backend, "craft", lambda *a, **k: calls.append(a))
    second = run_experiment(tiny_config, log=lambda *_: None)
    assert second.trained == [] and second.computed == [] and calls == []
    assert second.resumed == first.computed
    assert second.keys == first.keys


def test_interrupted_run_keeps_finished_cells(tiny_config, monkeypatch):
    backend = get_backend("native")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(backend, "craft", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tiny_config, log=lambda *_: None)
    with ResultStore(tiny_config.run_dir()) as store:
        assert [c.label for c in store.cells()] == ["ifgsm", "bim"]
    monkeypatch.undo()
    resumed = run_experiment(tiny_config, log=lambda *_: None)
    assert resumed.computed == ["digits/pixel_swap/native"]


def test_backends_are_compared_sample_by_sample(tmp_path, shared_cache, monkeypatch):
    path = tmp_path / "cmp.toml"
    path.write_text(
        TINY.replace("{out}", str(tmp_path / "run")).replace(
            "[attacks.bim]", '[attacks.bim]\nbackend = "all"'
        )
    )
    summary = run_experiment(load_config(path), log=lambda *_: None)
    assert "digits/bim/art" in summary.computed and "digits/bim/foolbox" in summary.computed
    text = write_report(summary.run_dir, summary.keys).read_text()
    assert "### Agreement between backends" in text
    agreement = pd.read_csv(summary.run_dir / "agreement.csv")
    bim = agreement[agreement["label"] == "bim"]
    assert len(bim) == 3  # torchattacks/art, torchattacks/foolbox, art/foolbox
    # BIM is the same sign steps everywhere; each library computes its own loss gradient,
    # so a sign flipped by rounding may move one image (tests/test_consistency.py bounds
    # it): at most 1 outcome in 20 differs, and no pair is called different
    assert ((bim["only_first"] + bim["only_second"]) <= 0.05).all(), bim
    assert not bim["differ"].any()


def test_report_is_rendered_from_the_store(tiny_config):
    summary = run_experiment(tiny_config, log=lambda *_: None)
    report = write_report(summary.run_dir, summary.keys, title="tiny")
    text = report.read_text()
    assert "| attack" in text and "| I-FGSM" in text and "| pixel swap" in text
    assert "## digits" in text
    rerendered = write_report(summary.run_dir).read_text()  # `advcompare report` keeps the name
    assert rerendered.startswith("# advcompare: tiny")
    results = pd.read_csv(summary.run_dir / "results.csv")
    assert list(results["label"]) == ["ifgsm", "bim", "pixel_swap"]
    assert results["adv_f1"].between(0, 1).all()
    assert (results["adv_f1"] < results["clean_f1"]).all()
    assert (summary.run_dir / "f1_by_attack.png").stat().st_size > 10_000
    assert (summary.run_dir / "training" / "digits_loss.png").is_file()
    assert (summary.run_dir / "results.json").is_file()
    assert (summary.run_dir / "example_7_digits.png").stat().st_size > 5_000


GRID = (
    TINY.replace(
        'name = "tiny"',
        """name = "grid"
defenses = ["none", "feature_smoothing", "gradient_masking", "defensive_distillation",
            "adversarial_training"]""",
    )
    + """
[defense.gradient_masking]
eot_samples = 2
[defense.adversarial_training]
epochs = 1
attacks = ["bim"]
"""
).replace("[attacks.bim]", '[attacks.bim]\nbackend = ["torchattacks", "foolbox"]')
# 36 cells: 20 images each (one batch) is enough for what the test checks
GRID = GRID.replace("samples = 40\nbatch_size = 20", "samples = 20\nbatch_size = 20")


def test_defense_grid_is_stored_resumable_and_reported(tmp_path, shared_cache, monkeypatch):
    path = tmp_path / "grid.toml"
    path.write_text(GRID.replace("{out}", str(tmp_path / "run")))
    cfg = load_config(path)
    first = run_experiment(cfg, log=lambda *_: None)
    # 4 cells (bim on two backends) × (none + 2 threats × 4 defenses)
    assert len(first.computed) == 4 * 9
    # trained here or taken from the session's cache (tests/conftest.py: shared_cache)
    assert set(first.trained) <= {
        "digits",
        "digits/defensive_distillation",
        "digits/adversarial_training",
    }
    with ResultStore(first.run_dir) as store:
        cells = store.cells()
        records = store.defenses()
    by = {(c.defense, c.threat, c.label): c for c in cells}
    # oblivious cells reuse the undefended model's adversarial examples
    from safetensors.torch import load_file

    from advcompare.storage.store import samples_path as adversarial_path

    none_adv = load_file(str(adversarial_path(first.run_dir, by["none", "adaptive", "ifgsm"].key)))[
        "x_adv"
    ]
    obl_adv = load_file(
        str(adversarial_path(first.run_dir, by["feature_smoothing", "oblivious", "ifgsm"].key))
    )
    assert torch.equal(none_adv, obl_adv["x_adv"])
    # gradient masking changes no prediction: oblivious F1 equals the undefended F1
    assert (
        by["gradient_masking", "oblivious", "ifgsm"].metrics["adv_f1"]
        == by["none", "adaptive", "ifgsm"].metrics["adv_f1"]
    )
    assert records["digits", "gradient_masking"]["preflight"] == ["randomized_gradients"]
    assert records["digits", "none"]["preflight"] == []
    trained = {d for (_, d), r in records.items() if r["history"]}  # its training epochs
    assert {"defensive_distillation", "adversarial_training"} <= trained, records
    second = run_experiment(cfg, log=lambda *_: None)
    assert second.computed == [] and second.trained == []
    text = write_report(first.run_dir, first.keys).read_text()
    assert "### Defenses: adversarial F1" in text and "paper Tables 11-14" in text
    assert "gradient masking (adaptive)" in text  # display names from the records
    assert (first.run_dir / "f1_by_defense.png").stat().st_size > 10_000
    # backends are compared only on the same classifier: one pair per defense and threat
    agreement = pd.read_csv(first.run_dir / "agreement.csv")
    assert len(agreement) == 9
    # the paper's claims open the report; those needing DeepFool, CW or the pixel swap
    # did not run, and say which cells they lack
    assert text.index("## The paper's defense claims") < text.index("## Fidelity to the paper")
    claims = pd.read_csv(first.run_dir / "claims.csv")
    assert set(claims["threat"]) == {"oblivious", "adaptive"}
    gm = claims[claims["id"] == "gm-clean"].set_index("threat")["verdict"]
    assert set(gm) == {"by construction"}  # masking's forward pass is the identity
    assert "digits/defensive_distillation:oblivious/cw" in str(
        claims.set_index("id").loc["dd-cw", "missing"].iloc[0]
    )
    api = advcompare.check_claims(first.run_dir)
    assert list(api["verdict"]) == list(claims["verdict"])
    where = set(zip(agreement["label"], agreement["defense"], agreement["threat"]))
    assert ("bim", "gradient_masking", "adaptive") in where


OBLIVIOUS = (
    TINY.replace('name = "tiny"', 'name = "oblivious"\ndefenses = ["none", "feature_smoothing"]')
    .replace("samples = 40\nbatch_size = 20", "samples = 20\nbatch_size = 20")
    .split("[attacks.bim]")[0]
)


def test_a_resumed_oblivious_cell_reuses_the_stored_crafted_cell(
    tmp_path, shared_cache, monkeypatch
):
    """An oblivious cell classifies the undefended cell's adversarial images with the
    defended model. Resumed with that cell stored and the oblivious one lost, the run reads
    the stored images back rather than crafting them again, and grades them to the same
    figures."""
    import sqlite3

    from safetensors.torch import load_file

    from advcompare.storage.store import samples_path

    path = tmp_path / "oblivious.toml"
    path.write_text(OBLIVIOUS.replace("{out}", str(tmp_path / "run")))
    cfg = load_config(path)
    first = run_experiment(cfg, log=lambda *_: None)
    with ResultStore(first.run_dir) as store:
        by = {(c.defense, c.threat): c for c in store.cells() if c.label == "ifgsm"}
    crafted, oblivious = by["none", "adaptive"], by["feature_smoothing", "oblivious"]
    before = load_file(str(samples_path(first.run_dir, oblivious.key)))
    with sqlite3.connect(first.run_dir / "results.sqlite") as db:  # the oblivious cell is lost
        db.execute("DELETE FROM cells WHERE key = ?", (oblivious.key,))
    samples_path(first.run_dir, oblivious.key).unlink()

    crafts, backend = [], get_backend("torchattacks")
    craft = backend.craft  # still crafts, so a run that crafts again completes and says so
    monkeypatch.setattr(backend, "craft", lambda *a, **k: crafts.append(a) or craft(*a, **k))
    second = run_experiment(cfg, log=lambda *_: None)
    assert crafts == []  # nothing was attacked again
    assert second.computed == [n for n in first.computed if "oblivious" in n]
    assert len(second.computed) == 1 and len(second.resumed) == len(first.computed) - 1
    with ResultStore(second.run_dir) as store:
        (again,) = store.cells([oblivious.key])
    after = load_file(str(samples_path(second.run_dir, oblivious.key)))
    crafted_adv = load_file(str(samples_path(first.run_dir, crafted.key)))["x_adv"]
    assert torch.equal(after["x_adv"], crafted_adv)  # the undefended cell's images
    assert set(after) == set(before)
    assert all(torch.equal(after[k], before[k]) for k in before)
    timeless = sorted(k for k in oblivious.metrics if "time" not in k)  # clocks never agree
    assert "adv_f1" in timeless and "success_rate" in timeless
    pd.testing.assert_series_equal(  # NaN-aware: a norm of no fooled image is NaN
        pd.Series({k: again.metrics[k] for k in timeless}, dtype=object),
        pd.Series({k: oblivious.metrics[k] for k in timeless}, dtype=object),
    )


def test_a_store_from_another_version_is_a_one_line_error(tmp_path):
    import sqlite3

    from advcompare.errors import AdvCompareError

    db = sqlite3.connect(tmp_path / "results.sqlite")
    db.execute("CREATE TABLE cells (key TEXT PRIMARY KEY)")
    db.commit()
    db.close()
    with pytest.raises(AdvCompareError, match="written by another advcompare version"):
        ResultStore(tmp_path)


def test_a_schema_4_store_is_migrated_to_typed_budget_points(tmp_path):
    """Schema 4 wrote a budget-curve cell's label as ``ifgsm@eps=0.05``; schema 5 keeps the
    row's label and reads ε from the spec. A read-only open migrates a copy in memory (the
    file stays as it was); a writable open migrates the file. Keys never change."""
    import sqlite3

    from advcompare.storage.record import CellRecord
    from advcompare.storage.store import SCHEMA_VERSION

    def cell(key, label, role, eps):
        spec = {"attack": "ifgsm", "eps": eps}
        return CellRecord(key, "digits", label, "ifgsm", "art", spec, [], {}, "m", role=role)

    with ResultStore(tmp_path) as store:
        store.add_cell(cell("main", "ifgsm", "main", 0.1))
        store.add_cell(cell("point", "ifgsm@eps=0.05", "eps_curve", 0.05))
        store.add_cell(cell("odd", "my@eps=label", "main", 0.1))  # not a curve point: kept
    db = sqlite3.connect(tmp_path / "results.sqlite")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()

    def labels(store):
        return {c.key: (c.label, c.cell_id.eps) for c in store.cells()}

    expected = {"main": ("ifgsm", 0.1), "point": ("ifgsm", 0.05), "odd": ("my@eps=label", 0.1)}
    with ResultStore(tmp_path, readonly=True) as store:
        assert labels(store) == expected
    db = sqlite3.connect(tmp_path / "results.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4  # reading wrote nothing
    db.close()
    with ResultStore(tmp_path) as store:
        assert labels(store) == expected
    db = sqlite3.connect(tmp_path / "results.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
