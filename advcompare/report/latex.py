"""The report as a standalone LaTeX document: booktabs tables by pandas'
``Styler.to_latex``, figures as PDF, every symbol translated for pdflatex."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from advcompare.report.blocks import Block

# Characters pdflatex cannot typeset in text mode, after LaTeX escaping.
LATEX_UNICODE = {
    "—": "---",
    "–": "--",
    "Δ": r"$\Delta$",
    "∞": r"$\infty$",
    "ε": r"$\varepsilon$",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "×": r"$\times$",
    "−": "$-$",
    "→": r"$\to$",
    "↔": r"$\leftrightarrow$",
    "…": r"\ldots{}",
    "§": r"\S{}",
    "·": r"$\cdot$",
    "±": r"$\pm$",
    "≈": r"$\approx$",
    "α": r"$\alpha$",
    "√": r"$\surd$",
    "’": "'",
    "“": "``",
    "”": "''",
    "é": r"\'e",
    "à": r"\`a",
}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: Any) -> str:
    """Plain text → LaTeX: special characters escaped, non-ASCII symbols as LaTeX."""
    text = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    return _latex_unicode(text)


def _latex_unicode(text: str) -> str:
    return "".join(LATEX_UNICODE.get(ch, ch) for ch in text)


def _latex_cell(text: str) -> str:
    """An escaped table cell: symbols as LaTeX, a negative number with a true minus sign."""
    text = _latex_unicode(text)
    return "$-$" + text[1:] if re.match(r"^-\d", text) else text


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*")


def latex_inline(text: str) -> str:
    """Markdown inline markup (`code`, **bold**, *emphasis*) → escaped LaTeX."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(latex_escape(text[last : m.start()]))
        code, bold, emph = m.groups()
        if code is not None:
            out.append(r"\texttt{" + latex_escape(code) + "}")
        elif bold is not None:
            out.append(r"\textbf{" + latex_escape(bold) + "}")
        else:
            out.append(r"\emph{" + latex_escape(emph) + "}")
        last = m.end()
    out.append(latex_escape(text[last:]))
    return "".join(out)


def latex_table(
    frame: pd.DataFrame, caption: str = "", wide: tuple[str, ...] = (), label: str = ""
) -> str:
    """A booktabs table from pandas' ``Styler.to_latex(hrules=True)``: every cell and
    header escaped; long-text columns in ``wide`` wrap; many columns shrink to the page."""
    styler = (
        frame.style.hide(axis="index")
        .format(_latex_cell, escape="latex")
        .format_index(_latex_unicode, escape="latex", axis=1)
    )
    columns = "".join(r"p{0.32\linewidth}" if c in wide else "l" for c in frame.columns)
    tabular = styler.to_latex(hrules=True, column_format=columns)
    if len(frame.columns) > 6 and not wide:
        tabular = r"\resizebox{\linewidth}{!}{" + tabular.rstrip("\n") + "}\n"
    elif wide:
        tabular = r"{\small" + "\n" + tabular + "}\n"
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + latex_inline(caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    return "\n".join(lines) + "\n" + tabular + r"\end{table}" + "\n"


def render_latex(blocks: list[Block]) -> str:
    """A standalone LaTeX document (``report.tex``): headings, paragraphs, every table as
    booktabs, every figure as its PDF."""
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "advcompare")
    out = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\usepackage{float}",
        r"\title{" + latex_inline(title) + "}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        "",
    ]
    counter = 0
    for b in blocks:
        if b.kind == "heading" and b.level > 1:
            command = {2: "section", 3: "subsection"}.get(b.level, "paragraph")
            out += ["\\" + command + "*{" + latex_inline(b.text) + "}", ""]
        elif b.kind == "text":
            items = b.text.split("\n")
            if all(line.startswith("- ") for line in items):
                out += (
                    [r"\begin{itemize}"]
                    + [r"\item " + latex_inline(line[2:]) for line in items]
                    + [r"\end{itemize}", ""]
                )
            else:
                out += [latex_inline(b.text), ""]
        elif b.kind == "table":
            counter += 1
            out += [latex_table(b.table, b.caption, b.wide, f"tab:{counter}")]
        elif b.kind == "figure":
            out += [
                r"\begin{figure}[htbp]",
                r"\centering",
                r"\includegraphics[width=\linewidth]{" + b.path + ".pdf}",
                r"\caption{" + latex_inline(b.caption) + "}",
                r"\end{figure}",
                "",
            ]
    out += [r"\end{document}", ""]
    return "\n".join(out)
