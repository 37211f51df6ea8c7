"""The report's building block: a heading, a paragraph, a table or a figure."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Block:
    """One piece of the report: a heading, a paragraph, a table or a figure."""

    kind: str  # "heading", "text", "table", "figure"
    text: str = ""  # heading or paragraph (Markdown inline: `code`, **bold**, *emphasis*)
    level: int = 0  # heading level (1 = title)
    table: pd.DataFrame | None = None
    caption: str = ""
    wide: tuple[str, ...] = ()  # columns that wrap in LaTeX (long text)
    path: str = ""  # figure path, relative to the run directory, without suffix


def heading(level: int, text: str) -> Block:
    """A heading at ``level`` (1 = the title)."""
    return Block("heading", text, level)


def paragraph(text: str) -> Block:
    """A paragraph, or a list when every line starts with ``- ``."""
    return Block("text", text)


def table(frame: pd.DataFrame, caption: str, wide: tuple[str, ...] = ()) -> Block:
    """A table of display strings; ``wide`` columns wrap in LaTeX."""
    return Block("table", table=frame, caption=caption, wide=wide)


def figure(path: str, caption: str) -> Block:
    """A figure drawn as ``<path>.png`` and ``<path>.pdf``."""
    return Block("figure", path=path, caption=caption)
