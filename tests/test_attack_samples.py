"""``samples`` per attack (configs/atlas.toml sizes each attack by power and cost): the attack
runs on the first so many of the run's images, so its images are a prefix of every larger
attack's and paired comparisons still pair them image by image."""

from __future__ import annotations

import pytest
import torch

from advcompare.config.experiment import load_config
from advcompare.data.datasets import load_dataset
from advcompare.errors import ConfigError
from advcompare.grid.plan import EPS_CURVE, MAIN, build_plan
from advcompare.grid.runner import attack_subset


def _config(tmp_path, body: str):
    path = tmp_path / "samples.toml"
    path.write_text('name = "s"\ndatasets = ["digits"]\nsamples = 60\n' + body)
    return load_config(path)


def test_an_attack_with_fewer_samples_attacks_a_prefix_of_the_runs_images(tmp_path):
    cfg = _config(
        tmp_path,
        '[attacks.pgd]\nbackend = ["torchattacks", "art"]\neps = 0.1\nsteps = 2\nsamples = 25\n'
        '[attacks.fgsm]\nbackend = "torchattacks"\neps = 0.1\n[curves]\nlinf_eps = [0.05]\n',
    )
    assert [e.samples for e in cfg.attacks] == [25, 25, 0]
    dataset = load_dataset("digits", seed=0)
    attacked = attack_subset(dataset.test, 60, 0)
    plan = build_plan(cfg, {"digits": dataset}, {"digits": attacked})
    sizes = {}
    for task in plan.cells():
        data = plan.values[task.args[1].key]
        sizes[(task.cell.id.label, task.cell.id.role)] = len(data)
        assert torch.equal(data.y, attacked.y[: len(data)])  # a prefix, in order
        assert task.images == len(data)
    assert sizes[("pgd", MAIN)] == 25 and sizes[("fgsm", MAIN)] == 60
    # its budget curve attacks the same images
    assert {v for (label, role), v in sizes.items() if label == "pgd" and role == EPS_CURVE} == {25}
    assert any(role == EPS_CURVE for _, role in sizes)
    # keys depend on the images: the same attack on all 60 is another cell
    whole = build_plan(
        _config(
            tmp_path, '[attacks.pgd]\nbackend = ["torchattacks", "art"]\neps = 0.1\nsteps = 2\n'
        ),
        {"digits": dataset},
        {"digits": attacked},
    )
    assert {t.key for t in whole.cells()}.isdisjoint(t.key for t in plan.cells())


def test_samples_above_the_runs_is_the_runs(tmp_path):
    cfg = _config(tmp_path, '[attacks.fgsm]\nbackend = "art"\neps = 0.1\nsamples = 500\n')
    dataset = load_dataset("digits", seed=0)
    attacked = attack_subset(dataset.test, 60, 0)
    (task,) = build_plan(cfg, {"digits": dataset}, {"digits": attacked}).cells()[:1]
    assert task.images == 60


def test_a_bad_samples_value_names_its_key(tmp_path):
    with pytest.raises(ConfigError, match=r"attacks\.fgsm\.samples': must be >= 0"):
        _config(tmp_path, '[attacks.fgsm]\nbackend = "art"\nsamples = -3\n')
