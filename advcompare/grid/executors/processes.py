"""The processes executor: independent cells on this machine's cores at once, in a pool of
worker processes (the standard library's :class:`~concurrent.futures.ProcessPoolExecutor`).

Cells are independent once their models exist, so on a machine with more cores than one
cell uses well they can run side by side. On 2 cores it does not pay: the default run's cells
took as long side by side at one thread each as one after another at two threads
(``benchmarks/default_run.py --executors serial,processes``), so ``serial`` stays the
default. A task that nothing else could run beside (training the base model, which every
cell waits for) runs in this process with every thread instead, so it takes what a serial run
takes and trains the same weights. The driver remains the only writer of the store and the
weights cache: workers return values.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Iterable

import torch

from advcompare.grid.executors.base import OnResult, TaskResults
from advcompare.grid.plan import Task
from advcompare.grid.schedule import by_priority


def _start_worker(threads: int) -> None:
    """Runs once in each worker: torch's and NumPy's BLAS thread counts (ART's NumPy too),
    and plain progress lines rather than bars that the workers would draw over each other."""
    from threadpoolctl import threadpool_limits

    from advcompare import progress

    progress.bars_off()
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)


def _context(device: str) -> multiprocessing.context.BaseContext:
    """``fork`` where it exists and the run stays on the CPU (workers start in milliseconds,
    with every module already imported); ``spawn`` otherwise, since CUDA cannot be used in a
    forked child."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and not device.startswith("cuda"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def worker_count(threads: int, cpus: int | None = None) -> int:
    """How many cells run at once: the machine's cores over the threads each cell takes."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, threads))


class ProcessExecutor:
    """Runs ready tasks in ``concurrency`` worker processes of ``threads`` torch threads
    each, longest path first; a task that is the only one ready while no worker is busy, and
    every light task (joining shards), runs here with all of this process's threads."""

    name = "processes"

    def __init__(self, threads: int | None = None, device: str = "cpu") -> None:
        self.threads = threads or 1
        self.concurrency = worker_count(self.threads)
        self._context = _context(device)
        self._pool: ProcessPoolExecutor | None = None

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.concurrency,
                mp_context=self._context,
                initializer=_start_worker,
                initargs=(self.threads,),
            )
        return self._pool

    def run(self, tasks: Iterable[Task], values: dict[str, Any], on_result: OnResult) -> None:
        tasks = by_priority(list(tasks))
        results = TaskResults(tasks, values)
        running: dict[Future, Task] = {}

        def finished(task: Task, result: Any) -> None:
            results.add(task, result)
            on_result(task, result)

        try:
            while tasks or running:
                ready = [t for t in tasks if results.ready(t)]
                if not ready and not running:
                    raise RuntimeError(f"tasks wait for results no task gives: {tasks[:3]}")
                here = [t for t in ready if t.light] or (
                    ready[:1] if len(ready) == 1 and not running else []
                )
                if here:
                    task = here[0]
                    tasks.remove(task)
                    finished(task, task.fn(*results.args(task)))
                    continue
                for task in ready[: self.concurrency - len(running)]:
                    tasks.remove(task)
                    running[self._workers().submit(task.fn, *results.args(task))] = task
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(running.pop(future), future.result())
        except BaseException:
            self._stop()
            raise

    def _stop(self) -> None:
        """Cancel queued work and stop the workers (an interrupted or failed run)."""
        if self._pool is not None:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
