"""The language of the paper's defense claims (``resources/paper_claims.toml``): conditions
such as ``GAIN(adversarial_training, *) > 0``, groups that need ``at least k of`` their
conditions, and the claims that hold them, with their words rendered for a reader."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

PAPER_ATTACKS = ("ifgsm", "deepfool", "cw", "pixel_swap")
# Attacks without a budget (minimum-norm): their claims are also judged at L2 budgets.
UNBOUNDED_ATTACKS = ("deepfool", "cw")
PAPER_DEFENSES = (
    "adversarial_training",
    "feature_smoothing",
    "gradient_masking",
    "defensive_distillation",
)
FUNCTIONS = {
    "F1": 2,
    "ACC": 2,
    "CLEAN": 1,
    "GAIN": 2,
    "CLEAN_GAIN": 1,
    "F1_RATIO": 2,
    "TIME_RATIO": 1,
    "MEAN_F1": 1,
    "ATTACK_GAIN": 1,
    "ALL_GAIN": 0,
}
# Functions that read every attack's cells (so they touch the unbounded attacks too).
EVERY_ATTACK = ("MEAN_F1", "ATTACK_GAIN", "ALL_GAIN")
_TERM = re.compile(
    r"\s*(?P<sign>[+-])?\s*(?:(?P<coef>\d+(?:\.\d+)?)\s*\*\s*)?"
    r"(?P<func>[A-Z_0-9]+)\((?P<args>[^)]*)\)(?:@(?P<dataset>\w+))?"
)
_CLAIM_CONDITION = re.compile(
    r"^(?P<expr>.*?)\s*(?P<op><=|>=|<|>)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$"
)
_AT_LEAST = re.compile(r"^\s*at least (?P<k>\d+) of:\s*(?P<rest>.+)$")

DEFENSE_WORDS = {
    "none": "none",
    "adversarial_training": "adv. training",
    "feature_smoothing": "smoothing",
    "gradient_masking": "masking",
    "defensive_distillation": "distillation",
}
ATTACK_WORDS = {"ifgsm": "I-FGSM", "deepfool": "DeepFool", "cw": "CW", "pixel_swap": "pixel swap"}
DATASET_WORDS = {"mnist": "MNIST", "cifar10": "CIFAR-10", "gtsrb": "GTSRB"}
MINUS = "\u2212"
OP_WORDS = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}
# The sensitivity sentence of a verdict that survives both scaled thresholds.
HOLDS_AT_BOTH = "holds at 0.5× and 1.5× the threshold"


@dataclass(frozen=True)
class Term:
    """``coef × FUNC(args)``, optionally from another dataset (``@dataset``)."""

    coef: float
    func: str
    args: tuple[str, ...]
    dataset: str | None = None

    def words(self) -> str:
        """The figure in words: ``GAIN(adversarial_training, ifgsm)`` → "adv. training −
        none, I-FGSM"."""
        d = [DEFENSE_WORDS.get(a, a) for a in self.args]
        a = [ATTACK_WORDS.get(x, x) for x in self.args]
        f = self.func
        text = {
            "F1": lambda: f"F1 {d[0]}, {a[-1]}",
            "ACC": lambda: f"accuracy {d[0]}, {a[-1]}",
            "CLEAN": lambda: f"clean F1 {d[0]}",
            "GAIN": lambda: f"{d[0]} {MINUS} none, {a[-1]}",
            "CLEAN_GAIN": lambda: f"clean F1 {d[0]} {MINUS} none",
            "F1_RATIO": lambda: f"F1 {d[0]} / none, {a[-1]}",
            "TIME_RATIO": lambda: f"prediction time {d[0]} / none",
            "MEAN_F1": lambda: f"mean F1 {d[0]}",
            "ATTACK_GAIN": lambda: f"mean gain against {a[0]}",
            "ALL_GAIN": lambda: "mean gain",
        }[f]()
        return text + (
            f" on {DATASET_WORDS.get(self.dataset, self.dataset)}" if self.dataset else ""
        )

    def attacks(self) -> tuple[str, ...]:
        """The paper's attacks whose cells the figure reads."""
        if self.func in EVERY_ATTACK:
            return self.args if self.func == "ATTACK_GAIN" else PAPER_ATTACKS
        return tuple(a for a in self.args if a in PAPER_ATTACKS)


@dataclass(frozen=True)
class Condition:
    """``Σ terms op threshold``, as written (``text``)."""

    text: str
    terms: tuple[Term, ...]
    op: str
    threshold: float

    def expand(self) -> list["Condition"]:
        """One condition per attack a ``*`` stands for (the paper's attacks not named
        elsewhere in it); itself when it has no ``*``."""
        if not any("*" in t.args for t in self.terms):
            return [self]
        named = {a for t in self.terms for a in t.args if a in PAPER_ATTACKS}
        out = []
        for attack in (a for a in PAPER_ATTACKS if a not in named):
            terms = tuple(
                replace(t, args=tuple(attack if a == "*" else a for a in t.args))
                for t in self.terms
            )
            out.append(replace(self, text=self.text.replace("*", attack), terms=terms))
        return out

    def words(self) -> str:
        """The figure in words, the true minus sign between terms: "smoothing − none,
        DeepFool − smoothing − none, I-FGSM" reads as two gains."""
        parts = []
        for i, t in enumerate(self.terms):
            coef = abs(t.coef)
            scaled = ("" if coef == 1 else f"{coef:g} × ") + t.words()
            if len(self.terms) > 1:
                scaled = f"({scaled})"
            sign = MINUS if t.coef < 0 else "+"
            parts.append(scaled if i == 0 and t.coef > 0 else f"{sign} {scaled}")
        return " ".join(parts)

    def touches_unbounded(self) -> bool:
        """Whether the figure reads DeepFool or CW cells (claims judged at L2 budgets)."""
        return any(a in UNBOUNDED_ATTACKS for t in self.terms for a in t.attacks())


@dataclass(frozen=True)
class Group:
    """Conditions that must hold together: all of them, or ``at least k`` of them (the
    paper's "most")."""

    text: str
    condition: Condition
    at_least: int | None = None

    def conditions(self) -> list[Condition]:
        return self.condition.expand()

    def needed(self) -> int:
        """How many of the expanded conditions must hold."""
        n = len(self.conditions())
        return n if self.at_least is None else self.at_least


@dataclass(frozen=True)
class Claim:
    """One finding of the paper: where it is, its words, its conditions and the datasets it
    is made for (empty: any)."""

    id: str
    section: str
    label: str
    quote: str
    groups: tuple[Group, ...]  # a bare Condition is read as a group that needs all of it
    scope: str = "each"  # "each": judged per dataset; "across": once, across datasets
    datasets: tuple[str, ...] = ()
    by_construction: str = ""  # why the figure is 0 by construction, when it is
    anchor: float = 0.0  # a vague word's thresholds scale around this value

    def __post_init__(self) -> None:
        # a bare Condition is a group that needs all of its expansions
        groups = tuple(
            g if isinstance(g, Group) else Group(g.text, g)  # type: ignore[unreachable]
            for g in self.groups
        )
        object.__setattr__(self, "groups", groups)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(g.condition for g in self.groups)

    def touches_unbounded(self) -> bool:
        return any(c.touches_unbounded() for g in self.groups for c in g.conditions())


def parse_condition(text: str) -> Condition:
    """``"GAIN(adversarial_training, *) > 0"`` → :class:`Condition` (ValueError naming the
    problem when it is not in the language)."""
    found = _CLAIM_CONDITION.match(text)
    if not found:
        raise ValueError(f"condition {text!r}: expected 'expression op number'")
    expr, pos = found["expr"], 0
    terms: list[Term] = []
    while pos < len(expr):
        term = _TERM.match(expr, pos)
        if not term or (terms and not term["sign"]):
            raise ValueError(f"condition {text!r}: cannot read {expr[pos:]!r}")
        func = term["func"]
        args = tuple(a.strip() for a in term["args"].split(",") if a.strip())
        if FUNCTIONS.get(func) != len(args):
            raise ValueError(
                f"condition {text!r}: {func} takes {FUNCTIONS.get(func, '?')} argument(s); "
                f"known: {', '.join(FUNCTIONS)}"
            )
        coef = float(term["coef"] or 1.0) * (-1.0 if term["sign"] == "-" else 1.0)
        terms.append(Term(coef, func, args, term["dataset"]))
        pos = term.end()
    return Condition(text, tuple(terms), found["op"], float(found["value"]))


def parse_group(text: str) -> Group:
    """``"at least 3 of: GAIN(d, *) > 0"`` (k of the conditions a ``*`` expands to) or a
    plain condition (all of them) → :class:`Group`."""
    found = _AT_LEAST.match(text)
    if not found:
        return Group(text, parse_condition(text))
    group = Group(text, parse_condition(found["rest"]), int(found["k"]))
    n = len(group.conditions())
    if not 1 <= group.needed() <= n:
        raise ValueError(f"condition {text!r}: 'at least k of' needs 1 <= k <= {n}")
    return group


@lru_cache(maxsize=1)
def paper_claims() -> tuple[Claim, ...]:
    """Every claim of ``resources/paper_claims.toml``."""
    with resources.files("advcompare.resources").joinpath("paper_claims.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    return tuple(
        Claim(
            c["id"],
            c["section"],
            c["label"],
            c["quote"],
            tuple(parse_group(t) for t in c["conditions"]),
            c.get("scope", "each"),
            tuple(c.get("datasets", ())),
            c.get("by_construction", ""),
            float(c.get("anchor", 0.0)),
        )
        for c in raw["claim"]
    )
