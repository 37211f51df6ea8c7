"""The Ray executor: each task is a Ray core task (Moritz et al. 2018, arXiv:1712.05889).

Ray does the work a pool would: scheduling by declared resources (``num_cpus``, fractional
``num_gpus``), dependencies (a task's :class:`~advcompare.grid.plan.Dep` arguments are the
ObjectRefs of the tasks it needs, so Ray starts it when they are done), retries of tasks
whose worker died (``max_retries``), and the object store, which carries data and trained
weights to workers on any node. Results come back to the driver, the only writer of the
store and the weights cache, as each task finishes.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, Iterable

from advcompare.errors import AdvCompareError
from advcompare.grid import tasks
from advcompare.grid.executors.base import ExecutorConfig, OnResult
from advcompare.grid.plan import Dep, Task
from advcompare.grid.schedule import by_priority

INSTALL_HINT = "pip install 'advcompare[ray]'"
# Ray's switch for single-node (loopback) operation, named for the platforms where it is
# the default; set for the local Ray this executor starts, never for a cluster it joins.
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# How long joining a cluster may take to answer before the run gives up with one line.
CONNECT_TIMEOUT_S = 10.0
START_HINT = "start one with 'ray start --head --port 6379' and pass --ray-address 127.0.0.1:6379"


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail within ``timeout`` seconds, naming the address and how to start a cluster, when
    nothing accepts a connection at ``HOST:PORT`` (Ray itself retries for minutes).
    ``auto`` and ``ray://`` addresses are left to Ray."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise AdvCompareError(
            f"Ray address '{address}' is not HOST:PORT; pass e.g. --ray-address "
            f"127.0.0.1:6379, 'auto', or omit it for a local Ray"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise AdvCompareError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); {START_HINT}, "
            f"or omit --ray-address for a local Ray"
        ) from None


def _call(threads: int, fn, *args):
    """Runs inside a Ray worker: torch's and NumPy's BLAS thread counts, then the task."""
    import torch
    from threadpoolctl import threadpool_limits

    tasks.IN_RAY_WORKER = True
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):  # ART's NumPy code too, not only torch
        return fn(*args)


class RayExecutor:
    """Runs tasks on a local Ray (started and stopped here) or on a running cluster."""

    name = "ray"

    def __init__(self, config: ExecutorConfig) -> None:
        try:
            import ray
        except ImportError as exc:
            raise AdvCompareError(
                f"the ray executor needs Ray, which is not installed: {INSTALL_HINT}"
            ) from exc
        self._ray = ray
        self.config = config
        self._started = False
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
                "configure_logging": True,
            }
            try:
                if config.address:
                    check_reachable(config.address)
                    ray.init(address=config.address, **options)
                else:
                    # A Ray started here is one node: keep it on the loopback interface
                    # (Ray otherwise binds the machine's network address).
                    os.environ.setdefault(LOCAL_ONLY_ENV, "0")
                    ray.init(num_cpus=os.cpu_count(), **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = config.address or "a local Ray instance"
                raise AdvCompareError(
                    f"could not start or join Ray at {where}: "
                    f"{' '.join(str(exc).split())[:200]}; check "
                    f"--ray-address (or omit it for a local Ray)"
                ) from exc
            self._started = True
        resources = ray.cluster_resources()
        self.threads = config.cpus_per_cell or 1
        self.gpus = config.gpus_per_cell
        cpus = resources.get("CPU", 0.0)
        gpus = resources.get("GPU", 0.0)
        if self.gpus > 0 and gpus <= 0:
            self.close()
            raise AdvCompareError(
                f"gpus_per_cell = {self.gpus} but the Ray cluster has no "
                f"GPU; set gpus_per_cell = 0 or join a cluster with GPUs"
            )
        slots = int(cpus // self.threads)
        if self.gpus > 0:
            slots = min(slots, int(gpus / self.gpus + 1e-9))
        if slots < 1:
            self.close()
            raise AdvCompareError(
                f"cpus_per_cell = {self.threads} but the Ray cluster has "
                f"{cpus:g} CPUs; lower --cpus-per-cell"
            )
        self.concurrency = slots
        self._remote = ray.remote(_call)

    def run(self, tasks: Iterable[Task], values: dict[str, Any], on_result: OnResult) -> None:
        ray = self._ray
        refs = {key: ray.put(value) for key, value in values.items()}
        pending = {}
        # Longest work first: Ray starts tasks that wait for the same resources in the
        # order they were submitted. A light task (joining a cell's shards) reserves no CPU,
        # so it runs as soon as its shards are done rather than behind every queued cell.
        for task in by_priority(list(tasks)):
            args = [refs[a.key] if isinstance(a, Dep) else a for a in task.args]
            ref = self._remote.options(
                num_cpus=0 if task.light else self.threads,
                num_gpus=self.gpus,
                max_retries=self.config.max_retries,
                retry_exceptions=False,
                name=task.name,
            ).remote(1 if task.light else self.threads, task.fn, *args)
            refs[task.key] = ref
            pending[ref] = task
        refs.clear()  # submitted tasks hold what they need; the rest can be freed
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, AdvCompareError):
                        raise cause from None
                    raise
                except ray.exceptions.RayError as exc:  # its worker or node died too often
                    raise AdvCompareError(
                        f"Ray gave up on task {task.name} after {self.config.max_retries} "
                        f"retries ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:160]}); the cells already finished "
                        f"are stored: rerun the same command to resume, with a higher "
                        f"[executor] max_retries if workers keep dying"
                    ) from exc
                on_result(task, result)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
            self._started = False
