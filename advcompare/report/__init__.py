"""Reports rendered from stored results: Markdown and LaTeX, CSV, JSON, PNG and PDF.

Results are data (one row per cell in the SQLite store, as RobustBench keeps one JSON per
model); every table here is rendered from them, never typed in. The paper's figure for a cell
stands beside ours wherever the paper reports one, with a verdict (``advcompare.paper.verdict``).

The report is built once as a list of blocks (``layout``: headings, text, tables from
``tables``, figures) and written twice (``write``): ``report.md`` (``markdown``: tables by
tabulate) and ``report.tex`` (``latex``: booktabs tables by pandas' ``Styler.to_latex``,
figures as PDF). Every figure is drawn by ``advcompare.report.figures``.
"""

from advcompare.report.latex import latex_escape, latex_inline, latex_table
from advcompare.report.layout import report_blocks
from advcompare.report.write import render_markdown, write_report

__all__ = [
    "latex_escape",
    "latex_inline",
    "latex_table",
    "render_markdown",
    "report_blocks",
    "write_report",
]
