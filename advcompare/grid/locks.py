"""File locks: one writer per run directory, one trainer per cached model across runs."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Iterator

from advcompare.errors import AdvCompareError


@contextlib.contextmanager
def file_lock(path: Path, busy: str, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; if another process holds it, fail with ``busy``
    (or, with ``wait``, block until it is free)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise AdvCompareError(busy) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
