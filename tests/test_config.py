"""Experiment files: the shipped examples parse, and bad ones fail naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from advcompare.config.experiment import apply_overrides, default_config_text, load_config
from advcompare.errors import ConfigError, UnknownNameError

ROOT = Path(__file__).resolve().parents[1]


def test_configs_default_is_the_built_in_default():
    assert (ROOT / "configs" / "default.toml").read_text() == default_config_text()


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_configs_parse(path):
    cfg = load_config(path)
    assert cfg.attacks and cfg.datasets


def test_default_runs_all_four_attacks_with_paper_backends():
    cfg = load_config(None)
    assert [(a.label, a.backend) for a in cfg.attacks] == [
        ("ifgsm", "torchattacks"),
        ("deepfool", "foolbox"),
        ("cw", "foolbox"),
        ("pixel_swap", "native"),
    ]
    assert cfg.datasets == ("mnist-sample",) and cfg.train.epochs == 20


def test_flags_override_the_file():
    cfg = apply_overrides(
        load_config(None),
        backend="art",
        datasets=["digits"],
        samples=10,
        epochs=3,
        device="cpu",
        out="/tmp/x",
    )
    assert cfg.datasets == ("digits",) and cfg.samples == 10 and cfg.train.epochs == 3
    # the backend flag applies to the attacks that backend provides, and only those
    assert [a.backend for a in cfg.attacks] == ["art"] * 3 + ["native"]
    assert str(cfg.run_dir()) == "/tmp/x"


@pytest.mark.parametrize(
    "text,message",
    [
        ("datasets = 'mnist'", "config key 'datasets': expected a list"),
        ("seed = -1", "config key 'seed': must be >= 0"),
        ("colour = 1", "unknown config key 'colour'"),
        ("[train]\nepochs = 'many'", "config key 'train.epochs': expected an integer"),
        (
            "[attacks.cw]\nkappa = 1",
            "config table 'attacks.cw': attack 'cw' has no parameter 'kappa'",
        ),
        ("[attacks.foo]\neps = 1", "unknown attack 'foo'"),
        ("[attacks.ifgsm]\nsteps = 0", "must be a positive integer"),
        ("datasets = [", "is not valid TOML"),
    ],
)
def test_malformed_configs_name_the_key_and_why(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_unknown_backend_in_config_lists_known_ones(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[attacks.ifgsm]\nbackend = 'cleverhans'")
    with pytest.raises(UnknownNameError, match="known backends: torchattacks, art, foolbox"):
        load_config(path)


def test_backend_all_runs_every_attack_on_every_backend_that_provides_it():
    cfg = apply_overrides(load_config(None), backend="all")
    assert [(a.label, a.backend) for a in cfg.attacks] == [
        ("ifgsm", "torchattacks"),
        ("ifgsm", "art"),
        ("ifgsm", "foolbox"),
        ("deepfool", "torchattacks"),
        ("deepfool", "art"),
        ("deepfool", "foolbox"),
        ("cw", "torchattacks"),
        ("cw", "art"),
        ("cw", "foolbox"),
        ("pixel_swap", "native"),
    ]


def test_a_config_can_name_several_backends_per_attack(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text('[attacks.bim]\nattack = "ifgsm"\ndecay = 0\nbackend = ["art", "foolbox"]\n')
    cfg = load_config(path)
    assert [(a.label, a.backend) for a in cfg.attacks] == [("bim", "art"), ("bim", "foolbox")]


@pytest.mark.parametrize(
    "text,message",
    [
        ("defenses = ['armour']", "unknown defense 'armour'; known defenses: none"),
        (
            "defenses = ['gradient_masking']\n[defense.gradient_masking]\nnoise = 1",
            "defense 'gradient_masking' has no parameter 'noise'",
        ),
        (
            "defenses = ['none']\n[defense.feature_smoothing]\nsigma = 1",
            "config table 'defense.feature_smoothing' is for a defense not listed",
        ),
        (
            "defenses = ['feature_smoothing']\n[defense.feature_smoothing]\nkernel_size = 4",
            "must be an odd integer",
        ),
    ],
)
def test_malformed_defenses_name_the_key_and_why(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises((ConfigError, UnknownNameError), match=message):
        load_config(path)


def test_defenses_default_to_none_and_parse_with_defaults():
    assert load_config(None).defenses == (("none", {}),)
    cfg = load_config(ROOT / "configs" / "defenses.toml")
    names = [name for name, _ in cfg.defenses]
    assert names == [
        "none",
        "adversarial_training",
        "feature_smoothing",
        "gradient_masking",
        "defensive_distillation",
        "retrained",
    ]
    assert dict(cfg.defenses)["retrained"] == {"seed": 1}
    assert dict(cfg.defenses)["gradient_masking"] == {"epsilon": 0.001, "eot_samples": 8}


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:3"])
def test_device_names_are_checked_once_and_cuda_n_is_accepted(name):
    from advcompare.config.checks import check_device_name

    assert check_device_name(name) == name
    assert apply_overrides(load_config(None), device=name).device == name


@pytest.mark.parametrize("name", ["tpu", "cuda:", "cuda:x", "gpu", ""])
def test_unknown_device_names_list_the_accepted_ones(name):
    from advcompare.config.checks import check_device_name

    with pytest.raises(ConfigError, match="use one of: auto, cpu, cuda or cuda:N"):
        check_device_name(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_n_without_a_gpu_is_one_error_when_resolved():
    from advcompare.config.checks import resolve_device

    with pytest.raises(ConfigError, match="device 'cuda:1' requested but torch sees no CUDA"):
        resolve_device("cuda:1")
    assert resolve_device("auto").type == "cpu"


def test_atlas_config_runs_every_atlas_attack_on_every_backend_that_provides_it():
    """configs/atlas.toml: every atlas attack with backend "all", budget curves in each
    bounded attack's own norm, and none for the table that opts out."""
    from advcompare.adapters import backends_supporting
    from advcompare.attacks.atlas_records import ATLAS_RECORDS
    from advcompare.grid.entries import curve_eps, eps_curve_entries

    cfg = load_config(Path(__file__).resolve().parent.parent / "configs" / "atlas.toml")
    ran = {(a.spec.attack, a.backend) for a in cfg.attacks}
    for record in ATLAS_RECORDS:
        for backend in backends_supporting(record.name):
            assert (record.name, backend) in ran
    by_label = {a.label: a for a in cfg.attacks}
    pgd_l2 = eps_curve_entries(by_label["pgd_l2"], curve_eps(cfg, "pgd_l2"))
    assert [e.spec["eps"] for e in pgd_l2] == [0.5, 2.0]
    # the step scales with ε in L2 too, beyond 1 where the radius does
    assert [e.spec["step_size"] for e in pgd_l2] == pytest.approx([0.05, 0.2])
    assert [e.spec["eps"] for e in eps_curve_entries(by_label["square"], cfg.eps_curve)] == [
        0.05,
        0.15,
    ]
    assert eps_curve_entries(by_label["autoattack"], cfg.eps_curve) == []
    assert curve_eps(cfg, "ead") == ()  # minimum-norm: no ε to vary
