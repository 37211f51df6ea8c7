"""What a new user measures: a fresh clone, the README's install, its main job and its tests.

    python benchmarks/fresh_clone.py [--out reports/fresh-clone] [--skip-tests]

Clones this checkout's HEAD into a temporary folder, creates a virtualenv there, runs the
README's install (``pip install -e '.[test]'``), then ``advcompare run`` with an empty weights
cache, the same command again (it resumes: every cell read back from the store) and
``pytest``, each timed as a whole process. Writes ``timings.md`` (the table the README quotes)
and ``timings.json`` to ``--out``, with the commit, the date and the machine. One run: timings
on shared 2-core machines vary, so run it on a quiet machine and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _clock(seconds: float) -> str:
    """4 min 27 s, or 10 s under a minute."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _timed(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, str]:
    """Run argv to completion; its seconds and its output (also written to ``log``)."""
    start = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"fresh_clone: {' '.join(argv)} failed ({done.returncode}); see {log}")
    return seconds, done.stdout


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "fresh-clone")
    parser.add_argument("--skip-tests", action="store_true", help="time install and run only")
    args = parser.parse_args()

    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="advcompare-fresh-"))
    logs = work / "logs"  # kept, with the clone, when a step fails
    logs.mkdir()
    try:
        clone = work / "advcompare"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = dict(os.environ, ADVCOMPARE_CACHE=str(work / "cache"))
        env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
        env.pop("VIRTUAL_ENV", None)
        steps: list[dict[str, str | float]] = []

        def step(what: str, argv: list[str], name: str) -> str:
            seconds, out = _timed(argv, clone, env, logs / f"{name}.log")
            steps.append({"step": what, "seconds": round(seconds, 1), "time": _clock(seconds)})
            print(f"{what}: {_clock(seconds)}", flush=True)
            return out

        step(
            "`pip install -e '.[test]'` in a fresh venv",
            ["pip", "install", "-q", "-e", ".[test]"],
            "install",
        )
        said = step("`advcompare run`, empty weights cache", ["advcompare", "run"], "run")
        cells = re.search(r"(\d+) cells computed", said)
        step(
            "`advcompare run` again: resumes, every cell read back from the store",
            ["advcompare", "run"],
            "resume",
        )
        if not args.skip_tests:
            out = step("`pytest`", ["pytest", "-q", "-p", "no:cacheprovider"], "pytest")
            passed = re.search(r"(\d+) passed", out)
            if passed:
                steps[-1]["step"] = f"`pytest` ({passed.group(1)} tests passed)"
    except BaseException:
        print(f"fresh_clone: kept {work} (logs in {logs})", file=sys.stderr)
        raise
    shutil.rmtree(work, ignore_errors=True)

    gpu = "an NVIDIA GPU" if shutil.which("nvidia-smi") else "no GPU"
    record = {
        "commit": commit,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores ({_cpu_model()}), {gpu}, "
        f"Python {platform.python_version()}",
        "cells": int(cells.group(1)) if cells else None,
        "steps": steps,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "timings.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"Fresh clone of commit {record['commit']}, {record['date']}, {record['machine']}; "
        "one run each, written by `python benchmarks/fresh_clone.py`.",
        "",
        "| step | time |",
        "|---|---|",
        *(f"| {s['step']} | {s['time']} |" for s in steps),
    ]
    (args.out / "timings.md").write_text("\n".join(lines) + "\n")
    print(f"written: {args.out / 'timings.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
