"""Trained weights: how they travel (driver ↔ workers) and the one disk cache that keeps them.

A :class:`Weights` is a model's state dict plus its loss history, small enough to travel
through Ray's object store, so a cluster needs no shared filesystem. :class:`WeightsCache` is
the only code that reads or writes the cache folder: one folder per key holding
``model.safetensors`` (never pickles) and ``record.json``, written atomically (temporary
file + rename), and checked on load: a truncated, mismatched or non-finite entry is reported
and retrained, never used.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from advcompare.errors import AdvCompareError


@dataclass
class Weights:
    """A trained model's weights as plain CPU tensors, with what built it.

    ``path`` is set instead of ``state`` when the caller declared the cache shared by every
    worker (``[executor] shared_cache = true``): workers then read the file themselves.
    """

    key: str
    num_classes: int
    state: dict[str, torch.Tensor] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    path: str | None = None
    from_cache: bool = False
    factory: str = ""  # "package.module:factory" of a user's model; "" for the paper CNN

    @classmethod
    def of(
        cls,
        key: str,
        model: nn.Module,
        num_classes: int,
        history: list[dict[str, float]],
        from_cache: bool = False,
        factory: str = "",
    ) -> "Weights":
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        return cls(key, num_classes, state, history, from_cache=from_cache, factory=factory)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The state dict, read from the shared cache file when only its path travelled."""
        if self.state is not None:
            return self.state
        if self.path is None:
            raise ValueError(f"weights '{self.key}' carry neither tensors nor a path")
        return load_file(self.path)

    def load_into(self, model: nn.Module, device: torch.device | str) -> nn.Module:
        """``model`` with these weights, on ``device``, in eval mode."""
        model.load_state_dict(self.tensors())
        return model.to(device).eval()

    def by_path(self, cache: "WeightsCache") -> "Weights":
        """The same weights, travelling as a path into a cache every worker can read."""
        return Weights(
            self.key,
            self.num_classes,
            None,
            self.history,
            str(cache.weights_file(self.key)),
            self.from_cache,
            self.factory,
        )


class CacheError(AdvCompareError):
    """The weights cache cannot be used (not writable, or a path that is not a folder)."""


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_fits(template: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Raise ValueError unless ``state`` has exactly ``template``'s names and shapes."""
    own = template.state_dict()
    if set(own) != set(state):
        missing = sorted(set(own) - set(state))[:1] or sorted(set(state) - set(own))[:1]
        raise ValueError(f"entries do not match the model (first: {missing[0]})")
    for name, tensor in own.items():
        if tuple(tensor.shape) != tuple(state[name].shape):
            raise ValueError(
                f"{name} has shape {tuple(state[name].shape)}, the model needs "
                f"{tuple(tensor.shape)}"
            )


class WeightsCache:
    """Folder of trained models, one subfolder per cache key."""

    def __init__(self, root: Path | str, warn: Callable[[str], None] | None = None) -> None:
        self.root = Path(root).expanduser()
        self.warn = warn or (lambda message: print(f"advcompare: {message}", file=sys.stderr))

    def folder(self, key: str) -> Path:
        return self.root / key

    def weights_file(self, key: str) -> Path:
        return self.folder(key) / "model.safetensors"

    def record_file(self, key: str) -> Path:
        return self.folder(key) / "record.json"

    def check_writable(self) -> None:
        """Fail before any training when trained weights could not be kept."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".write-check-")
            probe.close()
        except OSError as exc:
            raise CacheError(
                f"model cache '{self.root}' is not writable ({exc.strerror}); "
                f"set cache_dir in the config or $ADVCOMPARE_CACHE to a "
                f"writable folder"
            ) from exc

    def has(self, key: str) -> bool:
        return self.weights_file(key).is_file() and self.record_file(key).is_file()

    def load(self, key: str, num_classes: int, template: nn.Module | None = None) -> Weights | None:
        """The cached weights for ``key``, or None when absent or unusable.

        An entry that cannot be read, does not fit ``template`` (names or shapes: a model
        for another class count, say) or holds NaN/inf is renamed aside
        (``<key>.corrupt``), said in one line on stderr, and retrained by the caller; it is
        never loaded.
        """
        if not self.has(key):
            return None
        try:
            state = load_file(str(self.weights_file(key)))
            record = json.loads(self.record_file(key).read_text())
            history = record["history"]
            if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
                raise ValueError("non-finite weights")
            if template is not None:
                _check_fits(template, state)
        except Exception as exc:  # noqa: BLE001 - any unreadable entry is retrained
            self._set_aside(key, exc)
            return None
        return Weights(
            key, num_classes, state, history, from_cache=True, factory=record.get("factory", "")
        )

    def _set_aside(self, key: str, exc: Exception) -> None:
        aside = self.root / f"{key}.corrupt"
        if aside.exists():
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(self.folder(key), aside)
        self.warn(
            f"cached model {self.weights_file(key)} is unusable ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:120]}); set aside as {aside}, retraining"
        )

    def save(self, weights: Weights, record: dict[str, Any] | None = None) -> None:
        """Store ``weights`` (refusing non-finite ones) and its record, each atomically."""
        state = weights.tensors()
        if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
            raise AdvCompareError(
                f"training '{weights.key}' produced NaN or infinite weights (learning rate "
                f"too high?); nothing was cached: lower train.lr and rerun"
            )
        _atomic_write(self.weights_file(weights.key), lambda tmp: save_file(state, tmp))
        body = {"key": weights.key, **(record or {}), "history": weights.history}
        if weights.factory:
            body["factory"] = weights.factory
        _atomic_write(
            self.record_file(weights.key),
            lambda tmp: Path(tmp).write_text(json.dumps(body, indent=2)),
        )
