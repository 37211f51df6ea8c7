"""Progress a person can read: bars on a terminal, plain lines in a file or a CI log, nothing
but the result with ``--quiet``.

tqdm redraws its bars with carriage returns and cursor moves (``ESC[A``), which a file or a
CI log keeps as control characters; so a bar is drawn only when standard error is a
terminal, and long loops print a plain line every few steps otherwise (:func:`every`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
QUIET_ENV = "ADVCOMPARE_QUIET"  # set by ``--quiet``; Ray workers inherit it


def quiet() -> bool:
    """Whether the user asked for no progress at all (``--quiet``)."""
    return os.environ.get(QUIET_ENV, "") not in ("", "0")


def set_quiet(value: bool) -> None:
    """``--quiet``: no bars and no progress lines in this process and the ones it starts."""
    if value:
        os.environ[QUIET_ENV] = "1"
    else:
        os.environ.pop(QUIET_ENV, None)


_bars_off = False  # set in worker processes: bars of several processes would overwrite each other


def bars_off() -> None:
    """No bars in this process (a worker beside others); plain lines instead."""
    global _bars_off
    _bars_off = True


def on_terminal() -> bool:
    """Whether bars may be drawn: standard error is a terminal, not ``--quiet``, and this is no
    worker process (:func:`bars_off`)."""
    return not quiet() and not _bars_off and sys.stderr.isatty()


def bar(iterable: Iterable[T] | None = None, **kwargs: Any) -> Any:
    """A tqdm bar that draws only on a terminal (``disable`` adds to that rule)."""
    disable = bool(kwargs.pop("disable", False)) or not on_terminal()
    return tqdm(iterable, disable=disable, **kwargs)


def every(step: int, total: int, period: int = 5) -> bool:
    """Whether step ``step`` of ``total`` (from 1) gets a plain progress line off a terminal:
    every ``period``-th step and the last."""
    return not quiet() and not on_terminal() and (step % period == 0 or step == total)


def line(text: str) -> None:
    """One plain progress line on standard error (off a terminal, unless ``--quiet``)."""
    print(text, file=sys.stderr, flush=True)
