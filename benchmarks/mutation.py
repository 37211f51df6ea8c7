"""Mutation testing of the modules that decide conclusions, one module at a time (mutmut 3).

    python benchmarks/mutation.py                          # every module below
    python benchmarks/mutation.py statistics verdict       # some of them
    python benchmarks/mutation.py --timeout 600 --children 2

For each module this copies the project (tracked and untracked, not ignored files) to a
scratch directory, points ``[tool.mutmut]`` there at that module and the few fast test files
that exercise it (never the whole suite), runs ``mutmut run`` and prints one markdown row:
mutants, killed, survived, % killed, the command, the date, then the surviving mutants' names
(``mutmut show NAME`` in the printed directory shows each). Why per module and in a copy:
mutmut reads its configuration only from ``pyproject.toml``, and a narrow test selection per
module is what keeps a run to minutes. docs/mutation.md explains how to read the result.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLERS = "tests/test_mutation_killers.py"

# module → the fast test files that exercise it
MODULES: dict[str, tuple[str, ...]] = {
    "analysis/statistics": ("tests/test_statistics.py", "tests/test_properties.py", KILLERS),
    "analysis/proportions": ("tests/test_comparison.py", "tests/test_properties.py", KILLERS),
    "paper/verdict": ("tests/test_verdict.py", "tests/test_properties.py", KILLERS),
    "paper/causes": ("tests/test_verdict.py", KILLERS),
    "analysis/agreement": (
        "tests/test_agreement_mutants.py",
        "tests/test_comparison.py",
        "tests/test_properties.py",
        KILLERS,
    ),
    "analysis/comparison": ("tests/test_comparison.py", "tests/test_properties.py", KILLERS),
    # synthetic stored cells: test_controls.py's planted run costs 12 s per mutant
    "analysis/controls": ("tests/test_controls_mutants.py", KILLERS),
    "tests/docs_quotes": ("tests/test_docs_quotes.py", KILLERS),
    "report/latex": (  # closed forms, then test_report.py's LaTeX tests (the rest build
        "tests/test_latex_mutants.py",  # whole reports)
        "tests/test_report.py::test_report_tex_has_every_table_as_escaped_booktabs",
        "tests/test_report.py::test_latex_helpers_escape_and_translate",
        "tests/test_report.py::test_a_wide_latex_table_is_split_with_its_names_and_numbers_right_aligned",
        "tests/test_report.py::test_report_tex_compiles_with_pdflatex",
        KILLERS,
    ),
    "paper/claims": (
        "tests/test_claims_judging.py",
        "tests/test_claims_mutants.py",
        "tests/test_claims.py",
        KILLERS,
    ),
    "paper/judged": ("tests/test_claims_mutants.py", KILLERS),
}
# exit codes mutmut stores per mutant (mutmut.stats.status_by_exit_code)
KILLED = {1, 3, 36, -24, 24, 152, 255, -11, -9}  # a test failed, or the mutant hung or crashed
SURVIVED = {0, 5, 33}  # every test passed, or no test reached the mutant


def _path(module: str) -> str:
    """The file of a ``MODULES`` key: under ``advcompare/`` unless the key names its folder."""
    return f"{module}.py" if module.startswith("tests/") else f"advcompare/{module}.py"


def _files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return [f for f in out if f and (ROOT / f).is_file()]


def _copy(dest: Path) -> None:
    for name in _files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def _configure(dest: Path, module: str, tests: tuple[str, ...]) -> None:
    path = dest / "pyproject.toml"
    text = path.read_text()
    section = (
        "[tool.mutmut]\n"
        f'source_paths = ["{_path(module).split("/")[0]}"]\n'
        f'only_mutate = ["{_path(module)}"]\n'
        'also_copy = ["README.md", "docs/", "reports/", "configs/", "benchmarks/"]\n'
        # a fork server free of pytest: state the clean run leaves (mcnemar_power's lru_cache)
        # must not reach the mutants, or a mutant in a cached function is never called
        'process_isolation = "forkserver"\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-n", "0"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n\n"
    )
    text = re.sub(r"\[tool\.mutmut\]\n.*?(?=\n\[tool\.)", section.rstrip("\n"), text, flags=re.S)
    path.write_text(text)


def _tally(dest: Path, module: str) -> tuple[int, int, list[str], int]:
    meta = json.loads((dest / "mutants" / f"{_path(module)}.meta").read_text())
    codes = meta["exit_code_by_key"]
    killed = sum(c in KILLED for c in codes.values())
    survivors = sorted(k for k, c in codes.items() if c in SURVIVED)
    untested = sum(c is None for c in codes.values())
    return len(codes), killed, survivors, untested


def run(module: str, timeout: int, children: int, keep: bool) -> None:
    tests = MODULES[module]
    dest = Path(tempfile.mkdtemp(prefix=f"advcompare-mutation-{module.replace('/', '-')}-"))
    _copy(dest)
    _configure(dest, module, tests)
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    start = datetime.datetime.now(datetime.UTC)
    try:
        subprocess.run(
            command, cwd=dest, env=env, timeout=timeout, stdout=subprocess.DEVNULL, check=False
        )
        note = ""
    except subprocess.TimeoutExpired:
        note = f" (stopped after {timeout} s: untested mutants left)"
    total, killed, survivors, untested = _tally(dest, module)
    done = total - untested
    share = f"{100 * killed / done:.1f}%" if done else "n/a"
    minutes = (datetime.datetime.now(datetime.UTC) - start).total_seconds() / 60
    print(
        f"| {_path(module)} | {total} | {killed} | {len(survivors)} | {share} | "
        f"`pytest -x -q {' '.join(tests)}` | {start:%Y-%m-%d} | {minutes:.1f} min{note} |"
    )
    for name in survivors:
        print(f"    survived: {name}")
    print(f"    directory: {dest}" if keep else "", flush=True)
    if not keep:
        shutil.rmtree(dest, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES), choices=list(MODULES))
    parser.add_argument("--timeout", type=int, default=600, help="seconds per module")
    parser.add_argument("--children", type=int, default=2, help="mutants run at once")
    parser.add_argument("--keep", action="store_true", help="keep each module's copy")
    args = parser.parse_args()
    print("| module | mutants | killed | survived | % killed | tests | date | time |")
    print("|---|---|---|---|---|---|---|---|")
    for module in args.modules:
        run(module, args.timeout, args.children, args.keep)


if __name__ == "__main__":
    main()
