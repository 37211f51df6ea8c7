"""Fitting a LaTeX table to the page without shrinking it: each column's width estimated from
the font's character widths, the widest columns wrapped (``p{}``) until the table fits the
text width, and the table's height, to set a long one as a ``longtable`` that breaks across
pages instead of a float that leaves a page empty."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from advcompare.report.blocks import numeric

# The page of render_latex's preamble: 10 pt article, letter paper, 2 cm margins (in pt).
LINEWIDTH = 500.0
TEXTHEIGHT = 680.0
TABCOLSEP = 6.0  # LaTeX's \tabcolsep, left and right of every column
LINE = 11.0  # \small's baselineskip: one line of a table cell
# A table taller than this is a longtable (it breaks across pages); a shorter one is placed
# where it stands as one box (float's [H]).
LONG_TABLE = 0.4 * TEXTHEIGHT
# Margin for the estimate's error (kerning, ligatures, math spacing): a table is laid out
# for this share of the text width.
SAFETY = 0.95

# Widths in pt of the T1 Computer Modern roman at \small (9 pt, ecrm0900), by character;
# other symbols by their LaTeX translation, anything else at its widest.
_WIDTHS = {
    **dict.fromkeys("!',.:;[]`|il", 2.57),
    **dict.fromkeys("()", 3.6),
    **dict.fromkeys("fjt", 3.0),
    **dict.fromkeys("-", 3.08),
    **dict.fromkeys("rs", 3.65),
    **dict.fromkeys("ceIz?", 4.2),
    **dict.fromkeys('"$*/0123456789agoJ{}\\', 4.62),
    **dict.fromkeys("kqvxy", 4.88),
    **dict.fromkeys("bdhnpuSZ", 5.14),
    **dict.fromkeys("L^~F", 6.04),
    **dict.fromkeys("BEPw", 6.68),
    **dict.fromkeys("ACDGHKNOQRTUVXY&+<=>@_", 7.2),
    **dict.fromkeys("#%m", 7.71),
    "M": 8.48,
    "W": 9.5,
    " ": 3.1,
    "–": 4.62,
    "—": 9.25,
    "…": 8.3,
    "ε": 3.8,
    "Δ": 7.7,
    "∞": 9.25,
    "≤": 7.2,
    "≥": 7.2,
    "≈": 7.2,
    "≠": 7.2,
    "×": 7.2,
    "−": 7.2,
    "±": 7.2,
    "→": 9.25,
    "“": 4.62,
    "”": 4.62,
    "’": 2.57,
    "§": 4.1,
    "†": 4.1,
    "·": 2.57,
}
_UNKNOWN = 9.25

# Where a cell may break besides its spaces: after these characters (render_latex puts an
# \allowbreak there), so an identifier such as CLEAN_GAIN(defensive_distillation) wraps.
BREAK_AFTER = "_/"
_PIECES = re.compile(r"[^ ]*?[" + re.escape(BREAK_AFTER) + r"]|[^ ]+")


def text_width(text: str) -> float:
    """The width in pt of ``text`` set in one line at \\small (an estimate, a little wide)."""
    return sum(_WIDTHS.get(ch, _UNKNOWN) for ch in text)


def pieces(text: str) -> list[str]:
    """``text`` cut where a line may break: at spaces and after BREAK_AFTER characters."""
    return _PIECES.findall(text)


def lines(text: str, width: float) -> int:
    """How many lines ``text`` takes wrapped at ``width`` pt (greedy, as TeX's ragged right
    nearly does)."""
    count, used = 1, 0.0
    for word in text.split(" "):
        for i, piece in enumerate(pieces(word) or [""]):
            w = text_width(piece) + (text_width(" ") if i == 0 and used else 0.0)
            if used and used + w > width:
                count, used = count + 1, text_width(piece)
            else:
                used += w
    return count


@dataclass
class Fit:
    """A table's columns as laid out: ``widths[i]`` is None for a column at its natural
    width (``l``/``r``), else the pt width it wraps at; with the table's estimated size."""

    widths: list[float | None]
    width: float  # pt, rules and column gaps included
    height: float  # pt, caption and rules included

    @property
    def long(self) -> bool:
        """Too tall to place as one box: set as a longtable."""
        return self.height > LONG_TABLE


def _cap(natural: list[float], least: list[float], room: float) -> list[float] | None:
    """Column widths that fit ``room``: every column at its natural width where they fit,
    else the widest cut to a common cap (never below its ``least``); None if even the
    least widths do not fit."""
    if sum(natural) <= room:
        return natural
    if sum(least) > room:
        return None
    low, high = 0.0, max(natural)
    for _ in range(50):  # bisect the cap
        cap = (low + high) / 2
        if sum(max(m, min(n, cap)) for n, m in zip(natural, least)) > room:
            high = cap
        else:
            low = cap
    return [max(m, min(n, low)) for n, m in zip(natural, least)]


def fit_columns(frame: pd.DataFrame, linewidth: float = LINEWIDTH) -> Fit | None:
    """The frame's columns laid out within ``linewidth``: text columns and the headers of
    numeric ones wrap first, numeric cells (at their spaces) only where that is not enough;
    None if it cannot fit even so (split it into parts, or turn the page)."""
    room = SAFETY * linewidth - 2 * TABCOLSEP * len(frame.columns)
    columns = [[str(v) for v in frame[c]] for c in frame.columns]
    heads = [str(c) for c in frame.columns]
    is_number = [numeric(frame[c]) for c in frame.columns]
    natural = [
        max([text_width(h)] + [text_width(v) for v in cells]) for h, cells in zip(heads, columns)
    ]

    def least(text: str) -> float:
        return max((text_width(p.strip()) for p in pieces(text)), default=0.0)

    head_least = [max(text_width(w) for w in h.split(" ")) for h in heads]  # break at spaces
    cell_least = [max((least(v) for v in cells), default=0.0) for cells in columns]
    whole = [max((text_width(v) for v in cells), default=0.0) for cells in columns]
    widths = None
    for keep_numbers in (True, False):
        floor = [
            max(h, w if number and keep_numbers else c)
            for h, c, w, number in zip(head_least, cell_least, whole, is_number)
        ]
        widths = _cap(natural, floor, room)
        if widths is not None:
            break
    if widths is None:
        return None
    laid = [None if w >= n else w for w, n in zip(widths, natural)]
    rows = [heads] + [list(r) for r in zip(*columns)]
    height = 4 * LINE + sum(
        LINE * max((1 if w is None else lines(v, w) for v, w in zip(row, laid)), default=1)
        for row in rows
    )
    return Fit(laid, sum(widths) + 2 * TABCOLSEP * len(widths), height)
