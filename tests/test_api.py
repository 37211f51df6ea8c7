"""The Python API (issue 9): ``advcompare.evaluate`` on real small models and data, its figures
against the CLI report's, every bad input as one exception before any attack runs, the
caller's model unchanged, and ``advcompare.load_results`` reading a stored run read-only.

CPU-sized: a CNN trained two epochs on scikit-learn's digits (once per session), a few
images per test and few attack steps.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import advcompare
from advcompare import api
from advcompare.adapters.entry import AttackEntry, attack_entries
from advcompare.api import evaluate, load_results
from advcompare.attacks.spec import AttackSpec
from advcompare.cli import main as cli_main
from advcompare.data.datasets import load_dataset
from advcompare.errors import (
    AdvCompareError,
    ConfigError,
    InputError,
    ModelError,
    RunDirError,
    UnknownNameError,
    UnsupportedSpecError,
)
from advcompare.grid import runner
from advcompare.models.train import TrainConfig, train_or_load
from advcompare.results import results_frame

CPU = torch.device("cpu")
DEEPFOOL = {"attack": "deepfool", "steps": 5}
# Metrics that do not depend on timing: what "the same figures" means.
FIGURES = [
    "n",
    "n_clean_correct",
    "clean_f1",
    "clean_accuracy",
    "adv_f1",
    "adv_accuracy",
    "success_rate",
    "l0_median",
    "l2_median",
    "linf_median",
    "l2_mean",
    "forward_per_image",
    "backward_per_image",
    "output_valid",
]
CLI_CONFIG = """
name = "api-vs-cli"
datasets = ["digits"]
device = "cpu"

[attacks.ifgsm]
backend = "torchattacks"
eps = 0.1
step_size = 0.03
steps = 5

[attacks.deepfool]
backend = "foolbox"
steps = 3
candidates = 3

[attacks.swap]
attack = "pixel_swap"
backend = "native"
max_swaps = 20
"""
CLI_SAMPLES = 20
EPOCHS = 2  # the CNN the API and the CLI share (the CLI's --epochs): ~80% accurate


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def cache(module_cache):
    """The two-epoch digits CNN is the one the runner and executor tests train: trained once
    per session (tests/conftest.py)."""
    return module_cache


@pytest.fixture(scope="module")
def digits_data():
    return load_dataset("digits", None, False, 0)


@pytest.fixture(scope="module")
def cnn(digits_data, cache):
    """The paper CNN trained two epochs on the digits, from the weights cache."""
    return train_or_load(digits_data, TrainConfig(epochs=EPOCHS), cache, CPU).model


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, cache):
    """A stored run: ``advcompare run`` with a small config on the digits (the cached CNN)."""
    root = tmp_path_factory.mktemp("cli-run")
    config, out = root / "small.toml", root / "out"
    config.write_text(CLI_CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVCOMPARE_CACHE", str(cache))
        code = cli_main(
            [
                "run",
                "--config",
                str(config),
                "--out",
                str(out),
                "--samples",
                str(CLI_SAMPLES),
                "--epochs",
                str(EPOCHS),
            ]
        )
    assert code == 0
    return out


class SmallCNN(nn.Module):
    """standardise → conv → batch norm → ReLU → max pool → linear: any channels, any size,
    any class count; sensitive enough to its input that small budgets fool it."""

    def __init__(self, channels: int, classes: int, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(4),
            nn.Flatten(),
        )
        self.head = nn.Linear(width * 16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features((x - 0.5) / 0.25))


def random_model(channels: int, classes: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = SmallCNN(channels, classes)
    with torch.no_grad():  # non-trivial batch-norm statistics, so a change would show
        model.features[1].running_mean.uniform_(-0.1, 0.1)
        model.features[1].running_var.uniform_(0.5, 1.5)
    return model.eval()


def labelled(model: nn.Module, shape: tuple[int, ...], seed: int = 0):
    """Random images in [0, 1] labelled with the model's predictions (all initially right)."""
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return x, model(x).argmax(1)


def snapshot(model: nn.Module) -> dict:
    """Everything the caller could observe about ``model``."""
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "hooks": [
            (attr, list(getattr(m, attr).keys()))
            for m in model.modules()
            for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks")
        ],
        "devices": [p.device for p in model.parameters()],
    }


def assert_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["state"].keys() == before["state"].keys()
    for name, value in before["state"].items():
        assert torch.equal(after["state"][name], value), f"{name} changed"
    for key in ("modes", "requires_grad", "hooks", "devices"):
        assert after[key] == before[key], key
    for was, now in zip(before["grads"], after["grads"]):
        assert (was is None) == (now is None)
        if was is not None:
            assert torch.equal(was, now)


def assert_contract(frame: pd.DataFrame, rows: int, n: int) -> None:
    """The report's row shape: one row per attack × backend, graded, valid outputs."""
    assert len(frame) == rows
    assert set(results_frame([]).columns) <= set(frame.columns)
    assert {
        "key",
        "label",
        "attack",
        "backend",
        "notes",
        "adv_f1",
        "success_rate",
        "l2_median",
        "verdict",
        "preflight",
    } <= set(frame.columns)
    assert (frame["n"] == n).all()
    assert frame["output_valid"].all()
    assert frame["success_rate"].between(0, 1).all()
    assert frame["key"].is_unique


# --------------------------------------------------------------------- the paper CNN, real data


def config_entries(cli_run: Path) -> list[AttackEntry]:
    from advcompare.config.experiment import load_config

    return list(load_config(cli_run.parent / "small.toml").attacks)


@pytest.fixture(scope="module")
def cnn_frame(cnn, digits_data, cli_run):
    """The API on the CLI run's cached CNN and attack subset, one call per config row."""
    data = runner.attack_subset(digits_data.test, CLI_SAMPLES, 0)
    frames = [
        evaluate(
            cnn,
            data.x,
            data.y,
            attacks=[{"label": entry.label, **entry.spec.as_dict()}],
            backends=entry.backend,
            device="cpu",
            dataset="digits",
        )
        for entry in config_entries(cli_run)
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = dict(frames[0].attrs)
    return frame


def test_paper_cnn_through_the_api_on_real_digits(cnn_frame):
    assert_contract(cnn_frame, rows=3, n=CLI_SAMPLES)
    assert list(cnn_frame["label"]) == ["ifgsm", "deepfool", "swap"]
    assert list(cnn_frame["backend"]) == ["torchattacks", "foolbox", "native"]
    assert (cnn_frame["clean_accuracy"] > 0.6).all()
    ifgsm = cnn_frame.set_index("label").loc["ifgsm"]
    assert ifgsm["success_rate"] > 0.5 and ifgsm["adv_f1"] < ifgsm["clean_f1"]
    assert ifgsm["linf_median"] <= 0.1 + 1e-6
    assert cnn_frame.attrs["num_classes"] == 10 and cnn_frame.attrs["device"] == "cpu"
    assert cnn_frame.attrs["preflight"]["outputs_are_probabilities"] is False


def test_api_figures_equal_the_cli_report(cli_run, cnn_frame):
    """advcompare run on a config, then the API on the same cached model and attack subset:
    adversarial F1 and success rate per attack are equal."""
    cells = load_results(cli_run).cells
    cli = cells[cells["role"] == "main"].set_index(["label", "backend"])
    api = cnn_frame.set_index(["label", "backend"])
    assert sorted(api.index) == sorted(cli.index)
    for column in ("adv_f1", "success_rate", "clean_f1", "l2_median", "n", "notes"):
        pd.testing.assert_series_equal(
            api[column].sort_index(), cli[column].sort_index(), check_dtype=False
        )


@pytest.mark.slow
def test_api_equals_the_quick_config_report(tmp_path, shared_cache, monkeypatch, digits_data):
    """The issue's form: configs/quick.toml at 50 samples, then the API on its cached model."""
    from advcompare.config.experiment import load_config

    out = tmp_path / "quick"
    assert (
        cli_main(["run", "--config", "configs/quick.toml", "--out", str(out), "--samples", "50"])
        == 0
    )
    cfg = load_config("configs/quick.toml")
    model = train_or_load(digits_data, cfg.train, tmp_path / "cache", CPU).model
    data = runner.attack_subset(digits_data.test, 50, cfg.seed)
    cli = load_results(out).cells.set_index("label")
    for entry in cfg.attacks:
        row = evaluate(
            model,
            data.x,
            data.y,
            attacks=[{"label": entry.label, **entry.spec.as_dict()}],
            backends=entry.backend,
            device="cpu",
            seed=cfg.seed,
        ).iloc[0]
        assert row["adv_f1"] == cli.loc[entry.label, "adv_f1"], entry.label
        assert row["success_rate"] == cli.loc[entry.label, "success_rate"], entry.label


# ------------------------------------------------------------- any size, channels, classes


def test_grayscale_28x28_model_every_backend():
    model = random_model(channels=1, classes=10)
    x, y = labelled(model, (6, 1, 28, 28))
    before = snapshot(model)
    frame = pd.concat(
        [
            evaluate(
                model,
                x,
                y,
                attacks=[{"attack": "ifgsm", "step_size": 0.05, "steps": 3}],
                backends="all",
                device="cpu",
            ),
            # torchattacks' DeepFool loops over images in Python: too slow for this suite
            evaluate(model, x, y, attacks=[DEEPFOOL], backends=["art", "foolbox"], device="cpu"),
        ],
        ignore_index=True,
    )
    assert_contract(frame, rows=5, n=6)
    assert set(frame["backend"]) == {"torchattacks", "art", "foolbox"}
    assert (frame["clean_accuracy"] == 1).all()
    assert frame["success_rate"].min() > 0.5
    assert frame.loc[frame.attack == "ifgsm", "linf_mean"].max() <= 0.1 + 1e-6
    assert frame["dataset"].isna().all() and frame["paper_f1"].isna().all()
    assert_unchanged(model, before)


def test_torchvision_resnet18_on_3x64x64():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    x, y = labelled(model, (2, 3, 64, 64))
    before = snapshot(model)
    frame = evaluate(
        model,
        x,
        y,
        attacks=[{"attack": "ifgsm", "eps": 0.03, "step_size": 0.03, "steps": 1}],
        backends=["torchattacks"],
        device="cpu",
    )
    assert_contract(frame, rows=1, n=2)
    assert frame.loc[frame.attack == "ifgsm", "linf_mean"].max() <= 0.03 + 1e-6
    assert frame.attrs["num_classes"] == 10
    assert_unchanged(model, before)


def test_model_with_43_classes():
    model = random_model(channels=3, classes=43, seed=1)
    x, y = labelled(model, (8, 3, 32, 32), seed=1)
    y[4:] = torch.tensor([0, 21, 41, 42])  # every label below 43 is accepted
    frame = evaluate(
        model,
        x,
        y,
        attacks=[
            {"attack": "deepfool", "steps": 2, "candidates": 43},
            {"attack": "ifgsm", "steps": 2},
        ],
        backends=["foolbox"],
        device="cpu",
    )
    assert_contract(frame, rows=2, n=8)
    assert frame.attrs["num_classes"] == 43
    assert (frame["success_rate"] > 0.5).all()
    # labels up to 42 are valid; 43 is not, and candidates above 43 cannot be served
    with pytest.raises(InputError, match=r"43 classes \(0\.\.42\)"):
        evaluate(model, x, torch.full((8,), 43), attacks=["ifgsm"], backends="torchattacks")
    with pytest.raises(UnsupportedSpecError, match="candidates = 44 but the model has 43 classes"):
        evaluate(
            model, x, y, attacks=[{"attack": "deepfool", "candidates": 44}], backends="foolbox"
        )


def test_caller_model_comes_back_unchanged_through_every_backend():
    """Modes, requires_grad, .grad, the caller's own hooks and every weight and buffer,
    after gradient attacks on every backend (ART zeroes .grad; libraries register hooks)."""
    model = random_model(channels=3, classes=5, seed=2)
    calls = []
    model.features[0].register_forward_hook(lambda *_: calls.append(1))
    model.head.weight.requires_grad_(False)
    model.features[0].weight.grad = torch.full_like(model.features[0].weight, 0.5)
    x, y = labelled(model, (4, 3, 16, 16), seed=2)
    before = snapshot(model)
    frame = evaluate(
        model,
        x,
        y,
        attacks=[
            {"attack": "ifgsm", "steps": 2},
            {"attack": "deepfool", "steps": 2},
            {"attack": "cw", "steps": 2, "binary_search_steps": 1},
        ],
        backends="all",
        device="cpu",
    )
    assert len(frame) == 9 and calls  # the user's hook stayed and ran
    assert_unchanged(model, before)


# --------------------------------------------------------------------- attack specs


def test_attack_forms_and_defaults_come_from_attack_spec_create():
    entries = attack_entries(
        [
            AttackSpec.create("ifgsm", steps=3),
            "cw",
            {"attack": "deepfool", "steps": 7, "label": "df7"},
        ],
        backends="all",
    )
    by_label = {}
    for entry in entries:
        by_label.setdefault(entry.label, []).append(entry.backend)
    assert by_label == {
        "ifgsm": ["torchattacks", "art", "foolbox"],
        "cw": ["torchattacks", "art", "foolbox"],
        "df7": ["torchattacks", "art", "foolbox"],
    }
    specs = {e.label: e.spec for e in entries}
    assert specs["cw"] == AttackSpec.create("cw")  # the default run's CW, not a second copy
    assert specs["df7"] == AttackSpec.create("deepfool", steps=7)
    # an incomplete AttackSpec is completed by create's defaults
    assert attack_entries(AttackSpec("ifgsm", {"eps": 0.2}), "foolbox")[
        0
    ].spec == AttackSpec.create("ifgsm", eps=0.2)
    assert [e.backend for e in attack_entries(["pixel_swap"], "all")] == ["native"]


@pytest.mark.parametrize(
    "attacks, backends, error, message",
    [
        (["nosuch"], "all", UnknownNameError, "unknown attack 'nosuch'"),
        (["ifgsm"], "nosuch", UnknownNameError, "unknown backend 'nosuch'"),
        ([{"attack": "cw", "stepz": 3}], "all", ConfigError, "has no parameter 'stepz'"),
        ([{"attack": "ifgsm", "eps": 2.0}], "all", ConfigError, "must be in \\(0, 1\\]"),
        ([{"steps": 3}], "all", ConfigError, "names no attack"),
        (["ifgsm", {"attack": "ifgsm", "steps": 3}], "all", ConfigError, "labelled 'ifgsm'"),
        (["pixel_swap"], "art", UnsupportedSpecError, "backends that do: native"),
        ([{"attack": "one_pixel", "popsize": 5}], "art", UnsupportedSpecError, "popsize"),
        ([], "all", ConfigError, "attacks is empty"),
        (["ifgsm"], ["art", "art"], ConfigError, "backends lists 'art' twice"),
        ([3], "all", ConfigError, "cannot read 3 as an attack"),
    ],
)
def test_bad_attack_specs(attacks, backends, error, message, no_attacks):
    model = random_model(1, 3)
    x, y = labelled(model, (2, 1, 8, 8))
    with pytest.raises(error, match=message) as info:
        evaluate(model, x, y, attacks=attacks, backends=backends, device="cpu")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------- bad inputs


@pytest.fixture()
def no_attacks(monkeypatch):
    """Fail the test if any attack cell starts."""

    def refuse(*args, **kwargs):
        raise AssertionError("an attack ran before the bad input was reported")

    monkeypatch.setattr(api, "craft_and_grade", refuse)


class Softmax(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x).softmax(1)


class NoGrad(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        with torch.no_grad():
            return self.model(x)


class Lambda(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.fn(x) * self.scale


BASE = random_model(1, 4, seed=3)
X, Y = labelled(BASE, (6, 1, 8, 8), seed=3)


def _training():
    model = random_model(1, 4, seed=3)
    return model.train()


def _dropout_left_training():
    model = nn.Sequential(random_model(1, 4, seed=3), nn.Dropout()).eval()
    model[1].train()
    return model


BAD_INPUTS = {
    # name: (model, x, y, attacks, error, message fragment)
    "probabilities": (Softmax(BASE).eval(), X, Y, ["ifgsm"], ModelError, "return logits"),
    "training mode": (_training(), X, Y, ["ifgsm"], ModelError, r"call model.eval\(\)"),
    "submodule training": (_dropout_left_training(), X, Y, ["ifgsm"], ModelError, "submodule '1'"),
    "not a module": (lambda x: x, X, Y, ["ifgsm"], ModelError, "torch.nn.Module"),
    "x above 1": (BASE, X * 255, Y, ["ifgsm"], InputError, "outside \\[0, 1\\]"),
    "x below 0": (BASE, X - 0.5, Y, ["ifgsm"], InputError, "with_normalization"),
    "x integer": (BASE, (X * 255).to(torch.uint8), Y, ["ifgsm"], InputError, "x.float\\(\\) / 255"),
    "x 3-D": (BASE, X[:, 0], Y, ["ifgsm"], InputError, "x.unsqueeze\\(1\\)"),
    "x 2-D": (BASE, X.flatten(1), Y, ["ifgsm"], InputError, "4-D batch"),
    "x NaN": (
        BASE,
        X.clone().index_fill_(0, torch.tensor([0]), float("nan")),
        Y,
        ["ifgsm"],
        InputError,
        "NaN",
    ),
    "x empty": (BASE, X[:0], Y[:0], ["ifgsm"], InputError, "no data"),
    "x a list": (BASE, X.tolist(), Y, ["ifgsm"], InputError, "torch.Tensor"),
    "y float": (BASE, X, Y.float(), ["ifgsm"], InputError, "y.long\\(\\)"),
    "y bool": (BASE, X, Y > 0, ["ifgsm"], InputError, "integer class indices"),
    "y one-hot": (BASE, X, nn.functional.one_hot(Y, 4), ["ifgsm"], InputError, "y.argmax\\(1\\)"),
    "y column": (BASE, X, Y[:, None], ["ifgsm"], InputError, "shape \\(6,\\)"),
    "y too short": (BASE, X, Y[:5], ["ifgsm"], InputError, "one class index per image"),
    "y above classes": (BASE, X, Y + 4, ["ifgsm"], InputError, "scores 4 classes"),
    "y negative": (BASE, X, Y - 10, ["ifgsm"], InputError, "labels in \\[-"),
    "wrong channels": (
        BASE,
        torch.rand(6, 3, 8, 8),
        Y,
        ["ifgsm"],
        ModelError,
        "model fails on inputs of shape \\(6, 3, 8, 8\\)",
    ),
    "output 4-D": (Lambda(lambda x: x).eval(), X, Y, ["ifgsm"], ModelError, "N×K class scores"),
    "one class": (
        Lambda(lambda x: x.flatten(1)[:, :1]).eval(),
        X,
        Y * 0,
        ["ifgsm"],
        ModelError,
        "at least 2",
    ),
    "NaN scores": (
        Lambda(lambda x: x.flatten(1)[:, :4] * float("nan")).eval(),
        X,
        Y,
        ["ifgsm"],
        ModelError,
        "NaN or infinite scores",
    ),
    "no gradient": (NoGrad(BASE).eval(), X, Y, ["ifgsm"], ModelError, "carry no gradient"),
    "candidates above classes": (
        BASE,
        X,
        Y,
        [{"attack": "deepfool", "candidates": 5}],
        UnsupportedSpecError,
        "candidates = 5 but the model has 4",
    ),
    "torchattacks candidates": (
        BASE,
        X,
        Y,
        [{"attack": "deepfool", "candidates": 3}],
        UnsupportedSpecError,
        "always uses all 4 classes",
    ),
    "pixel attack on 1 pixel": (
        Lambda(lambda x: torch.cat([x.flatten(1), -x.flatten(1)], 1)).eval(),
        X[:, :, :1, :1],
        (X[:, 0, 0, 0] < 0.5).long(),
        ["pixel_swap"],
        UnsupportedSpecError,
        "at least 2 pixels",
    ),
    "pixle on a 1-pixel-wide image": (
        Lambda(lambda x: x.flatten(1)[:, :4]).eval(),
        X[:, :, :, :1],
        Y,
        ["pixle"],
        UnsupportedSpecError,
        "2×2",
    ),
    "one_pixel too many pixels": (
        BASE,
        X,
        Y,
        [{"attack": "one_pixel", "pixels": 65}],
        UnsupportedSpecError,
        "exceeds the 64 pixels",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_clear_error_before_any_attack(name, no_attacks):
    model, x, y, attacks, error, message = BAD_INPUTS[name]
    backends = "torchattacks" if attacks != ["pixel_swap"] else "native"
    with pytest.raises(error, match=message) as info:
        evaluate(model, x, y, attacks=attacks, backends=backends, device="cpu")
    assert isinstance(info.value, AdvCompareError)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_training_mode_is_reported_not_changed(no_attacks):
    model = _training()
    with pytest.raises(ModelError):
        evaluate(model, X, Y, attacks=["ifgsm"], device="cpu")
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"seed": -1}, "seed must be an integer"),
        ({"tolerance": float("nan")}, "tolerance must be a finite number"),
        ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_bad_options(kwargs, message, no_attacks):
    with pytest.raises(AdvCompareError, match=message):
        evaluate(BASE, X, Y, attacks=["ifgsm"], **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_one_error(no_attacks):
    with pytest.raises(ConfigError, match="torch sees no CUDA device"):
        evaluate(BASE, X, Y, attacks=["ifgsm"], device="cuda")


# --------------------------------------------------------------------- preflight flags


class Noisy(nn.Module):
    """Randomised in eval mode: Gaussian noise on the input (a randomised defense)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x + 0.05 * torch.randn_like(x))


class Quantized(nn.Module):
    """Rounds its input to 4 grey levels first: input gradients are zero (masked)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(torch.round(x * 3) / 3)


@pytest.mark.parametrize("wrapper, flag", [(Noisy, "randomized"), (Quantized, "zero_gradients")])
def test_preflight_flags_are_part_of_the_result(wrapper, flag):
    model = wrapper(random_model(1, 4, seed=3)).eval()
    frame = evaluate(
        model,
        X,
        Y,
        attacks=[{"attack": "ifgsm", "steps": 2}],
        backends="torchattacks",
        device="cpu",
    )
    assert frame.attrs["preflight"][flag] is True
    assert flag in frame["preflight"].iloc[0]
    assert frame.attrs["preflight"]["outputs_are_probabilities"] is False


def test_black_box_attack_on_a_model_without_gradients():
    frame = evaluate(
        NoGrad(BASE).eval(),
        X.numpy(),
        Y.numpy(),
        attacks=[{"attack": "pixel_swap", "max_swaps": 5}],
        backends="all",
        device="cpu",
    )
    assert len(frame) == 1 and frame["backend"].iloc[0] == "native"
    assert frame.attrs["preflight"] == {"randomized": False, "no_input_gradient": True}


def test_public_exports():
    assert advcompare.evaluate is evaluate and advcompare.load_results is load_results
    assert advcompare.AttackSpec is AttackSpec
    from advcompare.models.normalization import with_normalization

    assert advcompare.with_normalization is with_normalization


# --------------------------------------------------------------------- load_results


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_load_results_reads_a_stored_run_without_changing_it(cli_run):
    before = _files(cli_run)
    results = load_results(cli_run)
    assert _files(cli_run) == before
    cells, samples = results.cells, results.samples
    main = cells[cells["role"] == "main"]
    assert len(main) == 3 and set(main["label"]) == {"ifgsm", "deepfool", "swap"}
    assert set(cells[cells["role"] == "reference"]["label"]) == {"fmn", "ddn"}
    csv = pd.read_csv(cli_run / "results.csv")  # what the report wrote
    pd.testing.assert_series_equal(cells["adv_f1"], csv["adv_f1"], check_dtype=False)
    assert list(cells["key"]) == list(csv["key"])
    assert list(samples.columns[:9]) == [
        "key",
        "dataset",
        "defense",
        "threat",
        "seed",
        "role",
        "label",
        "attack",
        "backend",
    ]
    assert {"index", "correct", "success", "l0", "l2", "linf", "outcome"} <= set(samples.columns)
    assert len(samples) == len(cells) * CLI_SAMPLES and samples.attrs["missing"] == []
    for cell in cells.itertuples():  # the per-sample outcomes re-tabulate the cell
        part = samples[samples["key"] == cell.key]
        assert list(part["index"]) == list(range(CLI_SAMPLES))
        assert part["success"].sum() / part["correct"].sum() == pytest.approx(cell.success_rate)
        won = part[part["success"]]
        if len(won):
            assert float(torch.tensor(won["l2"].to_numpy()).median()) == pytest.approx(
                cell.l2_median, rel=1e-6
            )
        # a correct image the attack could not fool comes back as it was (the contract)
        assert (part.loc[part["correct"] & ~part["success"], "l2"] == 0).all()


def test_load_results_of_older_per_sample_files(cli_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(cli_run, run)
    files = sorted((run / "adv").glob("*.safetensors"))
    old = {k: v for k, v in load_file(str(files[0])).items() if k not in ("l0", "l2", "linf")}
    save_file(old, str(files[0]))
    files[1].unlink()
    samples = load_results(run).samples
    assert samples.attrs["missing"] == [files[1].stem]
    assert samples.loc[samples.key == files[0].stem, "l2"].isna().all()
    assert samples.loc[samples.key != files[0].stem, "l2"].notna().all()


def test_load_results_errors(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        load_results(tmp_path / "nowhere")
    with pytest.raises(RunDirError, match="holds no results.sqlite"):
        load_results(tmp_path)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with sqlite3.connect(foreign / "results.sqlite") as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    before = _files(foreign)
    with pytest.raises(RunDirError, match="not a readable advcompare results store"):
        load_results(foreign)
    assert _files(foreign) == before
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "results.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(RunDirError) as info:
        load_results(garbage)
    assert "\n" not in str(info.value)


class _Threshold(nn.Module):
    """Two classes by the sign of Σ(x − ½): logits (s, −s). FGSM moves every pixel by ε
    against the true class, so an image flips exactly when its mean is within ε of ½."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = (x - 0.5).flatten(1).sum(1)
        return torch.stack([s, -s], dim=1)


@pytest.mark.parametrize("backend", ["torchattacks", "art", "foolbox"])
def test_evaluate_gives_the_hand_computed_figures_of_fgsm_on_a_threshold(backend):
    """Six constant 1×2×2 images, ε = 0.1: the three within 0.1 of ½ flip (success 3/6).
    Predictions after the attack [0,1,0,1,1,1] against labels [0,0,1,1,0,1]: class 0 has
    precision 1/2, recall 1/3, F1 2/5; class 1 precision 1/2, recall 2/3, F1 4/7; macro F1
    (2/5 + 4/7)/2. Every image moves by ε per pixel: L∞ 0.1, L2 0.1·√4 = 0.2."""
    level = torch.tensor([0.9, 0.55, 0.45, 0.2, 0.58, 0.35])
    x = level.view(6, 1, 1, 1).expand(6, 1, 2, 2).contiguous()
    y = torch.tensor([0, 0, 1, 1, 0, 1])
    row = evaluate(
        _Threshold().eval(), x, y, attacks=[{"attack": "fgsm", "eps": 0.1}], backends=backend
    ).iloc[0]
    assert row["clean_f1"] == pytest.approx(1.0)
    assert row["success_rate"] == pytest.approx(3 / 6)
    assert row["adv_f1"] == pytest.approx((2 / 5 + 4 / 7) / 2)
    assert row["linf_median"] == pytest.approx(0.1, abs=1e-6)
    assert row["l2_median"] == pytest.approx(0.2, abs=1e-6)
