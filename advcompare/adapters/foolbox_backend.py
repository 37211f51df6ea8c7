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
"""

from __future__ import annotations

import torch
from torch import nn

from advcompare.adapters.base import (NATIVE, Capability, finish, model_guard,
                                      num_classes_of)
from advcompare.adapters.support import require_capability
from advcompare.spec import AttackSpec


class FoolboxBackend:
    """Gradient attacks from Foolbox 3."""

    name = "foolbox"
    library = "foolbox"

    def capabilities(self) -> dict[str, Capability]:
        return {
            "ifgsm": Capability("ifgsm", NATIVE, "foolbox LinfMomentumIterativeFastGradient"
                                "Method / LinfBasicIterativeAttack",
                                "momentum accumulates sign(g), not the L1-normalised g"),
            "deepfool": Capability("deepfool", NATIVE, "foolbox L2DeepFoolAttack",
                                   "overshoot on the cumulative perturbation each step"),
            "cw": Capability("cw", NATIVE, "foolbox L2CarliniWagnerAttack",
                             "own binary search; failed samples returned as zeros (fixed)"),
        }

    def check(self, spec: AttackSpec, num_classes: int) -> list[str]:
        require_capability(self, spec)
        if spec.attack == "ifgsm" and spec["decay"] > 0:
            return ["momentum accumulates sign(gradient) (Foolbox), not the L1-normalised "
                    "gradient of Dong et al."]
        if spec.attack == "deepfool":
            return ["overshoot applied to the cumulative perturbation at every step; "
                    "reference class is the prediction"]
        if spec.attack == "cw":
            return ["Foolbox's all-zero outputs for failed samples replaced by the input"]
        return []

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
            spec: AttackSpec) -> torch.Tensor:
        import foolbox as fb

        require_capability(self, spec)
        with model_guard(model):
            fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0), device=x.device)
            attack, epsilons = _build(spec, model, x)
            _, clipped, _ = attack(fmodel, x.detach(), y.detach(), epsilons=epsilons)
            if spec.attack == "cw":
                clipped = restore_zero_failures(x, clipped)
            return finish(model, x, y, clipped)


def restore_zero_failures(x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    """Foolbox's CW starts its best adversarials at all-zero images and returns them for
    samples it never fooled (flagged successful when ``epsilons=None``); a zero image is
    often misclassified, so left alone it would count as a huge successful perturbation.
    Such samples get their input back."""
    never_found = (x_adv.flatten(1) == 0).all(1) & (x.flatten(1) != 0).any(1)
    out = x_adv.clone()
    out[never_found] = x[never_found].to(out.dtype)
    return out


def _build(spec: AttackSpec, model: nn.Module, x: torch.Tensor):
    import foolbox.attacks as fa

    p = spec.params
    if spec.attack == "ifgsm":
        if p["decay"] == 0:
            return fa.LinfBasicIterativeAttack(abs_stepsize=p["step_size"], steps=p["steps"],
                                               random_start=False), p["eps"]
        return fa.LinfMomentumIterativeFastGradientMethod(
            momentum=p["decay"], abs_stepsize=p["step_size"], steps=p["steps"],
            random_start=False), p["eps"]
    if spec.attack == "deepfool":
        candidates = p["candidates"]
        if candidates is None:
            candidates = num_classes_of(model, x)
        return fa.L2DeepFoolAttack(steps=p["steps"], candidates=candidates,
                                   overshoot=p["overshoot"], loss="logits"), None
    return fa.L2CarliniWagnerAttack(binary_search_steps=p["binary_search_steps"],
                                    steps=p["steps"], stepsize=p["lr"],
                                    confidence=p["confidence"], initial_const=p["c"],
                                    abort_early=True), None
