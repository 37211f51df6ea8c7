"""Experiment configuration: a TOML file and command-line flags, validated into the frozen
settings of :mod:`advcompare.config.settings`.

Every key is checked; a malformed file fails with one line naming the key and why. Command
line flags override the file (see :func:`apply_overrides`). The built-in default experiment
is ``advcompare/resources/default.toml`` (copied to ``configs/default.toml``).
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from advcompare.adapters.entry import ALL_BACKENDS, AttackEntry, expand_backends, no_duplicates
from advcompare.adapters.registry import get_backend, validate_backend_name
from advcompare.attacks.spec import ATTACKS, AttackSpec, known_attacks
from advcompare.config.checks import check_device_name
from advcompare.config.settings import ExecutorConfig, ExperimentConfig, TrainConfig
from advcompare.config.tables import (
    MAX_SEED,
    parse_claims,
    parse_curves,
    parse_executor,
    parse_seeds,
    parse_statistics,
    parse_user_model,
)
from advcompare.config.values import expect, integer, number, unknown_keys
from advcompare.data.datasets import validate_dataset_name
from advcompare.defenses.registry import check_attack_labels, defense_params, known_defenses
from advcompare.errors import ConfigError

__all__ = ["ExperimentConfig", "apply_overrides", "default_config_text", "load_config"]


TOP_KEYS = {
    "name",
    "datasets",
    "attacks",
    "data_root",
    "download",
    "device",
    "seed",
    "samples",
    "batch_size",
    "train",
    "cache_dir",
    "out",
    "defenses",
    "defense",
    "executor",
    "fidelity",
    "curves",
    "model",
    "weights",
    "input_shape",
    "seeds",
    "statistics",
    "claims",
}
TRAIN_KEYS = {"epochs", "batch_size", "lr"}


def _parse_attack(label: str, table: Any) -> tuple[AttackEntry, ...]:
    where = f"attacks.{label}"
    expect(where, table, dict, "a table of attack parameters")
    params = dict(table)
    attack = expect(f"{where}.attack", params.pop("attack", label), str, "an attack name")
    if attack not in ATTACKS:
        raise ConfigError(
            f"config key '{where}': unknown attack '{attack}'; known attacks: "
            f"{', '.join(known_attacks())} (set 'attack = ...' to use another "
            f"table name)"
        )
    backend = expect(
        f"{where}.backend",
        params.pop("backend", ATTACKS[attack].default_backend),
        (str, list),
        'a backend name, a list of names or "all"',
    )
    curve = expect(f"{where}.curve", params.pop("curve", True), bool, "true or false")
    samples = integer(f"{where}.samples", params.pop("samples", 0), 0)
    try:
        spec = AttackSpec.create(attack, **params)
    except ConfigError as exc:
        raise ConfigError(f"config table '{where}': {exc}") from exc
    entries = expand_backends(label, spec, backend, curve, samples)
    if not entries:
        raise ConfigError(f"config key '{where}.backend': no backend provides '{attack}'")
    return entries


def _parse_scalars(raw: dict[str, Any]) -> dict[str, Any]:
    """The top-level keys that take one value: name, datasets, paths, device, numbers."""
    cfg: dict[str, Any] = {}
    if "name" in raw:
        name = expect("name", raw["name"], str, "a run name")
        if not name or "/" in name or not name.isprintable() or name.startswith("."):
            raise ConfigError(f"config key 'name': must be a plain folder name, got {name!r}")
        cfg["name"] = name
    if "datasets" in raw:
        datasets = expect("datasets", raw["datasets"], list, "a list of dataset names")
        if not datasets:
            raise ConfigError("config key 'datasets': name at least one dataset")
        cfg["datasets"] = tuple(
            validate_dataset_name(expect("datasets", d, str, "a name")) for d in datasets
        )
        no_duplicates("datasets", cfg["datasets"])
    for key in ("data_root", "cache_dir", "out"):
        if key in raw:
            cfg[key] = expect(key, raw[key], str, "a path")
    if "download" in raw:
        cfg["download"] = expect("download", raw["download"], bool, "true or false")
    if "device" in raw:
        cfg["device"] = validate_device(expect("device", raw["device"], str, "a device"))
    if "seed" in raw:
        cfg["seed"] = integer("seed", raw["seed"], 0, MAX_SEED)
    if "samples" in raw:
        cfg["samples"] = integer("samples", raw["samples"], 0)
    if "batch_size" in raw:
        cfg["batch_size"] = integer("batch_size", raw["batch_size"], 1)
    return cfg


def _parse_train(raw: dict[str, Any], seed: int) -> TrainConfig:
    """The ``[train]`` table over the paper's defaults, seeded by the run's seed."""
    train = TrainConfig(seed=seed)
    if "train" not in raw:
        return train
    table = expect("train", raw["train"], dict, "a table")
    unknown_keys("train", table, TRAIN_KEYS)
    updates: dict[str, Any] = {}
    if "epochs" in table:
        updates["epochs"] = integer("train.epochs", table["epochs"], 1)
    if "batch_size" in table:
        updates["batch_size"] = integer("train.batch_size", table["batch_size"], 1)
    if "lr" in table:
        updates["lr"] = number("train.lr", table["lr"], low=0.0, high=10.0, open_low=True)
    return replace(train, **updates)


def _parse_tables(raw: dict[str, Any]) -> dict[str, Any]:
    """The tables with rules of their own: defenses, executor, fidelity, curves, statistics,
    seeds, claims."""
    cfg: dict[str, Any] = {}
    if "defenses" in raw or "defense" in raw:
        cfg["defenses"] = _parse_defenses(raw)
    if "executor" in raw:
        cfg["executor"] = parse_executor(expect("executor", raw["executor"], dict, "a table"))
    if "fidelity" in raw:
        table = expect("fidelity", raw["fidelity"], dict, "a table")
        unknown_keys("fidelity", table, {"tolerance"})
        if "tolerance" in table:
            cfg["fidelity_tolerance"] = number(
                "fidelity.tolerance", table["tolerance"], low=0.0, high=1.0
            )
    if "curves" in raw:
        cfg.update(parse_curves(raw["curves"]))
    if "statistics" in raw:
        cfg["statistics"] = parse_statistics(raw["statistics"])
    if "seeds" in raw:
        cfg["seeds"] = parse_seeds(raw["seeds"])
    if "claims" in raw:
        cfg["claim_budgets"] = parse_claims(raw["claims"])
    return cfg


def parse_config(raw: dict[str, Any]) -> ExperimentConfig:
    """Validate a parsed TOML document into an :class:`ExperimentConfig`."""
    unknown_keys("", raw, TOP_KEYS)
    cfg = _parse_scalars(raw)
    cfg["train"] = _parse_train(raw, cfg.get("seed", 0))
    cfg.update(_parse_tables(raw))
    if "attacks" in raw:
        table = expect("attacks", raw["attacks"], dict, "a table of attack tables")
        if not table:
            raise ConfigError("config key 'attacks': name at least one attack")
        cfg["attacks"] = tuple(e for label, t in table.items() for e in _parse_attack(label, t))
    if "attacks" in cfg:
        check_attack_labels(cfg.get("defenses", ()), [e.label for e in cfg["attacks"]])
    cfg.update(parse_user_model(raw))
    if cfg.get("model") and len(cfg.get("seeds", ())) > 1:
        raise ConfigError(
            "config key 'seeds': trains one model per seed, but 'model' loads a trained "
            "one; drop 'seeds' (or 'model' to train the paper CNN)"
        )
    return ExperimentConfig(**cfg)


def _parse_defenses(raw: dict[str, Any]) -> tuple[tuple[str, dict], ...]:
    names = expect("defenses", raw.get("defenses", ["none"]), list, "a list of defense names")
    if not names:
        raise ConfigError("config key 'defenses': name at least one (\"none\" for no defense)")
    tables = expect("defense", raw.get("defense", {}), dict, "a table of defense tables")
    for extra in set(tables) - set(names):
        raise ConfigError(
            f"config table 'defense.{extra}' is for a defense not listed in "
            f"'defenses'; known defenses: {', '.join(known_defenses())}"
        )
    no_duplicates("defenses", names)
    return tuple(
        (
            name,
            defense_params(
                expect("defenses", name, str, "a name"),
                expect(f"defense.{name}", tables.get(name, {}), dict, "a table"),
            ),
        )
        for name in names
    )


def validate_device(device: str) -> str:
    """Return ``device`` (auto, cpu, cuda or cuda:N) or fail listing the accepted ones."""
    return check_device_name(device)


def default_config_text() -> str:
    """The built-in default experiment, as TOML text."""
    return resources.files("advcompare.resources").joinpath("default.toml").read_text()


def load_config(path: str | Path | None) -> ExperimentConfig:
    """Read and validate a TOML experiment; ``None`` gives the built-in default.

    Keys a file leaves out take the built-in default's values, attacks included.
    """
    default = tomllib.loads(default_config_text())
    if path is None:
        return parse_config(default)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file '{path}' not found; see configs/ for examples")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from exc
    merged = {**default, **raw}
    merged["train"] = (
        {**default["train"], **raw.get("train", {})}
        if isinstance(raw.get("train", {}), dict)
        else raw["train"]
    )
    return parse_config(merged)


def apply_overrides(
    cfg: ExperimentConfig,
    *,
    backend: str | None = None,
    datasets: list[str] | None = None,
    data_root: str | None = None,
    download: bool | None = None,
    device: str | None = None,
    out: str | None = None,
    samples: int | None = None,
    epochs: int | None = None,
    name: str | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    cpus_per_cell: int | None = None,
    gpus_per_cell: float | None = None,
    images_per_shard: int | None = None,
    seeds: str | None = None,
) -> ExperimentConfig:
    """Command-line flags over the file's values. ``backend`` applies to every attack that
    backend provides (an error if it provides none of them); ``"all"`` runs every attack on
    every backend that provides it."""
    updates: dict[str, Any] = {}
    if backend is not None:
        updates["attacks"] = _with_backend(cfg.attacks, backend)
    if datasets:
        updates["datasets"] = tuple(validate_dataset_name(d) for d in datasets)
        no_duplicates("--dataset", updates["datasets"])
    if data_root is not None:
        updates["data_root"] = data_root
    if download:
        updates["download"] = True
    if device is not None:
        updates["device"] = validate_device(device)
    if out is not None:
        updates["out"] = out
    if samples is not None:
        updates["samples"] = integer("--samples", samples, 0)
    if epochs is not None:
        updates["train"] = replace(cfg.train, epochs=integer("--epochs", epochs, 1))
    if name is not None:
        updates["name"] = parse_config({"name": name}).name
    if seeds is not None:
        updates["seeds"] = _seeds_flag(cfg, seeds)
    flags = {
        "name": executor,
        "address": ray_address,
        "cpus_per_cell": cpus_per_cell,
        "gpus_per_cell": gpus_per_cell,
        "images_per_shard": images_per_shard,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    if given:
        updates["executor"] = _executor_flags(cfg, given)
    return replace(cfg, **updates)


def _seeds_flag(cfg: ExperimentConfig, seeds: str) -> tuple[int, ...]:
    """``--seeds``, with the config's rules and the flag's name in any error."""
    try:
        parsed = parse_seeds(seeds)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("config key 'seeds'", "flag '--seeds'")) from exc
    if cfg.model and len(parsed) > 1:
        raise ConfigError(
            "flag '--seeds' trains one model per seed, but the config loads a trained "
            "'model'; drop --seeds"
        )
    return parsed


def _executor_flags(cfg: ExperimentConfig, given: dict[str, Any]) -> ExecutorConfig:
    """The executor flags over the config's ``[executor]``, errors naming the flag."""
    current = {k: v for k, v in vars(cfg.executor).items() if v is not None}
    try:
        executor = parse_executor({**current, **given})
    except ConfigError as exc:
        raise ConfigError(
            str(exc).replace("config key 'executor.", "flag '--").replace("_", "-")
        ) from exc
    if "address" in given and executor.name != "ray":
        raise ConfigError("flag '--ray-address' needs --executor ray")
    return executor


def _with_backend(attacks: tuple[AttackEntry, ...], backend: str) -> tuple[AttackEntry, ...]:
    if backend == ALL_BACKENDS:
        seen: dict[tuple[str, AttackSpec], AttackEntry] = {}
        for a in attacks:
            seen.setdefault((a.label, a.spec), a)
        return tuple(
            e
            for (label, spec), a in seen.items()
            for e in expand_backends(label, spec, "all", a.curve, a.samples)
        )
    validate_backend_name(backend)
    provided = get_backend(backend).capabilities()
    if not any(a.spec.attack in provided for a in attacks):
        raise ConfigError(
            f"backend '{backend}' provides none of the configured attacks "
            f"({', '.join(a.spec.attack for a in attacks)}); it provides: "
            f"{', '.join(provided)}"
        )
    return tuple(replace(a, backend=backend) if a.spec.attack in provided else a for a in attacks)
