"""The report as a standalone LaTeX document: booktabs tables by pandas'
``Styler.to_latex``, figures as PDF, every symbol translated for pdflatex. Tables stay under
their headings (``float``'s ``[H]``), numbers are right-aligned, and a wide table is split
into parts rather than shrunk."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd

from advcompare.report.blocks import Block, numeric, split_columns

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
    "‖": r"$\|$",
    "∈": r"$\in$",
    "≠": r"$\ne$",
    "∑": r"$\sum$",
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


_LATIN_CAPITALS = dict(
    alpha="A", beta="B", epsilon="E", zeta="Z", eta="H", iota="I", kappa="K", mu="M",
    nu="N", omicron="O", rho="P", tau="T", chi="X",
)  # fmt: skip


def _fallback(ch: str) -> str:
    """A character the table lacks: Greek letters, super- and subscript digits by their
    Unicode names, accented letters without the accent, anything else as ``?``."""
    if ch.isascii():
        return ch
    name = unicodedata.name(ch, "")
    greek = re.match(r"GREEK (SMALL|CAPITAL) LETTER (\w+)$", name)
    if greek:
        letter = greek.group(2).lower()
        if greek.group(1) == "CAPITAL" and letter in _LATIN_CAPITALS:
            return _LATIN_CAPITALS[letter]  # LaTeX has no \\Alpha: it is an A
        if letter == "omicron":
            return "o"
        return "$\\" + (letter if greek.group(1) == "SMALL" else letter.capitalize()) + "$"
    script = re.match(
        r"(SUPER|SUB)SCRIPT (ZERO|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE)$", name
    )
    if script:
        digit = str(unicodedata.digit(ch))
        return ("$^{" if script.group(1) == "SUPER" else "$_{") + digit + "}$"
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return plain or "?"


def _latex_unicode(text: str) -> str:
    return "".join(LATEX_UNICODE.get(ch) or _fallback(ch) for ch in text)


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


# A table of more columns than this is split into parts that repeat its leading text
# columns (a paper's page holds about six numeric columns at \small, never a shrunk table).
MAX_COLUMNS = 6


def _parts(frame: pd.DataFrame, wide: tuple[str, ...]) -> list[pd.DataFrame]:
    """``frame`` as it is, or split into parts of at most MAX_COLUMNS columns."""
    return [frame] if wide else split_columns(frame, MAX_COLUMNS)


def latex_table(
    frame: pd.DataFrame,
    caption: str = "",
    wide: tuple[str, ...] = (),
    label: str = "",
    notes: tuple[str, ...] = (),
) -> str:
    """A booktabs table from pandas' ``Styler.to_latex(hrules=True)``, placed where it stands
    (``[H]``, under its heading): every cell and header escaped; numeric columns
    right-aligned; long-text columns in ``wide`` wrap; a table of more than MAX_COLUMNS
    columns is split into parts (never shrunk)."""
    parts = _parts(frame, wide)
    out = []
    for i, part in enumerate(parts, 1):
        styler = (
            part.style.hide(axis="index")
            .format(_latex_cell, escape="latex")
            .format_index(_latex_unicode, escape="latex", axis=1)
        )
        columns = "".join(
            r"p{0.32\linewidth}" if c in wide else ("r" if numeric(part[c]) else "l")
            for c in part.columns
        )
        tabular = r"{\small" + "\n" + styler.to_latex(hrules=True, column_format=columns) + "}\n"
        lines = [r"\begin{table}[H]", r"\centering"]
        if caption:
            more = f" (part {i} of {len(parts)})" if len(parts) > 1 else ""
            lines.append(r"\caption{" + latex_inline(caption) + more + "}")
        if label:
            lines.append(r"\label{" + label + (f"-{i}" if len(parts) > 1 else "") + "}")
        below = ""
        if notes and i == len(parts):  # the footnotes once, under the last part
            below = (
                r"\par\smallskip{\footnotesize "
                + r"\\ ".join(f"({n}) " + latex_inline(t) for n, t in enumerate(notes, 1))
                + "}\n"
            )
        out.append("\n".join(lines) + "\n" + tabular + below + r"\end{table}" + "\n")
    return "\n".join(out)


def render_latex(blocks: list[Block], label_prefix: str = "report") -> str:
    """A standalone LaTeX document (``report.tex``): headings, paragraphs, every table as
    booktabs, every figure as its PDF, each under its heading. Labels are
    ``tab:<label_prefix>:<n>`` and ``fig:<label_prefix>:<n>`` (the run's name as the prefix,
    so two reports pasted into one paper do not collide)."""
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
    counter = figures = 0
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
            label = f"tab:{label_prefix}:{counter}"
            out += [latex_table(b.table, b.caption, b.wide, label, b.notes)]
        elif b.kind == "figure":
            figures += 1
            out += [
                r"\begin{figure}[H]",
                r"\centering",
                r"\includegraphics[width=\linewidth]{" + b.path + ".pdf}",
                r"\caption{" + latex_inline(b.caption) + "}",
                r"\label{fig:" + label_prefix + f":{figures}" + "}",
                r"\end{figure}",
                "",
            ]
    out += [r"\end{document}", ""]
    return "\n".join(out)
