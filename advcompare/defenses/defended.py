"""What a defense gives the grid: the defended classifier and, per threat model, the model an
attack runs on.

Threat models (paper §3.5 evaluates each defense one way; we make both explicit):
- ``oblivious``: adversarial examples are crafted on the undefended model, then classified by
  the defended one (for a trained defense, a transfer attack from the base model to its own).
- ``adaptive``: the attacker knows the defense and attacks it as the field does (Tramèr et
  al. 2020, "On Adaptive Attacks to Adversarial Example Defenses", NeurIPS): the defended
  pipeline end to end, except where a defense names an :class:`AdaptiveView` for a kind of
  attack (gradient masking: BPDA; distillation: logits / T; see ``docs/defenses.md``).

Whatever view an attack runs on, its adversarial examples are graded on the deployed
classifier (``Defended.classifier``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from torch import nn

from advcompare.attacks.record import AttackRecord
from advcompare.attacks.spec import attack_record

OBLIVIOUS, ADAPTIVE = "oblivious", "adaptive"


class AdaptiveView(NamedTuple):
    """The model the attacks that ``applies`` to run on under the adaptive threat model
    (its predictions are the deployed classifier's), and the note their cells carry."""

    model: nn.Module
    applies: Callable[[AttackRecord], bool]
    note: str


def gradient_attacks(record: AttackRecord) -> bool:
    """Attacks that read input gradients."""
    return record.gradient


class Views(NamedTuple):
    """What a defense's ``build`` returns: the classifier that is graded, the model each
    threat model attacks, and the adaptive views of particular kinds of attack (the first
    that applies wins)."""

    classifier: nn.Module
    by_threat: dict[str, nn.Module]
    adaptive: tuple[AdaptiveView, ...] = ()


@dataclass
class Defended:
    """A defended classifier and, per threat model, the model an attack is run on."""

    name: str
    params: dict[str, Any]
    classifier: nn.Module
    key: str
    views: dict[str, nn.Module]
    adaptive_views: tuple[AdaptiveView, ...] = ()
    history: list[dict[str, float]] = field(default_factory=list)
    from_cache: bool = True

    def _adaptive_view(self, threat: str, attack: str) -> AdaptiveView | None:
        if threat != ADAPTIVE:
            return None
        record = attack_record(attack)
        return next((v for v in self.adaptive_views if v.applies(record)), None)

    def attacked_model(self, threat: str, attack: str) -> nn.Module:
        """The model ``attack`` runs on under ``threat``."""
        view = self._adaptive_view(threat, attack)
        return self.views[threat] if view is None else view.model

    def attack_note(self, threat: str, attack: str) -> str | None:
        """How ``attack`` is adapted to the defense under ``threat`` (None: it attacks the
        threat model's view as it is)."""
        view = self._adaptive_view(threat, attack)
        return None if view is None else view.note


def undefended(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """No defense: the base model under the adaptive threat model only."""
    return Views(base, {ADAPTIVE: base})


def trained_model(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """A defense that is a model of its own (distillation, adversarial training): attacked
    directly, white-box (adaptive) or through examples crafted on the base model
    (oblivious)."""
    if trained is None:
        raise ValueError("this defense needs its trained model")
    return Views(trained, {OBLIVIOUS: base, ADAPTIVE: trained})
