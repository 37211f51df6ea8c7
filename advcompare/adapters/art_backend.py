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

from advcompare.adapters import hopskipjump
from advcompare.adapters.art_atlas import (
    build_autoattack,
    autoattack_at_matched_cost,
    boundary_at_matched_cost,
    build_apgd,
    build_boundary,
    build_ead,
    build_jsma,
    build_newtonfool,
    build_square,
    ead_at_matched_cost,
    newtonfool_at_matched_cost,
    square_at_matched_cost,
)
from advcompare.adapters.art_classifier import art_classifier
from advcompare.adapters.base import (
    EMULATED,
    EXACT,
    Adapter,
    AttackImpl,
    Builder,
    Capability,
    Control,
    LibraryCall,
    jsma_targets,
    num_classes_of,
)
from advcompare.adapters.starts import blended_noise_start
from advcompare.attacks.spec import AttackSpec
from advcompare.errors import UnsupportedSpecError


def build_ifgsm(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """ART's I-FGSM for the canonical parameters (BIM when decay is 0)."""
    classifier, batch_size = art_classifier(model, x), len(x)
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


def build_deepfool(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """ART's DeepFool; ``candidates`` None means every class."""
    classifier, batch_size = art_classifier(model, x), len(x)
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


def build_cw(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """ART's Carlini-Wagner L2 with its own binary search over c."""
    classifier, batch_size = art_classifier(model, x), len(x)
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


def build_one_pixel(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """ART's PixelAttack with differential evolution (``es=1``)."""
    classifier = art_classifier(model, x)
    from art.attacks.evasion import PixelAttack

    return PixelAttack(classifier, th=p["pixels"], es=1, max_iter=p["steps"], verbose=False)


def build_fgsm(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """ART's FGSM, L∞, no random start."""
    classifier, batch_size = art_classifier(model, x), len(x)
    from art.attacks.evasion import FastGradientMethod

    return FastGradientMethod(
        classifier, norm=np.inf, eps=p["eps"], eps_step=p["eps"], batch_size=batch_size
    )


def _pgd_builder(norm: float):
    def build(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
        """ART's PGD (PyTorch implementation); one random start when ``random_start``."""
        classifier, batch_size = art_classifier(model, x), len(x)
        from art.attacks.evasion import ProjectedGradientDescent

        return ProjectedGradientDescent(
            classifier,
            norm=norm,
            eps=p["eps"],
            eps_step=p["step_size"],
            max_iter=p["steps"],
            num_random_init=1 if p["random_start"] else 0,
            batch_size=batch_size,
            verbose=False,
        )

    return build


def _deepfool_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        "overshoot applied once to the final perturbation (ART's epsilon), not per step",
        "reference class is the prediction; labels ignored",
    ]


def _cw_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return ["lr is the initial step of ART's line search, not an Adam rate"]


def _autoattack_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        f"standard AutoAttack composed from ART's APGD-CE, targeted APGD-DLR (for APGD-T; "
        f"ART's DLR, not Croce & Hein's targeted DLR) and Square at {spec['steps']} "
        "iterations; FAB-T left out on every backend (ART has none)"
    ]


def _ead_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    if spec["abort_early"]:
        raise UnsupportedSpecError(
            "ART's ElasticNet has no early abort; set ead abort_early to false "
            "or take EAD from torchattacks or foolbox"
        )
    return [
        "ART zeroes the whole gradient, the L2 pull 2(x' - x) included, on iterates already "
        "adversarial by the margin (torchattacks and Foolbox drop only the hinge term), so "
        "its iterates drift outward: with the L2 pull restored it equals Foolbox's output"
    ]


def _newtonfool_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        "ART's NewtonFool reads the outputs as probabilities: the adapter shows it their "
        "softmax (on log-probabilities or logits its step points the wrong way)"
    ]


def _jsma_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        "ART's saliency map takes the two features with the largest target-class gradient; "
        "Papernot et al.'s pair score (and torchattacks') also weighs the other classes' "
        "gradients; targets (y + 1) mod C"
    ]


def _one_pixel_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    if spec["popsize"] is not None:
        raise UnsupportedSpecError(
            "ART's PixelAttack fixes its population size (400 / (5 x pixels)); "
            "remove one_pixel popsize for the art backend"
        )
    return []


# What ART's ``generate`` is given as ``y``: the true labels, nothing (ART then uses the
# model's predictions), or JSMA's targets.
LABELS, NO_LABELS, JSMA_TARGETS = "labels", "none", "jsma targets"


def _generate(builder: Builder, labels: str = LABELS, start: bool = False) -> LibraryCall:
    def call(model: nn.Module, x: torch.Tensor, y: torch.Tensor, p: Mapping[str, Any]):
        attack = builder(p, model, x)
        given = {LABELS: y, NO_LABELS: None}.get(labels)
        if labels == JSMA_TARGETS:
            given = jsma_targets(y, num_classes_of(model, x))
        y_np = given.detach().cpu().numpy() if given is not None else None
        kwargs = {}
        # the start Foolbox uses, for both (advcompare.adapters.starts); an image with no
        # misclassified noise draw gets itself, and ART then draws its own uniform noise
        if start:
            kwargs["x_adv_init"] = blended_noise_start(model, x, y)[0].detach().cpu().numpy()
        return torch.from_numpy(
            np.asarray(attack.generate(x.detach().cpu().numpy(), y=y_np, **kwargs))
        )

    return call


def art_entry(
    attack: str,
    builder: Builder,
    library_class: str,
    note: str = "",
    labels: str = LABELS,
    support: str = EXACT,
    start: bool = False,
    **kw: Any,
) -> AttackImpl:
    """A table entry whose call builds ART's attack with ``builder(params, model, x)`` (it
    wraps the model in ART's classifier, :func:`art_classifier`) and runs ``generate`` with
    ``labels`` (:data:`LABELS`, :data:`NO_LABELS` or :data:`JSMA_TARGETS`), from the shared
    blended-noise start when ``start`` (:mod:`advcompare.adapters.starts`); ``kw`` are
    :class:`AttackImpl`'s ``notes`` and ``seconds_per_image``."""
    return AttackImpl(
        Capability(attack, support, library_class, note),
        _generate(builder, labels, start),
        builder=builder,
        **kw,
    )


def build_attack(spec: AttackSpec, model: nn.Module, x: torch.Tensor):
    """The ART attack object for ``spec`` (public for ``benchmarks/backend_overhead.py``)."""
    builder = ArtBackend.attacks[spec.attack].builder
    assert builder is not None
    return builder(spec.params, model, x)


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
            labels=NO_LABELS,
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
        "fgsm": art_entry("fgsm", build_fgsm, "art FastGradientMethod"),
        "pgd": art_entry(
            "pgd",
            _pgd_builder(np.inf),
            "art ProjectedGradientDescent",
            "uniform start in the ε box",
        ),
        "pgd_l2": art_entry(
            "pgd_l2",
            _pgd_builder(2),
            "art ProjectedGradientDescent (norm 2)",
            "clips to the box, then projects on the ε ball (others: project, then clip)",
        ),
        "apgd": art_entry(
            "apgd",
            build_apgd,
            "art AutoProjectedGradientDescent",
            "returns its last iterate, not the best; start uniform in the ε box",
        ),
        "autoattack": art_entry(
            "autoattack",
            build_autoattack,
            "art AutoProjectedGradientDescent, SquareAttack",
            "APGD-T from ART's targeted APGD-DLR (not Croce's loss); no FAB-T; 2 forward "
            "passes per APGD iteration, ~3 calls per Square iteration (torchattacks: 1)",
            support=EMULATED,
            notes=_autoattack_notes,
            control=Control("2 forward passes per APGD iteration", autoattack_at_matched_cost),
        ),
        "square": art_entry(
            "square",
            build_square,
            "art SquareAttack",
            "ART's reimplementation; ~3 model calls per iteration (torchattacks: 1)",
            control=Control("about 3 model calls per iteration", square_at_matched_cost),
        ),
        "ead": art_entry(
            "ead",
            build_ead,
            "art ElasticNet",
            "no L2 pull once adversarial (whole gradient zeroed); no early abort; a backward "
            "pass per class present each iteration (~7x the others' passes)",
            notes=_ead_notes,
            control=Control("a gradient pass per class present", ead_at_matched_cost),
        ),
        "jsma": art_entry(
            "jsma",
            build_jsma,
            "art SaliencyMapMethod",
            "saliency: the 2 largest target-class gradients, not Papernot's pair score",
            labels=JSMA_TARGETS,
            notes=_jsma_notes,
        ),
        "newtonfool": art_entry(
            "newtonfool",
            build_newtonfool,
            "art NewtonFool",
            "reads outputs as probabilities (shown softmax); reference: the prediction; a "
            "backward pass per class present each step (~6x Foolbox's passes)",
            labels=NO_LABELS,
            notes=_newtonfool_notes,
            control=Control("a gradient pass per class present", newtonfool_at_matched_cost),
        ),
        "hopskipjump": art_entry(
            "hopskipjump",
            hopskipjump.build_art,
            "art HopSkipJump",
            f"θ set to γ/d^1.5 (ART: 0.01/√d); shared start; {hopskipjump.ART_CAUSE}",
            start=True,
            control=Control(hopskipjump.ART_CAUSE, hopskipjump.reference_loop),
        ),
        "boundary": art_entry(
            "boundary",
            build_boundary,
            "art BoundaryAttack",
            "1 candidate per trial (ART: 20), shared start; step sizes adapt every trial; "
            "retries a rejected candidate within a step (~2x Foolbox's queries)",
            start=True,
            control=Control("retries rejected candidates in a step", boundary_at_matched_cost),
        ),
    }
