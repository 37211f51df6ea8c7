"""The Python API: attack *your* torch classifier with every library, graded by the one grader.

:func:`evaluate` runs attacks × backends on any ``torch.nn.Module`` that maps ``N×C×H×W``
inputs in [0, 1] to class scores (logits or log-probabilities) and returns the report's rows
as a DataFrame; :func:`load_results` reads a stored run (``advcompare run --out DIR``) back as
DataFrames. Nothing here attacks or grades by itself: every cell goes through
:func:`advcompare.runner.run_cell` (the adapters, then :mod:`advcompare.metrics`) and every row
through :func:`advcompare.report.results_frame`, so API figures are the CLI report's figures.

Everything that can be checked is checked before the first attack runs, each problem one
:class:`~advcompare.errors.AdvCompareError` whose one-line message names the fix. The caller's
model comes back as it went in: modes, ``requires_grad``, ``.grad``, hooks and weights (a model
on another device than ``device`` is copied there; the original is not moved).

Normalisation belongs inside the model (inputs and every eps stay in pixel units): see
:func:`advcompare.normalization.with_normalization`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence, Union

import numpy as np
import pandas as pd
import torch
from torch import nn

from advcompare.adapters import get_backend, model_guard
from advcompare.errors import (
    AdvCompareError,
    ConfigError,
    InputError,
    ModelError,
    RunDirError,
    UnsupportedSpecError,
)
from advcompare.spec import GRADIENT_ATTACKS, AttackSpec

AttackLike = Union[AttackSpec, str, Mapping[str, Any]]

#: Attacks :func:`evaluate` runs when none are named: the paper's three gradient attacks.
DEFAULT_ATTACKS: tuple[str, ...] = ("ifgsm", "deepfool", "cw")
#: Black-box attacks that move individual pixels: they need an image of at least 2 pixels.
PIXEL_ATTACKS = ("pixel_swap", "one_pixel", "pixle")
#: Images the model is probed with before attacking (output shape, preflight flags).
PROBE_SAMPLES = 32
_PROBABILITY_HINT = (
    "return logits (drop the final softmax) or log-probabilities "
    "(torch.log_softmax); attacks on probabilities get flat gradients"
)


# --------------------------------------------------------------------------------------------
# attack specs and backends


def _spec_of(item: AttackLike) -> tuple[str, AttackSpec]:
    """(label, complete validated spec) of one ``attacks`` item; defaults come only from
    :meth:`AttackSpec.create`."""
    if isinstance(item, AttackSpec):
        return item.attack, AttackSpec.create(item.attack, **dict(item.params))
    if isinstance(item, str):
        return item, AttackSpec.create(item)
    if isinstance(item, Mapping):
        params = dict(item)
        attack = params.pop("attack", None)
        if not isinstance(attack, str):
            raise ConfigError(
                f'attack {dict(item)!r} names no attack; give it an "attack" '
                f'key, e.g. {{"attack": "cw", "steps": 100}}'
            )
        label = params.pop("label", attack)
        if not isinstance(label, str) or not label:
            raise ConfigError(f'attack {dict(item)!r}: "label" must be a non-empty string')
        return label, AttackSpec.create(attack, **params)
    raise ConfigError(
        f"cannot read {item!r} as an attack; give an attack name, an AttackSpec "
        f'or a dict such as {{"attack": "cw", "steps": 100}}'
    )


def attack_entries(
    attacks: AttackLike | Iterable[AttackLike], backends: str | Sequence[str] = "all"
) -> list:
    """The (label, spec, backend) rows :func:`evaluate` would run, validated: unknown attack,
    parameter or backend names, a backend that does not provide an attack and a label used
    twice are each an error here."""
    from advcompare.adapters.support import require_capability
    from advcompare.config import expand_backends

    if isinstance(attacks, (AttackSpec, str, Mapping)):
        attacks = [attacks]
    attacks = list(attacks)
    if not attacks:
        raise ConfigError('attacks is empty; name at least one, e.g. attacks=["ifgsm"]')
    if not isinstance(backends, str):
        backends = list(backends)
        if not backends or not all(isinstance(b, str) for b in backends):
            raise ConfigError(
                f'backends must be a backend name, a list of names or "all"; got {backends!r}'
            )
        twice = sorted({b for b in backends if backends.count(b) > 1})
        if twice:
            raise ConfigError(f"backends lists '{twice[0]}' twice; name each backend once")
    entries: list[Any] = []
    seen: set[Any] = set()
    for item in attacks:
        label, spec = _spec_of(item)
        if label in seen:
            raise ConfigError(
                f"two attacks are labelled '{label}'; give each a distinct "
                f'"label", e.g. {{"attack": "{spec.attack}", '
                f'"label": "{label}-2", ...}}'
            )
        seen.add(label)
        rows = expand_backends(label, spec, backends)
        if not rows:
            raise UnsupportedSpecError(f"no backend provides attack '{spec.attack}'")
        for entry in rows:  # the class count is checked once the model is probed
            require_capability(get_backend(entry.backend), entry.spec)
        entries.extend(rows)
    return entries


def _check_entry(entry, shape: torch.Size, num_classes: int) -> None:
    """Refuse an attack/backend that cannot serve inputs of ``shape`` and ``num_classes``."""
    from advcompare.adapters.support import require_fits

    spec, (_, _, height, width) = entry.spec, shape
    where = f"attack '{entry.label}' on backend '{entry.backend}'"
    require_fits(spec, num_classes, "the model")
    get_backend(entry.backend).check(spec, num_classes)
    if spec.attack in PIXEL_ATTACKS and height * width < 2:
        raise UnsupportedSpecError(
            f"{where}: pixel attacks need images of at least 2 pixels, got {height}×{width}; "
            f"use a gradient attack ({', '.join(GRADIENT_ATTACKS)})"
        )
    if spec.attack == "pixle" and min(height, width) < 2:
        raise UnsupportedSpecError(
            f"{where}: Pixle samples patches of at least 2×2 pixels, got {height}×{width} "
            f"images; use pixel_swap or one_pixel"
        )
    if spec.attack == "one_pixel" and spec["pixels"] > height * width:
        raise UnsupportedSpecError(
            f"{where}: one_pixel pixels={spec['pixels']} exceeds the {height * width} pixels "
            f"of a {height}×{width} image; set pixels to at most {height * width}"
        )


# --------------------------------------------------------------------------------------------
# inputs, labels, device, model


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        name = str(device)
    elif isinstance(device, str):
        name = device
    else:
        raise ConfigError(f'device must be "auto", "cpu", "cuda" or a torch.device; got {device!r}')
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f'unknown device {name!r}; use "auto", "cpu" or "cuda"') from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f'device={name!r} but torch sees no CUDA device; pass device="cpu" or device="auto"'
        )
    return resolved


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
            f"(advcompare.normalization.with_normalization) so eps stays in pixel units"
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


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise ModelError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, module in model.named_modules():
        if module.training:
            where = "the model" if not name else f"submodule '{name}' of the model"
            raise ModelError(
                f"{where} is in training mode (dropout and batch norm would "
                f"change every forward pass); call model.eval() before evaluate"
            )


def _model_device(model: nn.Module) -> torch.device | None:
    for tensor in [*model.parameters(), *model.buffers()]:
        return tensor.device
    return None


def _model_dtype(model: nn.Module) -> torch.dtype:
    for tensor in [*model.parameters(), *model.buffers()]:
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _on_device(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` itself when it already lives on ``device``, else a copy moved there."""
    current = _model_device(model)
    if (
        current is None
        or current == device
        or (current.type == device.type == "cuda" and device.index is None)
    ):
        return model
    try:
        return copy.deepcopy(model).to(device)
    except Exception as exc:  # noqa: BLE001 - any failure means the same fix
        raise ModelError(
            f"could not copy the model from {current} to {device} ({exc}); "
            f'move it there yourself or pass device="{current.type}"'
        ) from None


@contextlib.contextmanager
def _parameters_frozen(model: nn.Module) -> Iterator[None]:
    """No parameter gradients during attacks (they only need input gradients): restores
    every parameter's ``requires_grad`` and ``.grad`` afterwards (ART zeroes ``.grad``)."""
    state = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    for param, _, _ in state:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param, flag, grad in state:
            param.requires_grad_(flag)
            param.grad = grad


def _probe(model: nn.Module, x: torch.Tensor, device: torch.device) -> int:
    """The class count, from one forward pass on a few images; the output must be N×K."""
    xb = x[:PROBE_SAMPLES].to(device)
    try:
        with torch.no_grad():
            out = model(xb)
    except Exception as exc:  # noqa: BLE001 - a user's forward can raise anything
        raise ModelError(
            f"the model failed on inputs of shape {tuple(xb.shape)} "
            f"({type(exc).__name__}: {exc}); evaluate needs a classifier mapping "
            f"N×C×H×W inputs in [0, 1] to N×K class scores"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise ModelError(
            f"the model returned {type(out).__name__}, not a tensor; return the "
            f"N×K class scores (e.g. out.logits for a model returning an object)"
        )
    if out.ndim != 2 or out.shape[0] != len(xb):
        raise ModelError(
            f"the model returned shape {tuple(out.shape)} for {len(xb)} images; "
            f"it must return N×K class scores ({len(xb)}×K)"
        )
    if out.shape[1] < 2:
        raise ModelError(
            f"the model scores {out.shape[1]} class; attacks need at least 2 "
            f"(for a binary classifier with one logit z, return [-z, z] or "
            f"[0, z])"
        )
    if not bool(torch.isfinite(out).all()):
        raise ModelError(
            "the model returned NaN or infinite scores on x; check its weights "
            "and that x is scaled as it expects"
        )
    return int(out.shape[1])


def _differentiable(model: nn.Module, x: torch.Tensor, device: torch.device) -> bool:
    xg = x[:1].to(device).clone().requires_grad_(True)
    with torch.enable_grad():
        return bool(model(xg).requires_grad)


def _preflight(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, entries: list
) -> dict[str, bool]:
    """AutoAttack-style flags (:func:`advcompare.defenses.preflight.preflight`); probability
    outputs and, for gradient attacks, a model without input gradients are errors."""
    from advcompare.defenses.preflight import preflight

    xb, yb = x[:PROBE_SAMPLES].to(device), y[:PROBE_SAMPLES].to(device)
    if not _differentiable(model, xb, device):
        gradient = sorted({e.spec.attack for e in entries} & set(GRADIENT_ATTACKS))
        if gradient:
            raise ModelError(
                f"the model's scores carry no gradient with respect to its inputs, which "
                f"{', '.join(gradient)} need; remove torch.no_grad(), .detach() or NumPy "
                f"from its forward, or run only {', '.join(PIXEL_ATTACKS)}"
            )
        with torch.no_grad():
            randomized = not torch.equal(model(xb), model(xb))
        return {"randomized": randomized, "no_input_gradient": True}
    flags = preflight(model, xb, yb)
    if flags.get("outputs_are_probabilities"):
        raise ModelError(
            f"the model's outputs are probabilities (rows non-negative, summing "
            f"to 1); {_PROBABILITY_HINT}"
        )
    return flags


def _check_options(batch_size: Any, seed: Any, tolerance: Any, dataset: Any) -> None:
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
    if dataset is not None:
        from advcompare.data import validate_dataset_name

        if not isinstance(dataset, str):
            raise ConfigError(f"dataset must be a dataset name or None, got {dataset!r}")
        validate_dataset_name(dataset)


def _fingerprint(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> str:
    """Digest of the weights and the data: part of each row's key."""
    import hashlib

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    h.update(x.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    h.update(y.numpy().tobytes())
    return h.hexdigest()[:16]


def _results_frame(cells: list[dict[str, Any]], tolerance: float) -> pd.DataFrame:
    """The report's rows, verdicts at ``tolerance`` (:func:`advcompare.report.results_frame`)."""
    from advcompare.report import results_frame

    return results_frame(cells, tolerance=tolerance)


# --------------------------------------------------------------------------------------------
# the API


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attacks: AttackLike | Iterable[AttackLike] = DEFAULT_ATTACKS,
    backends: str | Sequence[str] = "all",
    device: str | torch.device = "auto",
    batch_size: int = 128,
    seed: int = 0,
    tolerance: float = 0.10,
    dataset: str | None = None,
) -> pd.DataFrame:
    """Attack ``model`` on ``(x, y)`` with every attack × backend; one report row per pair.

    Args:
        model: a classifier in eval mode mapping ``N×C×H×W`` inputs in [0, 1] to ``N×K``
            logits or log-probabilities (not probabilities). Normalisation belongs inside it
            (:func:`advcompare.normalization.with_normalization`). It comes back unchanged.
        x: images, float ``N×C×H×W`` in [0, 1]; any size and channel count.
        y: class indices, integer shape ``(N,)``, each below ``K``.
        attacks: canonical specs: attack names (``"cw"``: the default run's parameters),
            :class:`~advcompare.spec.AttackSpec` objects, or dicts of canonical parameters
            such as ``{"attack": "cw", "steps": 100, "label": "cw-100"}``; missing
            parameters take :meth:`AttackSpec.create`'s defaults.
        backends: a backend name, a list of names, or ``"all"``: every backend that
            provides each attack (:func:`advcompare.adapters.backends_supporting`).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or a
            ``torch.device``; a model living elsewhere is copied there, not moved.
        batch_size: images per attack call.
        seed: seeds torch and NumPy before each cell, as ``advcompare run`` does.
        tolerance: how far adversarial F1 may be from the paper's to count as reproducing
            it (the verdict; used only with ``dataset``).
        dataset: the paper dataset these images stand for (``"mnist"``, ``"cifar10"``,
            ``"gtsrb"``, ...), so rows carry the paper's figures; None: no paper figure.

    Returns:
        One row per attack × backend with the report's columns (identity, spec, notes, every
        metric of :mod:`advcompare.metrics`, the paper's figures and verdict) plus
        ``preflight``: the flags raised for the model (``df.attrs["preflight"]`` holds them
        all, ``df.attrs["num_classes"]`` and ``df.attrs["device"]`` what was used).

    Raises:
        advcompare.errors.AdvCompareError: one subclass per problem, before any attack runs:
        ``ConfigError``/``UnknownNameError`` (attacks, backends, options),
        ``InputError`` (x, y), ``ModelError`` (training mode, probabilities, output shape,
        no input gradient), ``UnsupportedSpecError`` (an attack/backend that cannot serve
        these inputs or this class count).
    """
    from advcompare import runner
    from advcompare.data import Split
    from advcompare.defenses.preflight import raised

    _check_options(batch_size, seed, tolerance, dataset)
    entries = attack_entries(attacks, backends)
    target = _resolve_device(device)
    _check_model(model)
    x = check_inputs(x)
    y = check_labels(y, len(x))
    work = _on_device(model, target)
    x = x.to(_model_dtype(work))
    with model_guard(work), _parameters_frozen(work):
        num_classes = _probe(work, x, target)
        y = check_labels(y, len(x), num_classes)
        for entry in entries:
            _check_entry(entry, x.shape, num_classes)
        flags = _preflight(work, x, y, target, entries)
        fingerprint = _fingerprint(work, x, y)
        data, cells = Split(x, y), []
        for entry in entries:
            metrics, notes, _ = runner.run_cell(
                work,
                entry,
                data,
                batch_size,
                target,
                num_classes,
                seed,
                desc=f"{entry.label}/{entry.backend}",
            )
            cells.append(_cell(entry, metrics, notes, dataset, fingerprint, seed, batch_size))
    frame = _results_frame(cells, tolerance)
    frame["preflight"] = ", ".join(raised(flags))
    frame.attrs.update(preflight=dict(flags), num_classes=num_classes, device=str(target))
    return frame


def _cell(
    entry,
    metrics: dict,
    notes: list[str],
    dataset: str | None,
    fingerprint: str,
    seed: int,
    batch_size: int,
) -> dict[str, Any]:
    """A cell record shaped as :meth:`advcompare.store.ResultStore.cells` returns them."""
    from advcompare.hashing import digest

    spec = entry.spec.as_dict()
    key = digest(
        {
            "api": fingerprint,
            "label": entry.label,
            "spec": spec,
            "backend": entry.backend,
            "seed": seed,
            "batch_size": batch_size,
        },
        24,
    )
    return {
        "key": key,
        "dataset": dataset,
        "label": entry.label,
        "attack": entry.spec.attack,
        "backend": entry.backend,
        "spec": spec,
        "notes": list(notes),
        "metrics": metrics,
        "model_key": f"api-{fingerprint}",
        "defense": "none",
        "threat": "adaptive",
        "role": "main",
        "executor": "api",
        "concurrency": 1,
        "node": "",
        "verdict": None,
    }


@dataclass(frozen=True)
class Results:
    """A stored run as DataFrames.

    ``cells``: one row per stored cell, the report's columns (``results.csv``).
    ``samples``: one row per cell × attacked image: the cell's identity (``key``, ``dataset``,
    ``defense``, ``threat``, ``label``, ``attack``, ``backend``), the image's ``index`` in
    the attacked subset, ``correct`` (clean prediction right), ``success`` (made wrong) and
    the perturbation norms ``l0``, ``l2``, ``linf`` (pixel units; NaN in runs stored before
    per-sample norms were kept). ``samples.attrs["missing"]`` lists cells whose per-sample
    file is missing or unreadable.
    """

    cells: pd.DataFrame
    samples: pd.DataFrame


SAMPLE_COLUMNS = (
    "key",
    "dataset",
    "defense",
    "threat",
    "label",
    "attack",
    "backend",
    "index",
    "correct",
    "success",
    "l0",
    "l2",
    "linf",
)


def load_results(run_dir: str | Path) -> Results:
    """Read the run directory ``run_dir`` (written by ``advcompare run``) without changing it.

    Raises :class:`~advcompare.errors.RunDirError` when it is missing or holds no advcompare
    results store.
    """
    from advcompare.report import results_frame
    from advcompare.store import ResultStore

    run_dir = Path(run_dir)
    db = run_dir / ResultStore.FILENAME
    if not run_dir.is_dir():
        raise RunDirError(
            f"run directory '{run_dir}' does not exist; pass the --out "
            f"directory of an 'advcompare run'"
        )
    if not db.is_file():
        raise RunDirError(
            f"'{run_dir}' holds no {ResultStore.FILENAME}; pass the --out "
            f"directory of an 'advcompare run'"
        )
    try:
        with ResultStore(run_dir, readonly=True) as store:
            cells = store.cells()
            samples = {c["key"]: store.load_samples(c["key"]) for c in cells}
    except (AdvCompareError, sqlite3.Error) as exc:
        raise RunDirError(f"'{db}' is not a readable advcompare results store ({exc})") from None
    frame = results_frame(cells) if cells else pd.DataFrame()
    return Results(cells=frame, samples=_samples_frame(cells, samples))


def _samples_frame(
    cells: list[dict[str, Any]], samples: dict[str, dict[str, torch.Tensor] | None]
) -> pd.DataFrame:
    parts, missing = [], []
    for cell in cells:
        tensors = samples.get(cell["key"])
        if tensors is None or "success" not in tensors:
            missing.append(cell["key"])
            continue
        success = tensors["success"].bool()
        n = len(success)
        part: dict[str, Any] = {
            name: [cell.get(name)] * n
            for name in ("key", "dataset", "defense", "threat", "label", "attack", "backend")
        }
        part |= {
            "index": np.arange(n),
            "correct": tensors["correct"].bool().numpy(),
            "success": success.numpy(),
        }
        for norm in ("l0", "l2", "linf"):
            part[norm] = (
                tensors[norm].float().numpy()
                if norm in tensors
                else np.full(n, np.nan, dtype=np.float32)
            )
        parts.append(pd.DataFrame(part))
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: [] for c in SAMPLE_COLUMNS})
    )
    frame.attrs["missing"] = missing
    return frame


__all__ = [
    "DEFAULT_ATTACKS",
    "Results",
    "attack_entries",
    "check_inputs",
    "check_labels",
    "evaluate",
    "load_results",
]
