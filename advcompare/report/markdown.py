"""The report as Markdown: GitHub tables by tabulate, figures as PNG, prose wrapped at
WIDTH characters (a paragraph's line breaks do not show when rendered)."""

from __future__ import annotations

import re
import textwrap

import pandas as pd

from advcompare.report.blocks import Block, split_columns

# No line of a report is wider than this (a table wider still is split into parts).
MAX_LINE = 200


def line_width(line: str) -> int:
    """A line's width as the strictest tool counts it: in UTF-8 bytes (awk's ``length``), so
    that a line of ``≤`` and ``ε`` is within MAX_LINE by any count."""
    return len(line.encode())


def markdown_table(frame: pd.DataFrame) -> str:
    """A frame of display strings as a GitHub Markdown table; one wider than MAX_LINE is
    split into parts that repeat its name columns, one under the other."""
    columns = len(frame.columns)
    while True:
        parts = [
            p.to_markdown(index=False, tablefmt="github", disable_numparse=True)
            for p in split_columns(frame, columns)
        ]
        widest = max(line_width(line) for p in parts for line in p.splitlines())
        if widest <= MAX_LINE or columns <= 2:
            return "\n\n".join(parts)
        columns -= 1


WIDTH = 100
_ITEM = re.compile(r"- |\d+\. ")  # a list item's marker: its wrapped lines indent past it


def wrap_markdown(text: str, width: int = WIDTH) -> str:
    """A paragraph or list wrapped at ``width``: list items (``- ``, ``1. ``) keep a hanging
    indent; words (and code spans' words) are never split."""
    out = []
    for line in text.split("\n"):
        item = _ITEM.match(line)
        out.append(
            textwrap.fill(
                line,
                width,
                subsequent_indent=" " * (item.end() if item else 0),
                break_long_words=False,
                break_on_hyphens=False,
            )
            or line
        )
    return "\n".join(out)


def footnote_lines(notes: tuple[str, ...] | list[str]) -> str:
    """A table's footnotes as a numbered list, wrapped."""
    return wrap_markdown("\n".join(f"{i}. {note}" for i, note in enumerate(notes, 1)))


def render_markdown_blocks(blocks: list[Block]) -> str:
    """The blocks as one Markdown document (``report.md``)."""
    out: list[str] = []
    for b in blocks:
        if b.kind == "heading":
            out += ["#" * b.level + " " + b.text, ""]
        elif b.kind == "text":
            out += [wrap_markdown(b.text), ""]
        elif b.kind == "table":
            out += [markdown_table(b.table), ""]
            if b.notes:
                out += [footnote_lines(b.notes), ""]
        elif b.kind == "figure":
            out += [f"![{b.caption}]({b.path}.png)", ""]
    return "\n".join(out)
