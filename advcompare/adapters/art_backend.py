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

from typing import Any, Callable, Mapping

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


def _deepfool_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        "overshoot applied once to the final perturbation (ART's epsilon), not per step",
        "reference class is the prediction; labels ignored",
    ]


def _cw_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return ["lr is the initial step of ART's line search, not an Adam rate"]


def _one_pixel_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    if spec["popsize"] is not None:
        raise UnsupportedSpecError(
            "ART's PixelAttack fixes its population size (400 / (5 x pixels)); "
            "remove one_pixel popsize for the art backend"
        )
    return []


def _generate(builder, uses_labels: bool = True):
    def call(model: nn.Module, x: torch.Tensor, y: torch.Tensor, p: Mapping[str, Any]):
        attack = builder(art_classifier(model, x), p, len(x))
        labels = y.detach().cpu().numpy() if uses_labels else None
        return torch.from_numpy(np.asarray(attack.generate(x.detach().cpu().numpy(), y=labels)))

    return call


def art_entry(
    attack: str,
    builder: Callable[..., Any],
    library_class: str,
    note: str = "",
    uses_labels: bool = True,
    **kw: Any,
) -> AttackImpl:
    """A table entry whose call builds ART's attack with ``builder(classifier, params,
    batch_size)`` and runs ``generate`` (with the labels unless ``uses_labels`` is False);
    ``kw`` are :class:`AttackImpl`'s ``notes`` and ``seconds_per_image``."""
    return AttackImpl(
        Capability(attack, NATIVE, library_class, note),
        _generate(builder, uses_labels),
        builder=builder,
        **kw,
    )


def build_attack(classifier, spec: AttackSpec, batch_size: int):
    """The ART attack object for ``spec`` (public for ``benchmarks/backend_overhead.py``)."""
    builder = ArtBackend.attacks[spec.attack].builder
    assert builder is not None
    return builder(classifier, spec.params, batch_size)


class ArtBackend(Adapter):
    """Gradient and pixel attacks from the Adversarial Robustness Toolbox."""

    name = "art"
    library = "adversarial-robustness-toolbox"
    attacks = {
        "ifgsm": art_entry(
            "ifgsm",
            build_ifgsm,
            "art MomentumIterativeMethod / BasicIterativeMethod",
            seconds_per_image=0.03,
        ),
        "deepfool": art_entry(
            "deepfool",
            build_deepfool,
            "art DeepFool",
            "overshoot applied once at the end; predicted class as reference",
            notes=_deepfool_notes,
            uses_labels=False,
            seconds_per_image=0.36,
        ),
        "cw": art_entry(
            "cw",
            build_cw,
            "art CarliniL2Method",
            "own binary search; NumPy gradient descent with line search",
            notes=_cw_notes,
            seconds_per_image=4.5,
        ),
        "one_pixel": art_entry(
            "one_pixel",
            build_one_pixel,
            "art PixelAttack",
            "population size fixed by ART",
            notes=_one_pixel_notes,
            seconds_per_image=2.5,
        ),
    }
