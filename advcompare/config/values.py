"""The rules a value of the experiment file must meet, each failure one line naming the key:
a type, an integer or number range, the keys a table may hold."""

from __future__ import annotations

import math
from typing import Any

from advcompare.errors import ConfigError


def expect(where: str, value: Any, kind: type | tuple[type, ...], text: str) -> Any:
    """``value`` if it is a ``kind`` (described by ``text``); a boolean is no number."""
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"config key '{where}': expected {text}, got a boolean")
    if not isinstance(value, kind):
        raise ConfigError(f"config key '{where}': expected {text}, got {value!r}")
    return value


def integer(where: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum]."""
    expect(where, value, int, "an integer")
    if value < minimum:
        raise ConfigError(f"config key '{where}': must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"config key '{where}': must be <= {maximum}, got {value}")
    return value


def unknown_keys(where: str, given: dict, allowed: set[str]) -> None:
    """Fail naming the first key of ``given`` that is not ``allowed``."""
    extra = sorted(set(given) - allowed)
    if extra:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown config key '{prefix}{extra[0]}'; "
            f"allowed keys{' in ' + where if where else ''}: "
            f"{', '.join(sorted(allowed))}"
        )


def number(
    where: str, value: Any, *, low: float, high: float | None = None, open_low: bool = False
) -> float:
    """A finite number in [low, high] ((low, high] when ``open_low``)."""
    expect(where, value, (int, float), "a number")
    value = float(value)
    too_low = value <= low if open_low else value < low
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        interval = f"{'(' if open_low else '['}{low:g}, {'inf' if high is None else f'{high:g}'}]"
        raise ConfigError(
            f"config key '{where}': must be a finite number in {interval}, got {value!r}"
        )
    return value
