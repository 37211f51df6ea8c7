"""The Python API: attack *your* torch classifier with every library, graded by the one grader.

:func:`evaluate` runs attacks × backends on any ``torch.nn.Module`` that maps ``N×C×H×W``
inputs in [0, 1] to class scores (logits or log-probabilities) and returns the report's rows
as a DataFrame; :func:`load_results` reads a stored run (``advcompare run --out DIR``) back as
DataFrames. Nothing here attacks or grades by itself: every cell goes through
:mod:`advcompare.grid.crafting` (the adapters, then :mod:`advcompare.analysis.metrics`) and every
row through :func:`advcompare.results.results_frame`, so API figures are the CLI report's figures.

Everything that can be checked is checked before the first attack runs
(:mod:`advcompare.config.checks`, the same checks and wording as ``advcompare run``), each problem
one :class:`~advcompare.errors.AdvCompareError` whose one-line message names the fix. The
caller's model comes back as it went in: modes, ``requires_grad``, ``.grad``, hooks and
weights (a model on another device than ``device`` is copied there; the original is not
moved).

Normalisation belongs inside the model (inputs and every eps stay in pixel units): see
:func:`advcompare.models.normalization.with_normalization`.
"""

from __future__ import annotations

import copy
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd
import torch
from torch import nn

from advcompare.adapters.base import model_guard, parameters_frozen
from advcompare.adapters.entry import AttackEntry, AttackLike, attack_entries
from advcompare.analysis.agreement import pairs_frame, samples_groups
from advcompare.analysis.comparison import with_answers
from advcompare.analysis.statistics import DEFAULT_ALPHA, StatisticsConfig, with_intervals
from advcompare.attacks.spec import ATTACKS
from advcompare.config.checks import (
    PROBE_SAMPLES,
    check_entry,
    check_eval_mode,
    check_gradients,
    check_inputs,
    check_labels,
    check_options,
    low_accuracy_warning,
    probe,
    resolve_device,
)
from advcompare.data.datasets import Split, validate_dataset_name
from advcompare.errors import ConfigError, ModelError
from advcompare.grid.crafting import craft_and_grade
from advcompare.hashing import digest
from advcompare.models.preflight import raised
from advcompare.paper.claims import claims_frame
from advcompare.results import CellRecord, Results, load_results, results_frame
from advcompare.results.reading import PerImage, samples_frame

__all__ = ["Results", "default_attacks", "evaluate", "load_results"]


def default_attacks() -> list[str]:
    """What :func:`evaluate` runs when no attacks are named: the paper's attacks that need
    gradients (I-FGSM, DeepFool, CW)."""
    return [n for n, r in ATTACKS.items() if r.paper and r.gradient]


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


def _fingerprint(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> str:
    """Digest of the weights and the data: part of each row's key."""
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    h.update(x.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    h.update(y.numpy().tobytes())
    return h.hexdigest()[:16]


def _record(
    entry: AttackEntry,
    metrics: dict[str, Any],
    notes: list[str],
    dataset: str | None,
    fingerprint: str,
    seed: int,
    batch_size: int,
) -> CellRecord:
    """The cell record of one API row (as ``advcompare run`` stores them)."""
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
    return CellRecord(
        key=key,
        dataset=dataset,
        label=entry.label,
        attack=entry.spec.attack,
        backend=entry.backend,
        spec=spec,
        notes=list(notes),
        metrics=metrics,
        model_key=f"api-{fingerprint}",
        executor="api",
    )


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attacks: AttackLike | Iterable[AttackLike] | None = None,
    backends: str | Sequence[str] = "all",
    device: str | torch.device = "auto",
    batch_size: int = 128,
    seed: int = 0,
    tolerance: float = 0.10,
    dataset: str | None = None,
    statistics: StatisticsConfig = StatisticsConfig(),
) -> pd.DataFrame:
    """Attack ``model`` (eval mode, inputs in [0, 1] to logits or log-probabilities; it comes
    back unchanged) on ``(x, y)`` with every attack × backend: one report row per pair, with
    the report's columns and ``preflight``; ``attrs`` hold the flags, class count, device and
    per-image rows (:func:`per_image`). Everything is checked before any attack runs, each
    problem an :class:`~advcompare.errors.AdvCompareError` subclass. Arguments, returns and
    errors: docs/api.md, "evaluate"."""
    check_options(batch_size, seed, tolerance)
    if dataset is not None:
        if not isinstance(dataset, str):
            raise ConfigError(f"dataset must be a dataset name or None, got {dataset!r}")
        validate_dataset_name(dataset)
    entries = attack_entries(default_attacks() if attacks is None else attacks, backends)
    target = resolve_device(device)
    check_eval_mode(model)
    x = check_inputs(x)
    y = check_labels(y, len(x))
    work = _on_device(model, target)
    x = x.to(_model_dtype(work))
    with model_guard(work), parameters_frozen(work):
        xb = x[:PROBE_SAMPLES].to(target)
        num_classes = probe(work, xb)
        y = check_labels(y, len(x), num_classes)
        for entry in entries:
            check_entry(entry, tuple(x.shape), num_classes)
        attacked = [e.spec.attack for e in entries]
        flags = check_gradients(work, xb, y[:PROBE_SAMPLES].to(target), attacked)
        run = _Run(work, target, num_classes, batch_size, seed, dataset, statistics)
        cells, samples = _attack_all(run, entries, x, y)
    frame = results_frame(cells, tolerance)
    _warn_if_mostly_wrong(frame, num_classes)
    frame.attrs["samples"] = PerImage(samples_frame(cells, samples))
    frame["preflight"] = ", ".join(raised(flags))
    frame.attrs.update(preflight=dict(flags), num_classes=num_classes, device=str(target))
    return frame


@dataclass(frozen=True)
class _Run:
    """What every cell of one :func:`evaluate` call shares."""

    model: nn.Module
    device: torch.device
    num_classes: int
    batch_size: int
    seed: int
    dataset: str | None
    statistics: StatisticsConfig


def _attack_all(
    run: _Run, entries: list[AttackEntry], x: torch.Tensor, y: torch.Tensor
) -> tuple[list[CellRecord], dict[str, dict[str, torch.Tensor] | None]]:
    """Craft and grade every entry in turn, each cell seeded as ``advcompare run`` seeds it:
    its record with bootstrap intervals, and its per-image tensors (adversarial images left
    out)."""
    fingerprint = _fingerprint(run.model, x, y)
    data, cells = Split(x, y), []
    samples: dict[str, dict[str, torch.Tensor] | None] = {}
    for entry in entries:
        metrics, notes, tensors = craft_and_grade(
            run.model,
            entry,
            data,
            run.batch_size,
            run.device,
            run.num_classes,
            run.seed,
            desc=f"{entry.label}/{entry.backend}",
        )
        metrics = with_intervals(metrics, tensors, run.statistics, run.seed)
        record = _record(entry, metrics, notes, run.dataset, fingerprint, run.seed, run.batch_size)
        cells.append(record)
        samples[record.key] = {k: v for k, v in tensors.items() if k != "x_adv"}
    return cells, samples


def _warn_if_mostly_wrong(frame: pd.DataFrame, num_classes: int, note: bool = True) -> None:
    """What the CLI says of a model that is mostly wrong before any attack: a Python
    warning, and (``note``) the same line in every row's notes."""
    if not len(frame) or "clean_accuracy" not in frame:
        return
    warning = low_accuracy_warning(float(frame["clean_accuracy"].min()), num_classes)
    if warning:
        warnings.warn(warning, stacklevel=3)
        if note:
            frame["notes"] = [f"{n}; {warning}" if n else warning for n in frame["notes"]]


def compare_backends(
    results: pd.DataFrame | Results | str | Path, alpha: float = DEFAULT_ALPHA
) -> pd.DataFrame:
    """Does the library matter? Paired tests between every two backends that ran the same
    attack on the same classifier and images (:mod:`advcompare.analysis.agreement`).

    Args:
        results: what :func:`evaluate` returned, a :class:`~advcompare.results.Results`
            from :func:`load_results`, or a run directory.
        alpha: family-wise error rate of the Holm-corrected tests.

    Returns:
        One row per pair: identity, agreement shares, ``p_fooled`` (McNemar's exact test on
        per-image fooled / not fooled), ``p_l2`` (Wilcoxon signed-rank on per-image L2 where
        both fooled), their Holm-corrected ``p_fooled_holm``/``p_l2_holm`` and ``differ``;
        the success difference with Tango's interval, the median L2 ratio with its
        interval, and each pair's ``answer`` ("agree", "differ", "inconclusive"; cost is
        not measured here) with its sentence ``answer_text`` (docs/statistics.md).
    """
    if isinstance(results, pd.DataFrame):
        _warn_if_mostly_wrong(results, int(results.attrs.get("num_classes", 10)), note=False)
    return with_answers(pairs_frame(samples_groups(per_image(results)), alpha), alpha)


def check_claims(
    results: Results | str | Path,
    statistics: StatisticsConfig = StatisticsConfig(),
    seed: int = 0,
    budgets: tuple[float, ...] = (1.0, 2.0),
) -> pd.DataFrame:
    """The paper's defense claims (§3.5-3.6) judged on a stored defense grid, per dataset
    and threat model, as the report's first table (:mod:`advcompare.paper.claims`).

    Args:
        results: a :class:`~advcompare.results.Results` from :func:`load_results`, or a run
            directory of ``advcompare run`` with defenses (``configs/defenses.toml``).
        statistics: bootstrap resamples and level of the paired intervals.
        seed: seeds the resamples (the run's ``seed`` gives the report's figures).
        budgets: the L2 budgets at which claims about DeepFool and CW are also judged.

    Returns:
        One row per claim × dataset × threat model (× ``budget`` for DeepFool/CW):
        ``id``, ``section``, ``claim``, ``quote``, ``dataset``, ``threat``, ``budget``,
        ``verdict`` (supported, contradicted, inconclusive, by construction, not run),
        ``deciding`` (the figure that decided it, in words, with its interval),
        ``images_needed``, ``missing`` (the cells or datasets a claim that did not run lacks)
        and ``sensitivity`` (the verdict at 0.5× and 1.5× each vague word's threshold).
    """
    if isinstance(results, (str, Path)):
        results = load_results(results)
    samples = per_image(results)
    by_key = {
        str(key): {k: part[k].to_numpy() for k in ("y", "pred_adv", "pred_clean", "l2")}
        for key, part in samples.sort_values("index").groupby("key", sort=False)
        if (part["y"] >= 0).all()
    }
    return claims_frame(
        results.cells,
        by_key.get,
        statistics.resamples,
        statistics.confidence,
        seed,
        budgets=budgets,
    )


def per_image(results: pd.DataFrame | Results | str | Path) -> pd.DataFrame:
    """One row per cell × attacked image (outcome, norms, flags; see
    :attr:`advcompare.results.Results.samples`) of what :func:`evaluate` returned, of a
    :class:`~advcompare.results.Results` or of a run directory."""
    if isinstance(results, (str, Path)):
        results = load_results(results)
    if isinstance(results, Results):
        return results.samples
    held = results.attrs.get("samples") if isinstance(results, pd.DataFrame) else None
    if isinstance(held, PerImage):
        return held.frame
    raise ConfigError(
        "expected what evaluate() returned, load_results(run_dir) or a run directory; got "
        f"{type(results).__name__}"
    )
