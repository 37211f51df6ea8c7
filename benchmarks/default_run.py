"""Where the default run's time goes, before and after a change, with the figures compared.

    python benchmarks/default_run.py [--before REV] [--executors serial,processes]
                                     [--out reports/benchmarks/default_run.md]

Runs ``advcompare run`` (the default experiment, ``configs/default.toml``) as a fresh clone
does: an empty weights cache, so the model is trained. Each line the run prints is
timestamped as it arrives, which splits the wall time into start-up, training (from the
every-5-epochs lines), each cell (the time between its line and the one before) and the
report. With ``--before REV`` the same is done first for commit ``REV`` (a git worktree,
imported ahead of this checkout), one run after the other on the same machine, and the two
runs' figures (adversarial F1, success, median L2 per cell) and verdicts are compared.
``--executors`` runs this checkout once per executor named (``serial`` is the default run;
``processes`` runs its cells side by side, whose times are one phase, not one per cell).
One run each: timings on a shared 2-core machine vary, so run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
from fresh_clone import _clock  # benchmarks/ is this script's folder, first on sys.path
from suite_time import _git

ROOT = Path(__file__).resolve().parent.parent
EPOCH = re.compile(r"epoch (\d+)/(\d+)")
CELL = re.compile(r"^\[([^\]]+)\] adversarial F1")
VERDICT = re.compile(
    r"^\| (.+?) +\| (\S+) +\| (\d\.\d{3}) \(.*?\| (reproduces|differs|inconclusive)"
)
FIGURES = ["adv_f1", "success_rate", "l2_median"]
MS_PER_IMAGE = re.compile(r"([\d.]+) ms/image")


@dataclass
class Profile:
    """One run's wall time, split by the lines it printed."""

    source: str
    executor: str = "serial"
    wall: float = 0.0
    lines: list[tuple[float, str]] = field(default_factory=list)
    out: Path = Path()

    def phases(self) -> dict[str, float]:
        """start-up, training, each cell, report: seconds each (they sum to ``wall``)."""
        epochs = [(t, int(m[1]), int(m[2])) for t, s in self.lines if (m := EPOCH.search(s))]
        cells = [(t, m[1]) for t, s in self.lines if (m := CELL.match(s))]
        model = next(t for t, s in self.lines if "] model " in s)
        if len(epochs) >= 2:  # the first epoch line comes after `period` epochs
            (t0, e0, _), (t1, e1, _) = epochs[0], epochs[-1]
            train_start = t0 - (t1 - t0) / (e1 - e0) * e0
        else:
            train_start = model
        phases = {"start-up (imports, data)": train_start, "training": model - train_start}
        previous = model
        if self.executor != "serial" and cells:  # cells overlap: one phase for all of them
            previous = cells[-1][0]
            phases[f"attack cells, side by side ({len(cells)})"] = previous - model
            cells = []
        for t, name in cells:
            phases[name] = t - previous
            previous = t
        phases["report (intervals, tables, figures)"] = self.wall - previous
        return phases


def _run(source: str, tree: Path, workdir: Path, executor: str = "serial") -> Profile:
    """``advcompare run`` of the code in ``tree`` with an empty weights cache, each output line
    timestamped (``python -m`` imports the package from its working directory first)."""
    env = dict(os.environ, ADVCOMPARE_CACHE=str(workdir / "cache"), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(tree)
    profile = Profile(source, executor, out=workdir / "out")
    argv = [sys.executable, "-m", "advcompare", "run", "--out", str(profile.out)]
    if executor != "serial":
        argv += ["--executor", executor]
    start = time.monotonic()
    with subprocess.Popen(
        argv, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            profile.lines.append((time.monotonic() - start, raw.rstrip()))
            print(f"{profile.lines[-1][0]:7.1f} s  {raw.rstrip()}", flush=True)
    profile.wall = time.monotonic() - start
    if proc.returncode:
        raise SystemExit(f"default_run: {source} failed ({proc.returncode})")
    return profile


def _verdicts(profile: Profile) -> list[tuple[str, ...]]:
    text = (profile.out / "report.md").read_text()
    return [m.groups() for line in text.splitlines() if (m := VERDICT.match(line))]


def _figures(profile: Profile) -> pd.DataFrame:
    frame = pd.read_csv(profile.out / "results.csv")
    return frame.set_index(["label", "backend", "role"])[FIGURES].round(3)


def _table(profiles: list[Profile]) -> list[str]:
    phases = [p.phases() for p in profiles]
    names = list(dict.fromkeys(name for ph in phases for name in ph))
    head = "| phase | " + " | ".join(f"{p.source} (s)" for p in profiles)
    ratio_head = f" | {profiles[-1].source} / {profiles[0].source} |"
    rows = [head + (ratio_head if len(profiles) >= 2 else " |")]
    rows.append("|---" * (len(profiles) + 1 + (len(profiles) >= 2)) + "|")
    for name in [*names, "total"]:
        values = [
            p.wall if name == "total" else ph.get(name, float("nan"))
            for p, ph in zip(profiles, phases)
        ]
        cells = " | ".join("–" if v != v else f"{v:.1f}" for v in values)
        ratio = (
            f" | {values[-1] / values[0]:.2f}"
            if len(values) >= 2 and values[0] == values[0] and values[-1] == values[-1]
            else (" | –" if len(values) >= 2 else "")
        )
        bold = "**" if name == "total" else ""
        rows.append(f"| {bold}{name}{bold} | {cells}{ratio} |")
    return rows


def _comparison(before: Profile, after: Profile) -> list[str]:
    fb, fa = _figures(before), _figures(after)
    diff = (fa - fb).abs().max()
    same = fb.equals(fa)
    vb, va = _verdicts(before), _verdicts(after)
    lines = [
        f"Figures (adversarial F1, success rate, median L2 of {len(fa)} cells, 3 decimals): "
        + (
            "identical."
            if same
            else "largest differences " + ", ".join(f"{k} {v:.3f}" for k, v in diff.items()) + "."
        ),
        f"Verdicts: {sum(a[3] == 'reproduces' for a in va)} of {len(va)} cells reproduce the "
        f"paper after, {sum(b[3] == 'reproduces' for b in vb)} of {len(vb)} before; "
        + (
            "the same verdict on every cell."
            if [v[3] for v in va] == [v[3] for v in vb]
            else "verdicts differ: " + str(list(zip(vb, va)))
        ),
    ]
    return lines


def _cells(profile: Profile) -> dict[str, float]:
    """Each cell's attack time per image (ms), as its line printed it."""
    return {
        m[1]: float(t[1])
        for _, s in profile.lines
        if (m := CELL.match(s)) and (t := MS_PER_IMAGE.search(s))
    }


def _side_by_side(serial: Profile, parallel: Profile) -> str:
    """What running cells side by side gained on the whole and cost each cell's timing."""
    ms_alone, ms_side = _cells(serial), _cells(parallel)
    alone = sum(v for k, v in serial.phases().items() if k in ms_alone)
    side = next(v for k, v in parallel.phases().items() if k.startswith("attack cells"))
    ratios = {k: ms_side[k] / ms_alone[k] for k in ms_alone if k in ms_side and ms_alone[k]}
    return (
        f"{parallel.source} against {serial.source}: the attack cells took {side:.1f} s side by "
        f"side and {alone:.1f} s one after another ({alone / side:.2f}x); the whole run "
        f"{parallel.wall / serial.wall:.2f} of the serial one's time. Each cell's time per "
        f"image side by side over its time alone: "
        + ", ".join(f"{k.split('/', 1)[1]} {r:.2f}x" for k, r in ratios.items())
        + "."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a commit to time first, for the before/after table")
    parser.add_argument(
        "--executors",
        default="serial",
        help="comma-separated executors to run this checkout with (default: serial)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports/benchmarks/default_run.md")
    args = parser.parse_args()
    profiles = []
    with tempfile.TemporaryDirectory(prefix="advcompare-default-run-") as tmp:
        if args.before:
            tree = Path(tmp) / "before"
            _git("worktree", "add", "--detach", str(tree), args.before)
            try:
                profiles.append(_run(f"before ({args.before})", tree, Path(tmp) / "b"))
            finally:
                _git("worktree", "remove", "--force", str(tree))
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "advcompare")
        executors = args.executors.split(",")
        for executor in executors:
            name = f"{head}{' + changes' if dirty else ''}"
            name = f"after ({name}, {executor})" if len(executors) > 1 else f"after ({name})"
            profiles.append(_run(name, ROOT, Path(tmp) / f"a-{executor}", executor))
        flags = (f" --before {args.before}" if args.before else "") + (
            f" --executors {args.executors}" if args.executors != "serial" else ""
        )
        header = (
            f"`python benchmarks/default_run.py{flags}`"
            f", {date.today()}, {os.cpu_count()} CPU cores, no GPU, one run each, one after the "
            "other; `advcompare run` with an empty weights cache (the model is trained), as on "
            "a fresh clone. Phases from the time each line of the run's output arrived; "
            "training from its every-5-epochs lines."
        )
        report = [
            "# The default run: where the time goes",
            "",
            *textwrap.wrap(header, 100, break_on_hyphens=False),
            "",
            *_table(profiles),
            "",
            *[f"{p.source}: {_clock(p.wall)}." for p in profiles],
        ]
        for other in profiles[1:]:
            report += [
                "",
                f"{other.source} against {profiles[0].source}:",
                *(w for line in _comparison(profiles[0], other) for w in textwrap.wrap(line, 100)),
            ]
        serial = next((p for p in profiles[1:] if p.executor == "serial"), None)
        for other in profiles[1:]:
            if serial is not None and other.executor != "serial":
                report += ["", *textwrap.wrap(_side_by_side(serial, other), 100)]
    args.out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
