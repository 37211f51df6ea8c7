"""The ``art`` backend: IBM's Adversarial Robustness Toolbox (Nicolae et al. 2018,
arXiv:1807.01069).

Canonical parameters → ART:
- ``ifgsm``: ``MomentumIterativeMethod(eps, eps_step=step_size, max_iter=steps, decay)``;
  decay 0 uses ``BasicIterativeMethod``. ART normalises the momentum gradient by its L1
  norm, torchattacks by its mean |g|: the same direction, so outputs agree bit for bit.
- ``deepfool``: ``DeepFool(max_iter=steps, epsilon=overshoot, nb_grads=candidates)``. ART
  applies ``epsilon`` once, to the total perturbation at the end, where torchattacks scales
  every step; and ART starts from the model's *prediction*, ignoring the labels.
- ``cw``: ``CarliniL2Method(initial_const=c, binary_search_steps, max_iter=steps,
  learning_rate=lr, confidence)`` with ART's own binary search. ART optimises in NumPy by
  gradient descent with a line search, so ``lr`` is a starting step, not Adam's rate.
- ``one_pixel``: ``PixelAttack(th=pixels, es=1 (differential evolution), max_iter=steps)``.
  ART fixes the population size itself (400 / (5·pixels) per generation), so a spec that
  sets ``popsize`` is refused. ART rounds through 0-255 integers internally.

The adapter chooses the batch size (the whole batch it is given; never ART's default of 1)
and turns ART's progress bars off.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from advcompare.adapters.base import NATIVE, Adapter, AttackImpl, Capability, num_classes_of
from advcompare.errors import UnsupportedSpecError
from advcompare.spec import AttackSpec


def art_classifier(model: nn.Module, x: torch.Tensor):
    """An ART ``PyTorchClassifier`` around ``model`` for inputs shaped like ``x``."""
    from art.estimators.classification import PyTorchClassifier

    num_classes = num_classes_of(model, x)
    return PyTorchClassifier(
        model=model,
        loss=nn.CrossEntropyLoss(),
        input_shape=tuple(x.shape[1:]),
        nb_classes=num_classes,
        clip_values=(0.0, 1.0),
        device_type="gpu" if x.is_cuda else "cpu",
    )


def build_ifgsm(classifier, p: Mapping[str, Any], batch_size: int):
    """ART's I-FGSM for the canonical parameters (BIM when decay is 0)."""
    from art.attacks.evasion import BasicIterativeMethod, MomentumIterativeMethod

    if p["decay"] == 0:
        return BasicIterativeMethod(
            classifier,
            eps=p["eps"],
            eps_step=p["step_size"],
            max_iter=p["steps"],
            batch_size=batch_size,
            verbose=False,
        )
    return MomentumIterativeMethod(
        classifier,
        eps=p["eps"],
        eps_step=p["step_size"],
        max_iter=p["steps"],
        decay=p["decay"],
        batch_size=batch_size,
        verbose=False,
    )


def build_deepfool(classifier, p: Mapping[str, Any], batch_size: int):
    """ART's DeepFool; ``candidates`` None means every class."""
    from art.attacks.evasion import DeepFool

    nb_grads = p["candidates"] if p["candidates"] is not None else classifier.nb_classes
    return DeepFool(
        classifier,
        max_iter=p["steps"],
        epsilon=p["overshoot"],
        nb_grads=nb_grads,
        batch_size=batch_size,
        verbose=False,
    )


def build_cw(classifier, p: Mapping[str, Any], batch_size: int):
    """ART's Carlini-Wagner L2 with its own binary search over c."""
    from art.attacks.evasion import CarliniL2Method

    return CarliniL2Method(
        classifier,
        confidence=p["confidence"],
        learning_rate=p["lr"],
        binary_search_steps=p["binary_search_steps"],
        max_iter=p["steps"],
        initial_const=p["c"],
        batch_size=batch_size,
        verbose=False,
    )


def build_one_pixel(classifier, p: Mapping[str, Any], batch_size: int):
    """ART's PixelAttack with differential evolution (``es=1``)."""
    from art.attacks.evasion import PixelAttack

    return PixelAttack(classifier, th=p["pixels"], es=1, max_iter=p["steps"], verbose=False)


BUILDERS = {
    "ifgsm": build_ifgsm,
    "deepfool": build_deepfool,
    "cw": build_cw,
    "one_pixel": build_one_pixel,
}


def build_attack(classifier, spec: AttackSpec, batch_size: int):
    """The ART attack object for ``spec`` (public for ``benchmarks/backend_overhead.py``)."""
    return BUILDERS[spec.attack](classifier, spec.params, batch_size)


def _generate(builder, uses_labels: bool = True):
    def call(model: nn.Module, x: torch.Tensor, y: torch.Tensor, p: Mapping[str, Any]):
        attack = builder(art_classifier(model, x), p, len(x))
        labels = y.detach().cpu().numpy() if uses_labels else None
        return torch.from_numpy(np.asarray(attack.generate(x.detach().cpu().numpy(), y=labels)))

    return call


class ArtBackend(Adapter):
    """Gradient and pixel attacks from the Adversarial Robustness Toolbox."""

    name = "art"
    library = "adversarial-robustness-toolbox"
    attacks = {
        "ifgsm": AttackImpl(
            Capability("ifgsm", NATIVE, "art MomentumIterativeMethod / BasicIterativeMethod"),
            _generate(build_ifgsm),
        ),
        "deepfool": AttackImpl(
            Capability(
                "deepfool",
                NATIVE,
                "art DeepFool",
                "overshoot applied once at the end; predicted class as reference",
            ),
            _generate(build_deepfool, uses_labels=False),
        ),
        "cw": AttackImpl(
            Capability(
                "cw",
                NATIVE,
                "art CarliniL2Method",
                "own binary search; NumPy gradient descent with line search",
            ),
            _generate(build_cw),
        ),
        "one_pixel": AttackImpl(
            Capability("one_pixel", NATIVE, "art PixelAttack", "population size fixed by ART"),
            _generate(build_one_pixel),
        ),
    }

    def notes(self, spec: AttackSpec, num_classes: int) -> list[str]:
        if spec.attack == "deepfool":
            return [
                "overshoot applied once to the final perturbation (ART's epsilon), not per step",
                "reference class is the prediction; labels ignored",
            ]
        if spec.attack == "cw":
            return ["lr is the initial step of ART's line search, not an Adam rate"]
        if spec.attack == "one_pixel" and spec["popsize"] is not None:
            raise UnsupportedSpecError(
                "ART's PixelAttack fixes its population size (400 / (5 x pixels)); "
                "remove one_pixel popsize for the art backend"
            )
        return []
