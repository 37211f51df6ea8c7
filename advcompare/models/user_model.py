"""Your own model in ``advcompare run``: ``model = "package.module:factory"`` builds it and
``weights = "file.safetensors"`` holds its trained state dict (safetensors only: a pickled
checkpoint can run code when loaded).

A user model is loaded, never trained; its key covers the factory string and the weights
file's SHA-256, so changing either is a different model. Workers rebuild it from the factory
string (carried in :class:`~advcompare.models.weights.Weights`) and the state dict they are sent, so
the factory's module must be importable wherever cells run. Everything here is checked
before any attack runs, each problem one :class:`~advcompare.errors.ConfigError` naming the
config key.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from advcompare.errors import ConfigError
from advcompare.hashing import digest
from advcompare.models.train import TRAINING_CODE_VERSION

FACTORY_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
WEIGHTS_SUFFIX = ".safetensors"
_FORMAT = '"package.module:factory" (a callable returning a torch.nn.Module)'
_CONVERT = "save them with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"


def check_factory_string(value: str) -> str:
    """``value`` if it reads ``package.module:callable``, else one ConfigError."""
    if not FACTORY_PATTERN.match(value):
        raise ConfigError(f"config key 'model': expected {_FORMAT}, got {value!r}")
    return value


def check_weights_path(value: str) -> str:
    """``value`` if it names a ``.safetensors`` file; pickles and other formats are refused."""
    if Path(value).suffix.lower() != WEIGHTS_SUFFIX:
        raise ConfigError(
            f"config key 'weights': {value!r} is not a .safetensors file; only "
            f"safetensors weights are read (pickled checkpoints such as .pt, .pth, "
            f".ckpt or .bin can run code when loaded): {_CONVERT}"
        )
    return value


def resolve_factory(factory: str) -> Callable[[], Any]:
    """The callable that ``factory`` (``module:attribute``) names."""
    check_factory_string(factory)
    module_name, attribute = factory.split(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"config key 'model': cannot import module '{module_name}' "
            f"({' '.join(str(exc).split())}); put its folder on PYTHONPATH or "
            f"install its package"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a user's module can raise anything on import
        raise ConfigError(
            f"config key 'model': importing '{module_name}' failed "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        ) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigError(
                f"config key 'model': module '{module_name}' has no attribute '{attribute}'"
            )
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(
            f"config key 'model': '{factory}' is a {type(target).__name__}, not "
            f"a callable; expected {_FORMAT}"
        )
    return target


def build_model(factory: str) -> nn.Module:
    """A fresh module from ``factory`` (its own initialisation, under torch's current seed)."""
    try:
        model = resolve_factory(factory)()
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user's factory can raise anything
        raise ConfigError(
            f"config key 'model': calling '{factory}()' failed "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        ) from None
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"config key 'model': '{factory}()' returned a "
            f"{type(model).__name__}, not a torch.nn.Module"
        )
    return model


def weights_digest(path: str | Path) -> str:
    """SHA-256 of the weights file's bytes (part of the model key)."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in a safetensors file, or one ConfigError (missing, not safetensors)."""
    from safetensors.torch import load_file

    path = Path(path).expanduser()
    check_weights_path(str(path))
    if not path.is_file():
        raise ConfigError(f"config key 'weights': file '{path}' not found")
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors' errors for a malformed file
        raise ConfigError(
            f"config key 'weights': '{path}' is not a readable safetensors file "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
            f"{_CONVERT}"
        ) from None


def load_state(
    model: nn.Module, state: dict[str, torch.Tensor], factory: str, path: str
) -> nn.Module:
    """``model`` with ``state`` loaded strictly, or one ConfigError saying what does not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (first: {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (first: {unexpected[0]})")
    if shapes:
        problems.append(f"shape mismatch: {shapes[0]}")
    if problems:
        raise ConfigError(
            f"config key 'weights': '{path}' does not fit the module built by "
            f"'{factory}' ({'; '.join(problems)})"
        )
    try:
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - dtype or custom load hooks
        raise ConfigError(
            f"config key 'weights': '{path}' does not fit the module built by "
            f"'{factory}' ({' '.join(str(exc).split())[:200]})"
        ) from None
    return model


@lru_cache(maxsize=8)
def _cached_factory(factory: str) -> Callable[[], Any]:
    return resolve_factory(factory)


def instantiate(factory: str) -> nn.Module:
    """A fresh module from ``factory``, as workers and trained defenses build it."""
    model = _cached_factory(factory)()
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"config key 'model': '{factory}()' returned a "
            f"{type(model).__name__}, not a torch.nn.Module"
        )
    return model


class LogProbabilities(nn.Module):
    """``log_softmax`` of a classifier's scores. Training (:func:`advcompare.models.train.fit`)
    reads outputs as log-probabilities; a user's model may return logits. log_softmax of
    log-probabilities changes nothing, so this is safe either way."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.inner(x), dim=1)


def model_key(dataset, factory: str, sha256: str, input_shape: tuple[int, int, int], train) -> str:
    """The key of a user model on ``dataset``: factory, weights, data and input shape, plus
    what trains the defenses built from it (``[train]``, code and torch versions)."""
    payload = {
        "factory": factory,
        "weights_sha256": sha256,
        "data": dataset.summary(),
        "input_shape": list(input_shape),
        "train": asdict(train),
        "training_code": TRAINING_CODE_VERSION,
        "torch": torch.__version__.split("+")[0],
    }
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset.name).strip("-")
    return f"{prefix}-user-{digest(payload, 16)}"
