"""The config's statistics, seeds and curve tables: ``[statistics]``, ``seeds`` and
``[curves]`` (kept apart from :mod:`advcompare.config.experiment`, which reads the rest)."""

from __future__ import annotations

from typing import Any

from advcompare.analysis.statistics import StatisticsConfig
from advcompare.config.settings import ReferenceConfig
from advcompare.config.values import expect, integer, number, unknown_keys
from advcompare.errors import ConfigError

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
