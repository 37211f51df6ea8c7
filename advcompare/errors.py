"""User-facing errors: each carries a one-line message that names the problem and the fix.

The CLI prints ``advcompare: error: <message>`` and exits with status 2 for any of these,
never a traceback.
"""

from __future__ import annotations


class AdvCompareError(Exception):
    """A problem with the user's input (config, flags, data) that they can fix."""

    exit_code = 2

    def __str__(self) -> str:  # keep the message on one line whatever the caller passed
        return " ".join(str(self.args[0]).split()) if self.args else ""


class ConfigError(AdvCompareError):
    """Malformed experiment configuration: names the key and why it is wrong."""


class UnknownNameError(AdvCompareError):
    """An unknown backend, attack or dataset name: lists the known ones."""


class DataRootError(AdvCompareError):
    """A data root that is missing or incomplete: prints the expected layout."""


class UnsupportedSpecError(AdvCompareError):
    """A backend that cannot honour an attack spec and will not pretend to."""


def require_known(kind: str, name: str, known: list[str]) -> str:
    """Return ``name`` if it is one of ``known``, else fail listing them (``kind`` is e.g.
    "backend"): the one shape of every unknown-name error."""
    if name not in known:
        raise UnknownNameError(f"unknown {kind} '{name}'; known {kind}s: {', '.join(known)}")
    return name


class InputError(AdvCompareError):
    """Inputs or labels handed to the Python API that an attack cannot use (shape, dtype,
    range): names what is wrong and how to convert it."""


class ModelError(AdvCompareError):
    """A classifier handed to the Python API that cannot be attacked as given (training mode,
    probability outputs, wrong output shape, no input gradient): names the fix."""


class RunDirError(AdvCompareError):
    """A directory that is missing or holds no advcompare results store."""
