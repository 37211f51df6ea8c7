"""Serial against Ray on one grid, and torch's thread count, measured in one run.

    python benchmarks/executor_scaling.py                       # configs/compare.toml, 100 images
    python benchmarks/executor_scaling.py --config configs/default.toml --samples 200

1. Threads: one forward+backward pass of the paper CNN at batch 128, ms/image, at 1 thread and
   at torch's default, on a quiet machine, while one other process keeps a core busy, and
   as two 1-thread processes at once (what two Ray cells on two cores do).
2. Executors: wall time of the whole grid (model already cached, fresh out dirs) under
   ``serial`` (torch's default threads; ``--serial-one-thread`` adds 1 thread) and ``ray``
   with one thread per cell, and the serial/ray ratio. Figures agree between the runs
   (checked) except times.
3. Why: the cells' own attack seconds, summed per run, split the ratio into what one thread
   instead of several costs a cell and what running beside another cell costs it; with
   those two factors and perfect packing, the best serial/ray ratio this machine allows.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def _spin(stop: mp.Event) -> None:  # type: ignore[valid-type]
    x = 0
    while not stop.is_set():
        x += 1


def pass_ms_per_image(threads: int, repeats: int = 20) -> float:
    """Median ms/image of one forward+backward pass of the paper CNN at batch 128."""
    from advcompare.models.cnn import PaperCNN

    torch.set_num_threads(threads)
    model = PaperCNN(10).eval()
    x = torch.rand(128, 3, 32, 32)
    y = torch.randint(0, 10, (128,))
    times = []
    for i in range(repeats + 3):
        xg = x.clone().requires_grad_(True)
        start = time.perf_counter()
        torch.nn.functional.nll_loss(model(xg), y).backward()
        if i >= 3:
            times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] / 128 * 1e3


def _pass_into(queue, threads: int) -> None:  # type: ignore[no-untyped-def]
    queue.put(pass_ms_per_image(threads))


def concurrent_pass_ms(processes: int = 2) -> float:
    """Median ms/image of each of ``processes`` 1-thread processes timing passes at once."""
    queue: mp.Queue = mp.Queue()
    workers = [mp.Process(target=_pass_into, args=(queue, 1)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(queue.get() for _ in workers) / processes


def thread_table() -> list[tuple[str, int, float]]:
    default = torch.get_num_threads()
    rows = [("quiet", t, pass_ms_per_image(t)) for t in sorted({1, default})]
    stop = mp.Event()
    busy = mp.Process(target=_spin, args=(stop,), daemon=True)
    busy.start()
    try:
        rows += [("one other process busy", t, pass_ms_per_image(t)) for t in sorted({1, default})]
    finally:
        stop.set()
        busy.join()
    torch.set_num_threads(default)
    rows.append(("two 1-thread processes", 1, concurrent_pass_ms(2)))
    return rows


def cell_seconds(run_dir: Path) -> float:
    """The attack seconds of every cell of a run, summed (what the cells cost, not the run)."""
    import pandas as pd

    cells = pd.read_csv(run_dir / "results.csv")
    return float((cells.attack_time_per_image * cells.n).sum())


def timed_run(config: str, samples: int, out: Path, env: dict[str, str], *flags: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "advcompare",
            "run",
            "--config",
            config,
            "--samples",
            str(samples),
            "--out",
            str(out),
            *flags,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(flags)}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "compare.toml"))
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--backend", help="passed to every run (e.g. all)")
    parser.add_argument("--skip-threads", action="store_true")
    parser.add_argument(
        "--serial-one-thread", action="store_true", help="also time a serial run at 1 thread"
    )
    args = parser.parse_args()

    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, default threads "
        f"{torch.get_num_threads()}"
    )
    if not args.skip_threads:
        print("\nforward+backward, paper CNN, batch 128 (median ms/image):")
        for load, threads, ms in thread_table():
            print(f"  {load:24s} {threads} thread(s): {ms:.2f}")

    work = Path(tempfile.mkdtemp(prefix="executor-scaling-"))
    env = dict(
        os.environ,
        ADVCOMPARE_CACHE=os.environ.get("ADVCOMPARE_CACHE", str(work / "cache")),
        RAY_USAGE_STATS_ENABLED="0",
    )
    extra = ("--backend", args.backend) if args.backend else ()
    # warm the weights cache (untimed): every run below loads the same model
    timed_run(args.config, 1, work / "warm", env, *extra)
    serial = timed_run(args.config, args.samples, work / "serial", env, *extra)
    serial_1 = (
        timed_run(args.config, args.samples, work / "serial-1", env, "--cpus-per-cell", "1", *extra)
        if args.serial_one_thread
        else None
    )
    ray = timed_run(
        args.config,
        args.samples,
        work / "ray",
        env,
        "--executor",
        "ray",
        "--cpus-per-cell",
        "1",
        *extra,
    )

    import pandas as pd

    # torch at 1 thread rounds some sums differently: compare like with like where we can
    alike = work / ("serial-1" if serial_1 is not None else "serial")
    a = pd.read_csv(alike / "results.csv").set_index("key")
    b = pd.read_csv(work / "ray" / "results.csv").set_index("key").loc[a.index]
    same = ["adv_f1", "success_rate", "l2_median"]
    agree = bool(((a[same] - b[same]).abs().fillna(0) < 1e-9).all().all())
    print(
        f"\n{Path(args.config).name}{' --backend ' + args.backend if args.backend else ''}, "
        f"{args.samples} images, {len(a)} cells "
        f"(wall time, model cached):"
    )
    print(f"  serial, default threads : {serial:7.1f} s")
    if serial_1 is not None:
        print(f"  serial, 1 thread        : {serial_1:7.1f} s")
    print(f"  ray, 1 thread per cell  : {ray:7.1f} s (Ray start-up included)")
    print(f"  serial / ray            : {serial / ray:.2f}x")
    print(
        f"  {alike.name} and ray figures identical (F1, success, median L2): "
        f"{'yes' if agree else 'NO'}"
    )
    if serial_1 is None:
        return
    slots = os.cpu_count() or 1
    two, one, side = (cell_seconds(work / d) for d in ("serial", "serial-1", "ray"))
    threads_cost, beside_cost = one / two, side / one
    print("\nwhy (attack seconds of all cells, summed):")
    print(f"  serial {two:.1f} s, serial at 1 thread {one:.1f} s, ray {side:.1f} s")
    print(f"  1 thread instead of {torch.get_num_threads()}: each cell {threads_cost:.2f}x slower")
    print(f"  beside another cell: each cell {beside_cost:.2f}x slower again")
    print(
        f"  best serial/ray on {slots} cores (perfect packing, no start-up): "
        f"{slots / (threads_cost * beside_cost):.2f}x"
    )


if __name__ == "__main__":
    main()
