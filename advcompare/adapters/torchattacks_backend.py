"""The ``torchattacks`` backend (torchattacks 3.x, Kim 2020, arXiv:2010.01950).

Canonical parameters → torchattacks:
- ``ifgsm``: ``MIFGSM(eps, alpha=step_size, steps, decay)``; decay 0 uses ``BIM``.
- ``deepfool``: ``DeepFool(steps, overshoot)``; torchattacks always uses every class as a
  candidate and the *true label* as reference class, so ``candidates`` below the number of
  classes is refused rather than silently ignored.

  On images with many pixels at exactly 0 or 1 (MNIST's background) torchattacks' DeepFool
  stalls on the boundary: it applies the overshoot to each step and clips each iterate to
  [0, 1], so when the clip removes a share of every linear step, the margin shrinks
  geometrically and never changes sign (a Zeno stall). It ends within float32 rounding of the
  boundary, where its own one-image forward pass sees a tie and stops while a batched
  re-evaluation sees the true class: on the paper's MNIST CNN it fools ~40-45% of the images
  where ART (overshoot on the total, once) and Foolbox (a 1e-4 floor on every step) fool all.
  ``tests/test_deepfool_stall.py`` shows it in closed form; ``docs/backends.md`` has the
  figures. The adapter maps the attack as it is; the default run takes DeepFool from Foolbox.
- ``cw``: ``CW(c, kappa=confidence, steps, lr)``. torchattacks has no binary search over c
  (its docstring says so); for ``binary_search_steps > 1`` the adapter emulates the search
  of Carlini & Wagner (2017): it runs CW once per distinct c, keeps each sample's smallest
  successful perturbation and moves each sample's c as the paper does. The result records
  that the search was emulated.

  torchattacks' CW objective picks the best "other" class with ``max((1 - onehot) * z)``,
  which is only right when every output is positive: on log-probabilities (this CNN's
  outputs, all <= 0) the masked zero wins, f is 0 everywhere and the attack never moves.
  The adapter therefore shows CW the outputs shifted per sample by a constant so that all
  are >= 1; logit differences, and so CW's margins and gradients, are unchanged.

  torchattacks also starts CW from ``atanh(2x - 1)``, which is infinite at exactly 0 and 1,
  so saturated pixels (MNIST's black background) get zero gradient and never move. ART and
  Foolbox squeeze the box by 1 - 1e-6 first; the adapter does the same (the model still sees
  the original pixel values, and results are mapped back).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from advcompare.adapters.base import (
    EMULATED,
    EXACT,
    Adapter,
    AttackImpl,
    Builder,
    Capability,
    LibraryCall,
    jsma_targets,
    num_classes_of,
)
from advcompare.adapters.cw_search import cw_binary_search
from advcompare.attacks.spec import AttackSpec
from advcompare.errors import UnsupportedSpecError


def build_ifgsm(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    if p["decay"] == 0:
        return torchattacks.BIM(model, eps=p["eps"], alpha=p["step_size"], steps=p["steps"])
    return torchattacks.MIFGSM(
        model, eps=p["eps"], alpha=p["step_size"], steps=p["steps"], decay=p["decay"]
    )


def build_deepfool(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    return torchattacks.DeepFool(model, steps=p["steps"], overshoot=p["overshoot"])


def build_cw(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """The paper's CW with its binary search over c, emulated (:mod:`.cw_search`)."""
    return lambda images, labels: cw_binary_search(model, images, labels, p)


def build_one_pixel(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    popsize = p["popsize"] if p["popsize"] is not None else 10  # torchattacks' default
    return torchattacks.OnePixel(
        model, pixels=p["pixels"], steps=p["steps"], popsize=popsize, inf_batch=len(x)
    )


def build_pixle(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    return torchattacks.Pixle(model, restarts=p["restarts"], max_iterations=p["max_iterations"])


def _library_seed() -> int:
    """A seed for attacks that reseed torch themselves (APGD, Square, AutoAttack), drawn
    from torch's generator so each crafting batch (seeded by advcompare) gets its own."""
    return int(torch.randint(0, 2**31 - 1, ()).item())


def build_fgsm(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    return torchattacks.FGSM(model, eps=p["eps"])


def _pgd_builder(class_name: str) -> Builder:
    """torchattacks' PGD (L∞) or PGDL2 for the canonical parameters."""

    def build(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
        import torchattacks

        return getattr(torchattacks, class_name)(
            model,
            eps=p["eps"],
            alpha=p["step_size"],
            steps=p["steps"],
            random_start=p["random_start"],
        )

    return build


def build_apgd(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    return torchattacks.APGD(
        model,
        norm="Linf",
        eps=p["eps"],
        steps=p["steps"],
        n_restarts=p["restarts"],
        loss=p["loss"],
        seed=_library_seed(),
    )


def autoattack_targets(num_classes: int) -> int:
    """APGD-T's target classes: the top 9 other classes (Croce & Hein), fewer when C < 10."""
    return min(9, num_classes - 1)


def build_autoattack(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """torchattacks' standard AutoAttack as ``AutoAttack(version="standard")`` builds it
    (``MultiAttack`` of APGD-CE, APGD-T and Square, one seed), with ``steps`` APGD
    iterations (torchattacks' class passes none, so its APGDs run their default 10) and
    ``square_queries`` Square queries. FAB-T is left out because ART, the other backend, has
    no FAB."""
    import torchattacks

    num_classes, seed = num_classes_of(model, x), _library_seed()
    common = {"norm": "Linf", "eps": p["eps"], "seed": seed, "n_restarts": 1}
    targeted = torchattacks.APGDT(model, steps=p["steps"], n_classes=num_classes, **common)
    targeted.n_target_classes = autoattack_targets(num_classes)  # torchattacks: C - 1
    return torchattacks.MultiAttack(
        [
            torchattacks.APGD(model, loss="ce", steps=p["steps"], **common),
            targeted,
            torchattacks.Square(model, n_queries=p["square_queries"], **common),
        ]
    )


def build_square(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    return torchattacks.Square(
        model,
        norm="Linf",
        eps=p["eps"],
        n_queries=p["queries"],
        n_restarts=p["restarts"],
        p_init=p["p_init"],
        loss="margin",
        seed=_library_seed(),
    )


def build_ead(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    attack = torchattacks.EADEN if p["decision_rule"] == "EN" else torchattacks.EADL1
    return attack(
        model,
        kappa=p["confidence"],
        lr=p["lr"],
        binary_search_steps=p["binary_search_steps"],
        max_iterations=p["steps"],
        abort_early=p["abort_early"],
        initial_const=p["c"],
        beta=p["beta"],
    )


def build_jsma(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    import torchattacks

    num_classes = num_classes_of(model, x)
    attack = torchattacks.JSMA(model, theta=p["theta"], gamma=p["gamma"])
    attack.set_mode_targeted_by_function(lambda images, labels: jsma_targets(labels, num_classes))
    return attack


def _forward(builder: Builder) -> LibraryCall:
    """Every torchattacks attack runs one way, its ``forward``: ``attack(x, y)``."""

    def call(model: nn.Module, x: torch.Tensor, y: torch.Tensor, p: Mapping[str, Any]):
        return builder(p, model, x)(x, y)

    return call


def torchattacks_entry(capability: Capability, builder: Builder, **kw: Any) -> AttackImpl:
    """A table entry whose call runs ``builder(params, model, x)(x, y)``; ``kw`` are
    :class:`AttackImpl`'s ``notes``, ``seconds_per_image`` and the rest."""
    return AttackImpl(capability, _forward(builder), builder=builder, **kw)


def _autoattack_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    return [
        f"standard AutoAttack's APGD-CE, APGD-T and Square at {spec['steps']} APGD "
        "iterations (torchattacks' AutoAttack passes none: 10); FAB-T left out (ART has none)"
    ]


EAD_REFERENCE_DEFECT = (
    "torchattacks 3.5.1's EAD moves its reference image: y_k = nn.Parameter(images) shares "
    "storage with images, so the first in-place step y_k -= lr·grad shifts x0 too, and "
    "outputs (x0 where unperturbed) leave [0, 1]"
)


def _ead_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    if spec["abort_early"] and spec["steps"] < 10:
        raise UnsupportedSpecError(
            f"torchattacks' EAD checks for an early abort every steps // 10 iterations and "
            f"divides by zero below 10 steps; set ead steps to at least 10 (got "
            f"{spec['steps']}), abort_early to false, or take EAD from art or foolbox"
        )
    return [
        "keeps its iterate across binary-search steps (ART and Foolbox restart from x); "
        "momentum k/(k+3) counted from k = 1 (others: 0)"
    ]


def _deepfool_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    candidates = spec["candidates"]
    if candidates is not None and candidates != num_classes:
        raise UnsupportedSpecError(
            f"torchattacks DeepFool always uses all {num_classes} classes; "
            f"set deepfool candidates to none (or {num_classes}) for this backend"
        )
    return ["reference class is the true label (not the prediction)"]


def _cw_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    notes = [
        "outputs shifted per sample to be positive (torchattacks CW masks "
        "logits by multiplication); box squeezed by 1e-6 so atanh stays "
        "finite at 0 and 1"
    ]
    if spec["binary_search_steps"] > 1:
        notes.append(
            f"binary search over c emulated ({spec['binary_search_steps']} runs of torchattacks.CW)"
        )
    return notes


class TorchattacksBackend(Adapter):
    """Gradient and pixel attacks from torchattacks."""

    name = "torchattacks"
    library = "torchattacks"
    attacks = {
        "ifgsm": torchattacks_entry(
            Capability("ifgsm", EXACT, "torchattacks.MIFGSM / torchattacks.BIM"),
            build_ifgsm,
            seconds_per_image=0.02,
        ),
        "deepfool": torchattacks_entry(
            Capability(
                "deepfool",
                EXACT,
                "torchattacks.DeepFool",
                "true label as reference; all classes as candidates",
            ),
            build_deepfool,
            notes=_deepfool_notes,
            seconds_per_image=0.48,
        ),
        "cw": torchattacks_entry(
            Capability(
                "cw", EMULATED, "torchattacks.CW", "binary search over c emulated by advcompare"
            ),
            build_cw,
            notes=_cw_notes,
            seconds_per_image=0.34,
        ),
        "one_pixel": torchattacks_entry(
            Capability("one_pixel", EXACT, "torchattacks.OnePixel"),
            build_one_pixel,
            seconds_per_image=0.06,
        ),
        "pixle": torchattacks_entry(
            Capability("pixle", EXACT, "torchattacks.Pixle"), build_pixle, seconds_per_image=0.07
        ),
        "fgsm": torchattacks_entry(Capability("fgsm", EXACT, "torchattacks.FGSM"), build_fgsm),
        "pgd": torchattacks_entry(
            Capability("pgd", EXACT, "torchattacks.PGD", "uniform start in the ε box"),
            _pgd_builder("PGD"),
        ),
        "pgd_l2": torchattacks_entry(
            Capability(
                "pgd_l2",
                EXACT,
                "torchattacks.PGDL2",
                "start: Gaussian direction, radius uniform in [0, ε] (no option to match)",
            ),
            _pgd_builder("PGDL2"),
        ),
        "apgd": torchattacks_entry(
            Capability("apgd", EXACT, "torchattacks.APGD", "the authors' code, ported"),
            build_apgd,
        ),
        "autoattack": torchattacks_entry(
            Capability(
                "autoattack",
                EXACT,
                "torchattacks.MultiAttack(APGD, APGDT, Square)",
                "APGD-CE, APGD-T, Square with steps set (its AutoAttack: 10); no FAB-T",
            ),
            build_autoattack,
            notes=_autoattack_notes,
        ),
        "square": torchattacks_entry(
            Capability("square", EXACT, "torchattacks.Square", "the authors' code, ported"),
            build_square,
        ),
        "ead": torchattacks_entry(
            Capability(
                "ead",
                EXACT,
                "torchattacks.EADEN / EADL1",
                "first step moves its reference x0 (aliasing); warm start across binary search",
            ),
            build_ead,
            notes=_ead_notes,
            repair_cause=EAD_REFERENCE_DEFECT,
        ),
        "jsma": torchattacks_entry(
            Capability(
                "jsma",
                EXACT,
                "torchattacks.JSMA",
                "Papernot's pair saliency, one image at a time; target (y + 1) mod C; "
                "cannot be matched at equal cost: a backward pass per class for each image "
                "each step (ART: one per target class present, over the batch), and γ, the "
                "one budget, also bounds the perturbation",
            ),
            build_jsma,
        ),
    }
