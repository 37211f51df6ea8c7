"""Attack libraries behind one interface: the backend table (:mod:`.registry`) and the
adapter contract (:mod:`.base`). Each adapter is one table of :class:`AttackImpl` entries."""

from __future__ import annotations

from advcompare.adapters.base import AttackImpl, Backend, Capability, model_guard
from advcompare.adapters.registry import (
    backends_supporting,
    check_spec,
    get_backend,
    implementation,
    known_backends,
    register_backend,
    require_capability,
    validate_backend_name,
)

__all__ = [
    "AttackImpl",
    "Backend",
    "Capability",
    "model_guard",
    "register_backend",
    "known_backends",
    "validate_backend_name",
    "get_backend",
    "backends_supporting",
    "require_capability",
    "check_spec",
    "implementation",
]
