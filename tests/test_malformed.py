"""Malformed input, config and command line: exit status 2, one line, no traceback, and
nothing trained (every check runs before any dataset is loaded or model trained)."""

from __future__ import annotations

import sqlite3

import pytest

from advcompare.cli import main

CONFIG_CASES = [
    ("unknown top-level key", "colour = 'red'", "unknown config key 'colour'"),
    ("no dataset", "datasets = []", "name at least one dataset"),
    ("duplicate dataset", "datasets = ['digits', 'digits']", "lists 'digits' twice"),
    ("unknown dataset", "datasets = ['imagenet']", "unknown dataset 'imagenet'"),
    ("negative seed", "seed = -1", "'seed': must be >= 0"),
    ("seed beyond 32 bits", "seed = 4294967296", "'seed': must be <= 4294967295"),
    ("negative samples", "samples = -5", "'samples': must be >= 0"),
    ("zero batch", "batch_size = 0", "'batch_size': must be >= 1"),
    ("bad name", "datasets = ['digits']\nname = 'a/b'", "must be a plain folder name"),
    ("NUL in the name", "datasets = ['digits']\nname = \"a\\u0000b\"", "plain folder name"),
    ("zero epochs", "[train]\nepochs = 0", "'train.epochs': must be >= 1"),
    ("infinite lr", "[train]\nlr = inf", "'train.lr': must be a finite number"),
    ("nan lr", "[train]\nlr = nan", "'train.lr': must be a finite number"),
    ("zero lr", "[train]\nlr = 0", "'train.lr': must be a finite number in (0, 10]"),
    ("unknown train key", "[train]\noptimizer = 'sgd'", "unknown config key 'train.optimizer'"),
    ("unknown attack", "[attacks.fgsm_l2]\neps = 0.1", "unknown attack 'fgsm_l2'"),
    ("unknown parameter", "[attacks.cw]\nkappa = 1", "attack 'cw' has no parameter 'kappa'"),
    ("zero eps", "[attacks.pgd]\nattack = 'ifgsm'\neps = 0", "parameter 'eps': must be"),
    ("infinite eps", "[attacks.pgd]\nattack = 'ifgsm'\neps = inf", "expected a finite number"),
    (
        "candidates above classes",
        "[attacks.deepfool]\nbackend = 'foolbox'\ncandidates = 11",
        "deepfool candidates = 11 but digits has 10 classes",
    ),
    (
        "duplicate backends",
        "[attacks.bim]\nattack = 'ifgsm'\nbackend = ['art', 'art']",
        "lists 'art' twice",
    ),
    (
        "unknown backend",
        "[attacks.bim]\nattack = 'ifgsm'\nbackend = 'cleverhans'",
        "unknown backend 'cleverhans'",
    ),
    ("unknown defense", "defenses = ['armour']", "unknown defense 'armour'"),
    ("duplicate defense", "defenses = ['none', 'none']", "lists 'none' twice"),
    (
        "negative control seed",
        "defenses = ['retrained']\n[defense.retrained]\nseed = -1",
        "'defense.retrained.seed': must be an integer >= 0 other than the base model's seed",
    ),
    (
        "zero sigma",
        "defenses = ['feature_smoothing']\n[defense.feature_smoothing]\nsigma = 0",
        "'defense.feature_smoothing.sigma': must be a number in (0, 100]",
    ),
    (
        "even kernel",
        "defenses = ['feature_smoothing']\n[defense.feature_smoothing]\nkernel_size = 4",
        "must be an odd integer",
    ),
    (
        "zero EOT samples",
        "defenses = ['gradient_masking']\n[defense.gradient_masking]\neot_samples = 0",
        "'defense.gradient_masking.eot_samples': must be an integer in",
    ),
    (
        "infinite masking noise",
        "defenses = ['gradient_masking']\n[defense.gradient_masking]\nepsilon = inf",
        "'defense.gradient_masking.epsilon': must be a number",
    ),
    (
        "zero temperature",
        "defenses = ['defensive_distillation']\n[defense.defensive_distillation]\ntemperature = 0",
        "temperature': must be a number",
    ),
    (
        "infinite temperature",
        "defenses = ['defensive_distillation']\n"
        "[defense.defensive_distillation]\ntemperature = inf",
        "temperature': must be a number",
    ),
    (
        "zero training epochs",
        "defenses = ['adversarial_training']\n[defense.adversarial_training]\nepochs = 0",
        "epochs': must be an integer >= 1",
    ),
    (
        "unknown training attack",
        "defenses = ['adversarial_training']\n"
        "[defense.adversarial_training]\nattacks = ['ifgsm', 'nosuch']",
        "no attack labelled 'nosuch'",
    ),
    (
        "defense table without defense",
        "defenses = ['none']\n[defense.feature_smoothing]\nsigma = 1",
        "is for a defense not listed",
    ),
    ("unknown executor", "[executor]\nname = 'dask'", "unknown executor 'dask'"),
    ("zero cpus per cell", "[executor]\ncpus_per_cell = 0", "must be >= 1"),
    ("negative gpus per cell", "[executor]\ngpus_per_cell = -0.5", "must be a finite number"),
    ("zero eps on the curve", "[curves]\nifgsm_eps = [0.0, 0.1]", "curves.ifgsm_eps"),
    (
        "both names of the L-inf curve",
        "[curves]\nifgsm_eps = [0.1]\nlinf_eps = [0.2]",
        "'ifgsm_eps' is its older name",
    ),
    ("negative L2 curve eps", "[curves]\nl2_eps = [-1.0]", "curves.l2_eps"),
    ("curve flag not a boolean", "[attacks.fgsm]\ncurve = 'no'", "attacks.fgsm.curve"),
    ("unknown APGD loss", "[attacks.apgd]\nloss = 'hinge'", "one of 'ce', 'dlr'"),
    ("random start not a boolean", "[attacks.pgd]\nrandom_start = 1", "expected true or false"),
    ("negative tolerance", "[fidelity]\ntolerance = -0.1", "fidelity.tolerance"),
    ("malformed TOML", "datasets = [", "is not valid TOML"),
]


def _write(tmp_path, text: str) -> str:
    """The case's lines, on the 8x8 digits unless the case names datasets (keys it leaves
    out take the built-in default's values)."""
    prefix = "" if text.startswith("datasets") else "datasets = ['digits']\n"
    path = tmp_path / "bad.toml"
    path.write_text(prefix + text + "\n")
    return str(path)


def _assert_one_line_exit_2(code: int, err: str, message: str, cache) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("advcompare: error: "), err
    assert "Traceback" not in err
    assert message in lines[0], lines[0]
    assert not any(p.is_dir() for p in cache.iterdir()) if cache.exists() else True


@pytest.mark.parametrize("case,text,message", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_malformed_config_is_one_line_exit_2_before_training(
    tmp_path, monkeypatch, capsys, case, text, message
):
    cache = tmp_path / "cache"
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(cache))
    code = main(["run", "--config", _write(tmp_path, text), "--out", str(tmp_path / "run")])
    _assert_one_line_exit_2(code, capsys.readouterr().err, message, cache)


def _garbage_store(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.sqlite").write_bytes(b"this is not a database" * 100)
    return out


def _foreign_store(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    return out


CLI_CASES = [
    ("negative samples flag", ["--samples", "-1"], "'--samples': must be >= 0"),
    ("zero epochs flag", ["--epochs", "0"], "'--epochs': must be >= 1"),
    ("unknown executor flag", ["--executor", "dask"], "unknown executor 'dask'"),
    ("ray address without ray", ["--ray-address", "auto"], "needs --executor ray"),
    ("negative gpus flag", ["--executor", "ray", "--gpus-per-cell", "-1"], "gpus-per-cell"),
    ("unknown backend flag", ["--backend", "cleverhans"], "unknown backend 'cleverhans'"),
    (
        "duplicate dataset flags",
        ["--dataset", "digits", "--dataset", "digits"],
        "lists 'digits' twice",
    ),
    (
        "missing data root",
        ["--dataset", "mnist", "--data-root", "{tmp}/nowhere"],
        "expected torchvision's layout",
    ),
    (
        "garbage MNIST headers",
        ["--dataset", "mnist", "--data-root", "garbage-mnist"],
        "has unreadable files for 'mnist'",
    ),
    ("out dir is a file", ["--out", "{tmp}/file"], "cannot use"),
    ("garbage results store", ["--out", "garbage"], "cannot use"),
    ("foreign SQLite file", ["--out", "foreign"], "did not write (tables: invoices)"),
    ("cache is a file", ["--cache-file"], "is not writable"),
    ("unknown device flag", ["--device", "tpu"], "unknown device 'tpu'"),
    (
        "nothing listens at the Ray address",
        ["--executor", "ray", "--ray-address", "127.0.0.1:1"],
        "no Ray cluster answers at 127.0.0.1:1",
    ),
]


@pytest.mark.parametrize("case,args,message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_malformed_command_line_is_one_line_exit_2_before_training(
    tmp_path, monkeypatch, capsys, case, args, message
):
    cache = tmp_path / "cache"
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(cache))
    (tmp_path / "file").write_text("not a folder")
    config = _write(tmp_path, "")
    argv = ["run", "--config", config]
    for arg in args:
        if arg == "garbage":
            arg = str(_garbage_store(tmp_path))
        elif arg == "foreign":
            arg = str(_foreign_store(tmp_path))
        elif arg == "garbage-mnist":
            raw = tmp_path / "mnist-root" / "MNIST" / "raw"
            raw.mkdir(parents=True)
            for part in (
                "train-images-idx3",
                "train-labels-idx1",
                "t10k-images-idx3",
                "t10k-labels-idx1",
            ):
                (raw / f"{part}-ubyte").write_bytes(b"\x00\x01garbage header" * 3)
            arg = str(tmp_path / "mnist-root")
        elif arg == "--cache-file":
            monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "file"))
            continue
        argv.append(arg.replace("{tmp}", str(tmp_path)))
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "run")]
    code = main(argv)
    _assert_one_line_exit_2(code, capsys.readouterr().err, message, cache)


def test_a_second_run_on_the_same_out_dir_is_refused(tmp_path, monkeypatch, capsys):
    from advcompare.grid.locks import file_lock

    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    with file_lock(out / ".advcompare.lock", "held by the test"):
        code = main(["run", "--config", _write(tmp_path, ""), "--out", str(out)])
    _assert_one_line_exit_2(
        code, capsys.readouterr().err, "another advcompare run is writing to", tmp_path / "cache"
    )


def test_there_are_at_least_thirty_cases():
    assert len(CONFIG_CASES) + len(CLI_CASES) >= 30


def test_an_unreachable_ray_address_fails_within_thirty_seconds(tmp_path, monkeypatch, capsys):
    """Bounded by construction, not by a stopwatch a loaded machine could miss: the one
    connection tried waits at most its timeout (under 30 s), and Ray, which retries for
    minutes, is never asked."""
    import socket

    import ray

    from advcompare.grid.executors import ray_executor

    tried, create_connection = [], socket.create_connection

    def connect(address, timeout=None, *args, **kwargs):
        tried.append(timeout)
        return create_connection(address, timeout, *args, **kwargs)

    monkeypatch.setattr(ray_executor.socket, "create_connection", connect)
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray was asked to connect"))
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    argv = ["run", "--config", _write(tmp_path, ""), "--out", str(tmp_path / "run")]
    code = main(argv + ["--executor", "ray", "--ray-address", "127.0.0.1:1"])
    assert len(tried) == 1 and 0 < tried[0] < 30, tried
    err = capsys.readouterr().err
    _assert_one_line_exit_2(code, err, "ray start --head", tmp_path / "cache")


def test_a_cached_model_of_another_shape_is_set_aside_and_retrained(tmp_path, monkeypatch, capsys):
    """A cache entry with 43 outputs where the digits need 10: one line on stderr naming the
    file and where it went, then the model is retrained and the run succeeds."""
    from safetensors.torch import save_file

    from advcompare.models.cnn import PaperCNN

    cache = tmp_path / "cache"
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(cache))
    config = _write(tmp_path, "[attacks.ifgsm]\nsteps = 2")
    argv = ["run", "--config", config, "--epochs", "1", "--samples", "16"]
    assert main(argv + ["--out", str(tmp_path / "first")]) == 0
    (entry,) = [p for p in cache.iterdir() if p.is_dir()]
    wrong = {k: v.contiguous() for k, v in PaperCNN(43).state_dict().items()}
    save_file(wrong, str(entry / "model.safetensors"))
    capsys.readouterr()
    assert main(argv + ["--out", str(tmp_path / "second")]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "advcompare:" in line]
    assert len(err) == 1, err
    assert str(entry / "model.safetensors") in err[0] and "set aside as" in err[0]
    assert "shape" in err[0] and (cache / f"{entry.name}.corrupt").is_dir()
    assert (entry / "model.safetensors").is_file()  # retrained and cached again


def test_a_control_seed_equal_to_a_training_seed_is_refused_before_training(tmp_path):
    """The retrained control from the base model's own seed would be the base model: one
    line at check time, before any data is loaded or model trained."""
    from advcompare.config.checks import check_experiment
    from advcompare.config.experiment import load_config
    from advcompare.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text(
        "datasets = ['digits']\nseeds = [0, 1]\ndefenses = ['none', 'retrained']\n"
        "[defense.retrained]\nseed = 1\n[attacks.ifgsm]\nbackend = 'torchattacks'\n"
    )
    with pytest.raises(ConfigError, match="'defense.retrained.seed': 1 is a training seed"):
        check_experiment(load_config(path))
