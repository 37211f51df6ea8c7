"""The grid as a plan of tasks, run serially or on Ray (issue: plan of cells, executors).

Every Ray run here is a real `advcompare run --executor ray` in a subprocess. As root it runs
inside network and PID namespaces of its own (`unshare -n -p`, loopback only), so a local
Ray, a two-node cluster and a driver killed with SIGKILL stay on this machine, and the
kernel kills every process they started when the run's first process ends. Each Ray run
keeps its session files in a temporary directory of its own (``RAY_TMPDIR``), removed after.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from advcompare.config.experiment import apply_overrides, load_config
from advcompare.data.datasets import load_dataset
from advcompare.grid.plan import (
    ATTACK,
    DEFENSE,
    MODEL,
    OBLIVIOUS_CELL,
    SHARD,
    Dep,
    build_plan,
    crafted_key,
)
from advcompare.grid.runner import attack_subset, run_experiment
from advcompare.grid.schedule import by_priority
from advcompare.grid.shards import images_per_shard, shard_bounds
from advcompare.report.tables import attack_name
from advcompare.storage.store import ResultStore

# Deterministic attacks only (BIM, MI-FGSM, DeepFool, CW, pixel swap), so a serial and a Ray
# run must agree on every figure but time.
SMALL = """
name = "small"
out = "{out}"
datasets = ["digits"]
samples = 40
batch_size = 20
[curves]
reference = false  # these tests count and time cells; tests/test_trust.py runs the reference
[train]
epochs = 2
[attacks.ifgsm]
eps = 0.1
step_size = 0.02
steps = 3
[attacks.bim]
attack = "ifgsm"
decay = 0.0
steps = 3
[attacks.deepfool]
backend = "foolbox"
steps = 10
[attacks.cw]
backend = "foolbox"
binary_search_steps = 1
steps = 10
[attacks.pixel_swap]
max_swaps = 20
"""
# The real Ray runs attack half as many images, in two batches of 10: still two shards
# per cell on two slots, at half the cost.
RAY_SMALL = SMALL.replace("samples = 40\nbatch_size = 20", "samples = 20\nbatch_size = 10")
assert RAY_SMALL != SMALL
TIME_COLUMNS = {
    "attack_time_per_image",
    "adv_prediction_time_per_image",
    "paper_time_per_image",
    "executor",
    "concurrency",
    "node",
}

try:
    import ray  # noqa: F401

    HAVE_RAY = True
except ImportError:
    HAVE_RAY = False
needs_ray = pytest.mark.skipif(
    not HAVE_RAY, reason="Ray is not installed: pip install 'advcompare[ray]'"
)
# As root, each Ray run gets network and PID namespaces of its own (loopback only); otherwise
# it runs here, on loopback as the executor keeps a local Ray and as ``ray start`` is told.
NETNS = shutil.which("unshare") is not None and os.geteuid() == 0
# Without a PID namespace, the Ray that ``ray start`` left running is stopped by the script.
RAY_STOP = "" if NETNS else "ray stop --force > /dev/null 2>&1; "


@pytest.fixture()
def ray_tmpdir():
    """A short directory of this test's own for Ray's session files and its address file
    (Ray's socket paths must stay under 107 characters, so not under ``tmp_path``); a
    ``ray_current_cluster`` left behind would make the next local Ray join a dead cluster."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="ray-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def small_model(shared_cache, tmp_path):
    """SMALL's digits CNN in this test's cache, trained here (once per session) rather than
    inside a Ray worker."""
    from dataclasses import replace

    import torch

    from advcompare.models.train import train_or_load

    cfg = load_config(_config(tmp_path, SMALL, "model.toml"))
    dataset = load_dataset(cfg.datasets[0], seed=cfg.seed)
    train_or_load(dataset, replace(cfg.train, seed=cfg.seed), shared_cache, torch.device("cpu"))
    return shared_cache


def _ray_cpus() -> int:
    """The CPUs a local Ray sees here (cgroup quotas included), as ``ray start`` counts."""
    from ray._private.utils import get_num_cpus

    return int(get_num_cpus())


def _config(tmp_path: Path, text: str = SMALL, name: str = "small.toml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("{out}", str(tmp_path / "run")))
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(
        os.environ,
        ADVCOMPARE_CACHE=str(tmp_path / "cache"),
        RAY_AUTH_MODE="disabled",
        RAY_USAGE_STATS_ENABLED="0",
        **extra,
    )
    env.pop("RAY_ADDRESS", None)
    return env


def _ray_command(
    script: str, env: dict[str, str], local_only: bool = True
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run a bash script in new network and PID namespaces
    (as root): only a loopback interface, and when the script's first process ends, or
    ``unshare`` is killed (``--kill-child``), the kernel kills every process left in it,
    with no ``ray stop`` to wait for. Otherwise the script runs as it is: the local Ray binds
    loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER = 0, as the executor sets it) and every
    ``ray start`` here names 127.0.0.1."""
    bindir = str(Path(sys.executable).parent)
    body = f"export PATH={bindir}:$PATH; {script}"
    if NETNS:
        namespaces = ["unshare", "-n", "-p", "--kill-child", "--mount-proc"]
        argv = [*namespaces, "bash", "-c", f"ip link set lo up; {body}"]
    else:
        argv = ["bash", "-c", body]
    env = {k: v for k, v in env.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    if local_only:  # a cluster of several nodes (``ray start``) is refused under this switch
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    return argv, env


def _in_netns(
    script: str, env: dict[str, str], timeout: int = 400, local_only: bool = True, **popen
):
    """Run a bash script as :func:`_ray_command` sets it up, and wait for it."""
    argv, env = _ray_command(script, env, local_only)
    return subprocess.run(
        argv,
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
        **popen,
    )


def _wait_until_unlocked(path: Path, timeout: float = 60) -> None:
    """Return once no process holds ``path``'s run lock (:func:`advcompare.grid.locks.file_lock`;
    a killed process holds it until the kernel has closed its files)."""
    from advcompare.errors import AdvCompareError
    from advcompare.grid.locks import file_lock

    deadline = time.monotonic() + timeout
    while True:
        try:
            with file_lock(path, f"{path} is still locked"):
                return
        except AdvCompareError:
            # a guard against hanging, not a speed claim: the kernel closes a killed
            # process's files in milliseconds, the guard allows a minute
            assert time.monotonic() < deadline, f"{path} is still locked"
            time.sleep(0.05)


def _run_serially(capsys, *args: str) -> str:
    """``advcompare run ARGS`` in this process (serial executor); what it printed."""
    from advcompare.cli import main

    code = main(["run", *args])
    said = capsys.readouterr()
    assert code == 0, said.err[-2000:]
    return said.out


def _assert_same_figures(run_dir: Path, other_dir: Path) -> None:
    """Both runs' results.csv hold the same cells with the same figures, times aside."""
    figures = pd.read_csv(run_dir / "results.csv").set_index("key")
    again = pd.read_csv(other_dir / "results.csv").set_index("key")
    assert set(figures.index) == set(again.index)
    again = again.loc[figures.index]
    same = [c for c in figures.columns if c not in TIME_COLUMNS]
    pd.testing.assert_frame_equal(figures[same], again[same])


def _results(run_dir: Path) -> pd.DataFrame:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return pd.read_sql(
            "SELECT key, label, backend, metrics, executor, concurrency, node FROM cells", db
        )


def test_plan_lists_tasks_with_keys_and_dependencies(tmp_path, shared_cache, monkeypatch):
    text = SMALL.replace(
        'name = "small"',
        """name = "small"
defenses = ["none", "feature_smoothing", "defensive_distillation"]""",
    )
    cfg = load_config(_config(tmp_path, text))
    data = {"digits": load_dataset("digits", seed=0)}
    attacked = {"digits": attack_subset(data["digits"].test, cfg.samples, cfg.seed)}
    plan = build_plan(cfg, data, attacked)
    kinds = [t.kind for t in plan.tasks]
    assert kinds.count(MODEL) == 1 and kinds.count(DEFENSE) == 1  # distillation trains
    # 5 attacks × (none + smoothing and distillation, each oblivious and adaptive)
    assert len(plan.cells()) == 5 * 5
    by_key = plan.by_key()
    base = plan.tasks[0].key
    for task in plan.tasks:  # dependencies come first: the plan is in topological order
        for dep in task.deps:
            assert dep in plan.values or plan.tasks.index(by_key[dep]) < plan.tasks.index(task)
    oblivious = [t for t in plan.tasks if t.kind == OBLIVIOUS_CELL]
    assert len(oblivious) == 10
    for task in oblivious:  # each reuses the undefended cell of the same attack
        crafted = by_key[crafted_key(task)]
        assert crafted.cell.id.defense == "none" and crafted.cell.entry == task.cell.entry
    distilled = [
        t
        for t in plan.tasks
        if t.kind in (ATTACK, OBLIVIOUS_CELL) and t.cell.id.defense == "defensive_distillation"
    ]
    assert len(distilled) == 10  # the oblivious cells classify with the distilled model too
    assert all(Dep(t.key) in d.args for d in distilled for t in plan.tasks if t.kind == DEFENSE)
    assert all(base in t.deps for t in plan.cells())
    # keys are stable: planning again gives the same keys in the same order
    assert [t.key for t in build_plan(cfg, data, attacked).tasks] == [t.key for t in plan.tasks]


def test_eps_curve_adds_ifgsm_cells_at_each_eps(tmp_path, shared_cache, monkeypatch):
    text = SMALL.replace("[curves]\n", "[curves]\nifgsm_eps = [0.05, 0.1, 0.2]\n")
    cfg = load_config(_config(tmp_path, text))
    data = {"digits": load_dataset("digits", seed=0)}
    plan = build_plan(cfg, data, {"digits": data["digits"].test})
    curve = [t.cell for t in plan.cells() if t.cell.id.role == "eps_curve"]
    # ifgsm and bim, each at 0.05 and 0.2 (0.1 is the main cell itself): the row's label,
    # the ε typed in the cell's identity and spec; names and keys compose the two
    assert sorted((c.id.label, c.id.eps) for c in curve) == [
        ("bim", 0.05),
        ("bim", 0.2),
        ("ifgsm", 0.05),
        ("ifgsm", 0.2),
    ]
    assert sorted(c.id.key_label for c in curve) == [
        "bim@eps=0.05",
        "bim@eps=0.2",
        "ifgsm@eps=0.05",
        "ifgsm@eps=0.2",
    ]
    wide = next(c for c in curve if c.id == replace(c.id, label="ifgsm", eps=0.2))
    assert wide.entry.spec["eps"] == 0.2 and wide.entry.spec["step_size"] == pytest.approx(0.04)
    assert wide.name == "digits/ifgsm@eps=0.2/torchattacks"


def test_serial_executor_sets_and_restores_torch_threads(tmp_path, monkeypatch):
    import torch

    from advcompare.grid.executors import ExecutorConfig, make_executor

    before = torch.get_num_threads()
    executor = make_executor(ExecutorConfig(cpus_per_cell=1))
    assert torch.get_num_threads() == 1 and executor.concurrency == 1
    executor.close()
    assert torch.get_num_threads() == before


def test_missing_ray_is_a_one_line_install_hint(tmp_path, monkeypatch):
    from advcompare.errors import AdvCompareError
    from advcompare.grid.executors import ExecutorConfig, make_executor

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(AdvCompareError, match=r"pip install 'advcompare\[ray\]'"):
        make_executor(ExecutorConfig(name="ray"))


@pytest.mark.ray
@needs_ray
def test_driver_killed_with_sigkill_resumes_without_recomputing(
    tmp_path, small_model, capsys, ray_tmpdir
):
    """A run on a local Ray (on loopback, with this machine's CPUs) is killed with SIGKILL.
    The test watches the store closely; once it holds 1-4 cells it takes SQLite's write
    lock, so the driver cannot store another before the SIGKILL (no race with a fast
    machine), then resumes the run and checks that nothing stored was lost or recomputed."""
    config = _config(
        tmp_path,
        RAY_SMALL.replace("steps = 10\n[attacks.pixel_swap]", "steps = 60\n[attacks.pixel_swap]"),
    )
    run_dir = tmp_path / "run"
    argv, env = _ray_command(
        f"exec advcompare run --config {config} --executor ray --cpus-per-cell 1",
        _env(tmp_path, RAY_TMPDIR=ray_tmpdir),
    )
    driver = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    store = run_dir / "results.sqlite"
    deadline = time.monotonic() + 300  # a guard against hanging: the run takes seconds
    stored: list[tuple[str, float]] = []
    freeze = None
    try:
        while time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.02)
            if not store.is_file():
                continue
            db = sqlite3.connect(store, timeout=30, isolation_level=None)
            try:
                db.execute("BEGIN EXCLUSIVE")  # the driver's next write now waits
                stored = db.execute("SELECT key, created FROM cells").fetchall()
            except sqlite3.OperationalError:
                db.close()
                continue
            if 1 <= len(stored) < 5:
                freeze = db
                break
            db.execute("ROLLBACK")
            db.close()
        assert freeze is not None and driver.poll() is None, "the run ended before the kill"
        os.kill(driver.pid, signal.SIGKILL)  # the driver only: Ray's processes follow it
        driver.wait(timeout=30)
        # under ``unshare`` the driver dies just after it: its run lock says when it is gone,
        # and only then is the store let go
        _wait_until_unlocked(run_dir / ".advcompare.lock")
    finally:
        if freeze is not None:
            freeze.execute("ROLLBACK")
            freeze.close()
        if not NETNS:  # give the local Ray's processes time to follow the driver
            time.sleep(2)
        try:
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    with sqlite3.connect(store) as db:
        after_kill = dict(db.execute("SELECT key, created FROM cells").fetchall())
    assert after_kill == dict(stored)  # what the test saw is what the killed driver left
    # the local Ray ran as many cells at once as it sees CPUs (2 here, 16 on a workstation)
    assert set(_results(run_dir).concurrency) == {_ray_cpus()}
    said = _run_serially(capsys, "--config", str(config))  # resuming on any executor
    assert f"{5 - len(after_kill)} cells computed, {len(after_kill)} already stored" in said
    with sqlite3.connect(store) as db:
        final = dict(db.execute("SELECT key, created FROM cells").fetchall())
    assert len(final) == 5
    assert all(final[k] == t for k, t in after_kill.items())  # 0 recomputed, 0 lost


def test_executor_flags_and_table_are_validated(tmp_path):
    from advcompare.errors import ConfigError

    cfg = load_config(
        _config(
            tmp_path, SMALL + '[executor]\nname = "ray"\ncpus_per_cell = 1\ngpus_per_cell = 0.25\n'
        )
    )
    assert (cfg.executor.name, cfg.executor.cpus_per_cell, cfg.executor.gpus_per_cell) == (
        "ray",
        1,
        0.25,
    )
    for table, message in [
        ('name = "dask"', "unknown executor 'dask'; known executors: serial, processes, ray"),
        ("cpus_per_cell = 0", "executor.cpus_per_cell': must be >= 1"),
        ("gpus_per_cell = -1", "executor.gpus_per_cell': must be a finite"),
        ("threads = 2", "unknown config key 'executor.threads'"),
        ("images_per_shard = -5", "executor.images_per_shard': must be >= 0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_config(_config(tmp_path, SMALL + f"[executor]\n{table}\n", "bad.toml"))
    with pytest.raises(ConfigError, match="--ray-address' needs --executor ray"):
        apply_overrides(load_config(_config(tmp_path)), ray_address="auto")


def test_serial_run_records_executor_and_concurrency(tmp_path, shared_cache, monkeypatch):
    text = SMALL.split("[attacks.deepfool]")[0]
    summary = run_experiment(load_config(_config(tmp_path, text)), log=lambda *_: None)
    with ResultStore(summary.run_dir) as store:
        cells = store.cells()
    assert [(c.executor, c.concurrency) for c in cells] == [("serial", 1)] * 2
    assert all(c.node for c in cells)


def test_two_labels_with_the_same_spec_are_two_cells(tmp_path, shared_cache, monkeypatch):
    twice = '[attacks.{}]\nattack = "ifgsm"\nsteps = 3\n'
    text = SMALL.split("[attacks.ifgsm]")[0] + twice.format("first") + twice.format("second")
    cfg = load_config(_config(tmp_path, text))
    data = {"digits": load_dataset("digits", seed=0)}
    plan = build_plan(cfg, data, {"digits": data["digits"].test})
    cells = plan.cells()
    assert [c.cell.entry.label for c in cells] == ["first", "second"]
    assert cells[0].cell.entry.spec == cells[1].cell.entry.spec
    assert cells[0].key != cells[1].key  # the label is part of the key: neither is lost


def test_a_stored_cell_with_an_unreadable_sample_file_is_recomputed(
    tmp_path, shared_cache, monkeypatch, capsys
):
    from advcompare.report import write_report

    cfg = load_config(_config(tmp_path, SMALL.split("[attacks.deepfool]")[0]))
    first = run_experiment(cfg, log=lambda *_: None)
    damaged = first.run_dir / "adv" / f"{first.keys[0]}.safetensors"
    damaged.write_bytes(damaged.read_bytes()[:100])  # truncated, as by a crash or a full disk
    capsys.readouterr()
    second = run_experiment(cfg, log=lambda *_: None)
    assert second.computed == first.computed[:1] and second.resumed == first.computed[1:]
    err = capsys.readouterr().err.splitlines()
    said = [line for line in err if line.startswith("advcompare:")]  # which file, where now
    assert len(said) == 1 and str(damaged) in said[0] and "set aside as" in said[0], said
    assert damaged.with_name(damaged.name + ".corrupt").is_file()
    damaged.write_bytes(b"")  # the report never crashes on one: that cell is left out
    report = write_report(second.run_dir).read_text()
    rows = pd.read_csv(second.run_dir / "results.csv")
    assert set(rows["key"]) == set(second.keys)  # every stored cell is still a row
    for row in rows.itertuples():  # with its stored figures and interval in the report
        shown = f"| {attack_name(row.label, row.attack)} "  # its display name
        figure = f"{row.adv_f1:.3f} ({row.adv_f1_lo:.3f}–{row.adv_f1_hi:.3f})"
        assert any(shown in line and figure in line for line in report.splitlines()), row


def test_two_runs_sharing_a_cache_train_the_model_once(tmp_path):
    """Both runs start while this test holds the model's training lock, and the lock is
    released only once each run has said it is waiting: they overlap by construction, not
    by timing. Then one trains and the other waits for it and loads its weights."""
    import time
    from dataclasses import replace

    from advcompare.grid.locks import file_lock
    from advcompare.models.train import cache_key

    text = SMALL.split("[attacks.bim]")[0].replace("samples = 40", "samples = 8")
    config = _config(tmp_path, text.replace("epochs = 2", "epochs = 1"))
    cfg = load_config(config)
    dataset = load_dataset(cfg.datasets[0], seed=cfg.seed)
    lock = tmp_path / "cache" / f".{cache_key(dataset, replace(cfg.train, seed=cfg.seed))}.lock"
    logs = [tmp_path / f"run{i}.log" for i in range(2)]
    waiting = "another run is training this model; waiting for it"
    with file_lock(lock, "held by the test"):
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "advcompare", "run", "--config", str(config)]
                + ["--out", str(tmp_path / f"run{i}")],
                env=_env(tmp_path),
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            for i, log in enumerate(logs)
        ]
        deadline = time.monotonic() + 300  # a guard against hanging, not a speed claim
        while not all(waiting in log.read_text() for log in logs):
            finished = [r.poll() is not None for r in runs]
            assert not any(finished) and time.monotonic() < deadline, [
                log.read_text()[-1500:] for log in logs
            ]
            time.sleep(0.2)
    for run in runs:
        run.wait(timeout=400)
    said = [log.read_text() for log in logs]
    assert all(run.returncode == 0 for run in runs), [s[-1500:] for s in said]
    assert sum("(trained;" in s for s in said) == 1, said
    assert sum("(loaded from cache;" in s for s in said) == 1, said


def test_shards_are_whole_batches_and_only_a_parallel_executor_splits_by_default():
    assert shard_bounds(100, 20, 30) == [(0, 40), (40, 80), (80, 100)]  # 30 → 2 batches
    assert shard_bounds(100, 20, 0) == [(0, 100)] and shard_bounds(100, 20, 100) == [(0, 100)]
    assert images_per_shard(None, "serial", 1, 500) == 0
    assert images_per_shard(None, "ray", 2, 500) == 250  # one cell can fill both slots
    assert images_per_shard(None, "ray", 1, 500) == 0
    assert images_per_shard(64, "serial", 1, 500) == 64 and images_per_shard(0, "ray", 8, 500) == 0


def test_a_sharded_plan_grades_each_cell_once_and_starts_the_longest_work_first(
    shared_cache, tmp_path, monkeypatch
):
    text = SMALL.replace('[attacks.cw]\nbackend = "foolbox"', '[attacks.cw]\nbackend = "art"')
    cfg = load_config(_config(tmp_path, text))
    data = {"digits": load_dataset("digits", seed=0)}
    attacked = {"digits": attack_subset(data["digits"].test, cfg.samples, cfg.seed)}
    whole = build_plan(cfg, data, attacked)
    plan = build_plan(cfg, data, attacked, "ray", 2)
    shards = [t for t in plan.tasks if t.kind == SHARD]
    assert len(shards) == 2 * 5 and sum(t.images for t in shards) == 5 * 40
    # the same cells under the same keys, each graded by a light task joining its shards
    assert [t.key for t in plan.cells()] == [t.key for t in whole.cells()]
    for cell in plan.cells():
        parts = [t for t in shards if t.key in cell.deps]
        assert len(parts) == 2 and cell.light
        assert [(p.args[-2], p.args[-1]) for p in parts] == [(0, 20), (20, 40)]
    order = by_priority(plan.tasks)
    done = set(plan.values)
    for task in order:  # still a dependency order
        assert all(dep in done for dep in task.deps), task.name
        done.add(task.key)
    assert order[0].kind == MODEL
    first_cell = next(t for t in order if t.cell is not None)
    assert (first_cell.cell.entry.spec.attack, first_cell.cell.entry.backend) == ("cw", "art")


def test_a_sharded_serial_run_gives_the_figures_of_an_unsplit_one(
    tmp_path, shared_cache, monkeypatch
):
    """Per-batch seeds make shards exact: random attacks (Pixle) and random gradients
    (gradient masking) included, split or not, every figure but the times is the same."""
    text = (
        SMALL.split("[attacks.bim]")[0].replace(
            'name = "small"', 'name = "small"\ndefenses = ["none", "gradient_masking"]'
        )
        + '[attacks.pixle]\nbackend = "torchattacks"\nrestarts = 2\nmax_iterations = 2\n'
    )
    cfg = load_config(_config(tmp_path, text))
    for split in (0, 20):
        out = tmp_path / f"split-{split}"
        cfg_split = apply_overrides(cfg, out=str(out), images_per_shard=split)
        summary = run_experiment(cfg_split, log=lambda *_: None)
        assert len(summary.computed) == 6  # 2 attacks × (none + masking oblivious + adaptive)
        from advcompare.report import write_report

        write_report(out)
    _assert_same_figures(tmp_path / "split-0", tmp_path / "split-20")
    assert (pd.read_csv(tmp_path / "split-0" / "results.csv").success_rate > 0).all()


@pytest.mark.ray
@needs_ray
def test_a_users_model_on_a_two_node_cluster_matches_the_serial_run_despite_a_killed_worker(
    tmp_path, shared_cache, capsys, monkeypatch, trained_digits, ray_tmpdir
):
    """``ray start`` twice on loopback, then the run joins them with ``model =
    "module:factory"`` and the five deterministic attacks. Every worker imports the factory
    (here from PYTHONPATH) and rebuilds the model from the weights the driver read, which
    travel as a path (``shared_cache``: both nodes see this disk). One worker is killed with
    SIGKILL mid-cell and Ray retries it. Every figure but the times equals the serial run's,
    and the cells' shards ran on both nodes, two at a time (one CPU each)."""
    from safetensors.torch import save_file

    folder = tmp_path / "factories"
    folder.mkdir()
    (folder / "byo_ray_models.py").write_text(
        "from advcompare.models.cnn import PaperCNN\n\n\ndef cnn():\n    return PaperCNN(10)\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    weights = tmp_path / "cnn.safetensors"  # the session's digits CNN, as a user saves it
    save_file({k: v.contiguous() for k, v in trained_digits.model.state_dict().items()}, weights)
    text = RAY_SMALL.replace(
        'name = "small"', f'name = "small"\nmodel = "byo_ray_models:cnn"\nweights = "{weights}"'
    )
    config = _config(tmp_path, text + "[executor]\nshared_cache = true\n", "byo.toml")
    serial_dir, ray_dir = tmp_path / "byo-serial", tmp_path / "byo-ray"
    _run_serially(capsys, "--config", str(config), "--out", str(serial_dir), "--cpus-per-cell", "1")
    marker = tmp_path / "killed-once"
    port = 6391
    worker_ports = (
        "--dashboard-agent-listen-port=52411 --dashboard-agent-grpc-port=52412 "
        "--runtime-env-agent-port=52413 --metrics-export-port=52414 "
        "--node-manager-port=52415 --object-manager-port=52416 "
        "--min-worker-port=52500 --max-worker-port=52599"
    )
    script = (  # the nodes' workers inherit PYTHONPATH and the fault switch from ``ray start``
        f"ray start --head --node-ip-address=127.0.0.1 --port={port} --num-cpus=1 "
        f"--include-dashboard=false --disable-usage-stats > /dev/null && "
        f"ray start --address=127.0.0.1:{port} --node-ip-address=127.0.0.1 --num-cpus=1 "
        f"{worker_ports} > /dev/null && "
        f"advcompare run --config {config} --out {ray_dir} --executor ray "
        f"--ray-address 127.0.0.1:{port} --cpus-per-cell 1; "
        f"status=$?; {RAY_STOP}exit $status"
    )
    env = _env(
        tmp_path, PYTHONPATH=str(folder), ADVCOMPARE_FAULT_ONCE=str(marker), RAY_TMPDIR=ray_tmpdir
    )
    ray = _in_netns(script, env, local_only=False)
    assert ray.returncode == 0, (ray.stdout[-2000:], ray.stderr[-3000:])
    assert "byo_ray_models:cnn loaded from" in ray.stdout
    assert "5 cells computed, 0 already stored (ray executor)" in ray.stdout
    assert marker.is_file()  # one worker was killed with SIGKILL mid-cell, and Ray retried it
    serial, parallel = _results(serial_dir), _results(ray_dir)
    assert set(serial.executor) == {"serial"} and set(parallel.executor) == {"ray"}
    assert set(parallel.concurrency) == {2}
    # cells (each split in two shards: 20 images, 2 slots) landed on both nodes
    nodes = {node for joined in parallel.node for node in joined.split(",")}
    assert len(nodes) == 2, parallel.node.tolist()
    _assert_same_figures(serial_dir, ray_dir)
    figures = pd.read_csv(serial_dir / "results.csv")
    assert (figures.clean_f1 > 0.8).all() and (figures.success_rate > 0).all()
