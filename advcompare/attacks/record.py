"""What an attack's record holds: its canonical parameters with their rules, the norm it
bounds or minimises, its threat (what it looks for) and whether it needs gradients.

The records themselves live in :mod:`advcompare.attacks.spec` (the paper's attacks and the strength
reference) and :mod:`advcompare.attacks.atlas_records` (the cross-library atlas); nothing else names
attacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

# How far outside [0, 1] an output may sit and still count as inside the box: the output
# contract clips to it (adapters.base.finish) and the grader checks it (analysis.metrics)
BOX_TOLERANCE = 1e-6
NORMS = ("linf", "l2", "l1", "l0")


@dataclass(frozen=True)
class Param:
    """One canonical parameter: its type, default and the rule a value must satisfy."""

    kind: type  # int, float, bool or str
    default: Any
    rule: Callable[[Any], bool]
    rule_text: str
    optional: bool = False  # None is allowed: the library's natural choice, or no cap


def choice(default: str, *options: str) -> Param:
    """A string parameter that must be one of ``options``."""
    return Param(str, default, lambda v: v in options, "one of " + ", ".join(map(repr, options)))


def flag(default: bool) -> Param:
    """A true/false parameter."""
    return Param(bool, default, lambda v: True, "true or false")


def positive(v: Any) -> bool:
    return v > 0


def non_negative(v: Any) -> bool:
    return v >= 0


# What an attack looks for, the "kind" of its record (a defense's "threat model", oblivious or
# adaptive, is another thing): a perturbation inside a fixed budget, the smallest perturbation
# that fools (so one run gives robust accuracy at every budget), or, with no gradient at all,
# a change found from the model's decisions or scores alone.
BOUNDED, MINIMUM_NORM, DECISION_BASED, SCORE_BASED = (
    "bounded",
    "minimum-norm",
    "decision-based",
    "score-based",
)
KINDS = (BOUNDED, MINIMUM_NORM, DECISION_BASED, SCORE_BASED)

# The check an attack makes on the inputs it would get: (its complete parameters, image
# height, width, the class count, what has them: "the model" or a dataset's name) → None, or
# what does not fit and the fix.
InputCheck = Callable[[Mapping[str, Any], int, int, int, str], Optional[str]]


@dataclass(frozen=True)
class AttackRecord:
    """Everything other modules ask about one attack, in one entry (Foolbox 3 keeps an attack
    and its criterion apart the same way: nothing else names attacks).

    ``params``: canonical parameters; ``default_backend``: the backend the default run takes
    it from (docs/backends.md says why); ``display``: its name in reports and figures;
    ``norm``: the norm it bounds or minimises (one of :data:`NORMS`); ``kind``: one of
    :data:`KINDS`; ``gradient``: whether it needs input gradients; ``paper``: the paper
    attack it is (its name in the paper's tables), or None; ``comparator_of``: the paper
    attack it is a library comparator for, or None; ``check_input``: refuses inputs it
    cannot attack (None: any image)."""

    name: str
    params: dict[str, Param]
    default_backend: str
    reference: str
    display: str
    norm: str
    kind: str
    gradient: bool
    paper: str | None = None
    comparator_of: str | None = None
    check_input: InputCheck | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"attack '{self.name}': kind must be one of {KINDS}")
        if self.norm not in NORMS:
            raise ValueError(f"attack '{self.name}': norm must be one of {NORMS}")

    @property
    def minimum_norm(self) -> bool:
        """A minimum-L2 attack: one run gives robust accuracy at every L2 budget (the L2
        curves). Minimum-norm attacks in other norms (EAD's L1, JSMA's L0) draw none."""
        return self.kind == MINIMUM_NORM and self.norm == "l2"

    @property
    def has_eps_curve(self) -> bool:
        """A bounded attack with an ``eps``: run again at other ε for the budget
        (security-evaluation) curve, its step size scaled in proportion where it has one."""
        return self.budget_norm is not None

    @property
    def budget_norm(self) -> str | None:
        """The norm whose ball (of radius ``eps``) every output must stay in, or None."""
        return self.norm if self.kind == BOUNDED and "eps" in self.params else None
