"""Rows of an experiment: a label, a validated attack spec and the backend that runs it, and
how a list of attacks (config tables or the API's names, specs and dicts) becomes rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence, Union

from advcompare.adapters.registry import (
    backends_supporting,
    require_capability,
    validate_backend_name,
)
from advcompare.attacks.spec import AttackSpec
from advcompare.errors import ConfigError, UnsupportedSpecError

ALL_BACKENDS = "all"
AttackLike = Union[AttackSpec, str, Mapping[str, Any]]


@dataclass(frozen=True)
class AttackEntry:
    """A labelled attack spec on one backend (the label names the report's row)."""

    label: str
    spec: AttackSpec
    backend: str
    curve: bool = True  # a bounded attack also runs at the budget curve's other ε
    samples: int = 0  # attack only the first this many of the run's images (0: all of them)

    @property
    def eps(self) -> float | None:
        """The budget ε of a bounded attack (None for a minimum-norm or unbounded one: only a
        bounded attack's spec has ``eps``)."""
        value = self.spec.params.get("eps")
        return None if value is None else float(value)


def no_duplicates(where: str, values: Any) -> None:
    """Fail naming the first value listed twice under config key ``where``."""
    seen: set = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"config key '{where}': lists '{value}' twice; name each once")
        seen.add(value)


def expand_backends(
    label: str,
    spec: AttackSpec,
    backends: str | list[str],
    curve: bool = True,
    samples: int = 0,
) -> tuple[AttackEntry, ...]:
    """One entry per backend; ``"all"`` means every backend that provides the attack."""
    if backends == ALL_BACKENDS:
        names = backends_supporting(spec.attack)
    else:
        names = [backends] if isinstance(backends, str) else list(backends)
    for name in names:
        validate_backend_name(name)
    no_duplicates(f"attacks.{label}.backend", names)
    return tuple(AttackEntry(label, spec, name, curve, samples) for name in names)


def spec_of(item: AttackLike) -> tuple[str, AttackSpec]:
    """(label, complete validated spec) of one API ``attacks`` item; defaults come only from
    :meth:`AttackSpec.create`."""
    if isinstance(item, AttackSpec):
        return item.attack, AttackSpec.create(item.attack, **dict(item.params))
    if isinstance(item, str):
        return item, AttackSpec.create(item)
    if isinstance(item, Mapping):
        params = dict(item)
        attack = params.pop("attack", None)
        if not isinstance(attack, str):
            raise ConfigError(
                f'attack {dict(item)!r} names no attack; give it an "attack" '
                f'key, e.g. {{"attack": "cw", "steps": 100}}'
            )
        label = params.pop("label", attack)
        if not isinstance(label, str) or not label:
            raise ConfigError(f'attack {dict(item)!r}: "label" must be a non-empty string')
        return label, AttackSpec.create(attack, **params)
    raise ConfigError(
        f"cannot read {item!r} as an attack; give an attack name, an AttackSpec "
        f'or a dict such as {{"attack": "cw", "steps": 100}}'
    )


def attack_entries(
    attacks: AttackLike | Iterable[AttackLike], backends: str | Sequence[str] = ALL_BACKENDS
) -> list[AttackEntry]:
    """The (label, spec, backend) rows the API would run, validated: unknown attack,
    parameter or backend names, a backend that does not provide an attack and a label used
    twice are each an error here (the class count is checked once the model is probed)."""
    if isinstance(attacks, (AttackSpec, str, Mapping)):
        attacks = [attacks]
    attacks = list(attacks)
    if not attacks:
        raise ConfigError('attacks is empty; name at least one, e.g. attacks=["ifgsm"]')
    if not isinstance(backends, str):
        backends = list(backends)
        if not backends or not all(isinstance(b, str) for b in backends):
            raise ConfigError(
                f'backends must be a backend name, a list of names or "all"; got {backends!r}'
            )
        twice = sorted({b for b in backends if backends.count(b) > 1})
        if twice:
            raise ConfigError(f"backends lists '{twice[0]}' twice; name each backend once")
    entries: list[AttackEntry] = []
    seen: set[str] = set()
    for item in attacks:
        label, spec = spec_of(item)
        if label in seen:
            raise ConfigError(
                f"two attacks are labelled '{label}'; give each a distinct "
                f'"label", e.g. {{"attack": "{spec.attack}", '
                f'"label": "{label}-2", ...}}'
            )
        seen.add(label)
        rows = expand_backends(label, spec, backends)
        if not rows:
            raise UnsupportedSpecError(f"no backend provides attack '{spec.attack}'")
        for entry in rows:
            require_capability(entry.backend, entry.spec)
        entries.extend(rows)
    return entries
