"""The Ray executor's failure paths, each one line naming its fix, on a stand-in for Ray's
API (``init``, ``remote``, ``wait``, ``get`` and its exceptions): a worker's advcompare
error, a bug in a worker, a task whose worker died more often than ``max_retries``, a
cluster without the GPUs the run asks for, and too few CPUs. The real Ray runs are in
tests/test_executors.py; the unreachable address in tests/test_malformed.py."""

from __future__ import annotations

import os
import sys
import types

import pytest

from advcompare.errors import AdvCompareError
from advcompare.grid.executors import ExecutorConfig
from advcompare.grid.plan import Task


class _RayError(Exception):
    pass


class _TaskError(_RayError):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"task failed: {cause!r}")
        self.cause = cause


class _WorkerCrashed(_RayError):
    pass


class _Died(BaseException):
    """Raised by a task to play a worker killed more often than Ray retries it."""


class _Ref:
    def __init__(self, fn=None, args=(), value=None):
        self.fn, self.args, self.value = fn, args, value


def fake_ray(cpus: float = 2.0, gpus: float = 0.0) -> types.ModuleType:
    """A module with the part of Ray's API the executor calls; tasks run in ``get``, and
    what they raise comes back as Ray raises it (RayTaskError with ``cause``, or
    WorkerCrashedError when the worker died)."""
    ray = types.ModuleType("ray")
    state = {"up": False, "options": []}
    ray.exceptions = types.SimpleNamespace(
        RayError=_RayError, RayTaskError=_TaskError, WorkerCrashedError=_WorkerCrashed
    )
    ray.is_initialized = lambda: state["up"]
    ray.init = lambda **kw: state.update(up=True)
    ray.shutdown = lambda: state.update(up=False)
    ray.cluster_resources = lambda: {"CPU": cpus, "GPU": gpus}
    ray.put = lambda value: _Ref(value=value)

    def remote(call):
        class Remote:
            def options(self, **kw):
                state["options"].append(kw)
                return self

            def remote(self, threads, fn, *args):
                return _Ref(fn, args)

        return Remote()

    def get(ref):
        if ref.fn is None:
            return ref.value
        args = [get(a) if isinstance(a, _Ref) else a for a in ref.args]
        try:
            return ref.fn(*args)
        except _Died as exc:
            raise _WorkerCrashed("the worker died unexpectedly (SIGKILL)") from exc
        except Exception as exc:  # noqa: BLE001 - Ray wraps whatever the task raised
            raise _TaskError(exc) from exc

    ray.remote = remote
    ray.wait = lambda refs, num_returns=1: (refs[:num_returns], refs[num_returns:])
    ray.get = get
    ray.state = state
    return ray


def _task(fn, name: str = "attack digits/cw/art") -> Task:
    return Task(key=name, kind="attack", name=name, fn=fn, args=(), dataset="digits")


def _executor(monkeypatch, **resources):
    from advcompare.grid.executors.ray_executor import RayExecutor

    ray = fake_ray(**resources)
    monkeypatch.setitem(sys.modules, "ray", ray)
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)  # set back after
    return RayExecutor, ray


def _bad_spec():
    raise AdvCompareError("attack 'cw' has no parameter 'kappa'; known: c, steps")


def _bug():
    raise ZeroDivisionError("division by zero")


def _killed():
    raise _Died


def test_a_workers_advcompare_error_is_raised_as_itself(monkeypatch):
    executor_class, ray = _executor(monkeypatch)
    executor = executor_class(ExecutorConfig(name="ray"))
    results = []
    with pytest.raises(AdvCompareError) as raised:
        executor.run(
            [_task(lambda: "done", "a"), _task(_bad_spec)],
            {},
            lambda task, r: results.append((task.key, r)),
        )
    assert str(raised.value) == "attack 'cw' has no parameter 'kappa'; known: c, steps"
    assert raised.value.__cause__ is None  # one line, not Ray's wrapped traceback
    assert results == [("a", "done")]  # what finished before reached the driver
    executor.close()
    assert not ray.is_initialized()


def test_a_bug_in_a_worker_stays_an_unexpected_error(monkeypatch):
    executor_class, _ = _executor(monkeypatch)
    executor = executor_class(ExecutorConfig(name="ray"))
    with pytest.raises(_TaskError) as raised:  # the CLI turns this into its exit-1 line
        executor.run([_task(_bug)], {}, lambda *a: None)
    assert isinstance(raised.value.cause, ZeroDivisionError)


def test_retries_exhausted_is_one_line_saying_how_to_resume(monkeypatch):
    executor_class, ray = _executor(monkeypatch)
    executor = executor_class(ExecutorConfig(name="ray", max_retries=2))
    with pytest.raises(AdvCompareError) as raised:
        executor.run([_task(_killed)], {}, lambda *a: None)
    message = str(raised.value)
    assert "\n" not in message
    assert "gave up on task attack digits/cw/art after 2 retries (_WorkerCrashed" in message
    assert "rerun the same command to resume" in message and "max_retries" in message
    assert ray.state["options"][0]["max_retries"] == 2  # what Ray was told to retry


def test_asking_for_gpus_on_a_cluster_without_one_is_one_line(monkeypatch):
    executor_class, ray = _executor(monkeypatch, cpus=16, gpus=0)
    with pytest.raises(AdvCompareError, match="gpus_per_cell = 0.5 but the Ray cluster has no GPU"):
        executor_class(ExecutorConfig(name="ray", gpus_per_cell=0.5))
    assert not ray.is_initialized()  # the Ray it started is stopped again


def test_slots_come_from_the_clusters_cpus_and_gpus(monkeypatch):
    executor_class, _ = _executor(monkeypatch, cpus=16, gpus=2)
    assert executor_class(ExecutorConfig(name="ray", cpus_per_cell=4)).concurrency == 4
    executor_class, _ = _executor(monkeypatch, cpus=16, gpus=2)
    gpu = executor_class(ExecutorConfig(name="ray", cpus_per_cell=1, gpus_per_cell=0.5))
    assert gpu.concurrency == 4  # 2 GPUs / 0.5 per cell, though 16 CPUs would allow 16
    executor_class, _ = _executor(monkeypatch, cpus=2)
    with pytest.raises(AdvCompareError, match="cpus_per_cell = 4 but the Ray cluster has 2 CPUs"):
        executor_class(ExecutorConfig(name="ray", cpus_per_cell=4))


@pytest.mark.parametrize("cores", [1, 16])
def test_a_local_ray_gets_every_core_this_machine_has(monkeypatch, cores):
    """The local Ray is started with ``os.cpu_count()`` CPUs, so 1-CPU cells run as many at
    once as the machine has cores (faked here: 1 and 16)."""
    executor_class, ray = _executor(monkeypatch)
    asked = {}
    ray.init = lambda **kw: (asked.update(kw), ray.state.update(up=True))
    ray.cluster_resources = lambda: {"CPU": float(asked["num_cpus"])}
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    executor = executor_class(ExecutorConfig(name="ray", cpus_per_cell=1))
    assert asked["num_cpus"] == cores and executor.concurrency == cores
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"  # loopback only
