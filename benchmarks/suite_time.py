"""The default test suite's time at an earlier commit and at HEAD, measured in one sitting;
or this checkout's at several thread counts (``--threads``), one after the other.

    python benchmarks/suite_time.py --before e75f982 [--out reports/benchmarks]
    python benchmarks/suite_time.py --threads 1,2,4 [--out reports/benchmarks]

Checks the earlier commit out into a temporary git worktree and runs its ``pytest`` there
with this environment (the worktree first on PYTHONPATH, so its tests import its own
advcompare), then this checkout's ``pytest``; each with a fresh weights cache, one after the
other. Prints and writes ``suite_time.md``: both commits, their test counts and pytest's own
time, and the ratio. Needs the test extras installed (``pip install -e '.[test]'``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def run_suite(where: Path, cache: Path, threads: int | None = None) -> tuple[int, float, str]:
    """pytest in ``where`` (at ``OMP_NUM_THREADS=threads`` when given): tests passed, pytest's
    own seconds, and its summary line."""
    env = dict(os.environ, ADVCOMPARE_CACHE=str(cache), PYTHONPATH=str(where))
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    timing = re.search(r"(\d+) passed.* in ([\d.]+)s", summary)
    if done.returncode != 0 or timing is None:
        raise SystemExit(f"suite_time: pytest in {where} failed: {summary}")
    return int(timing.group(1)), float(timing.group(2)), summary.strip("= ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="the earlier commit")
    parser.add_argument("--threads", help="thread counts to time this checkout at, e.g. 1,2,4")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    if args.threads:
        return by_threads([int(t) for t in args.threads.split(",")], args.out)
    if not args.before:
        parser.error("give --before COMMIT or --threads N,N,...")

    before = _git("rev-parse", "--short", args.before)
    work = Path(tempfile.mkdtemp(prefix="advcompare-suite-"))
    tree = work / "before"
    _git("worktree", "add", "--detach", str(tree), before)
    try:
        rows = []
        for commit, where in ((before, tree), (None, ROOT)):
            if commit is None:  # this checkout as it is when its turn comes
                dirty = _git("status", "--porcelain", "--untracked-files=no")
                commit = _git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")
            passed, seconds, summary = run_suite(where, work / f"cache-{commit}")
            rows.append((commit, passed, seconds))
            print(f"{commit}: {summary}", flush=True)
    finally:
        _git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(work, ignore_errors=True)
    (_, _, first), (_, _, second) = rows
    lines = [
        f"Default suite (`pytest`), {datetime.now(timezone.utc):%Y-%m-%d}, {os.cpu_count()} CPU "
        "cores, one sitting, one run each (`python benchmarks/suite_time.py "
        f"--before {before}`):",
        "",
        "| commit | tests passed | pytest's time |",
        "|---|---|---|",
        *(f"| {c} | {n} | {s:.1f} s |" for c, n, s in rows),
        "",
        f"After / before: {second / first:.2f}.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "suite_time.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def by_threads(threads: list[int], out: Path) -> int:
    """This checkout's default suite at each thread count, each with a fresh weights cache;
    writes ``suite_time_threads.md``."""
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    commit = _git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")
    work = Path(tempfile.mkdtemp(prefix="advcompare-suite-"))
    rows = []
    try:
        for n in threads:
            passed, seconds, summary = run_suite(ROOT, work / f"cache-{n}", n)
            rows.append((n, passed, seconds))
            print(f"OMP_NUM_THREADS={n}: {summary}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        f"Default suite (`pytest`) at {commit}, {datetime.now(timezone.utc):%Y-%m-%d}, "
        f"{os.cpu_count()} CPU cores, one run per thread count, one after the other "
        f"(`python benchmarks/suite_time.py --threads {','.join(map(str, threads))}`):",
        "",
        "| OMP_NUM_THREADS | tests passed | pytest's time |",
        "|---|---|---|",
        *(f"| {n} | {p} | {s:.1f} s |" for n, p, s in rows),
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite_time_threads.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
