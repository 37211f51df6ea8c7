"""HopSkipJump (Chen, Jordan & Wainwright 2020, arXiv:1904.02144) from ART and Foolbox, and
what each library's loop departs from in the authors' reference loop (``hsja.py``: a binary
search to the boundary after every step, the last included; each image's gradient estimate
normalised on its own).

- **Foolbox 3.3.4** normalises the gradient estimate over the *whole batch*
  (``hop_skip_jump.py``, ``approximate_gradients``: ``ep.norms.l2`` with no axis), so each
  image's update has norm about 1/√B and its first step proposal is √B times shorter: the
  attack makes less progress per step the larger the batch.
- **ART 1.20.1** runs its binary search at the *start* of each step (``_attack``), so its
  output is the last step's point, never projected back to the boundary.

The spec's ``reference_loop`` undoes both: Foolbox attacks one image at a time (per-image
normalisation) and ART gets the binary search after its last step, with its own
``_binary_search`` at the same threshold. The control cells of an atlas run set it
(:mod:`advcompare.analysis.controls`)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from advcompare.adapters.art_classifier import art_classifier

HSJ_GAMMA = 1.0  # Chen et al.'s and Foolbox's γ: binary-search threshold θ = γ / d^1.5

FOOLBOX_CAUSE = "gradient estimate normalised over the whole batch"
ART_CAUSE = "no binary search after the last step"


def reference_loop(p: Mapping[str, Any]) -> dict[str, Any]:
    """The control's overrides: both libraries run Chen et al.'s reference loop."""
    return {"reference_loop": True}


def build_art(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """ART's HopSkipJump, untargeted, L2, with Chen et al.'s (and Foolbox's) binary-search
    threshold θ = γ / d^1.5, γ = 1, in place of ART's θ = 0.01 / √d (set in ``__init__``;
    ~7.8× coarser at d = 784, ~31× at d = 3,072); the probe size δ = √d·θ·dist follows.
    With ``reference_loop``, a binary search after the last step (:class:`FinalBinarySearch`)."""
    classifier, batch_size = art_classifier(model, x), len(x)
    from art.attacks.evasion import HopSkipJump

    attack = HopSkipJump(
        classifier,
        batch_size=batch_size,
        targeted=False,
        norm=2,
        max_iter=p["steps"],
        max_eval=p["max_evals"],
        init_eval=p["initial_evals"],
        verbose=False,
    )
    d = int(np.prod(classifier.input_shape))
    attack.theta = HSJ_GAMMA / (d * np.sqrt(d))
    return FinalBinarySearch(attack) if p.get("reference_loop") else attack


class FinalBinarySearch:
    """ART's HopSkipJump with the binary search Chen et al.'s loop runs after the last step:
    each output still adversarial for the class ART attacked (the model's prediction on the
    input) is searched back towards its input with ART's own ``_binary_search`` (threshold
    θ, as after every other step); an image ART never fooled is left as it is."""

    def __init__(self, attack: Any):
        self.attack = attack

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        out = self.attack.generate(x, y=y, **kwargs)
        estimator = self.attack.estimator
        predicted = np.argmax(estimator.predict(x, batch_size=self.attack.batch_size), axis=1)
        landed = np.argmax(estimator.predict(out, batch_size=self.attack.batch_size), axis=1)
        low, high = estimator.clip_values
        for i in np.flatnonzero(landed != predicted):
            out[i] = self.attack._binary_search(
                current_sample=out[i],
                original_sample=x[i],
                target=int(predicted[i]),
                norm=2,
                clip_min=float(low),
                clip_max=float(high),
            )
        return out


def build_foolbox(p: Mapping[str, Any], model: nn.Module, x: torch.Tensor):
    """Foolbox's HopSkipJump (L2, γ = 1: θ = 1 / d^1.5), from the shared start
    (:mod:`advcompare.adapters.starts`, Foolbox's own blended-noise search); with
    ``reference_loop``, one image per call (:class:`OneImageAtATime`)."""
    import foolbox.attacks as fa

    attack = fa.HopSkipJumpAttack(
        steps=p["steps"],
        initial_gradient_eval_steps=p["initial_evals"],
        max_gradient_eval_steps=p["max_evals"],
        constraint="l2",
    )
    return OneImageAtATime(attack) if p.get("reference_loop") else attack


class OneImageAtATime:
    """A Foolbox attack called on one image at a time, so that whatever it computes over
    the batch (HopSkipJump's gradient normalisation) is computed per image; returns
    Foolbox's ``(raw, clipped, success)`` for the whole batch."""

    def __init__(self, attack: Any):
        self.attack = attack

    def __call__(self, fmodel, x, y, epsilons=None, starting_points=None):
        outs = [
            self.attack(
                fmodel,
                x[i : i + 1],
                y[i : i + 1],
                epsilons=epsilons,
                starting_points=None if starting_points is None else starting_points[i : i + 1],
            )
            for i in range(len(x))
        ]
        raw, clipped, success = (torch.cat([out[k] for out in outs]) for k in range(3))
        return raw, clipped, success
