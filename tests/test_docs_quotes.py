"""The docs cannot drift: every figure the README and docs/ quote traces to a committed report
(``tests/docs_quotes.py``), and the check fails on each way a quote can go stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_quotes import (
    check,
    check_file,
    documentation,
    figures_in,
    occurs,
    refresh_file,
)

ROOT = Path(__file__).resolve().parent.parent


def test_every_figure_in_the_readme_and_docs_traces_to_a_committed_report():
    findings = check(documentation(ROOT), ROOT)
    assert not findings, "\n".join(str(f) for f in findings)


@pytest.mark.parametrize(
    "text,figures",
    [
        ("install 1 min 46 s, then 4 min and 10 s", ["1 min 46 s", "4 min", "10 s"]),
        ("15.2 ms/image, 1,941 ms, 507.1 s", ["15.2 ms", "1,941 ms", "507.1 s"]),
        (
            "success 88.3% (85.5%–91.0%), 1.06× and 113.8x",
            ["88.3%", "85.5%", "91.0%", "1.06×", "113.8x"],
        ),
        ("F1 0.120, median L2 17.192", ["0.120", "17.192"]),
        # parameters and tolerances are not measured figures
        ("ε 0.1, step 0.02, 20 epochs, 3×32×32, a 95% interval, 1e-6, v0.1.0", []),
        # nor is what a comment says; prose after the comment is read
        ("<!-- figures: reports/x.md took 4 min, F1 0.123 --> no figure here", []),
        ("<!-- figures: reports/x.md --> a figure after the comment: 0.123", ["0.123"]),
    ],
)
def test_measured_figures_are_recognised(text, figures):
    """Every figure found, in order, and nothing else: the cases without figures fail on
    any figure found."""
    assert figures_in(text) == figures


def test_a_figure_occurs_only_as_a_whole_number():
    assert occurs("0.120", "adv. F1 0.120 (0.094–0.145)")
    assert not occurs("0.120", "adv. F1 0.1205")
    assert not occurs("0.120", "adv. F1 10.120")
    assert occurs("3082.71 ms", "| CW | art | 3082.71 |")  # a cell under "ms/image"
    assert not occurs("4 min 27 s", "took 4 min 28 s")  # durations match whole


def _doc(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "reports").mkdir(exist_ok=True)
    (tmp_path / "reports" / "r.md").write_text(
        "| attack | adv. F1 |\n|---|---|\n| I-FGSM | 0.120 |\nfast: 15.2 ms/image\n"
    )
    doc = tmp_path / "doc.md"
    doc.write_text(text)
    return [f.problem for f in check_file(doc, tmp_path)]


def test_a_quote_block_passes_when_every_line_is_in_its_source(tmp_path):
    text = "<!-- quote: reports/r.md -->\n```\n| I-FGSM | 0.120 |\n```\n<!-- /quote -->\n"
    assert _doc(tmp_path, text) == []


def test_a_stale_line_in_a_quote_block_is_named(tmp_path):
    text = "<!-- quote: reports/r.md -->\n| I-FGSM | 0.149 |\n<!-- /quote -->\n"
    assert _doc(tmp_path, text) == ["not a line of reports/r.md: | I-FGSM | 0.149 |"]


def test_a_figure_outside_any_quote_is_unsourced(tmp_path):
    assert _doc(tmp_path, "The default run takes 9 min 11 s.\n") == [
        "unsourced figure '9 min 11 s'"
    ]


def test_a_figures_paragraph_checks_each_figure_against_its_sources(tmp_path):
    good = "<!-- figures: reports/r.md -->\nI-FGSM leaves F1 0.120,\nat 15.2 ms/image.\n"
    assert _doc(tmp_path, good) == []
    stale = "<!-- figures: reports/r.md -->\nI-FGSM leaves F1 0.535.\n"
    assert _doc(tmp_path, stale) == ["'0.535' is in none of reports/r.md"]
    # the marker covers its paragraph only: after a blank line a figure is unsourced again
    after = good + "\nAnd 0.120 again.\n"
    assert _doc(tmp_path, after) == ["unsourced figure '0.120'"]


def test_a_missing_source_and_an_unclosed_block_are_findings(tmp_path):
    missing = "<!-- quote: reports/gone.md -->\n| a |\n<!-- /quote -->\n"
    assert _doc(tmp_path, missing) == ["quoted source reports/gone.md is not a committed file"]
    unclosed = "<!-- quote: reports/r.md -->\n| I-FGSM | 0.120 |\n"
    assert _doc(tmp_path, unclosed) == ["quote block is never closed (<!-- /quote -->)"]


def test_write_refreshes_a_stale_row_from_the_row_of_the_same_attack_and_backend(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "r.md").write_text(
        "| attack | backend | adv. F1 |\n|---|---|---|\n"
        "| DeepFool | torchattacks | 0.603 |\n| DeepFool | art | 0.000 |\n"
    )
    doc = tmp_path / "doc.md"
    stale = "| DeepFool | torchattacks | 0.535 |"
    header = "| attack | backend | adv. F1 |\n|---|---|---|\n"
    doc.write_text(f"<!-- quote: reports/r.md -->\n{header}{stale}\n<!-- /quote -->\n{stale}\n")
    assert [f.problem for f in check_file(doc, tmp_path)][0].startswith("not a line of")
    assert refresh_file(doc, tmp_path) == 1  # the table with the same columns, same key
    text = doc.read_text()
    assert f"<!-- quote: reports/r.md -->\n{header}| DeepFool | torchattacks | 0.603 |\n" in text
    assert text.endswith(f"<!-- /quote -->\n{stale}\n")  # outside the block: untouched
    assert check_file(doc, tmp_path)[0].problem == "unsourced figure '0.535'"
