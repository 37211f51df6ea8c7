"""Closed-form checks of the LaTeX renderer's smallest parts, so a one-token bug in
advcompare.report.latex fails a test (mutation testing found most of its mutants alive: the
report tests check a whole document, not each branch). Pinned, each by its exact text: the
escape and symbol tables (``latex_escape``), the fallbacks for characters the table lacks
(Greek letters, super- and subscript digits, accents), the true minus sign of a negative
cell, inline Markdown (`code`, **bold**, *emphasis*), the break points of a wrapped cell,
the column formats with their ``p{}`` widths, the parts a table is laid out as (split at
MAX_COLUMNS, fewer where the numbers do not fit, landscape where nothing else does), the
longtable's header, footer, last rule and notes, the size wrapper, one_page_table's page and
notes, latex_table's captions, labels and parts, and render_latex's document. No model, no
training, no pdflatex: small hand-made frames whose layout follows from fit's widths (a digit
is 4.62 pt at \\small)."""

from __future__ import annotations

import pandas as pd
import pytest

from advcompare.report.blocks import Block, figure, heading, paragraph
from advcompare.report.fit import LINEWIDTH, TEXTHEIGHT, Fit, fit_columns
from advcompare.report.latex import (
    LATEX_UNICODE,
    MAX_COLUMNS,
    ONE_PAGE_SCALE,
    ONE_PAGE_SIZE,
    _column_format,
    _fallback,
    _latex_cell,
    _latex_unicode,
    _layout,
    _longtable,
    _notes,
    _sized,
    _tabular,
    _wrapping_cell,
    latex_escape,
    latex_inline,
    latex_table,
    one_page_table,
    render_latex,
)

# ---------------------------------------------------------------- escaping and symbols

SYMBOLS = {
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


def test_every_symbol_of_the_table_is_its_latex():
    assert {ch: latex_escape(ch) for ch in SYMBOLS} == SYMBOLS
    assert {ch: _latex_unicode(ch) for ch in SYMBOLS} == SYMBOLS
    assert LATEX_UNICODE == SYMBOLS


def test_special_characters_are_escaped_each_its_own_way():
    assert latex_escape("\\&%$#_{}~^") == (
        r"\textbackslash{}\&\%\$\#\_\{\}\textasciitilde{}\textasciicircum{}"
    )
    assert latex_escape("plain text, 1.5 (a) [b] / - + = < > ! ? @ * `") == (
        "plain text, 1.5 (a) [b] / - + = < > ! ? @ * `"
    )


def test_escaping_reads_any_value_as_text_and_translates_after_escaping():
    assert latex_escape(12) == "12"
    assert latex_escape(0.5) == "0.5"
    assert latex_escape(None) == "None"
    assert latex_escape("") == ""
    # the special characters first, then the symbols: a translated symbol is not re-escaped
    assert latex_escape("Δ_x ≤ 5% & ∞") == r"$\Delta$\_x $\le$ 5\% \& $\infty$"


def test_ascii_passes_the_fallback_unchanged():
    for ch in "a Z0_\\{$":
        assert _fallback(ch) == ch


def test_a_small_greek_letter_is_its_latex_command():
    assert _fallback("β") == r"$\beta$"
    assert _fallback("η") == r"$\eta$"
    assert _fallback("ω") == r"$\omega$"
    assert _fallback("θ") == r"$\theta$"
    assert _fallback("ο") == "o"  # LaTeX has no \omicron


def test_a_capital_greek_letter_is_its_command_or_the_latin_letter_it_looks_like():
    assert "".join(_fallback(ch) for ch in "ΑΒΕΖΗΙΚΜΝΟΡΤΧ") == "ABEZHIKMNOPTX"
    assert _fallback("Ω") == r"$\Omega$"
    assert _fallback("Γ") == r"$\Gamma$"
    assert _fallback("Σ") == r"$\Sigma$"
    assert _fallback("Ψ") == r"$\Psi$"


def test_super_and_subscript_digits_are_math_scripts():
    supers, subs = "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉"
    assert [_fallback(ch) for ch in supers] == [f"$^{{{d}}}$" for d in range(10)]
    assert [_fallback(ch) for ch in subs] == [f"$_{{{d}}}$" for d in range(10)]


def test_other_characters_lose_their_accent_or_become_a_question_mark():
    assert _fallback("ü") == "u"
    assert _fallback("Å") == "A"
    assert _fallback("ñ") == "n"
    assert _fallback("ﬁ") == "fi"  # a ligature decomposes to its letters
    assert _fallback("⁺") == "+"  # a superscript, but not a digit: its plain form
    assert _fallback("†") == "?"
    assert _fallback("ς") == "?"  # GREEK SMALL LETTER FINAL SIGMA: two words, not a letter
    assert _fallback("\ue000") == "?"  # no Unicode name at all


def test_the_unicode_pass_mixes_the_table_and_the_fallback():
    assert _latex_unicode("x₀ ≤ Ω²") == r"x$_{0}$ $\le$ $\Omega$$^{2}$"
    assert _latex_unicode("") == ""


# ---------------------------------------------------------------- cells


def test_a_negative_number_cell_gets_a_true_minus_sign():
    assert _latex_cell("-0.5") == "$-$0.5"
    assert _latex_cell("-12 (3)") == "$-$12 (3)"
    assert _latex_cell("−3") == "$-$3"  # the Unicode minus, by the table
    for text in ("-x", "-", "--1", "1-2", "-.5", "a -1", ""):
        assert _latex_cell(text) == text
    assert _latex_cell("Δ") == r"$\Delta$"


def test_a_wrapped_cell_may_break_after_each_underscore_and_slash():
    # the cell comes escaped (pandas' escape="latex" runs first): "_" is "\_" by then
    assert _wrapping_cell(r"-1\_2/x") == r"$-$1\_\allowbreak{}2/\allowbreak{}x"
    assert _wrapping_cell(r"a\_b\_c") == r"a\_\allowbreak{}b\_\allowbreak{}c"
    assert _wrapping_cell("a/b") == r"a/\allowbreak{}b"
    assert _wrapping_cell("plain text") == "plain text"
    assert _wrapping_cell("≤") == r"$\le$"


# ---------------------------------------------------------------- inline Markdown


def test_inline_markup_becomes_latex_with_the_text_between_escaped():
    assert latex_inline("50% `x_y` **b&c** then *e_f*.") == (
        r"50\% \texttt{x\_y} \textbf{b\&c} then \emph{e\_f}."
    )
    assert latex_inline("`code`") == r"\texttt{code}"
    assert latex_inline("**bold**") == r"\textbf{bold}"
    assert latex_inline("*emph*") == r"\emph{emph}"
    assert latex_inline("a `b` c `d` e") == r"a \texttt{b} c \texttt{d} e"
    assert latex_inline("*ε ≤ 1*") == r"\emph{$\varepsilon$ $\le$ 1}"
    assert latex_inline("") == ""
    assert latex_inline("no markup, 5% & _") == r"no markup, 5\% \& \_"


def test_asterisks_that_do_not_hug_their_text_are_plain():
    assert latex_inline("0.5 * a + 0.5 * b") == "0.5 * a + 0.5 * b"
    assert latex_inline("**x **") == "**x **"
    assert latex_inline("** x**") == "** x**"
    assert latex_inline("* x*") == "* x*"
    assert latex_inline("*x *") == "*x *"
    assert latex_inline("``") == "``"  # an empty code span is no code span


def test_a_code_span_keeps_its_asterisks():
    assert latex_inline("`*a*` and `**b**`") == r"\texttt{*a*} and \texttt{**b**}"


# ---------------------------------------------------------------- columns and tabular


def test_the_column_format_aligns_text_left_numbers_right_and_wraps_in_p_columns():
    part = pd.DataFrame({"t": ["a"], "n": ["1.5"], "t2": ["b"], "n2": ["−2"]})
    fit = Fit([None, None, 123.4567, 50.0], 0.0, 0.0)
    assert _column_format(part, fit, 500.0) == (
        r"lr>{\raggedright\arraybackslash}p{0.247\linewidth}"
        r">{\raggedleft\arraybackslash}p{0.100\linewidth}"
    )
    # the width is a share of the line width it is laid out for
    assert _column_format(part, fit, 1000.0) == (
        r"lr>{\raggedright\arraybackslash}p{0.123\linewidth}"
        r">{\raggedleft\arraybackslash}p{0.050\linewidth}"
    )


def test_the_tabular_escapes_headers_and_cells_and_wraps_only_the_wrapped_columns():
    part = pd.DataFrame({"a_b Δ": ["x_y", "-0.5"], "w": ["p_q/r", "s"]})
    assert _tabular(part, Fit([None, 40.0], 0.0, 0.0), 500.0) == [
        r"\begin{tabular}{l>{\raggedright\arraybackslash}p{0.080\linewidth}}",
        r"\toprule",
        r"a\_b $\Delta$ & w \\",
        r"\midrule",
        r"x\_y & p\_\allowbreak{}q/\allowbreak{}r \\",
        r"$-$0.5 & s \\",
        r"\bottomrule",
        r"\end{tabular}",
    ]
    assert _tabular(part, Fit([None, None], 0.0, 0.0), 500.0)[4] == r"x\_y & p\_q/r \\"


def test_notes_are_numbered_from_one_and_joined_by_line_breaks():
    assert _notes(("a `b`", "c", "5%")) == r"(1) a \texttt{b}\\ (2) c\\ (3) 5\%"
    assert _notes(("only",)) == "(1) only"
    assert _notes(()) == ""


def test_sized_wraps_lines_in_a_group_at_the_size():
    assert _sized(r"\small", ["a", "b"]) == "{\\small\na\nb\n}\n"
    assert _sized("", []) == "{\n\n}\n"


# ---------------------------------------------------------------- layout


def _numbers(columns: int, digits: int) -> pd.DataFrame:
    """``columns`` numeric columns of one cell of ``digits`` digits (4.62 pt each)."""
    return pd.DataFrame({f"n{i}": ["1" * digits] for i in range(columns)})


def _columns_of(parts) -> list[list[str]]:
    return [list(part.columns) for part, _ in parts]


def test_a_small_table_is_one_part_at_the_text_width():
    frame = pd.DataFrame({"k": ["a"], "v": ["1"]})
    parts, linewidth = _layout(frame, ())
    assert linewidth == LINEWIDTH and _columns_of(parts) == [["k", "v"]]
    assert parts[0][1] == fit_columns(frame, LINEWIDTH)


def test_a_table_of_more_than_max_columns_is_split_repeating_its_text_columns():
    assert MAX_COLUMNS == 6
    frame = pd.DataFrame({f"c{i}": ["x"] for i in range(8)})
    parts, linewidth = _layout(frame, ())
    assert linewidth == LINEWIDTH
    assert _columns_of(parts) == [
        ["c0", "c1", "c2", "c3", "c4", "c5"],
        ["c0", "c1", "c2", "c6", "c7"],
    ]
    # a wide table (long text columns) is never split at the text width
    parts, linewidth = _layout(frame, ("c0",))
    assert linewidth == LINEWIDTH and _columns_of(parts) == [[f"c{i}" for i in range(8)]]


def test_fewer_columns_a_part_where_the_numbers_do_not_fit():
    # 16 digits = 73.9 pt: six columns need 443 of the 403 pt left at six, five fit
    parts, linewidth = _layout(_numbers(7, 16), ())
    assert linewidth == LINEWIDTH
    assert _columns_of(parts) == [["n0", "n1", "n2", "n3", "n4"], ["n5", "n6"]]
    # 25 digits = 115.5 pt: four need 462 of 427 pt, three (the fewest tried) fit
    parts, linewidth = _layout(_numbers(5, 25), ())
    assert linewidth == LINEWIDTH
    assert _columns_of(parts) == [["n0", "n1", "n2"], ["n3", "n4"]]


def test_a_table_too_wide_even_at_three_columns_is_set_whole_on_a_landscape_page():
    # 32 digits = 147.8 pt: three need 443.5 of 439 pt; four fit the 598 pt of a landscape
    frame = _numbers(4, 32)
    parts, linewidth = _layout(frame, ())
    assert linewidth == TEXTHEIGHT
    assert _columns_of(parts) == [["n0", "n1", "n2", "n3"]]
    assert parts[0][1] == fit_columns(frame, TEXTHEIGHT)


def test_a_landscape_table_wraps_its_text_to_the_page_rather_than_run_at_natural_width():
    # three 147.8 pt numbers need 443.5 of portrait's 439 pt (the text column, last, names
    # no rows to repeat); landscape's 598 pt leaves 154.5 pt for the text to wrap in
    frame = _numbers(3, 32).assign(t=" ".join(["word"] * 60))
    parts, linewidth = _layout(frame, ())
    assert linewidth == TEXTHEIGHT and _columns_of(parts) == [["n0", "n1", "n2", "t"]]
    assert parts[0][1] == fit_columns(frame, TEXTHEIGHT)
    widths = parts[0][1].widths
    assert widths[:3] == [None] * 3 and widths[3] == pytest.approx(154.48)
    assert r"\begin{longtable}{rrr>{\raggedright\arraybackslash}p{0.227\linewidth}}" in (
        latex_table(frame)
    )  # 154.48 pt of the landscape's 680


def test_a_table_that_fits_nowhere_is_split_at_max_columns_at_its_natural_width():
    parts, linewidth = _layout(_numbers(1, 150), ())  # 693 pt: wider than a landscape page
    assert linewidth == TEXTHEIGHT and _columns_of(parts) == [["n0"]]
    assert parts[0][1].widths == [None]
    parts, linewidth = _layout(_numbers(8, 150), ())
    assert linewidth == TEXTHEIGHT
    assert _columns_of(parts) == [[f"n{i}" for i in range(6)], ["n6", "n7"]]
    assert [fit.widths for _, fit in parts] == [[None] * 6, [None] * 2]


# ---------------------------------------------------------------- longtable

TABULAR = [
    r"\begin{tabular}{lr}",
    r"\toprule",
    r"k & v \\",
    r"\midrule",
    r"a & 1 \\",
    r"b & 2 \\",
    r"\bottomrule",
    r"\end{tabular}",
]
LAST_RULE = (
    r"\noalign{\nobreak\vskip\aboverulesep\hrule height\heavyrulewidth\nobreak"
    r"\vskip\belowrulesep}"
)


def test_a_longtable_without_caption_or_notes_closes_with_a_bottom_rule():
    text = _longtable(TABULAR, ("", ""), (), Fit([None, None], 212.0, 0.0), 500.0)
    assert text == "\n".join(
        [
            r"{\small",
            r"\begin{longtable}{lr}",
            r"\toprule",
            r"k & v \\",
            r"\midrule",
            r"\endfirsthead",
            r"\toprule",
            r"k & v \\",
            r"\midrule",
            r"\endhead",
            r"\bottomrule",
            r"\endfoot",
            r"\bottomrule",
            r"\endlastfoot",
            r"a & 1 \\",
            r"b & 2 \\",
            r"\end{longtable}",
            "}",
            "",
        ]
    )


def test_a_longtable_repeats_its_caption_continued_and_closes_with_its_notes():
    text = _longtable(
        TABULAR, ("Cap", r"\label{l}"), ("a `c`", "b"), Fit([None, None], 212.0, 0.0), 500.0
    )
    # the notes span the table's width less its outer gaps: (212 - 12) / 500
    note = r"\multicolumn{2}{@{}p{0.400\linewidth}@{}}{\footnotesize\raggedright "
    assert text == "\n".join(
        [
            r"{\small",
            r"\begin{longtable}{lr}",
            r"\caption{Cap}\label{l}\\",
            r"\toprule",
            r"k & v \\",
            r"\midrule",
            r"\endfirsthead",
            r"\caption[]{Cap (continued)}\\",
            r"\toprule",
            r"k & v \\",
            r"\midrule",
            r"\endhead",
            r"\bottomrule",
            r"\endfoot",
            r"\endlastfoot",
            r"a & 1 \\",
            r"b & 2 \\",
            LAST_RULE,
            note + r"(1) a \texttt{c}}\\",
            note + r"(2) b}\\",
            r"\end{longtable}",
            "}",
            "",
        ]
    )


def test_a_longtables_notes_are_never_wider_than_the_safe_share_of_the_line():
    text = _longtable(TABULAR, ("", ""), ("n",), Fit([None] * 3, 1000.0, 0.0), 500.0, "S")
    assert text.startswith("{S\n")
    assert r"\multicolumn{3}{@{}p{0.950\linewidth}@{}}{\footnotesize\raggedright (1) n}\\" in (
        text.splitlines()
    )
    # the width is a share of the line it is laid out for
    text = _longtable(TABULAR, ("", ""), ("n",), Fit([None, None], 212.0, 0.0), 1000.0)
    assert r"p{0.200\linewidth}" in text


# ---------------------------------------------------------------- one_page_table

SMALL = pd.DataFrame({"k": ["a", "b"], "v": ["1", "2"]})
ONE_PAGE_ROWS = [
    r"\toprule",
    r"k & v \\",
    r"\midrule",
    r"\endfirsthead",
]
ONE_PAGE_TAIL = [
    r"\toprule",
    r"k & v \\",
    r"\midrule",
    r"\endhead",
    r"\bottomrule",
    r"\endfoot",
    r"\bottomrule",
    r"\endlastfoot",
    r"a & 1 \\",
    r"b & 2 \\",
    r"\end{longtable}",
    "}",
]


def test_a_one_page_table_is_a_scriptsize_landscape_longtable_with_its_notes_after_it():
    assert ONE_PAGE_SIZE == r"\scriptsize" and ONE_PAGE_SCALE == 7 / 9
    text = one_page_table(SMALL, "C *x*", "tab:c", ("n `1`", "n2"))
    assert text == "\n".join(
        [
            r"\begin{landscape}",
            r"{\scriptsize\setlength\tabcolsep{4.67pt}",  # 6 pt at 7/9
            r"\begin{longtable}{lr}",
            r"\caption{C \emph{x}}\label{tab:c}\\",
            *ONE_PAGE_ROWS,
            r"\caption[]{C \emph{x} (continued)}\\",
            *ONE_PAGE_TAIL,
            r"\label{tab:c-end}",
            r"\end{landscape}",
            r"{\footnotesize\noindent Notes to Table~\ref{tab:c}:\par",
            r"\noindent(1) n \texttt{1}\par",
            r"\noindent(2) n2\par",
            "}",
            "",
        ]
    )


def test_a_one_page_table_without_label_or_notes():
    text = one_page_table(SMALL, "", "", ("n2",))
    assert text == "\n".join(
        [
            r"\begin{landscape}",
            r"{\scriptsize\setlength\tabcolsep{4.67pt}",
            r"\begin{longtable}{lr}",
            *ONE_PAGE_ROWS,
            *ONE_PAGE_TAIL,
            r"\end{landscape}",
            r"{\footnotesize\noindent Notes to the table above:\par",
            r"\noindent(1) n2\par",
            "}",
            "",
        ]
    )
    assert one_page_table(SMALL, "", "tab:c", ()).endswith(
        "}\n" + r"\label{tab:c-end}" + "\n" + r"\end{landscape}" + "\n"
    )


def test_a_one_page_table_is_laid_out_for_the_landscape_page_at_nine_sevenths():
    linewidth = TEXTHEIGHT / ONE_PAGE_SCALE  # 874.3 pt at \small's widths
    frame = pd.DataFrame({"t": [" ".join(["word"] * 60)], "n": ["1.5"]})
    fit = fit_columns(frame, linewidth)
    assert fit is not None and fit.widths[1] is None
    share = f"{fit.widths[0] / linewidth:.3f}"
    assert share == "0.909"
    text = one_page_table(frame, "", "", ())
    assert r"\begin{longtable}{>{\raggedright\arraybackslash}p{0.909\linewidth}r}" in text
    # room 0.95 * 874.3 - 12 = 818.6 pt: 177 digits (817.7 pt) fit, 178 (822.4 pt) do not
    assert one_page_table(_numbers(1, 177), "", "", ()).startswith(r"\begin{landscape}")
    assert one_page_table(_numbers(1, 178), "", "", ("n",)) == ""


# ---------------------------------------------------------------- latex_table

SHORT = pd.DataFrame({"name": ["a_b", "c"], "val": ["-0.5", "1.25"]})
SHORT_TABULAR = [
    r"{\small",
    r"\begin{tabular}{lr}",
    r"\toprule",
    r"name & val \\",
    r"\midrule",
    r"a\_b & $-$0.5 \\",
    r"c & 1.25 \\",
    r"\bottomrule",
    r"\end{tabular}",
    "}",
]


def test_a_short_table_is_placed_where_it_stands_with_caption_label_and_notes():
    text = latex_table(SHORT, "Cap *x*", label="tab:x", notes=("n1 `c`", "n2"))
    assert text == "\n".join(
        [
            r"\begin{table}[H]",
            r"\centering",
            r"\caption{Cap \emph{x}}",
            r"\label{tab:x}",
            *SHORT_TABULAR,
            r"\par\smallskip{\footnotesize (1) n1 \texttt{c}\\ (2) n2}",
            r"\end{table}",
            "",
        ]
    )


def test_a_short_table_without_caption_label_or_notes():
    text = latex_table(SHORT)
    assert text == "\n".join(
        [r"\begin{table}[H]", r"\centering", *SHORT_TABULAR, r"\end{table}", ""]
    )
    assert latex_table(SHORT, label="tab:y").splitlines()[2] == r"\label{tab:y}"
    assert latex_table(SHORT, "C").splitlines()[2:4] == [r"\caption{C}", r"{\small"]


def test_a_split_table_numbers_its_parts_and_puts_the_notes_under_the_last():
    frame = pd.DataFrame({f"c{i}": ["x"] for i in range(8)})
    text = latex_table(frame, "Wide", label="tab:w", notes=("the note",))
    tables = text.split(r"\end{table}" + "\n")
    assert len(tables) == 3 and tables[2] == ""
    first, second = tables[0].splitlines(), tables[1].splitlines()
    assert first[:4] == [
        r"\begin{table}[H]",
        r"\centering",
        r"\caption{Wide (part 1 of 2)}",
        r"\label{tab:w-1}",
    ]
    assert second[:5] == [
        "",  # the parts are joined by a line
        r"\begin{table}[H]",
        r"\centering",
        r"\caption{Wide (part 2 of 2)}",
        r"\label{tab:w-2}",
    ]
    assert first[5] == r"\begin{tabular}{llllll}" and second[6] == r"\begin{tabular}{lllll}"
    assert "note" not in tables[0]
    assert second[-1] == r"\par\smallskip{\footnotesize (1) the note}"
    # without a caption or label the parts still split, unnamed
    bare = latex_table(frame)
    assert "part" not in bare and r"\label" not in bare and r"\caption" not in bare
    assert bare.count(r"\begin{table}[H]") == 2


def test_a_tall_table_is_a_longtable_at_the_text_width():
    rows = pd.DataFrame({"k": [f"r{i}" for i in range(20)]})  # 4 + 21 lines > 0.4 page
    assert latex_table(rows.iloc[:19]).startswith(r"\begin{table}[H]")
    text = latex_table(rows, "Tall", label="tab:t", notes=("n",))
    lines = text.splitlines()
    assert lines[:3] == [r"{\small", r"\begin{longtable}{l}", r"\caption{Tall}\label{tab:t}\\"]
    assert r"\caption[]{Tall (continued)}\\" in lines
    # the notes as wide as the widest cell, "r19": 3.65 + 2 * 4.62 = 12.89 pt of 500
    assert lines[-4:] == [
        LAST_RULE,
        r"\multicolumn{1}{@{}p{0.026\linewidth}@{}}{\footnotesize\raggedright (1) n}\\",
        r"\end{longtable}",
        "}",
    ]
    assert r"\begin{landscape}" not in text and r"\begin{table}" not in text


def test_a_table_too_wide_for_the_text_is_a_longtable_on_a_landscape_page():
    text = latex_table(_numbers(4, 32), "L", label="tab:l")
    lines = text.splitlines()
    assert lines[:4] == [
        r"\begin{landscape}",
        r"{\small",
        r"\begin{longtable}{rrrr}",
        r"\caption{L}\label{tab:l}\\",
    ]
    assert lines[-3:] == [r"\end{longtable}", "}", r"\end{landscape}"]
    assert text.endswith("\n") and text.count(r"\begin{landscape}") == 1


def test_a_one_page_table_takes_its_page_unless_it_cannot_fit_there():
    assert latex_table(SMALL, "C *x*", (), "tab:c", ("n",), one_page=True) == (
        one_page_table(SMALL, "C *x*", "tab:c", ("n",))
    )
    wide = _numbers(1, 178)  # too wide for one page: laid out as any other table
    assert latex_table(wide, "W", (), "tab:w", ("n",), one_page=True) == (
        latex_table(wide, "W", (), "tab:w", ("n",))
    )
    assert latex_table(SMALL, "C", one_page=False).startswith(r"\begin{table}[H]")


def test_a_wrapped_column_prints_as_a_p_column_with_break_points():
    frame = pd.DataFrame({"id": ["CLEAN_GAIN(defensive_distillation) " * 8], "v": ["1"]})
    fit = fit_columns(frame, LINEWIDTH)
    assert fit is not None and fit.widths[0] is not None and fit.widths[1] is None
    text = latex_table(frame)
    share = f"{fit.widths[0] / LINEWIDTH:.3f}"
    assert rf"\begin{{tabular}}{{>{{\raggedright\arraybackslash}}p{{{share}\linewidth}}r}}" in (
        text
    )
    assert r"CLEAN\_\allowbreak{}GAIN(defensive\_\allowbreak{}distillation)" in text


# ---------------------------------------------------------------- render_latex

PREAMBLE = [
    r"\documentclass[10pt]{article}",
    r"\usepackage[T1]{fontenc}",
    r"\usepackage[margin=2cm]{geometry}",
    r"\usepackage{booktabs}",
    r"\usepackage{graphicx}",
    r"\usepackage{float}",
    r"\usepackage{array}",
    r"\usepackage{longtable}",
    r"\usepackage{pdflscape}",
]
ONE_ROW = pd.DataFrame({"k": ["a"], "v": ["1"]})


def _table_lines(label: str, caption: str = "") -> list[str]:
    return [
        r"\begin{table}[H]",
        r"\centering",
        *([r"\caption{" + caption + "}"] if caption else []),
        r"\label{" + label + "}",
        r"{\small",
        r"\begin{tabular}{lr}",
        r"\toprule",
        r"k & v \\",
        r"\midrule",
        r"a & 1 \\",
        r"\bottomrule",
        r"\end{tabular}",
        "}",
        r"\end{table}",
        "",
    ]


def test_the_document_sets_every_block_under_its_heading():
    blocks = [
        heading(1, "T *x*"),
        heading(2, "S"),
        heading(3, "U"),
        heading(4, "P"),
        paragraph("- a\n- `b`"),
        paragraph("p_1\n- q"),
        Block("table", table=ONE_ROW, caption="C"),
        figure("d/f", "F *c*"),
        Block("table", table=ONE_ROW),
        figure("g", "G"),
    ]
    assert render_latex(blocks, "run") == "\n".join(
        [
            *PREAMBLE,
            r"\title{T \emph{x}}",
            r"\date{}",
            r"\begin{document}",
            r"\maketitle",
            r"\sloppy",
            "",
            r"\section*{S}",
            "",
            r"\subsection*{U}",
            "",
            r"\paragraph*{P}",
            "",
            r"\begin{itemize}",
            r"\item a",
            r"\item \texttt{b}",
            r"\end{itemize}",
            "",
            "p\\_1\n- q",  # not every line an item: a paragraph
            "",
            *_table_lines("tab:run:1", "C"),
            r"\begin{figure}[H]",
            r"\centering",
            r"\includegraphics[width=\linewidth]{d/f.pdf}",
            r"\caption{F \emph{c}}",
            r"\label{fig:run:1}",
            r"\end{figure}",
            "",
            *_table_lines("tab:run:2"),
            r"\begin{figure}[H]",
            r"\centering",
            r"\includegraphics[width=\linewidth]{g.pdf}",
            r"\caption{G}",
            r"\label{fig:run:2}",
            r"\end{figure}",
            "",
            r"\end{document}",
            "",
        ]
    )


def test_a_document_without_a_title_heading_is_titled_advcompare_with_report_labels():
    text = render_latex([heading(2, "S"), Block("table", table=ONE_ROW), figure("f", "F")])
    lines = text.splitlines()
    assert lines[len(PREAMBLE)] == r"\title{advcompare}"
    assert r"\label{tab:report:1}" in lines and r"\label{fig:report:1}" in lines
    assert lines[-1] == r"\end{document}" and text.endswith("\n")
    # the first level-1 heading is the title; a later one is not repeated as a section
    titled = render_latex([heading(1, "A"), heading(1, "B")])
    assert r"\title{A}" in titled and "B" not in titled.split(r"\sloppy")[1]


@pytest.mark.parametrize("level, command", [(2, "section"), (3, "subsection"), (5, "paragraph")])
def test_each_heading_level_has_its_command(level, command):
    text = render_latex([heading(level, "H_1")], "x")
    assert "\\" + command + r"*{H\_1}" in text.splitlines()


def test_a_one_page_table_block_is_set_on_its_page_in_the_document():
    block = Block("table", table=SMALL, caption="C", notes=("n",), one_page=True)
    text = render_latex([block], "p")
    assert one_page_table(SMALL, "C", "tab:p:1", ("n",)) in text


def test_lambda_takes_latexs_spelling_not_unicodes():
    # Unicode names the letter LAMDA; \lamda is no LaTeX command (pdflatex stops)
    assert _fallback("λ") == "$\\lambda$"
    assert _fallback("Λ") == "$\\Lambda$"
