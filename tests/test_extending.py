"""The worked examples of docs/architecture.md, run as written: a new attack is two entries
(its record and one adapter entry), a backend one adapter class, a dataset one record and a
defense one record; each then gets plan cells, report rows, verdicts and its curves or
columns with no other edit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from advcompare.adapters import registry
from advcompare.adapters.foolbox_backend import FoolboxBackend
from advcompare.attacks import spec
from advcompare.config.experiment import load_config
from advcompare.data import datasets as data
from advcompare.data.datasets import load_dataset
from advcompare.defenses import registry as defenses
from advcompare.errors import DataRootError
from advcompare.grid.plan import build_plan
from advcompare.grid.runner import attack_subset, run_experiment
from advcompare.report import write_report

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
EXAMPLE = re.compile(r"```python\n# example: (\w+)\n(.*?)```", re.S)


def example(name: str) -> str:
    """The code of one worked example, as the page shows it."""
    found = dict(EXAMPLE.findall(DOC.read_text()))
    assert name in found, f"docs/architecture.md has no '# example: {name}' block"
    return found[name]


@pytest.fixture()
def registries():
    """Run an example's registrations, then forget them (the tables as they were)."""
    tables = [
        spec.ATTACKS,
        FoolboxBackend.attacks,
        registry._REGISTRY,
        registry._INSTANCES,
        data.DATASETS,
        defenses.DEFENSES,
    ]
    saved = [dict(t) for t in tables]

    def run(name: str) -> dict:
        namespace: dict = {"__name__": f"advcompare_example_{name}"}
        exec(compile(example(name), f"docs/architecture.md:{name}", "exec"), namespace)
        return namespace

    yield run
    for table, before in zip(tables, saved):
        table.clear()
        table.update(before)


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "extend.toml"
    path.write_text(
        f'name = "extend"\nout = "{tmp_path / "run"}"\ncache_dir = "{tmp_path / "cache"}"\n'
        "samples = 40\ntrain = { epochs = 1 }\n"
        + body
        # the strength reference (FMN, DDN) at a tenth of its steps: these tests look at
        # where cells and rows appear, not at how strong the reference is
        + "\n[curves]\nfmn_steps = 5\nddn_steps = 10\n"
    )
    return path


def _run(path: Path):
    cfg = load_config(path)
    summary = run_experiment(cfg, log=lambda *_: None)
    write_report(summary.run_dir, summary.keys)
    results = pd.read_csv(summary.run_dir / "results.csv")
    return cfg, summary, results, (summary.run_dir / "report.md").read_text()


def test_a_new_attack_is_its_record_and_one_adapter_entry(tmp_path, registries, shared_cache):
    registries("attack")
    path = _config(
        tmp_path,
        'datasets = ["digits"]\n'
        '[attacks.deepfool]\nbackend = "foolbox"\nsteps = 10\n'
        "[attacks.contrast]\nbinary_search_steps = 10\n",
    )
    cfg, summary, results, report = _run(path)
    # plan cells: one per configured attack, the new attack on its default backend (and the
    # strength reference, FMN and DDN, that every L2 curve gets)
    dataset = load_dataset("digits", seed=0)
    plan = build_plan(cfg, {"digits": dataset}, {"digits": attack_subset(dataset.test, 40, 0)})
    assert [t.cell.entry.label for t in plan.cells()] == ["deepfool", "contrast", "fmn", "ddn"]
    assert plan.cells()[1].cell.entry.backend == "foolbox"
    # report rows, with its display name nowhere needed but its label everywhere
    new = results.set_index("label").loc["contrast"]
    assert new["attack"] == "contrast" and new["success_rate"] > 0.5 and new["l2_median"] > 0
    assert "| contrast reduction " in report  # the record's display name
    # a verdict row: no paper figure, and the cause says why
    assert new["verdict"] == "no paper figure"
    assert "is not one of the paper's" in new["verdict_cause"]  # datasets, here
    # a minimum-norm attack gets an L2-budget curve and an optimality beside DeepFool's
    optimality = pd.read_csv(summary.run_dir / "optimality.csv")
    assert {"deepfool", "contrast", "fmn", "ddn", "envelope"} <= set(optimality["attack"])
    assert (summary.run_dir / "l2_curves_digits.png").is_file()
    assert "contrast reduction" in report  # the record's display name, in the curve section's words


def test_a_new_backend_is_one_adapter_class(tmp_path, registries, shared_cache):
    registries("backend")
    assert "plain" in registry.known_backends()
    assert registry.backends_supporting("ifgsm")[-1] == "plain"
    path = _config(
        tmp_path,
        'datasets = ["digits"]\n'
        "[attacks.bim]\n"
        'attack = "ifgsm"\nbackend = ["torchattacks", "plain"]\n'
        "eps = 0.1\nstep_size = 0.02\nsteps = 5\ndecay = 0.0\n",
    )
    _, summary, results, report = _run(path)
    assert list(results["backend"]) == ["torchattacks", "plain"]
    assert "BIM written out in torch" in results.set_index("backend").loc["plain", "notes"]
    # the same arithmetic as torchattacks' BIM, so the two agree image by image
    agreement = pd.read_csv(summary.run_dir / "agreement.csv")
    pair = agreement.iloc[0]
    assert (pair["first"], pair["second"]) == ("torchattacks", "plain")
    assert pair["both_succeed"] + pair["both_fail"] == pytest.approx(1.0)
    assert pair["max_linf_between"] < 1e-5
    # momentum is refused before any work, naming the fix
    with pytest.raises(Exception, match="has no momentum"):
        run_experiment(
            load_config(
                _config(tmp_path, 'datasets = ["digits"]\n[attacks.ifgsm]\nbackend = "plain"\n')
            )
        )


def test_a_new_dataset_is_one_record(tmp_path, registries, shared_cache):
    from sklearn.datasets import load_digits

    registries("dataset")
    digits = load_digits()
    root = tmp_path / "root"
    root.mkdir()
    np.savez(root / "digits.npz", images=digits.images * 255 / 16, labels=digits.target)
    with pytest.raises(DataRootError, match="digits.npz"):
        data.preflight_dataset("npz-digits", tmp_path / "empty", False)
    path = _config(
        tmp_path,
        f'datasets = ["npz-digits"]\ndata_root = "{root}"\n'
        '[attacks.ifgsm]\nbackend = "torchattacks"\nsteps = 3\n',
    )
    _, summary, results, report = _run(path)
    row = results.iloc[0]
    assert row["dataset"] == "npz-digits" and row["n"] == 40 and row["clean_f1"] > 0.3
    assert row["verdict"] == "no paper figure"
    assert "## npz-digits" in report


def test_a_new_defense_is_one_record(tmp_path, registries, shared_cache):
    registries("defense")
    path = _config(
        tmp_path,
        'datasets = ["digits"]\ndefenses = ["none", "bit_depth"]\n'
        "[defense.bit_depth]\nbits = 2\n"
        '[attacks.ifgsm]\nbackend = "torchattacks"\nsteps = 3\n',
    )
    _, summary, results, report = _run(path)
    cells = {(r.defense, r.threat) for r in results.itertuples()}
    assert cells == {("none", "adaptive"), ("bit_depth", "oblivious"), ("bit_depth", "adaptive")}
    oblivious = results[(results.defense == "bit_depth") & (results.threat == "oblivious")].iloc[0]
    assert "crafted on the undefended model" in oblivious["notes"]
    assert "bit-depth reduction (oblivious)" in report  # its display name, as a column
    assert "bit-depth reduction (adaptive)" in report
    assert (summary.run_dir / "f1_by_defense.png").is_file()
    stored = json.loads((summary.run_dir / "results.json").read_text())
    assert any(c["defense"] == "bit_depth" for c in stored["cells"])
