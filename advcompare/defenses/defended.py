"""What a defense gives the grid: the defended classifier and, per threat model, the model an
attack runs on.

Threat models (paper §3.5 evaluates each defense one way; we make both explicit):
- ``oblivious``: adversarial examples are crafted on the undefended model, then classified by
  the defended one (for a trained defense, a transfer attack from the base model to its own).
- ``adaptive``: the attack sees the defended pipeline end to end; where the pipeline is
  randomised (gradient masking) gradient attacks see its expectation over ``eot_samples``
  draws (Athalye et al. 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from torch import nn

from advcompare.spec import attack_record

OBLIVIOUS, ADAPTIVE = "oblivious", "adaptive"


class Views(NamedTuple):
    """What a defense's ``build`` returns: the classifier that is graded, the model each
    threat model attacks, and (for a randomised pipeline) the EOT view gradient attacks use
    under the adaptive threat model."""

    classifier: nn.Module
    by_threat: dict[str, nn.Module]
    eot: nn.Module | None = None


@dataclass
class Defended:
    """A defended classifier and, per threat model, the model an attack is run on."""

    name: str
    params: dict[str, Any]
    classifier: nn.Module
    key: str
    views: dict[str, nn.Module]
    eot_view: nn.Module | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    from_cache: bool = True

    def attacked_model(self, threat: str, attack: str) -> nn.Module:
        """The model ``attack`` runs on under ``threat`` (EOT only for gradient attacks)."""
        if threat == ADAPTIVE and self.eot_view is not None and attack_record(attack).gradient:
            return self.eot_view
        return self.views[threat]


def undefended(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """No defense: the base model under the adaptive threat model only."""
    return Views(base, {ADAPTIVE: base})


def trained_model(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """A defense that is a model of its own (distillation, adversarial training): attacked
    directly (adaptive) or through examples crafted on the base model (oblivious)."""
    if trained is None:
        raise ValueError("this defense needs its trained model")
    return Views(trained, {OBLIVIOUS: base, ADAPTIVE: trained})
