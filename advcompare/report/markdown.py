"""The report as Markdown: GitHub tables by tabulate, figures as PNG."""

from __future__ import annotations

import pandas as pd

from advcompare.report.blocks import Block


def markdown_table(frame: pd.DataFrame) -> str:
    """A frame of display strings as a GitHub Markdown table."""
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def render_markdown_blocks(blocks: list[Block]) -> str:
    """The blocks as one Markdown document (``report.md``)."""
    out: list[str] = []
    for b in blocks:
        if b.kind == "heading":
            out += ["#" * b.level + " " + b.text, ""]
        elif b.kind == "text":
            out += [b.text, ""]
        elif b.kind == "table":
            out += [markdown_table(b.table), ""]
        elif b.kind == "figure":
            out += [f"![{b.caption}]({b.path}.png)", ""]
    return "\n".join(out)
