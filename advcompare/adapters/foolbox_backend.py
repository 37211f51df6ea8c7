"""The ``foolbox`` backend: Foolbox 3 (Rauber et al. 2017/2020, arXiv:1707.04131).

Canonical parameters → Foolbox:
- ``ifgsm``: ``LinfMomentumIterativeFastGradientMethod(momentum=decay,
  abs_stepsize=step_size, steps, random_start=False)`` with ``epsilons=eps``; decay 0 uses
  ``LinfBasicIterativeAttack``. Foolbox takes the *sign* of the gradient before adding it to
  the momentum, which is not Dong et al.'s update (they normalise by the L1 norm), so its
  momentum attack differs from torchattacks' and ART's (BIM agrees bit for bit).
- ``deepfool``: ``L2DeepFoolAttack(steps, candidates, overshoot, loss="logits")``; Foolbox
  applies the overshoot to the cumulative perturbation at every step and starts from the
  model's prediction.
- ``cw``: ``L2CarliniWagnerAttack(binary_search_steps, steps, stepsize=lr, confidence,
  initial_const=c, abort_early=True)`` with Foolbox's own binary search. Foolbox returns an
  all-zero image for samples it could not fool; the adapter returns them unchanged.
- ``fmn``: ``L2FMNAttack(steps, gamma)``; ``ddn``: ``DDNAttack(steps, gamma, init_epsilon)``,
  both with ``epsilons=None``: the strength reference of the L2 curves (docs/statistics.md);
  ``fmn_l1``: ``L1FMNAttack(steps, gamma)``, the L1 reference EAD is scored against;
  ``fmn_l0``: ``L0FMNAttack(steps, gamma)`` with its projection repaired, JSMA's L0 one.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from advcompare.adapters import hopskipjump
from advcompare.adapters.base import (
    EXACT,
    Adapter,
    AttackImpl,
    Builder,
    Capability,
    Control,
    num_classes_of,
)
from advcompare.adapters.references import build_ddn, build_fmn, build_fmn_l0, build_fmn_l1
from advcompare.adapters.starts import blended_noise_start
from advcompare.attacks.spec import AttackSpec


def build_ifgsm(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's I-FGSM (BIM when decay is 0) and its epsilon."""
    import foolbox.attacks as fa

    if p["decay"] == 0:
        return fa.LinfBasicIterativeAttack(
            abs_stepsize=p["step_size"], steps=p["steps"], random_start=False
        )
    return fa.LinfMomentumIterativeFastGradientMethod(
        momentum=p["decay"], abs_stepsize=p["step_size"], steps=p["steps"], random_start=False
    )


def build_deepfool(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's L2 DeepFool on logit differences; ``candidates`` None: every class."""
    import foolbox.attacks as fa

    candidates = p["candidates"] if p["candidates"] is not None else num_classes_of(model, x)
    return fa.L2DeepFoolAttack(
        steps=p["steps"], candidates=candidates, overshoot=p["overshoot"], loss="logits"
    )


def build_cw(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's Carlini-Wagner L2 with its own binary search over c."""
    import foolbox.attacks as fa

    return fa.L2CarliniWagnerAttack(
        binary_search_steps=p["binary_search_steps"],
        steps=p["steps"],
        stepsize=p["lr"],
        confidence=p["confidence"],
        initial_const=p["c"],
        abort_early=True,
    )


def build_fgsm(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's L∞ FGSM, no random start."""
    import foolbox.attacks as fa

    return fa.LinfFastGradientAttack(random_start=False)


def _pgd_builder(class_name: str):
    """Foolbox's LinfPGD or L2PGD with an absolute step size, and its epsilon."""

    def build(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
        import foolbox.attacks as fa

        attack = getattr(fa, class_name)(
            abs_stepsize=p["step_size"], steps=p["steps"], random_start=p["random_start"]
        )
        return attack

    return build


def build_ead(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's EAD (elastic net), unbounded, with its own binary search over c."""
    import foolbox.attacks as fa

    return fa.EADAttack(
        binary_search_steps=p["binary_search_steps"],
        steps=p["steps"],
        initial_stepsize=p["lr"],
        confidence=p["confidence"],
        initial_const=p["c"],
        regularization=p["beta"],
        decision_rule=p["decision_rule"],
        abort_early=p["abort_early"],
    )


def build_newtonfool(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's NewtonFool, unbounded."""
    import foolbox.attacks as fa

    return fa.NewtonFoolAttack(steps=p["steps"], stepsize=p["eta"])


def build_boundary(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's boundary attack from the shared start, its step-size statistics updated
    every step (``update_stats_every_k=1``; Foolbox: every 10th, so its queues of 100
    spherical and 30 step outcomes fill only after 1,000 and 300 steps, and a run of under
    300 steps never adapts a step size). A step then costs two queries (spherical, then combined
    candidate), as ART's with one candidate per trial."""
    import foolbox.attacks as fa

    return fa.BoundaryAttack(
        steps=p["steps"],
        spherical_step=p["spherical_step"],
        source_step=p["source_step"],
        step_adaptation=p["step_adaptation"],
        update_stats_every_k=1,
    )


def _call(builder, start: bool = False):
    def call(model: nn.Module, x: torch.Tensor, y: torch.Tensor, p: Mapping[str, Any]):
        import foolbox as fb

        fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0), device=x.device)
        attack, epsilons = builder(p, model, x), p.get("eps")  # None: minimum-norm
        if not start:
            _, clipped, _ = attack(fmodel, x.detach(), y.detach(), epsilons=epsilons)
            return clipped
        # the start ART gets too; Foolbox refuses a start that is not adversarial, so images
        # without one (no misclassified noise in 100 draws) come back unchanged
        points, found = blended_noise_start(model, x, y)
        out = x.detach().clone()
        if found.any():
            _, clipped, _ = attack(
                fmodel,
                x[found].detach(),
                y[found].detach(),
                epsilons=epsilons,
                starting_points=points[found],
            )
            out[found] = clipped
        return out

    return call


def foolbox_entry(
    attack: str,
    builder: Builder,
    library_class: str,
    note: str = "",
    restore_zeros: bool = False,
    start: bool = False,
    **kw: Any,
) -> AttackImpl:
    """A table entry whose call runs the attack ``builder(params, model, x)`` returns at
    ``epsilons = params["eps"]`` (None, minimum-norm, without one); ``restore_zeros`` hands
    back the input for samples Foolbox returns as all-zero images; ``start`` gives the attack
    the shared blended-noise start (:mod:`advcompare.adapters.starts`); ``kw`` are
    :class:`AttackImpl`'s ``notes`` and ``seconds_per_image``."""
    return AttackImpl(
        Capability(attack, EXACT, library_class, note),
        _call(builder, start),
        builder=builder,
        restores_zeros=restore_zeros,
        **kw,
    )


ZERO_FAILURES = (
    "Foolbox 3.3.4 returns all-zero images for samples it never fooled ({where}: best_advs "
    "starts as ep.zeros_like(x) and is only overwritten by an adversarial iterate); the "
    "input is handed back"
)
NEWTONFOOL_NAN = (
    "Foolbox 3.3.4's NewtonFool divides by ‖g‖⁴ unguarded (newtonfool.py, step 5): where "
    "the softmax saturates in float32, g = 0 and the step is 0/0 = NaN, which its clip keeps; "
    "the input is handed back"
)


def _ifgsm_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    if spec["decay"] > 0:
        return [
            "momentum accumulates sign(gradient) (Foolbox), not the L1-normalised "
            "gradient of Dong et al."
        ]
    return []


def _deepfool_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        "overshoot applied to the cumulative perturbation at every step; "
        "reference class is the prediction"
    ]


def _cw_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return ["Foolbox's all-zero outputs for failed samples replaced by the input"]


def _fmn_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        "Foolbox 3.3.4's L2 projection never shrinks the perturbation; the adapter "
        "projects onto the ε ball as in Pintor et al."
    ]


def _newtonfool_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        "Foolbox 3.3.4 squares ‖x₀‖ and ‖g‖ where NewtonFool uses the norms: each step "
        "moves min(η‖x₀‖²‖g‖², p − 1/C)/‖g‖³ instead of min(η‖x₀‖‖g‖, p − 1/C)/‖g‖ "
        "(mapped as it is; the default takes NewtonFool from ART)"
    ]


def build_attack(spec: AttackSpec, model: nn.Module, x: torch.Tensor):
    """The Foolbox attack for ``spec`` (public for the overhead benchmark); it runs at
    ``epsilons=spec.params.get("eps")``."""
    builder = FoolboxBackend.attacks[spec.attack].builder
    assert builder is not None
    return builder(spec.params, model, x)


class FoolboxBackend(Adapter):
    """Gradient attacks from Foolbox 3."""

    name = "foolbox"
    library = "foolbox"
    attacks = {
        "ifgsm": foolbox_entry(
            "ifgsm",
            build_ifgsm,
            "foolbox LinfMomentumIterativeFastGradientMethod / LinfBasicIterativeAttack",
            "momentum accumulates sign(g), not the L1-normalised g",
            notes=_ifgsm_notes,
            seconds_per_image=0.02,
        ),
        "deepfool": foolbox_entry(
            "deepfool",
            build_deepfool,
            "foolbox L2DeepFoolAttack",
            "overshoot on the cumulative perturbation each step",
            notes=_deepfool_notes,
            seconds_per_image=0.13,
        ),
        "cw": foolbox_entry(
            "cw",
            build_cw,
            "foolbox L2CarliniWagnerAttack",
            "own binary search; failed samples returned as zeros (fixed)",
            notes=_cw_notes,
            restore_zeros=True,
            seconds_per_image=0.35,
            repair_cause=ZERO_FAILURES.format(where="carlini_wagner.py"),
        ),
        "fmn": foolbox_entry(
            "fmn",
            build_fmn,
            "foolbox L2FMNAttack",
            "projection onto the ε ball repaired (a no-op in Foolbox 3.3.4)",
            notes=_fmn_notes,
            restore_zeros=True,
            seconds_per_image=0.05,
        ),
        "ddn": foolbox_entry(
            "ddn", build_ddn, "foolbox DDNAttack", restore_zeros=True, seconds_per_image=0.05
        ),
        "fmn_l1": foolbox_entry(
            "fmn_l1", build_fmn_l1, "foolbox L1FMNAttack", seconds_per_image=0.05
        ),
        "fmn_l0": foolbox_entry(
            "fmn_l0",
            build_fmn_l0,
            "foolbox L0FMNAttack",
            "projection keeps ε coordinates (Foolbox 3.3.4: ε + 1)",
            notes=lambda spec, classes: [
                "Foolbox 3.3.4's L0 projection keeps ε + 1 coordinates; the adapter keeps ε"
            ],
            seconds_per_image=0.05,
        ),
        "fgsm": foolbox_entry("fgsm", build_fgsm, "foolbox LinfFastGradientAttack"),
        "pgd": foolbox_entry(
            "pgd", _pgd_builder("LinfPGD"), "foolbox LinfPGD", "uniform start in the ε box"
        ),
        "pgd_l2": foolbox_entry(
            "pgd_l2", _pgd_builder("L2PGD"), "foolbox L2PGD", "start: uniform in the ε ball"
        ),
        "ead": foolbox_entry(
            "ead",
            build_ead,
            "foolbox EADAttack",
            "restarts from x for each c; failures returned as zeros (restored)",
            restore_zeros=True,
            repair_cause=ZERO_FAILURES.format(where="ead.py"),
        ),
        "newtonfool": foolbox_entry(
            "newtonfool",
            build_newtonfool,
            "foolbox NewtonFoolAttack",
            "squared norms for norms: steps min(η‖x‖²‖g‖², p − 1/C)/‖g‖³",
            notes=_newtonfool_notes,
            repair_cause=NEWTONFOOL_NAN,
        ),
        "hopskipjump": foolbox_entry(
            "hopskipjump",
            hopskipjump.build_foolbox,
            "foolbox HopSkipJumpAttack",
            f"{hopskipjump.FOOLBOX_CAUSE} (each image's step ~1/√B); shared start",
            start=True,
            control=Control(hopskipjump.FOOLBOX_CAUSE, hopskipjump.reference_loop),
        ),
        "boundary": foolbox_entry(
            "boundary",
            build_boundary,
            "foolbox BoundaryAttack",
            "stats every step (Foolbox: 10th), shared start; adapts over 100/30-outcome windows",
            start=True,
        ),
    }
