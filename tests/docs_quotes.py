"""Every figure the README and docs/ quote, traced to a committed report, so the docs cannot
drift from what the code produced.

Two markers name a quote's source, a file committed in the repository (a ``report.md``, a
``results.csv``, a benchmark's printed output, a run's log):

    <!-- quote: reports/example/report.md -->
    | attack | backend | ...          (lines copied from the source, code fences allowed)
    <!-- /quote -->

    <!-- figures: reports/atlas/report.md reports/example/report.md -->
    A paragraph whose figures (I-FGSM's adv. F1 0.120, ...) all occur in one of the sources.

Inside a ``quote`` block every non-blank line must be a line of the source, verbatim (trailing
spaces aside). A ``figures`` marker covers the paragraph that follows it, up to the next blank
line: each figure in it must occur in a source as a whole number. Anywhere else a figure that
looks measured (a time, a percentage or ratio with decimals, a value with three decimals) is
an unsourced quote. Check with ``python tests/docs_quotes.py`` (exit 1 on a finding);
``--write`` first refreshes each quoted table from its report's table of the same columns,
row by row (same attack and backend).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

QUOTE = re.compile(r"^\s*<!-- quote: (\S+) -->\s*$")
END_QUOTE = re.compile(r"^\s*<!-- /quote -->\s*$")
FIGURES = re.compile(r"<!-- figures: ([^>]+?) -->")
# What a measured figure looks like: 4 min 27 s, 10 s, 15.2 ms, 507.1 s, 88.3%, 1.06×, 113.8x,
# 0.120, 17.192 (an F1, a p-value or a norm printed with three decimals)
FIGURE = re.compile(
    r"(?<![\w.])(?:"
    r"\d+ min(?: \d+ s)?"
    r"|\d[\d,]*(?:\.\d+)? ?ms\b"
    r"|\d+(?:\.\d+)? s\b"
    r"|\d+\.\d+ ?%"
    r"|\d+\.\d+[×x](?!\w)"
    r"|\d+\.\d{3}(?!\d)"
    r")"
)


@dataclass(frozen=True)
class Finding:
    """One quoted figure or line that no committed report backs."""

    path: Path
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"


def figures_in(text: str) -> list[str]:
    """The measured-looking figures in a line of prose, as written."""
    return [m.group(0) for m in FIGURE.finditer(_without_comments(text))]


def occurs(figure: str, source: str) -> bool:
    """Whether ``figure`` is written in ``source`` as a whole number (0.120 is not in 0.1205);
    a figure with a unit (15.2 ms, 88.3%, 1.06×) also matches its number alone, as a table
    cell under a "ms/image" header writes it. Durations (4 min 27 s) must match whole."""
    forms = [figure]
    number = re.match(r"\d[\d,]*(?:\.\d+)?", figure)
    if number and number.group(0) != figure and "min" not in figure:
        forms.append(number.group(0))
    return any(re.search(rf"(?<![\d.]){re.escape(f)}(?![\d]|\.\d)", source) for f in forms)


def check_file(path: Path, root: Path) -> list[Finding]:
    """The findings of one Markdown file; sources are read relative to ``root``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Finding] = []
    sources: dict[str, str | None] = {}
    source_lines: dict[str, set[str]] = {}  # each source's lines, read and split once

    def source(name: str, at: int) -> str | None:
        if name not in sources:
            file = root / name
            text = file.read_text(encoding="utf-8") if file.is_file() else None
            sources[name] = text
            if text is None:
                found.append(Finding(path, at, f"quoted source {name} is not a committed file"))
            else:
                source_lines[name] = {line.rstrip() for line in text.splitlines()}
        return sources[name]

    quote: str | None = None  # the source of the quote block we are in
    quote_at = 0
    paragraph: list[str] | None = None  # the sources of the figures paragraph we are in
    for number, line in enumerate(lines, 1):
        if quote is not None:
            if END_QUOTE.match(line):
                quote = None
            elif line.strip() and not line.lstrip().startswith("```"):
                known = source(quote, quote_at) is not None
                if known and line.rstrip() not in source_lines[quote]:
                    found.append(
                        Finding(path, number, f"not a line of {quote}: {line.strip()[:80]}")
                    )
            continue
        started = QUOTE.match(line)
        if started:
            quote, quote_at = started.group(1), number
            source(quote, number)
            continue
        if not line.strip():
            paragraph = None
            continue
        marker = FIGURES.search(line)
        if marker:
            paragraph = marker.group(1).split()
        for figure in figures_in(line):
            if paragraph is None:
                found.append(Finding(path, number, f"unsourced figure {figure!r}"))
                continue
            texts = [source(name, number) for name in paragraph]
            if not any(t is not None and occurs(figure, t) for t in texts):
                found.append(
                    Finding(path, number, f"{figure!r} is in none of {', '.join(paragraph)}")
                )
    if quote is not None:
        found.append(Finding(path, quote_at, "quote block is never closed (<!-- /quote -->)"))
    return found


def refresh_file(path: Path, root: Path) -> int:
    """Rewrite the stale tables of the quote blocks in ``path`` from their reports: a quoted
    table is matched to the source's table with the same column names, and each row to that
    table's row of the same key (its first two cells: attack and backend). Returns how many
    lines changed; what cannot be matched is left for :func:`check` to name."""
    lines = path.read_text(encoding="utf-8").splitlines()
    changed = 0
    source: list[str] | None = None
    i = 0
    while i < len(lines):
        started = QUOTE.match(lines[i])
        if started:
            file = root / started.group(1)
            source = file.read_text(encoding="utf-8").splitlines() if file.is_file() else []
        elif END_QUOTE.match(lines[i]):
            source = None
        elif source is not None and lines[i].startswith("|"):
            end = i
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            fresh = _fresh_table(lines[i:end], source)
            changed += sum(a != b for a, b in zip(lines[i:end], fresh))
            lines[i:end] = fresh
            i = end
            continue
        i += 1
    if changed:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def _cells(row: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in row.strip().strip("|").split("|"))


def _fresh_table(quoted: list[str], source: list[str]) -> list[str]:
    """``quoted`` (a header, its rule and some rows) as the source's table with the same
    column names has them now; rows without a unique match stay as they are."""
    for start, line in enumerate(source):
        if not line.startswith("|") or _cells(line) != _cells(quoted[0]):
            continue
        end = start
        while end < len(source) and source[end].startswith("|"):
            end += 1
        table = source[start:end]
        out = table[:2] + quoted[2:]
        for k, row in enumerate(quoted[2:], 2):
            same = [r for r in table[2:] if _cells(r)[:2] == _cells(row)[:2]]
            if len(same) == 1:
                out[k] = same[0]
        return out
    return quoted


def check(paths: Sequence[Path], root: Path) -> list[Finding]:
    """The findings of every file in ``paths``."""
    return [finding for path in paths for finding in check_file(path, root)]


def documentation(root: Path) -> list[Path]:
    """The files whose figures must trace to a report: the README and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _without_comments(text: str) -> str:
    return re.sub(r"<!--.*?-->", "", text)


def main(argv: Sequence[str] | None = None) -> int:
    """Check the README and docs/ of the checkout at ``argv[0]`` (default: the current one);
    with ``--write``, first refresh the quoted table rows from their reports."""
    args = list(sys.argv[1:] if argv is None else argv)
    write = "--write" in args
    args = [a for a in args if a != "--write"]
    root = Path(args[0]) if args else Path.cwd()
    if write:
        for path in documentation(root):
            if refresh_file(path, root):
                print(f"refreshed quoted rows in {path.relative_to(root)}")
    findings = check(documentation(root), root)
    for finding in findings:
        print(str(finding).replace(str(root) + "/", ""))
    print(f"{len(findings)} unsourced or stale figures" if findings else "every figure traced")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
