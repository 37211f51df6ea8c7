"""Command line: ``advcompare run``, ``advcompare report`` and ``advcompare backends``.

Every user error (unknown name, malformed config, missing data) is one line on stderr and
exit status 2; an interrupted run says how to resume and exits 130.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from advcompare.errors import AdvCompareError

ISSUES_URL = "the advcompare issue tracker"


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (plus where to get help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="advcompare",
        description=(
            "Compare adversarial attacks across libraries on the paper's CNN "
            "(Campbell & Lasselle 2024)."
        ),
        epilog="Add --debug anywhere to see a Python traceback instead of a one-line error.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    run = sub.add_parser("run", help="train (or load) the CNN, attack it, write the report")
    _run_arguments(run)
    _executor_arguments(run)
    report = sub.add_parser("report", help="re-render a run directory's report from its store")
    report.add_argument("run_dir", help="a run directory holding results.sqlite")
    sub.add_parser("backends", help="list backends and the attacks each provides")
    return parser


def _run_arguments(run: argparse.ArgumentParser) -> None:
    """What ``advcompare run`` runs and where: the config and the flags over it."""
    run.add_argument("--config", help="experiment TOML file (default: the built-in default)")
    run.add_argument(
        "--backend", help="backend for every attack it provides (overrides the config)"
    )
    run.add_argument(
        "--dataset",
        action="append",
        dest="datasets",
        metavar="NAME",
        help="dataset to run (repeatable; overrides the config)",
    )
    run.add_argument("--data-root", help="folder with MNIST/CIFAR-10/GTSRB in torchvision's layout")
    run.add_argument(
        "--download",
        action="store_true",
        help="let torchvision download missing datasets into --data-root",
    )
    run.add_argument("--device", help="auto (default), cpu, cuda or cuda:N")
    run.add_argument("--out", help="run directory (default: reports/<run-name>)")
    run.add_argument("--name", help="run name (default: the config's name)")
    run.add_argument("--samples", type=int, help="test images to attack (0 = all)")
    run.add_argument("--epochs", type=int, help="training epochs (default 20, paper §3.3)")
    run.add_argument(
        "--quiet",
        action="store_true",
        help="print only the result line and errors: no progress bars, cell or epoch lines",
    )
    run.add_argument(
        "--seeds",
        metavar="S,S,...",
        help="train one model per seed and run every cell on each (e.g. 0,1,2); the report "
        "gives mean ± sd across seeds",
    )


def _executor_arguments(run: argparse.ArgumentParser) -> None:
    """How ``advcompare run`` executes its cells: serially or on Ray, and its resources."""
    run.add_argument(
        "--executor",
        help="serial (default: in this process), processes (cells side by side in worker "
        "processes on this machine's cores) or ray (Ray tasks on this machine's cores and "
        "GPUs, or a cluster)",
    )
    run.add_argument(
        "--ray-address",
        help="join a running Ray cluster: 'auto' or HOST:PORT "
        "(default: start a local Ray, then stop it)",
    )
    run.add_argument(
        "--cpus-per-cell",
        type=int,
        metavar="N",
        help="torch threads per cell (and CPUs Ray reserves for it)",
    )
    run.add_argument(
        "--gpus-per-cell",
        type=float,
        metavar="F",
        help="GPUs Ray reserves per cell; fractional values share a GPU",
    )
    run.add_argument(
        "--images-per-shard",
        type=int,
        metavar="N",
        help="split each cell into shards of N images (whole batches) that run as separate "
        "tasks; 0 = never (default: serial never; processes and ray spread a cell over their "
        "workers)",
    )


def _run(args: argparse.Namespace) -> int:
    from advcompare.config.experiment import apply_overrides, load_config
    from advcompare.grid.runner import run_experiment
    from advcompare.report import write_report

    cfg = apply_overrides(
        load_config(args.config),
        backend=args.backend,
        datasets=args.datasets,
        data_root=args.data_root,
        download=args.download,
        device=args.device,
        out=args.out,
        samples=args.samples,
        epochs=args.epochs,
        name=args.name,
        executor=args.executor,
        ray_address=args.ray_address,
        cpus_per_cell=args.cpus_per_cell,
        gpus_per_cell=args.gpus_per_cell,
        images_per_shard=args.images_per_shard,
        seeds=args.seeds,
    )
    from advcompare.progress import set_quiet

    set_quiet(args.quiet)
    try:
        summary = run_experiment(cfg, log=(lambda *_: None) if args.quiet else print)
    except KeyboardInterrupt:
        print(
            f"advcompare: interrupted; finished cells are saved in "
            f"{cfg.run_dir() / 'results.sqlite'}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    report = write_report(summary.run_dir, summary.keys, title=f"advcompare: {cfg.name}")
    print(
        f"{len(summary.computed)} cells computed, {len(summary.resumed)} already stored "
        f"({summary.executor} executor); report: {report}"
    )
    return 0


def _backends() -> int:
    from tabulate import tabulate

    from advcompare.adapters import get_backend, known_backends
    from advcompare.attacks.spec import known_attacks

    rows = []
    for attack in known_attacks():
        for name in known_backends():
            cap = get_backend(name).capabilities().get(attack)
            rows.append(
                (
                    attack,
                    name,
                    cap.support if cap else "unsupported",
                    cap.library_class if cap else "",
                    cap.note if cap else "",
                )
            )
    print(
        tabulate(
            rows,
            headers=["attack", "backend", "support", "library class", "note"],
            tablefmt="github",
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``advcompare`` console script."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "report":
            from advcompare.report import write_report

            run_dir = Path(args.run_dir)
            if not (run_dir / "results.sqlite").is_file():
                raise AdvCompareError(
                    f"'{run_dir}' holds no results.sqlite; pass a run "
                    f"directory written by 'advcompare run'"
                )
            print(f"report: {write_report(run_dir)}")
            return 0
        return _backends()
    except AdvCompareError as exc:
        print(f"advcompare: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and closed: not an error of the user's
        sys.stderr.close()
        return 0
    except OSError as exc:  # a path the user gave: missing, read-only, a file not a folder
        if debug:
            raise
        where = f"'{exc.filename}'" if exc.filename else "a file"
        print(
            f"advcompare: error: cannot use {where}: {exc.strerror or exc}; check the path "
            f"and its permissions (--out, cache_dir, data_root)",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, traceback on --debug
        if debug:
            raise
        print(
            f"advcompare: internal error: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]}; please report it at {ISSUES_URL} with the "
            f"output of the same command run with --debug",
            file=sys.stderr,
        )
        return 1
