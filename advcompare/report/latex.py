"""The report as a standalone LaTeX document: booktabs tables by pandas'
``Styler.to_latex``, figures as PDF, every symbol translated for pdflatex. Every table fits
the text width, never shrunk (``fit``): its widest columns wrap, a wide table is split into
parts or set on a landscape page; a short table stays under its heading (``float``'s
``[H]``), a long one is a ``longtable`` that breaks across pages; numbers are right-aligned."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd

from advcompare.report.blocks import Block, numeric, split_columns
from advcompare.report.fit import (
    BREAK_AFTER,
    LINEWIDTH,
    SAFETY,
    TABCOLSEP,
    TEXTHEIGHT,
    Fit,
    fit_columns,
)

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
        letter = greek.group(2).lower().replace("lamda", "lambda")  # Unicode's spelling
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


# Emphasis as CommonMark reads it: the asterisks hug the text ("0.5 * a + 0.5 * b" is plain).
_INLINE = re.compile(r"`([^`]+)`|\*\*(?! )([^*]+?)(?<! )\*\*|\*(?! )([^*]+?)(?<! )\*")


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


def _wrapping_cell(text: str) -> str:
    """A cell of a wrapped column: as :func:`_latex_cell`, with a break allowed after each
    BREAK_AFTER character (an identifier such as ``CLEAN_GAIN(defensive_distillation)``)."""
    text = _latex_cell(text)
    for ch in BREAK_AFTER:
        text = text.replace(
            _LATEX_SPECIAL.get(ch, ch), _LATEX_SPECIAL.get(ch, ch) + r"\allowbreak{}"
        )
    return text


def _layout(
    frame: pd.DataFrame, wide: tuple[str, ...]
) -> tuple[list[tuple[pd.DataFrame, Fit]], float]:
    """The parts a table prints as, each with its column layout, and the width they are laid
    out for: the text width, split into parts of at most MAX_COLUMNS (fewer where the numbers
    do not fit; a ``wide`` table is not split), else a landscape page (TEXTHEIGHT wide), whole
    if it fits there, else split as a last resort."""
    for linewidth in (LINEWIDTH, TEXTHEIGHT):
        if linewidth == LINEWIDTH:
            counts = [len(frame.columns)] if wide else range(MAX_COLUMNS, 2, -1)
        else:
            counts = range(max(len(frame.columns), 3), 2, -1)
        for most in counts:
            parts = split_columns(frame, most)
            fits = [fit_columns(part, linewidth) for part in parts]
            if all(f is not None for f in fits):
                return [(p, f) for p, f in zip(parts, fits) if f is not None], linewidth
    parts = split_columns(frame, MAX_COLUMNS)  # nothing fits: at natural width, turned
    fits = [fit_columns(part, float("inf")) for part in parts]
    return [(p, f) for p, f in zip(parts, fits) if f is not None], TEXTHEIGHT


def _column_format(part: pd.DataFrame, fit: Fit, linewidth: float) -> str:
    """``l`` for text, ``r`` for numbers, ``p{}`` (ragged) for a column that wraps."""
    out = []
    for column, width in zip(part.columns, fit.widths):
        number = numeric(part[column])
        if width is None:
            out.append("r" if number else "l")
        else:
            ragged = r"\raggedleft" if number else r"\raggedright"
            out.append(f">{{{ragged}\\arraybackslash}}p{{{width / linewidth:.3f}\\linewidth}}")
    return "".join(out)


def _tabular(part: pd.DataFrame, fit: Fit, linewidth: float) -> list[str]:
    """pandas' booktabs tabular of ``part``, every cell and header escaped."""
    wrapped = [c for c, w in zip(part.columns, fit.widths) if w is not None]
    styler = (
        part.style.hide(axis="index")
        .format(_latex_cell, escape="latex")
        .format_index(_latex_unicode, escape="latex", axis=1)
    )
    if wrapped:
        styler = styler.format(_wrapping_cell, escape="latex", subset=wrapped)
    text = styler.to_latex(hrules=True, column_format=_column_format(part, fit, linewidth))
    return text.strip().splitlines()


def _notes(notes: tuple[str, ...]) -> str:
    return r"\\ ".join(f"({n}) " + latex_inline(t) for n, t in enumerate(notes, 1))


# booktabs' \bottomrule without a page break on either side, so that the footnotes under it
# stay on the page of the table's last row (a tall \endlastfoot would lose the header).
_LAST_RULE = (
    r"\noalign{\nobreak\vskip\aboverulesep\hrule height\heavyrulewidth\nobreak"
    r"\vskip\belowrulesep}"
)


def _longtable(
    tabular: list[str],
    head: tuple[str, str],
    notes: tuple[str, ...],
    fit: Fit,
    lw: float,
    size: str = r"\small",
) -> str:
    """The tabular as a longtable: it breaks across pages between rows, repeating its header
    (and caption, marked continued) on each page; the footnotes close its last page."""
    columns = tabular[0][len(r"\begin{tabular}") :]
    top = tabular.index(r"\midrule")
    header, body = tabular[1 : top + 1], tabular[top + 1 : tabular.index(r"\bottomrule")]
    caption, label = head
    lines = [r"\begin{longtable}" + columns]
    if caption:
        lines.append(r"\caption{" + caption + "}" + label + r"\\")
    lines += header + [r"\endfirsthead"]
    if caption:
        lines.append(r"\caption[]{" + caption + r" (continued)}\\")
    lines += header + [r"\endhead", r"\bottomrule", r"\endfoot"]
    if not notes:
        return _sized(size, lines + [r"\bottomrule", r"\endlastfoot", *body, r"\end{longtable}"])
    width = min(fit.width - 2 * TABCOLSEP, SAFETY * lw) / lw
    multicolumn = rf"\multicolumn{{{len(fit.widths)}}}{{@{{}}p{{{width:.3f}\linewidth}}@{{}}}}"
    # a row per note: the first stays with the last row, a page may break between the rest
    # (one cell of 40 notes is taller than a page and cannot break)
    notes_rows = [
        multicolumn + r"{\footnotesize\raggedright (" + f"{n}) " + latex_inline(t) + r"}\\"
        for n, t in enumerate(notes, 1)
    ]
    return _sized(
        size, lines + [r"\endlastfoot", *body, _LAST_RULE, *notes_rows, r"\end{longtable}"]
    )


def _sized(size: str, lines: list[str]) -> str:
    return "{" + size + "\n" + "\n".join(lines) + "\n}\n"


# A table a paper takes whole (the claims) is set at \scriptsize, whose characters are 7/9
# as wide as \small's that ``fit`` measures: its columns (and gaps) are laid out for 9/7 of
# the width.
ONE_PAGE_SIZE, ONE_PAGE_SCALE = r"\scriptsize", 7 / 9


def one_page_table(frame: pd.DataFrame, caption: str, label: str, notes: tuple[str, ...]) -> str:
    """A table a paper takes whole: its rows on one landscape page at ``\\scriptsize``, its notes
    after it as a list on the pages that follow. ``\\label{<label>-end}`` marks the page its
    last row is on, so a check can read from the .aux that the rows kept to one page. Empty
    if it cannot fit even there."""
    linewidth = TEXTHEIGHT / ONE_PAGE_SCALE
    fit = fit_columns(frame, linewidth)
    if fit is None:
        return ""
    head = (latex_inline(caption), r"\label{" + label + "}" if label else "")
    size = ONE_PAGE_SIZE + rf"\setlength\tabcolsep{{{TABCOLSEP * ONE_PAGE_SCALE:.2f}pt}}"
    rows = _longtable(_tabular(frame, fit, linewidth), head, (), fit, linewidth, size)
    end = r"\label{" + label + "-end}" + "\n" if label else ""
    text = r"\begin{landscape}" + "\n" + rows + end + r"\end{landscape}" + "\n"
    if notes:
        where = r"Table~\ref{" + label + "}" if label else "the table above"
        items = "\n".join(
            r"\noindent(" + f"{n}) " + latex_inline(t) + r"\par" for n, t in enumerate(notes, 1)
        )
        text += r"{\footnotesize\noindent Notes to " + where + ":\\par\n" + items + "\n}\n"
    return text


def latex_table(
    frame: pd.DataFrame,
    caption: str = "",
    wide: tuple[str, ...] = (),
    label: str = "",
    notes: tuple[str, ...] = (),
    one_page: bool = False,
) -> str:
    """A booktabs table from pandas' ``Styler.to_latex(hrules=True)`` that fits the text
    width, never shrunk: numbers right-aligned; the widest columns wrap where the table is
    too wide (``fit``); a table of more than MAX_COLUMNS columns, or too wide even wrapped,
    is split into parts that repeat its name columns; a table too wide even so is set on a
    landscape page. A short table is placed where it stands (``[H]``, under its heading),
    a long one is a ``longtable`` that breaks across pages; footnotes close the table. A
    ``one_page`` table is set on one landscape page (:func:`one_page_table`)."""
    if one_page and (text := one_page_table(frame, caption, label, notes)):
        return text
    parts, linewidth = _layout(frame, wide)
    out = []
    for i, (part, fit) in enumerate(parts, 1):
        more = f" (part {i} of {len(parts)})" if len(parts) > 1 else ""
        head = (
            latex_inline(caption) + more if caption else "",
            r"\label{" + label + (f"-{i}" if len(parts) > 1 else "") + "}" if label else "",
        )
        last = notes if i == len(parts) else ()  # the footnotes once, under the last part
        tabular = _tabular(part, fit, linewidth)
        if fit.long or linewidth != LINEWIDTH:
            out.append(_longtable(tabular, head, last, fit, linewidth))
            continue
        lines = [r"\begin{table}[H]", r"\centering"]
        if caption:
            lines.append(r"\caption{" + head[0] + "}")
        if label:
            lines.append(head[1])
        below = r"\par\smallskip{\footnotesize " + _notes(last) + "}\n" if last else ""
        body = "\n".join(tabular)
        out.append(
            "\n".join(lines) + "\n{\\small\n" + body + "\n}\n" + below + r"\end{table}" + "\n"
        )
    text = "\n".join(out)
    if linewidth != LINEWIDTH:
        text = r"\begin{landscape}" + "\n" + text + r"\end{landscape}" + "\n"
    return text


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
        r"\usepackage{array}",
        r"\usepackage{longtable}",
        r"\usepackage{pdflscape}",
        r"\title{" + latex_inline(title) + "}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\sloppy",  # a long name or code span wraps rather than run into the margin
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
            out += [latex_table(b.table, b.caption, b.wide, label, b.notes, b.one_page)]
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
