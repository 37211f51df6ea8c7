"""The report's building block: a heading, a paragraph, a table or a figure."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from advcompare.analysis.statistics import DEFAULT_CONFIDENCE

# How a reader regenerates a report from its run directory (every section says so)
REGENERATE = "advcompare report <run-dir>"


@dataclass
class Block:
    """One piece of the report: a heading, a paragraph, a table or a figure."""

    kind: str  # "heading", "text", "table", "figure"
    text: str = ""  # heading or paragraph (Markdown inline: `code`, **bold**, *emphasis*)
    level: int = 0  # heading level (1 = title)
    table: pd.DataFrame | None = None
    caption: str = ""
    wide: tuple[str, ...] = ()  # long-text columns: footnoted; the table wraps, never splits
    path: str = ""  # figure path, relative to the run directory, without suffix
    notes: tuple[str, ...] = ()  # a table's footnotes, numbered (1), (2), ... in its cells
    one_page: bool = False  # a table a paper takes whole: LaTeX sets it on one page


def level_text(confidence: float) -> str:
    """A confidence level as the report states it: 0.95 → "95%", 0.975 → "97.5%"."""
    return f"{confidence * 100:g}%"


# The level a section states when the caller names none: the default [statistics] confidence.
LEVEL = level_text(DEFAULT_CONFIDENCE)


def heading(level: int, text: str) -> Block:
    """A heading at ``level`` (1 = the title)."""
    return Block("heading", text, level)


def paragraph(text: str) -> Block:
    """A paragraph, or a list when every line starts with ``- ``."""
    return Block("text", text)


_NUMBER = re.compile(r"^[-−+]?(\d|\.\d)")
_EMPTY = {"", "—", "–", "-", "n/a", "nan", "NaN"}


def numeric(column: pd.Series) -> bool:
    """Every filled cell starts with a number (``0.120 (0.094–0.145)``, ``−3.2``, ``81%``)."""
    cells = [str(v).strip() for v in column if str(v).strip() not in _EMPTY]
    return bool(cells) and all(_NUMBER.match(c) for c in cells)


def split_columns(frame: pd.DataFrame, max_columns: int) -> list[pd.DataFrame]:
    """``frame`` as it is, or split into parts of at most ``max_columns`` columns, each
    repeating the leading text columns (up to 3) that name its rows: a wide table printed
    as two narrower ones, never shrunk."""
    if len(frame.columns) <= max_columns:
        return [frame]
    keys: list[str] = []
    for column in frame.columns:  # a part keeps at least one column of its own
        if numeric(frame[column]) or len(keys) == min(3, max(max_columns - 1, 1)):
            break
        keys.append(column)
    rest = [c for c in frame.columns if c not in keys]
    step = max(max_columns - len(keys), 1)
    return [frame[keys + rest[i : i + step]] for i in range(0, len(rest), step)]


# A long cell of a footnoted column keeps about this many characters, then "… (n)".
LABEL_CHARS = 36
# A table set on one page (the claims) cuts its footnoted cells shorter, to keep rows to a line.
ONE_PAGE_LABEL_CHARS = 30


def footnoted(
    frame: pd.DataFrame, columns: tuple[str, ...], chars: int = LABEL_CHARS
) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with each long cell of ``columns`` cut to a short label and a numbered
    marker, and the full texts in marker order, to print under the table (equal texts share
    one note). Keeps a paper's table narrow whatever a cause says."""
    notes: list[str] = []
    out = frame.copy()
    for column in columns:
        if column not in out:
            continue
        cells = []
        for value in out[column]:
            text = str(value)
            if len(text) <= chars + 6:
                cells.append(text)
                continue
            if text not in notes:
                notes.append(text)
            cut = text[:chars].rsplit(" ", 1)[0].rstrip(" ,;:(")
            cells.append(f"{cut}… ({notes.index(text) + 1})")
        out[column] = cells
    return out, notes


def table(
    frame: pd.DataFrame,
    caption: str,
    wide: tuple[str, ...] = (),
    footnote: tuple[str, ...] | None = None,
    one_page: bool = False,
) -> Block:
    """A table of display strings; long cells of the ``footnote`` columns (default: the
    ``wide`` ones) become short labels with numbered footnotes under the table. A
    ``one_page`` table is one a paper takes whole: LaTeX sets its rows on one page."""
    chars = ONE_PAGE_LABEL_CHARS if one_page else LABEL_CHARS
    short, notes = footnoted(frame, wide if footnote is None else footnote, chars)
    return Block(
        "table", table=short, caption=caption, wide=wide, notes=tuple(notes), one_page=one_page
    )


def figure(path: str, caption: str) -> Block:
    """A figure drawn as ``<path>.png`` and ``<path>.pdf``."""
    return Block("figure", path=path, caption=caption)
