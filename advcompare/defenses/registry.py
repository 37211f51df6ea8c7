"""Defenses by name: parameters, how each is built on the base CNN, and what each threat model
attacks.

Threat models (paper §3.5 evaluates the first kind of defense only one way; we make both
explicit):
- ``oblivious``: adversarial examples are crafted on the undefended model, then classified by
  the defended one (only for the preprocessing defenses, whose base model is the same).
- ``adaptive``: the attack sees the defended pipeline end to end; where the pipeline is
  randomised (gradient masking) gradient attacks see its expectation over ``eot_samples``
  draws (Athalye et al. 2018).
Trained defenses (distillation, adversarial training) are cached like the base model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from advcompare.errors import ConfigError, require_known
from advcompare.hashing import digest
from advcompare.spec import GRADIENT_ATTACKS

OBLIVIOUS, ADAPTIVE = "oblivious", "adaptive"


@dataclass(frozen=True)
class Rule:
    """One defense parameter: its default and the rule a value must satisfy."""

    default: Any
    check: Callable[[Any], bool]
    text: str


def _finite_number(
    low: float, high: float = math.inf, *, open_low: bool = True, open_high: bool = False
) -> Callable[[Any], bool]:
    def ok(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        return (v > low if open_low else v >= low) and (v < high if open_high else v <= high)

    return ok


def _int_at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


@dataclass(frozen=True)
class DefenseRecord:
    """Everything about one defense: its parameters with their rules, whether it trains a
    model of its own, the threat models it is evaluated under, and the paper section."""

    name: str
    params: dict[str, Rule]
    trains: bool
    threats: tuple[str, ...]
    paper: str


DEFENSES: dict[str, DefenseRecord] = {
    r.name: r
    for r in (
        DefenseRecord("none", {}, False, (ADAPTIVE,), "no defense"),
        DefenseRecord(
            "adversarial_training",
            {
                "epochs": Rule(5, _int_at_least(1), "an integer >= 1"),
                "clean_share": Rule(
                    0.0,
                    _finite_number(0.0, 1.0, open_low=False, open_high=True),
                    "a number in [0, 1)",
                ),
                "attacks": Rule(
                    [],
                    lambda v: (
                        isinstance(v, list)
                        and all(isinstance(a, str) and a for a in v)
                        and len(set(v)) == len(v)
                    ),
                    "a list of distinct attack labels (empty: every configured attack)",
                ),
            },
            True,
            (ADAPTIVE,),
            "§2.3.1",
        ),
        DefenseRecord(
            "feature_smoothing",
            {
                "kernel_size": Rule(
                    3,
                    lambda v: _int_at_least(1)(v) and v % 2 == 1 and v <= 31,
                    "an odd integer in [1, 31]",
                ),
                "sigma": Rule(1.0, _finite_number(0.0, 100.0), "a number in (0, 100]"),
            },
            False,
            (OBLIVIOUS, ADAPTIVE),
            "§2.3.2",
        ),
        DefenseRecord(
            "gradient_masking",
            {
                "epsilon": Rule(0.01, _finite_number(0.0, 1e3), "a number in (0, 1000]"),
                "eot_samples": Rule(
                    10, lambda v: _int_at_least(1)(v) and v <= 1000, "an integer in [1, 1000]"
                ),
            },
            False,
            (OBLIVIOUS, ADAPTIVE),
            "§2.3.3",
        ),
        DefenseRecord(
            "defensive_distillation",
            {
                "temperature": Rule(20.0, _finite_number(0.0, 1e4), "a number in (0, 10000]"),
            },
            True,
            (ADAPTIVE,),
            "§2.3.4",
        ),
    )
}
# Kept for callers that read the defaults as a plain table.
DEFENSE_PARAMS: dict[str, dict[str, Any]] = {
    name: {k: rule.default for k, rule in record.params.items()}
    for name, record in DEFENSES.items()
}
PREPROCESSING = tuple(n for n, r in DEFENSES.items() if OBLIVIOUS in r.threats)


def known_defenses() -> list[str]:
    return list(DEFENSES)


def defense_params(name: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """``given`` over the defense's defaults, each value checked against its rule."""
    require_known("defense", name, known_defenses())
    record = DEFENSES[name]
    params = {
        k: (list(r.default) if isinstance(r.default, list) else r.default)
        for k, r in record.params.items()
    }
    for key, value in (given or {}).items():
        if key not in record.params:
            raise ConfigError(
                f"defense '{name}' has no parameter '{key}'; its parameters "
                f"are: {', '.join(record.params) or 'none'}"
            )
        rule = record.params[key]
        if (
            isinstance(rule.default, float)
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = float(value)
        if not rule.check(value):
            raise ConfigError(
                f"config key 'defense.{name}.{key}': must be {rule.text}, got {value!r}"
            )
        params[key] = value
    return params


def threat_models(name: str) -> tuple[str, ...]:
    """Which threat models a defense is evaluated under."""
    return DEFENSES[name].threats


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
        if threat == ADAPTIVE and self.eot_view is not None and attack in GRADIENT_ATTACKS:
            return self.eot_view
        return self.views[threat]


def needs_training(name: str) -> bool:
    """Whether a defense trains a model of its own (cached like the base model)."""
    return DEFENSES[name].trains


def defense_key(base_key: str, name: str, params: dict[str, Any], extra: Any = None) -> str:
    payload = {"base": base_key, "defense": name, "params": params, "extra": extra}
    return f"{base_key}-{name}-{digest(payload, 10)}"


def chosen_attacks(params: dict[str, Any], attacks: Sequence[Any]) -> list[Any]:
    """The configured attacks adversarial training draws from (all, or those labelled)."""
    chosen = [a for a in attacks if not params["attacks"] or a.label in params["attacks"]]
    if not chosen:
        raise ConfigError(
            "config key 'defense.adversarial_training.attacks': names no configured attack label"
        )
    return chosen


def key_of(name: str, params: dict[str, Any], base_key: str, attacks: Sequence[Any] = ()) -> str:
    """The defended classifier's key: the base model's for ``none``."""
    if name == "none":
        return base_key
    extra = None
    if name == "adversarial_training":
        extra = [(a.label, a.backend, a.spec.as_dict()) for a in chosen_attacks(params, attacks)]
    return defense_key(base_key, name, params, extra)


def train_defense(
    name: str,
    params: dict[str, Any],
    base_model: nn.Module,
    dataset,
    train_config,
    device: torch.device | str,
    attacks: Sequence[Any] = (),
    factory: str = "",
) -> tuple[nn.Module, list[dict[str, float]]]:
    """Train the model of a trained defense: (model, loss history). ``factory`` names a
    user's model (``package.module:factory``): distillation then trains teacher and student
    built by it instead of the paper CNN."""
    device = torch.device(device)
    if name == "defensive_distillation":
        from advcompare.defenses.distillation import distill

        result = distill(dataset, train_config, params["temperature"], device, factory=factory)
        return result.student, result.student_history
    if name == "adversarial_training":
        from advcompare.defenses.adversarial_training import adversarially_train

        trained = adversarially_train(
            base_model,
            dataset,
            chosen_attacks(params, attacks),
            train_config,
            device,
            epochs=params["epochs"],
            clean_share=params["clean_share"],
        )
        return trained.model, trained.history
    raise ValueError(f"defense '{name}' trains no model")


def assemble_defense(
    name: str,
    params: dict[str, Any],
    base_model: nn.Module,
    key: str,
    trained: nn.Module | None = None,
    history: list[dict[str, float]] | None = None,
    from_cache: bool = True,
) -> Defended:
    """The defended classifier and its per-threat views, from the base model (and, for a
    trained defense, its trained model)."""
    from advcompare.defenses.eot import ExpectationOverTransformation
    from advcompare.defenses.gradient_masking import GradientMasked
    from advcompare.defenses.smoothing import smoothed

    if name == "none":
        return Defended(name, params, base_model, key, {ADAPTIVE: base_model})
    if name == "feature_smoothing":
        blurred: nn.Module = smoothed(base_model, params["kernel_size"], params["sigma"]).eval()
        return Defended(name, params, blurred, key, {OBLIVIOUS: base_model, ADAPTIVE: blurred})
    if name == "gradient_masking":
        masked: nn.Module = GradientMasked(base_model, params["epsilon"]).eval()
        eot = ExpectationOverTransformation(masked, params["eot_samples"]).eval()
        return Defended(
            name, params, masked, key, {OBLIVIOUS: base_model, ADAPTIVE: masked}, eot_view=eot
        )
    if trained is None:
        raise ValueError(f"defense '{name}' needs its trained model")
    return Defended(
        name,
        params,
        trained,
        key,
        {ADAPTIVE: trained},
        history=list(history or []),
        from_cache=from_cache,
    )


def build_defense(
    name: str,
    params: dict[str, Any],
    base,
    dataset,
    train_config,
    device: torch.device,
    cache_dir: Path,
    attacks: Sequence[Any] = (),
) -> Defended:
    """The defended classifier for ``name`` on top of ``base`` (a TrainedModel), training
    (or loading from the weights cache) the model of a trained defense."""
    from advcompare.train import untrained
    from advcompare.weights import Weights, WeightsCache

    key = key_of(name, params, base.key, attacks)
    if not needs_training(name):
        return assemble_defense(name, params, base.model, key)
    cache = WeightsCache(cache_dir)
    cached = cache.load(key, dataset.num_classes, untrained(dataset))
    if cached is None:
        cache.check_writable()
        model, history = train_defense(
            name, params, base.model, dataset, train_config, device, attacks
        )
        cached = Weights.of(key, model, dataset.num_classes, history)
        cache.save(cached, {"defense": name, "params": params})
    model = cached.load_into(untrained(dataset), device)
    return assemble_defense(name, params, base.model, key, model, cached.history, cached.from_cache)
