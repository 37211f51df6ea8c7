"""End to end on real small data: run, store, resume, report."""

from __future__ import annotations

import pandas as pd
import pytest

from advcompare.adapters import get_backend
from advcompare.config import load_config
from advcompare.report import write_report
from advcompare.runner import run_experiment
from advcompare.store import ResultStore

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
def tiny_config(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.replace("{out}", str(tmp_path / "run")))
    return load_config(path)


def test_run_stores_every_cell_and_resumes_without_recomputing(tiny_config, monkeypatch):
    first = run_experiment(tiny_config, log=lambda *_: None)
    assert first.trained == ["digits"]
    assert first.computed == ["digits/ifgsm/torchattacks", "digits/bim/torchattacks",
                              "digits/pixel_swap/native"]
    with ResultStore(first.run_dir) as store:
        assert len(store.cells()) == 3

    calls = []
    for name in ("torchattacks", "native"):
        backend = get_backend(name)
        monkeypatch.setattr(backend, "run", lambda *a, **k: calls.append(a))
    second = run_experiment(tiny_config, log=lambda *_: None)
    assert second.trained == [] and second.computed == [] and calls == []
    assert second.resumed == first.computed
    assert second.keys == first.keys


def test_interrupted_run_keeps_finished_cells(tiny_config, monkeypatch):
    backend = get_backend("native")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(backend, "run", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tiny_config, log=lambda *_: None)
    with ResultStore(tiny_config.run_dir()) as store:
        assert [c["label"] for c in store.cells()] == ["ifgsm", "bim"]
    monkeypatch.undo()
    resumed = run_experiment(tiny_config, log=lambda *_: None)
    assert resumed.computed == ["digits/pixel_swap/native"]


def test_backends_are_compared_sample_by_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "cmp.toml"
    path.write_text(TINY.replace("{out}", str(tmp_path / "run")).replace(
        "[attacks.bim]", '[attacks.bim]\nbackend = "all"'))
    summary = run_experiment(load_config(path), log=lambda *_: None)
    assert "digits/bim/art" in summary.computed and "digits/bim/foolbox" in summary.computed
    text = write_report(summary.run_dir, summary.keys).read_text()
    assert "### Agreement between backends" in text
    agreement = pd.read_csv(summary.run_dir / "agreement.csv")
    bim = agreement[agreement["attack"] == "bim"]
    assert len(bim) == 3  # torchattacks/art, torchattacks/foolbox, art/foolbox
    # BIM is the same arithmetic everywhere: identical outcomes, identical images
    assert (bim["only_first"] == 0).all() and (bim["only_second"] == 0).all()
    assert (bim["max_linf_between"] <= 1e-6).all()


def test_report_is_rendered_from_the_store(tiny_config):
    summary = run_experiment(tiny_config, log=lambda *_: None)
    report = write_report(summary.run_dir, summary.keys, title="tiny")
    text = report.read_text()
    assert "| attack" in text and "| ifgsm" in text and "| pixel_swap" in text
    assert "## digits" in text
    results = pd.read_csv(summary.run_dir / "results.csv")
    assert list(results["label"]) == ["ifgsm", "bim", "pixel_swap"]
    assert results["adv_f1"].between(0, 1).all()
    assert (results["adv_f1"] < results["clean_f1"]).all()
    assert (summary.run_dir / "f1_by_attack.png").stat().st_size > 10_000
    assert (summary.run_dir / "training" / "digits_loss.png").is_file()
    assert (summary.run_dir / "results.json").is_file()
