"""The backend table: attack libraries behind one interface, and the capability checks.

Each entry names the module and class of an adapter; the module (and the library it wraps)
is imported only when that backend is asked for, so a missing library breaks only its own
backend. An unknown name is answered with the list of known ones.
"""

from __future__ import annotations

import importlib

from advcompare.adapters.base import AttackImpl, Backend
from advcompare.attacks.spec import AttackSpec
from advcompare.errors import UnsupportedSpecError, require_known

_REGISTRY: dict[str, str | type] = {}
_INSTANCES: dict[str, Backend] = {}


def register_backend(name: str, target: str | type) -> None:
    """Register ``target`` (an adapter class, or "module:Class" to import it on first use)
    as backend ``name``; a name is registered once."""
    if name in _REGISTRY and _REGISTRY[name] != target:
        raise ValueError(f"backend '{name}' is already registered as {_REGISTRY[name]}")
    _REGISTRY[name] = target


def unregister_backend(name: str) -> None:
    """Forget backend ``name`` (tests and notebooks that register their own)."""
    _REGISTRY.pop(name, None)
    _INSTANCES.pop(name, None)


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
        target = _REGISTRY[name]
        if isinstance(target, str):
            module_name, class_name = target.split(":")
            target = getattr(importlib.import_module(module_name), class_name)
        _INSTANCES[name] = target()
    return _INSTANCES[name]


def backends_supporting(attack: str) -> list[str]:
    """Backends that provide ``attack``, in registry order."""
    return [name for name in _REGISTRY if attack in get_backend(name).capabilities()]


def require_capability(backend: str, spec: AttackSpec) -> None:
    """Fail, naming the backends that do, when ``backend`` does not provide ``spec.attack``."""
    if spec.attack not in get_backend(backend).capabilities():
        others = ", ".join(backends_supporting(spec.attack)) or "none"
        raise UnsupportedSpecError(
            f"backend '{backend}' does not provide attack '{spec.attack}'; "
            f"backends that do: {others}"
        )


def check_spec(backend: str, spec: AttackSpec, num_classes: int) -> list[str]:
    """Refuse ``spec`` on ``backend`` (not provided, or not honoured for ``num_classes``
    classes); else the backend's notes on what differs from the canonical meaning."""
    require_capability(backend, spec)
    return get_backend(backend).check(spec, num_classes)


def implementation(backend: str, attack: str) -> AttackImpl | None:
    """``backend``'s table entry for ``attack`` (None if it has none or is not a table)."""
    table = getattr(get_backend(backend), "attacks", {})
    return table.get(attack)
