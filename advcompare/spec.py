"""Attack specifications with canonical parameter names, validated per attack.

One spec means one thing on every backend: adapters translate these names into each
library's own spelling (see ``advcompare/adapters``). Parameters are in pixel units, inputs in
[0, 1]. The defaults in :data:`ATTACK_PARAMS` are the default run's parameters
(``advcompare/resources/default.toml`` repeats them; ``tests/test_defaults.py`` keeps the two
equal), so ``AttackSpec.create("cw")`` is the attack the default report shows. Papers behind
each attack:

- ``ifgsm``: iterative FGSM with momentum, Dong et al. 2018 (arXiv:1710.06081); decay 0 is
  plain BIM (Kurakin et al. 2016). Paper §2.2.1, equation 3.
- ``deepfool``: Moosavi-Dezfooli et al. 2016 (arXiv:1511.04599). Paper §2.2.2.
- ``cw``: Carlini & Wagner L2 with binary search over c, 2017 (arXiv:1608.04644). Paper §2.2.3.
- ``pixel_swap``: the paper's black-box iterative pixel swap, §2.2.4: "until misclassification
  occurs", so by default every pixel pair of the image may be swapped (``max_swaps`` unset).
- ``one_pixel``: Su et al.'s one-pixel attack, differential evolution, 2019
  (arXiv:1710.08864); a library comparator for the pixel swap.
- ``pixle``: Pomponi et al.'s Pixle, rearranging patches of pixels, 2022 (IJCNN); the paper's
  reference [16] for pixel-swap attacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from advcompare.errors import ConfigError, require_known


@dataclass(frozen=True)
class Param:
    """One canonical parameter: its type, default and the rule a value must satisfy."""

    kind: type
    default: Any
    rule: Callable[[Any], bool]
    rule_text: str
    optional: bool = False  # None is allowed: the library's natural choice, or no cap


def _positive(v: Any) -> bool:
    return v > 0


def _non_negative(v: Any) -> bool:
    return v >= 0


@dataclass(frozen=True)
class AttackRecord:
    """Everything about one attack, in one entry: its canonical parameters, the backend the
    default run takes it from (docs/backends.md says why), its reference and whether it
    needs input gradients (the pixel attacks are black-box: they read predictions)."""

    name: str
    params: dict[str, Param]
    default_backend: str
    reference: str
    gradient: bool


ATTACKS: dict[str, AttackRecord] = {
    r.name: r
    for r in (
        AttackRecord(
            "ifgsm",
            {
                "eps": Param(float, 0.1, lambda v: 0 < v <= 1, "in (0, 1]"),
                "step_size": Param(float, 0.01, lambda v: 0 < v <= 1, "in (0, 1]"),
                "steps": Param(int, 20, _positive, "a positive integer"),
                "decay": Param(float, 1.0, _non_negative, ">= 0 (0 is plain BIM)"),
            },
            "torchattacks",
            "Dong et al. 2018, arXiv:1710.06081; paper §2.2.1",
            True,
        ),
        AttackRecord(
            "deepfool",
            {
                "steps": Param(int, 50, _positive, "a positive integer"),
                "overshoot": Param(float, 0.02, _non_negative, ">= 0"),
                "candidates": Param(int, None, lambda v: v >= 2, "an integer >= 2", optional=True),
            },
            "foolbox",
            "Moosavi-Dezfooli et al. 2016, arXiv:1511.04599; paper §2.2.2",
            True,
        ),
        AttackRecord(
            "cw",
            {
                "c": Param(float, 1.0, _positive, "> 0 (initial c of the binary search)"),
                "binary_search_steps": Param(int, 3, _positive, "a positive integer"),
                "steps": Param(int, 100, _positive, "a positive integer"),
                "lr": Param(float, 0.05, _positive, "> 0"),
                "confidence": Param(float, 0.0, _non_negative, ">= 0 (kappa in the paper)"),
            },
            "foolbox",
            "Carlini & Wagner 2017, arXiv:1608.04644; paper §2.2.3",
            True,
        ),
        AttackRecord(
            "pixel_swap",
            {
                # None: every pixel pair (H*W // 2): swap until misclassified (§2.2.4)
                "max_swaps": Param(
                    int,
                    None,
                    _positive,
                    "a positive integer (none: every pixel pair)",
                    optional=True,
                ),
            },
            "native",
            "paper §2.2.4",
            False,
        ),
        AttackRecord(
            "one_pixel",
            {
                "pixels": Param(int, 1, _positive, "a positive integer"),
                "steps": Param(int, 10, _positive, "a positive integer (evolution iterations)"),
                "popsize": Param(int, None, _positive, "a positive integer", optional=True),
            },
            "torchattacks",
            "Su et al. 2019, arXiv:1710.08864",
            False,
        ),
        AttackRecord(
            "pixle",
            {
                "restarts": Param(int, 20, _positive, "a positive integer"),
                "max_iterations": Param(int, 10, _positive, "a positive integer"),
            },
            "torchattacks",
            "Pomponi et al. 2022 (IJCNN); the paper's reference [16]",
            False,
        ),
    )
}
# Views of the table, for callers that need one column.
ATTACK_PARAMS: dict[str, dict[str, Param]] = {n: r.params for n, r in ATTACKS.items()}
DEFAULT_BACKEND: dict[str, str] = {n: r.default_backend for n, r in ATTACKS.items()}
GRADIENT_ATTACKS = tuple(n for n, r in ATTACKS.items() if r.gradient)


def known_attacks() -> list[str]:
    """Names of every attack a spec can name."""
    return list(ATTACK_PARAMS)


def _coerce(attack: str, name: str, param: Param, value: Any) -> Any:
    where = f"attack '{attack}' parameter '{name}'"
    if value is None:
        if param.optional:
            return None
        raise ConfigError(f"{where}: a value is required ({param.rule_text})")
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected {param.kind.__name__}, got a boolean")
    if param.kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
    elif param.kind is float:
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        value = float(value)
    if not param.rule(value):
        raise ConfigError(f"{where}: must be {param.rule_text}, got {value!r}")
    return value


@dataclass(frozen=True)
class AttackSpec:
    """An attack and its canonical parameters, complete (defaults filled) and validated."""

    attack: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, attack: str, **params: Any) -> "AttackSpec":
        """Validate ``params`` against the attack's schema and fill in defaults."""
        require_known("attack", attack, known_attacks())
        schema = ATTACK_PARAMS[attack]
        unknown = sorted(set(params) - set(schema))
        if unknown:
            raise ConfigError(
                f"attack '{attack}' has no parameter '{unknown[0]}'; "
                f"its parameters are: {', '.join(schema)}"
            )
        full = {
            name: _coerce(attack, name, p, params.get(name, p.default))
            for name, p in schema.items()
        }
        return cls(attack=attack, params=full)

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def __hash__(self) -> int:
        return hash((self.attack, tuple(sorted(self.params.items()))))

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for storage and reports."""
        return {"attack": self.attack, **dict(self.params)}

    def describe(self) -> str:
        """Short human-readable form, e.g. ``ifgsm(eps=0.1, steps=20)``."""
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items() if v is not None)
        return f"{self.attack}({inner})"
