"""One judged condition of a paper claim (issue 28): its point estimate, interval, exact
p-value and state (supported at the pessimistic end of its interval, contradicted at the
optimistic end, else inconclusive), and how it reads in the claims table."""

from __future__ import annotations

import math
from dataclasses import dataclass

from advcompare.paper.conditions import MINUS, OP_WORDS, Condition

SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_RUN, BY_CONSTRUCTION = (
    "supported",
    "contradicted",
    "inconclusive",
    "not run",
    "by construction",
)


@dataclass(frozen=True)
class Judged:
    """One condition's point estimate, interval, exact p-value (paired differences) and
    state, at its (possibly scaled) threshold."""

    condition: Condition
    value: float
    lo: float
    hi: float
    state: str
    n: int
    threshold: float
    p: float = float("nan")

    @property
    def margin(self) -> float:
        """How far the pessimistic end is on the right side of the threshold."""
        if self.condition.op in (">", ">="):
            return self.lo - self.threshold
        return self.threshold - self.hi

    def text(self) -> str:
        """In words and numbers, e.g. "adv. training − none, I-FGSM: +0.740 (0.680 to
        0.800), needs > 0"."""
        exact = ""
        if not math.isnan(self.p):
            exact = ", exact p < 0.001" if self.p < 0.001 else f", exact p = {self.p:.2g}"
        over = " over the attacks" if self.n == 0 else ""  # prediction times: a range
        return (
            f"{self.condition.words()}: {_number(self.value, 3, True)} "
            f"({_number(self.lo, 3, False)} to {_number(self.hi, 3, False)}{over}), needs "
            f"{OP_WORDS[self.condition.op]} {_number(self.threshold, 3, False, short=True)}"
            f"{exact}"
        )


def _number(x: float, digits: int, signed: bool, short: bool = False) -> str:
    text = f"{x:{'+' if signed else ''}.{digits}{'g' if short else 'f'}}"
    return text.replace("-", MINUS)


def _holds(value: float, op: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
    }[op]


def _state(lo: float, hi: float, op: str, t: float) -> str:
    """Supported at the pessimistic end, contradicted at the optimistic end, else
    inconclusive; a zero-width interval decides nothing."""
    pessimistic, optimistic = (lo, hi) if op in (">", ">=") else (hi, lo)
    if hi - lo <= 0:
        return INCONCLUSIVE
    if _holds(pessimistic, op, t):
        return SUPPORTED
    if not _holds(optimistic, op, t):
        return CONTRADICTED
    return INCONCLUSIVE
