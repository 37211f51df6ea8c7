"""The config's tables and keys with rules of their own: ``[statistics]``, ``seeds``,
``[curves]``, ``[executor]`` and a user's model (``model``, ``weights``, ``input_shape``);
:mod:`advcompare.config.experiment` reads the rest and calls these."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from advcompare.analysis.statistics import StatisticsConfig
from advcompare.config.settings import EXECUTORS, ExecutorConfig, ReferenceConfig
from advcompare.config.values import expect, integer, number, unknown_keys
from advcompare.errors import ConfigError
from advcompare.models.user_model import check_factory_string, check_weights_path

MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit
CURVE_KEYS = {"ifgsm_eps", "linf_eps", "l2_eps", "reference", "fmn_steps", "ddn_steps"}


def parse_statistics(table: Any) -> StatisticsConfig:
    """``[statistics]``: ``resamples`` (bootstrap, ≥ 100), ``confidence``, ``alpha``, the
    equivalence ``margin`` (a share, default 0.05) and ``max_cost_ratio`` (≥ 1)."""
    table = expect("statistics", table, dict, "a table")
    unknown_keys(
        "statistics", table, {"resamples", "confidence", "alpha", "margin", "max_cost_ratio"}
    )
    out = StatisticsConfig()
    values: dict[str, Any] = {}
    if "resamples" in table:
        values["resamples"] = integer("statistics.resamples", table["resamples"], 100)
    if "confidence" in table:
        values["confidence"] = number(
            "statistics.confidence", table["confidence"], low=0.5, high=0.999
        )
    if "alpha" in table:
        values["alpha"] = number(
            "statistics.alpha", table["alpha"], low=0.0, high=0.5, open_low=True
        )
    if "margin" in table:
        values["margin"] = number(
            "statistics.margin", table["margin"], low=0.0, high=0.5, open_low=True
        )
    if "max_cost_ratio" in table:
        values["max_cost_ratio"] = number(
            "statistics.max_cost_ratio", table["max_cost_ratio"], low=1.0, high=1000.0
        )
    return StatisticsConfig(**{**vars(out), **values})


def parse_seeds(value: Any, where: str = "seeds") -> tuple[int, ...]:
    """``seeds = [0, 1, 2]`` (or ``--seeds 0,1,2``): distinct training seeds."""
    if isinstance(value, str):
        try:
            value = [int(v) for v in value.split(",") if v.strip()]
        except ValueError as exc:
            raise ConfigError(
                f"config key '{where}': expected comma-separated integers such as 0,1,2, "
                f"got {value!r}"
            ) from exc
    values = expect(where, value, list, "a list of integer seeds")
    if not values:
        raise ConfigError(f"config key '{where}': name at least one seed")
    seeds = tuple(integer(where, v, 0, MAX_SEED) for v in values)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"config key '{where}': lists a seed twice")
    return seeds


def _eps_list(where: str, value: Any, high: float | None) -> tuple[float, ...]:
    values = expect(where, value, list, "a list of eps values")
    eps = tuple(number(where, v, low=0.0, high=high, open_low=True) for v in values)
    if len(set(eps)) != len(eps):
        raise ConfigError(f"config key '{where}': lists an eps twice")
    return tuple(sorted(eps))


def parse_claims(table: Any) -> tuple[float, ...]:
    """``[claims]``: ``l2_budgets``, the L2 budgets (pixel units, > 0) at which the paper's
    claims about DeepFool and CW are judged beside the unbounded attacks (default 1.0, 2.0)."""
    table = expect("claims", table, dict, "a table")
    unknown_keys("claims", table, {"l2_budgets"})
    if "l2_budgets" not in table:
        return (1.0, 2.0)
    budgets = _eps_list("claims.l2_budgets", table["l2_budgets"], None)
    if not budgets:
        raise ConfigError(
            "config key 'claims.l2_budgets': name at least one budget, e.g. [1.0, 2.0]"
        )
    return budgets


def parse_curves(table: Any) -> dict[str, Any]:
    """``[curves]``: ``linf_eps`` (older name ``ifgsm_eps``) and ``l2_eps``, the ε of every
    bounded L∞ / L2 attack's budget (security-evaluation) curve; ``reference`` (the FMN/DDN
    strength reference, on by default), ``fmn_steps`` and ``ddn_steps``."""
    table = expect("curves", table, dict, "a table")
    unknown_keys("curves", table, CURVE_KEYS)
    out: dict[str, Any] = {}
    if "ifgsm_eps" in table and "linf_eps" in table:
        raise ConfigError(
            "config key 'curves.linf_eps': 'ifgsm_eps' is its older name; give one of the two"
        )
    for key, field, high in (
        ("ifgsm_eps", "eps_curve", 1.0),
        ("linf_eps", "eps_curve", 1.0),
        ("l2_eps", "eps_curve_l2", None),
    ):
        if key in table:
            out[field] = _eps_list(f"curves.{key}", table[key], high)
    reference = ReferenceConfig()
    updates: dict[str, Any] = {}
    if "reference" in table:
        updates["enabled"] = expect("curves.reference", table["reference"], bool, "true or false")
    for key in ("fmn_steps", "ddn_steps"):
        if key in table:
            updates[key] = integer(f"curves.{key}", table[key], 1)
    out["reference"] = ReferenceConfig(**{**vars(reference), **updates})
    return out


EXECUTOR_KEYS = {
    "name",
    "address",
    "cpus_per_cell",
    "gpus_per_cell",
    "images_per_shard",
    "shared_cache",
    "max_retries",
}


PAPER_INPUT_SHAPE = (3, 32, 32)
MAX_IMAGE_SIDE = 4096


def parse_user_model(raw: dict[str, Any]) -> dict[str, Any]:
    """``model``, ``weights`` and ``input_shape``: a user's model, loaded instead of trained
    (see :mod:`advcompare.models.user_model`; importing and loading are checked by the run)."""
    out: dict[str, Any] = {}
    if "model" in raw:
        out["model"] = check_factory_string(
            expect("model", raw["model"], str, '"package.module:factory"')
        )
    if "weights" in raw:
        out["weights"] = check_weights_path(
            expect("weights", raw["weights"], str, "a .safetensors path")
        )
    if out.get("model") and not out.get("weights"):
        raise ConfigError(
            "config key 'model': needs 'weights = \"<file>.safetensors\"' (the "
            "trained state dict); a user's model is loaded, never trained"
        )
    if out.get("weights") and not out.get("model"):
        raise ConfigError(
            "config key 'weights': needs 'model = \"package.module:factory\"' "
            "(the module the weights are loaded into)"
        )
    if "input_shape" in raw:
        value = expect("input_shape", raw["input_shape"], list, "[C, H, W]")
        if len(value) != 3:
            raise ConfigError(f"config key 'input_shape': expected [C, H, W], got {value!r}")
        channels = expect("input_shape", value[0], int, "an integer channel count")
        if channels not in (1, 3):
            raise ConfigError(
                f"config key 'input_shape': channels must be 1 (grey) or 3 (RGB), got {channels}"
            )
        shape = (channels, *(integer("input_shape", v, 1, MAX_IMAGE_SIDE) for v in value[1:]))
        if shape != PAPER_INPUT_SHAPE and not out.get("model"):
            raise ConfigError(
                f"config key 'input_shape': the paper CNN takes [3, 32, 32], "
                f'got {list(shape)}; set model = "package.module:factory" '
                f"for a model with another input"
            )
        out["input_shape"] = shape
    return out


def parse_executor(table: dict[str, Any], where: str = "executor") -> ExecutorConfig:
    """Validate an ``[executor]`` table."""
    unknown_keys(where, table, EXECUTOR_KEYS)
    updates: dict[str, Any] = {}
    if "name" in table:
        name = expect(f"{where}.name", table["name"], str, "an executor name")
        if name not in EXECUTORS:
            raise ConfigError(
                f"config key '{where}.name': unknown executor '{name}'; "
                f"known executors: {', '.join(EXECUTORS)}"
            )
        updates["name"] = name
    if "address" in table:
        address = expect(f"{where}.address", table["address"], str, "a Ray address")
        if not address.strip():
            raise ConfigError(
                f"config key '{where}.address': empty; use \"auto\", "
                f"HOST:PORT, or leave it out for a local Ray"
            )
        updates["address"] = address
    if "cpus_per_cell" in table:
        updates["cpus_per_cell"] = integer(f"{where}.cpus_per_cell", table["cpus_per_cell"], 1)
    if "gpus_per_cell" in table:
        updates["gpus_per_cell"] = number(
            f"{where}.gpus_per_cell", table["gpus_per_cell"], low=0.0, high=64.0
        )
    if "images_per_shard" in table:
        updates["images_per_shard"] = integer(
            f"{where}.images_per_shard", table["images_per_shard"], 0
        )
    if "shared_cache" in table:
        updates["shared_cache"] = expect(
            f"{where}.shared_cache", table["shared_cache"], bool, "true or false"
        )
    if "max_retries" in table:
        updates["max_retries"] = integer(f"{where}.max_retries", table["max_retries"], 0)
    return replace(ExecutorConfig(), **updates)
