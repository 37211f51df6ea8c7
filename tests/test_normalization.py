"""Normalisation inside the model (issue 9): ``with_normalization`` gives the same adversarial
images as a model that standardises its inputs itself, on every backend, and keeps eps in
pixel units, where standardising the data outside the model does not."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advcompare.adapters.entry import AttackEntry
from advcompare.api import evaluate
from advcompare.attacks.spec import AttackSpec
from advcompare.data.datasets import Split
from advcompare.errors import InputError, ModelError
from advcompare.grid.crafting import craft_and_grade
from advcompare.models.normalization import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Normalized,
    with_normalization,
)

CPU = torch.device("cpu")
MEAN, STD = (0.45, 0.5, 0.55), (0.2, 0.25, 0.3)
IFGSM = AttackSpec.create("ifgsm", eps=0.05, step_size=0.02, steps=4)
DEEPFOOL = AttackSpec.create("deepfool", steps=3)


def core(classes: int = 5) -> nn.Module:
    """A small classifier of *standardised* images, 3×16×16."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(4),
        nn.Flatten(),
        nn.Linear(128, classes),
    ).eval()


class SelfNormalizing(nn.Module):
    """The same classifier written the other way: it standardises its pixel inputs itself."""

    def __init__(self, net: nn.Module, mean, std) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


@pytest.fixture(scope="module")
def models():
    net = core()
    return SelfNormalizing(net, MEAN, STD).eval(), with_normalization(net, MEAN, STD)


@pytest.fixture(scope="module")
def data(models):
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return Split(x, models[0](x).argmax(1))


def adversarial(model: nn.Module, spec: AttackSpec, backend: str, data: Split) -> torch.Tensor:
    _, _, samples = craft_and_grade(
        model, AttackEntry(spec.attack, spec, backend), data, 128, CPU, 5, seed=0
    )
    return samples["x_adv"]


@pytest.mark.parametrize("backend", ["torchattacks", "art", "foolbox"])
@pytest.mark.parametrize("spec", [IFGSM, DEEPFOOL], ids=["ifgsm", "deepfool"])
def test_same_adversarial_images_as_a_self_normalising_model(models, data, spec, backend):
    inside, wrapped = models
    ours, theirs = (
        adversarial(wrapped, spec, backend, data),
        adversarial(inside, spec, backend, data),
    )
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert not torch.equal(ours, data.x)  # the attack did move the images
    if spec.attack == "ifgsm":  # eps is in pixel units: the budget is reached, not exceeded
        linf = (ours - data.x).abs().flatten(1).amax(1)
        assert float(linf.max()) == pytest.approx(0.05, abs=1e-6)


def test_same_report_figures(models, data):
    inside, wrapped = models
    attacks = [IFGSM.as_dict(), DEEPFOOL.as_dict()]
    figures = ["adv_f1", "success_rate", "l2_median", "linf_median", "clean_f1"]
    ours = evaluate(wrapped, data.x, data.y, attacks=attacks, backends="foolbox", device="cpu")
    theirs = evaluate(inside, data.x, data.y, attacks=attacks, backends="foolbox", device="cpu")
    assert ours[figures].to_numpy() == pytest.approx(theirs[figures].to_numpy(), abs=1e-6)


def test_standardising_outside_the_model_changes_what_eps_means(models, data):
    """The pitfall the helper avoids: attack the core on standardised data and eps=0.05 means
    0.05 standard deviations (0.01-0.015 of a pixel here), while the libraries' [0, 1] box
    clips the standardised values themselves."""
    wrapped = models[1]
    mean, std = torch.tensor(MEAN).view(1, -1, 1, 1), torch.tensor(STD).view(1, -1, 1, 1)
    standardised = Split((data.x - mean) / std, data.y)
    # the API refuses such inputs outright, pointing at the helper
    with pytest.raises(InputError, match="with_normalization"):
        evaluate(wrapped.model, standardised.x, data.y, attacks=["ifgsm"], device="cpu")
    # Foolbox refuses them; torchattacks takes them, clips them to [0, 1] and measures eps
    # in standard deviations
    naive = adversarial(wrapped.model, IFGSM, "torchattacks", standardised) * std + mean
    proper = adversarial(wrapped, IFGSM, "torchattacks", data)
    naive_linf = float((naive - data.x).abs().amax())
    assert naive_linf > 0.5  # the [0, 1] box clipped standardised values: images destroyed
    assert float((proper - data.x).abs().amax()) == pytest.approx(0.05, abs=1e-6)


def test_wrapper_shares_the_model_and_its_mode():
    net = core()
    wrapped = with_normalization(net, IMAGENET_MEAN, IMAGENET_STD)
    assert isinstance(wrapped, Normalized) and wrapped.model is net
    assert not wrapped.training and not wrapped.normalize.training
    assert with_normalization(core().train(), 0.5, 0.25).training
    assert {n for n, _ in wrapped.named_parameters()} == {
        f"model.{n}" for n, _ in net.named_parameters()
    }
    x = torch.rand(2, 3, 16, 16)
    expected = net(
        (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    )
    torch.testing.assert_close(wrapped(x), expected)


def test_one_number_serves_every_channel():
    gray = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    wrapped = with_normalization(gray, 0.5, 0.25)
    x = torch.rand(2, 1, 4, 4)
    torch.testing.assert_close(wrapped(x), gray((x - 0.5) / 0.25))


@pytest.mark.parametrize(
    "mean, std, message",
    [
        ((0.5, 0.5, 0.5), (0.2, 0.2), "mean has 3 values and std 2"),
        (0.5, 0.0, "std must be > 0"),
        (0.5, -1.0, "std must be > 0"),
        (float("nan"), 0.2, "finite numbers"),
        ((), 0.2, "finite numbers"),
        ("abc", 0.2, "one number per channel"),
    ],
)
def test_bad_statistics(mean, std, message):
    with pytest.raises(InputError, match=message):
        with_normalization(core(), mean, std)


def test_channel_mismatch_is_reported_by_evaluate():
    wrapped = with_normalization(core(), MEAN, STD)
    with pytest.raises(ModelError, match="3 channel statistics but got inputs of shape"):
        evaluate(
            wrapped,
            torch.rand(2, 1, 16, 16),
            torch.zeros(2, dtype=torch.long),
            attacks=["ifgsm"],
            device="cpu",
        )
