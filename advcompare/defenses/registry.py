"""Defenses by name: one record each, holding its parameters with their rules, the threat
models it is evaluated under, how it is built on the base model, how its own model is trained
(distillation, adversarial training: cached like the base model) and what besides its
parameters its key depends on. Nothing outside this table asks for a defense by name: adding
a defense is one :func:`register_defense` call (docs/architecture.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from advcompare.defenses import (
    adversarial_training,
    distillation,
    gradient_masking,
    retrained,
    smoothing,
)
from advcompare.defenses.defended import (
    ADAPTIVE,
    OBLIVIOUS,
    Defended,
    Views,
    trained_model,
    undefended,
)
from advcompare.errors import ConfigError, require_known
from advcompare.hashing import digest

__all__ = ["ADAPTIVE", "OBLIVIOUS", "Defended", "DefenseRecord", "DEFENSES"]

# (params, base model, trained model or None) → the classifier and its per-threat views.
Build = Callable[[dict[str, Any], nn.Module, "nn.Module | None"], Views]
# (params, base model, dataset, train config, device, attack entries, user factory)
#   → (trained model, loss history)
Train = Callable[..., "tuple[nn.Module, list[dict[str, float]]]"]


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
    """Everything about one defense: its parameters with their rules, the threat models it
    is evaluated under, the paper section, its display name, and its functions: ``build``
    (always), ``train`` (a defense with a model of its own), ``key_extra`` (what else its
    trained model depends on, e.g. the attacks it trains on) and ``check_labels`` (the
    configured attack labels it may name). ``adaptive_revision``: raised whenever
    ``build``'s adaptive views change (the adaptive attacks: ``docs/defenses.md``), so stored
    adaptive cells crafted the old way are crafted again (0: part of no key)."""

    name: str
    params: dict[str, Rule]
    threats: tuple[str, ...]
    paper: str
    display: str
    build: Build
    train: Train | None = None
    key_extra: Callable[[dict[str, Any], Sequence[Any]], Any] | None = None
    check_labels: Callable[[dict[str, Any], list[str]], None] | None = None
    adaptive_revision: int = 0
    check_seeds: Callable[[dict[str, Any], tuple[int, ...]], None] | None = None

    @property
    def trains(self) -> bool:
        return self.train is not None


DEFENSES: dict[str, DefenseRecord] = {
    r.name: r
    for r in (
        DefenseRecord("none", {}, (ADAPTIVE,), "no defense", "no defense", undefended),
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
            (OBLIVIOUS, ADAPTIVE),
            "§2.3.1",
            "adversarial training",
            trained_model,
            train=adversarial_training.train,
            key_extra=adversarial_training.key_extra,
            check_labels=adversarial_training.check_labels,
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
            (OBLIVIOUS, ADAPTIVE),
            "§2.3.2",
            "feature smoothing",
            smoothing.build,
        ),
        DefenseRecord(
            "gradient_masking",
            {
                "epsilon": Rule(0.01, _finite_number(0.0, 1e3), "a number in (0, 1000]"),
                # Kept so that configs stay valid: EOT answers a random forward pass, and
                # masking's is deterministic (BPDA is exact), so no attack uses it.
                "eot_samples": Rule(
                    10, lambda v: _int_at_least(1)(v) and v <= 1000, "an integer in [1, 1000]"
                ),
            },
            (OBLIVIOUS, ADAPTIVE),
            "§2.3.3",
            "gradient masking",
            gradient_masking.build,
            adaptive_revision=1,  # 1: BPDA (identity backward) instead of EOT
        ),
        DefenseRecord(
            "defensive_distillation",
            {
                "temperature": Rule(20.0, _finite_number(0.0, 1e4), "a number in (0, 10000]"),
            },
            (OBLIVIOUS, ADAPTIVE),
            "§2.3.4",
            "defensive distillation",
            distillation.build,
            train=distillation.train,
            adaptive_revision=1,  # 1: margin over T for soft-max-loss attacks
        ),
        DefenseRecord(
            "retrained",
            {
                "seed": Rule(
                    1, _int_at_least(0), "an integer >= 0 other than the base model's seed"
                ),
            },
            (OBLIVIOUS, ADAPTIVE),
            "control, not in the paper",
            "retrained control",
            trained_model,
            train=retrained.train,
            check_seeds=retrained.check_seeds,
        ),
    )
}


def register_defense(record: DefenseRecord) -> DefenseRecord:
    """Add a defense: with this one entry it gets plan cells (per threat model), report
    columns and its figures. A name is registered once."""
    if record.name in DEFENSES and DEFENSES[record.name] != record:
        raise ValueError(f"defense '{record.name}' is already registered")
    DEFENSES[record.name] = record
    return record


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


def check_attack_labels(defenses: Sequence[tuple[str, dict[str, Any]]], labels: list[str]) -> None:
    """Every attack label a configured defense names must be a configured attack."""
    for name, params in defenses:
        check = DEFENSES[name].check_labels
        if check is not None:
            check(params, labels)


def check_defense_seeds(
    defenses: Sequence[tuple[str, dict[str, Any]]], training_seeds: tuple[int, ...]
) -> None:
    """Every configured defense's parameters against the run's training seeds (the
    retraining control must not be trained from one of them), before any training."""
    for name, params in defenses:
        check = DEFENSES[name].check_seeds
        if check is not None:
            check(params, training_seeds)


def threat_models(name: str) -> tuple[str, ...]:
    """Which threat models a defense is evaluated under."""
    return DEFENSES[name].threats


def threat_key(name: str, threat: str) -> str:
    """A cell's threat model as its key holds it: with the defense's adaptive revision for an
    adaptive cell, so a changed adaptive attack is run again rather than read back."""
    revision = DEFENSES[name].adaptive_revision if name in DEFENSES else 0
    return f"{threat}-r{revision}" if threat == ADAPTIVE and revision else threat


def needs_training(name: str) -> bool:
    """Whether a defense trains a model of its own (cached like the base model)."""
    return DEFENSES[name].trains


def defense_key(base_key: str, name: str, params: dict[str, Any], extra: Any = None) -> str:
    payload = {"base": base_key, "defense": name, "params": params, "extra": extra}
    return f"{base_key}-{name}-{digest(payload, 10)}"


def key_of(name: str, params: dict[str, Any], base_key: str, attacks: Sequence[Any] = ()) -> str:
    """The defended classifier's key: the base model's for ``none``."""
    if name == "none":
        return base_key
    key_extra = DEFENSES[name].key_extra
    extra = None if key_extra is None else key_extra(params, attacks)
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
    user's model (``package.module:factory``), which a defense then builds instead of the
    paper CNN."""
    train = DEFENSES[name].train
    if train is None:
        raise ValueError(f"defense '{name}' trains no model")
    return train(params, base_model, dataset, train_config, torch.device(device), attacks, factory)


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
    views = DEFENSES[name].build(params, base_model, trained)
    return Defended(
        name,
        params,
        views.classifier,
        key,
        dict(views.by_threat),
        tuple(views.adaptive),
        history=list(history or []),
        from_cache=from_cache,
    )
