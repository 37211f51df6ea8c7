"""Every check made before work starts, for the API and the CLI alike: device names, inputs
and labels, the model (mode, one forward probe, input gradients, probability outputs),
options, and each attack entry against its backend and the data (AutoAttack's preflight
idea: refuse what would fail or mislead before the first attack runs).

Each problem is one :class:`~advcompare.errors.AdvCompareError` with a one-line message that
names the fix; the API and ``advcompare run`` share the wording (a user's model in a config
is named by its factory string, prefixed by the config key).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch
from torch import nn

from advcompare.adapters.entry import AttackEntry
from advcompare.adapters.registry import check_spec
from advcompare.attacks.spec import attack_record, black_box_attacks, gradient_attacks
from advcompare.config.settings import DEVICES
from advcompare.data.datasets import (
    imagefolder_name,
    is_imagefolder,
    num_classes_of,
    preflight_dataset,
)
from advcompare.defenses.registry import check_defense_seeds
from advcompare.errors import ConfigError, InputError, ModelError, UnsupportedSpecError
from advcompare.models.preflight import preflight
from advcompare.models.user_model import build_model, load_state, read_weights

#: Images the model is probed with before attacking (output shape, preflight flags).
PROBE_SAMPLES = 32
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
_PROBABILITY_HINT = (
    "return logits (drop the final softmax) or log-probabilities (torch.log_softmax); "
    "attacks on probabilities get flat gradients"
)

# --------------------------------------------------------------------------------- devices


def check_device_name(name: Any) -> str:
    """``name`` if it is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, else one ConfigError.
    Whether CUDA is there is asked only when the device is resolved (a Ray worker's node
    may have a GPU the driver lacks)."""
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str) or not _DEVICE.match(name):
        raise ConfigError(
            f"unknown device {name!r}; use one of: {', '.join(DEVICES)} or cuda:N "
            f"(a torch.device in the API)"
        )
    return name


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` → CUDA when torch sees a GPU, else CPU; ``cuda``/``cuda:N`` without one, or
    past the last GPU, is one ConfigError."""
    name = check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device '{name}' requested but torch sees no CUDA device; use device cpu or auto"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device '{name}' requested but torch sees {torch.cuda.device_count()} "
                f"CUDA device(s); use cuda:0 to cuda:{torch.cuda.device_count() - 1}"
            )
    return device


# --------------------------------------------------------------------------- inputs, labels


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    raise InputError(
        f"{name} must be a torch.Tensor (or a NumPy array), got {type(value).__name__}"
    )


def check_inputs(x: Any) -> torch.Tensor:
    """``x`` as a detached CPU float tensor N×C×H×W in [0, 1], or one :class:`InputError`."""
    x = _as_tensor(x, "x")
    if x.ndim != 4:
        hint = (
            " (one image: x.unsqueeze(0); grayscale N×H×W: x.unsqueeze(1))" if x.ndim == 3 else ""
        )
        raise InputError(f"x must be a 4-D batch N×C×H×W, got shape {tuple(x.shape)}{hint}")
    if min(x.shape) == 0:
        raise InputError(f"x holds no data (shape {tuple(x.shape)}); pass at least one image")
    if not x.is_floating_point():
        raise InputError(
            f"x has dtype {x.dtype}; attacks need floats in [0, 1]: pass "
            f"x.float() / 255 for 8-bit images"
        )
    if not bool(torch.isfinite(x).all()):
        raise InputError("x contains NaN or infinite values; pass finite pixels in [0, 1]")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        raise InputError(
            f"x holds values in [{low:.4g}, {high:.4g}], outside [0, 1]; pass pixels scaled "
            f"to [0, 1] and put mean/std normalisation inside the model "
            f"(advcompare.models.normalization.with_normalization) so eps stays in pixel units"
        )
    return x.cpu()


def check_labels(y: Any, n: int, num_classes: int | None = None) -> torch.Tensor:
    """``y`` as a CPU int64 tensor of ``n`` class indices (below ``num_classes`` when given),
    or one :class:`InputError`."""
    if isinstance(y, (list, tuple)):
        y = torch.as_tensor(y)
    y = _as_tensor(y, "y")
    if y.ndim == 2 and y.shape[0] == n and y.shape[1] > 1:
        raise InputError(
            f"y has shape {tuple(y.shape)}; pass class indices of shape ({n},), "
            f"e.g. y.argmax(1) for one-hot or score rows"
        )
    if y.ndim != 1 or y.shape[0] != n:
        raise InputError(
            f"y must have shape ({n},), one class index per image of x; got shape {tuple(y.shape)}"
        )
    if y.dtype == torch.bool or y.is_floating_point() or y.is_complex():
        raise InputError(f"y has dtype {y.dtype}; pass integer class indices (y.long())")
    y = y.cpu().long()
    if num_classes is not None and n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise InputError(
            f"y holds labels in [{int(y.min())}, {int(y.max())}] but the model scores "
            f"{num_classes} classes (0..{num_classes - 1}); pass labels in that range or a "
            f"model with one output per class"
        )
    return y


# ---------------------------------------------------------------------------------- model


def check_eval_mode(model: Any) -> None:
    """A torch module whose every submodule is in eval mode (dropout and batch norm would
    otherwise change every forward pass), or one :class:`ModelError`."""
    if not isinstance(model, nn.Module):
        raise ModelError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, module in model.named_modules():
        if module.training:
            where = "the model" if not name else f"submodule '{name}' of the model"
            raise ModelError(
                f"{where} is in training mode (dropout and batch norm would "
                f"change every forward pass); call model.eval() before evaluate"
            )


def probe(model: nn.Module, x: torch.Tensor, subject: str = "the model", hint: str = "") -> int:
    """The class count, from one forward pass on ``x``; the output must be finite N×K
    scores with K >= 2. ``subject`` names the model in the message; ``hint`` ends it."""
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as exc:  # noqa: BLE001 - a user's forward can raise anything
        raise ModelError(
            f"{subject} fails on inputs of shape {tuple(x.shape)} "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
            + (hint or "it must map N×C×H×W inputs in [0, 1] to N×K class scores")
        ) from None
    if not isinstance(out, torch.Tensor):
        raise ModelError(
            f"{subject} returned {type(out).__name__}, not a tensor; return the "
            f"N×K class scores (e.g. out.logits for a model returning an object)"
        )
    if out.ndim != 2 or out.shape[0] != len(x):
        raise ModelError(
            f"{subject} returned shape {tuple(out.shape)} for {len(x)} images; "
            f"it must return N×K class scores ({len(x)}×K)"
        )
    if out.shape[1] < 2:
        raise ModelError(
            f"{subject} scores {out.shape[1]} class; attacks need at least 2 (for a binary "
            f"classifier with one logit z, return [-z, z] or [0, z])"
        )
    if not bool(torch.isfinite(out).all()):
        raise ModelError(
            f"{subject} returned NaN or infinite scores; check its weights and that "
            f"its inputs are scaled as it expects"
        )
    return int(out.shape[1])


def check_gradients(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attacks: list[str],
    subject: str = "the model",
) -> dict[str, bool]:
    """AutoAttack-style preflight flags (:func:`advcompare.models.preflight.preflight`);
    probability outputs and, when a gradient attack is among ``attacks``, a model without
    input gradients are errors."""
    with torch.enable_grad():
        differentiable = bool(model(x[:1].clone().requires_grad_(True)).requires_grad)
    if not differentiable:
        needing = sorted(set(attacks) & set(gradient_attacks()))
        if needing:
            raise ModelError(
                f"the scores of {subject} carry no gradient with respect to its inputs, "
                f"which {', '.join(needing)} need; remove torch.no_grad(), .detach() or "
                f"NumPy from its forward, or run only {', '.join(black_box_attacks())}"
            )
        with torch.no_grad():
            randomized = not torch.equal(model(x), model(x))
        return {"randomized": randomized, "no_input_gradient": True}
    flags = preflight(model, x, y)
    if flags.get("outputs_are_probabilities"):
        raise ModelError(
            f"the outputs of {subject} are probabilities (rows non-negative, summing "
            f"to 1); {_PROBABILITY_HINT}"
        )
    return flags


# -------------------------------------------------------------------------- entries, options


def check_entry(
    entry: AttackEntry, shape: tuple[int, ...], num_classes: int, data: str = "the model"
) -> list[str]:
    """Refuse an attack/backend that cannot serve images of ``shape`` (…, H, W) and
    ``num_classes`` classes (``data`` owns them); else the backend's notes."""
    height, width = shape[-2], shape[-1]
    problem = None
    check_input = attack_record(entry.spec.attack).check_input
    if check_input is not None:
        problem = check_input(entry.spec.params, height, width, num_classes, data)
    if problem:
        raise UnsupportedSpecError(
            f"attack '{entry.label}' on backend '{entry.backend}': {problem}"
        )
    return check_spec(entry.backend, entry.spec, num_classes)


def check_options(batch_size: Any, seed: Any, tolerance: Any) -> None:
    """The API's numeric options, each with its rule in the message."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, (int, float))
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise ConfigError(f"tolerance must be a finite number >= 0, got {tolerance!r}")


# ----------------------------------------------------------------------- a run's experiment


def check_user_model(
    factory: str,
    weights: str,
    input_shape: tuple[int, int, int],
    num_classes: dict[str, int],
    attacks: list[str],
) -> None:
    """A user's model from the config, built, loaded and probed on random inputs of
    ``input_shape`` before any data is loaded: the API's probe and gradient checks, plus
    one class count per dataset. Every problem names the config key."""
    model = build_model(factory)
    load_state(model, read_weights(weights), factory, weights)
    model.eval().requires_grad_(False)  # a probe: only input gradients count
    x = torch.rand((4, *input_shape), generator=torch.Generator().manual_seed(0))
    subject = f"'{factory}'"
    try:
        k = probe(model, x, subject, "set input_shape = [C, H, W] to the input it takes")
        for dataset, classes in num_classes.items():
            if k != classes:
                raise ModelError(
                    f"{subject} scores {k} classes but dataset '{dataset}' has {classes}"
                )
        with torch.no_grad():
            y = model(x).argmax(1)
        check_gradients(model, x, y, attacks, subject)
    except ModelError as exc:
        raise ConfigError(f"config key 'model': {exc}") from None


def check_experiment(cfg: Any) -> dict[str, int]:
    """Everything ``advcompare run`` can check before loading data or training: data roots,
    every attack entry against every dataset's class count and input shape, image folders
    that would share a name, and a user's model. Returns each dataset's class count."""
    num_classes: dict[str, int] = {}
    for name in cfg.datasets:
        preflight_dataset(name, cfg.data_root, cfg.download)
        num_classes[name] = num_classes_of(name)
        for entry in cfg.attacks:
            check_entry(entry, cfg.input_shape, num_classes[name], name)
    shown = [imagefolder_name(n) if is_imagefolder(n) else n for n in cfg.datasets]
    twice = [n for n in shown if shown.count(n) > 1]
    if twice:
        raise ConfigError(
            f"config key 'datasets': two image folders share the name '{twice[0]}' in "
            f"results; rename one"
        )
    check_defense_seeds(getattr(cfg, "defenses", ()), cfg.training_seeds)
    if cfg.model:
        attacks = [e.spec.attack for e in cfg.attacks]
        check_user_model(cfg.model, cfg.weights, cfg.input_shape, num_classes, attacks)
    return num_classes


# Below this clean accuracy on the attacked images a comparison of attacks says little: most
# images are skipped (already wrong). Two classes: 0.75, half-way between chance and perfect.
LOW_ACCURACY = 0.5
LOW_ACCURACY_TWO_CLASSES = 0.75


def low_accuracy_threshold(num_classes: int) -> float:
    """The clean accuracy below which a model is flagged as mostly wrong."""
    return LOW_ACCURACY_TWO_CLASSES if num_classes <= 2 else LOW_ACCURACY


def low_accuracy_warning(accuracy: float | None, num_classes: int) -> str | None:
    """One line naming the usual causes when ``accuracy`` (clean, on the attacked images) is
    below :func:`low_accuracy_threshold`; None for a model that is right often enough."""
    if accuracy is None or math.isnan(accuracy):
        return None
    threshold = low_accuracy_threshold(num_classes)
    if accuracy >= threshold:
        return None
    return (
        f"the model is mostly wrong before any attack (clean accuracy {accuracy:.3f} on the "
        f"attacked images, below {threshold:.2f}), so attacks have little to fool; usual "
        f"causes: normalisation applied outside the model, probabilities instead of "
        f"logits, train-mode BatchNorm statistics, a wrong input_shape or channel order"
    )
