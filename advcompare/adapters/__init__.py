"""Backend registry: an explicit table of attack libraries behind one interface.

Each entry names the module and class of an adapter; the module (and the library it wraps)
is imported only when that backend is asked for, so a missing library breaks only its own
backend. An unknown name is answered with the list of known ones.
"""

from __future__ import annotations

import importlib

from advcompare.adapters.base import Backend, Capability, model_guard
from advcompare.errors import require_known

_REGISTRY: dict[str, str] = {}
_INSTANCES: dict[str, Backend] = {}


def register_backend(name: str, target: str) -> None:
    """Register ``target`` ("module:Class") as backend ``name``; a name is registered once."""
    if name in _REGISTRY and _REGISTRY[name] != target:
        raise ValueError(f"backend '{name}' is already registered as {_REGISTRY[name]}")
    _REGISTRY[name] = target


register_backend("torchattacks", "advcompare.adapters.torchattacks_backend:TorchattacksBackend")
register_backend("art", "advcompare.adapters.art_backend:ArtBackend")
register_backend("foolbox", "advcompare.adapters.foolbox_backend:FoolboxBackend")
register_backend("native", "advcompare.adapters.native_backend:NativeBackend")


def known_backends() -> list[str]:
    """Names accepted by :func:`get_backend`."""
    return list(_REGISTRY)


def validate_backend_name(name: str) -> str:
    """Return ``name`` or fail listing the known backends."""
    return require_known("backend", name, known_backends())


def get_backend(name: str) -> Backend:
    """The adapter registered as ``name`` (imported on first use)."""
    validate_backend_name(name)
    if name not in _INSTANCES:
        module_name, class_name = _REGISTRY[name].split(":")
        _INSTANCES[name] = getattr(importlib.import_module(module_name), class_name)()
    return _INSTANCES[name]


def backends_supporting(attack: str) -> list[str]:
    """Backends that provide ``attack``, in registry order."""
    return [name for name in _REGISTRY if attack in get_backend(name).capabilities()]


__all__ = [
    "Backend",
    "Capability",
    "model_guard",
    "register_backend",
    "known_backends",
    "validate_backend_name",
    "get_backend",
    "backends_supporting",
]
