"""Checks shared by adapters: refusing specs a backend does not provide."""

from __future__ import annotations

from advcompare.adapters.base import Backend
from advcompare.errors import UnsupportedSpecError
from advcompare.spec import AttackSpec


def require_capability(backend: Backend, spec: AttackSpec) -> None:
    """Fail, naming the backends that do, when ``backend`` does not provide ``spec.attack``."""
    if spec.attack not in backend.capabilities():
        from advcompare.adapters import backends_supporting

        others = ", ".join(backends_supporting(spec.attack)) or "none"
        raise UnsupportedSpecError(
            f"backend '{backend.name}' does not provide attack '{spec.attack}'; "
            f"backends that do: {others}"
        )


def require_fits(spec: AttackSpec, num_classes: int, dataset: str = "the data") -> None:
    """Fail when a spec asks for more than the data has (DeepFool candidates above the
    class count), whatever the backend."""
    candidates = spec.params.get("candidates") if spec.attack == "deepfool" else None
    if candidates is not None and candidates > num_classes:
        raise UnsupportedSpecError(
            f"deepfool candidates = {candidates} but {dataset} has {num_classes} classes; "
            f"set candidates to at most {num_classes} (or leave it out for all classes)"
        )
