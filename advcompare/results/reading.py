"""A stored run read back as DataFrames: the cells' rows and one row per attacked image."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from advcompare.analysis.metrics import OUTCOMES
from advcompare.errors import AdvCompareError, RunDirError
from advcompare.results.frame import results_frame
from advcompare.storage.record import CellRecord
from advcompare.storage.store import ResultStore


@dataclass(frozen=True)
class Results:
    """A stored run as DataFrames.

    ``cells``: one row per stored cell, the report's columns (``results.csv``).
    ``samples``: one row per cell × attacked image: the cell's identity (``key``, ``dataset``,
    ``defense``, ``threat``, ``label``, ``attack``, ``backend``), the image's ``index`` in
    the attacked subset, ``correct`` (clean prediction right), ``success`` (made wrong),
    the perturbation norms ``l0``, ``l2``, ``linf`` (pixel units; NaN in runs stored before
    per-sample norms were kept), ``outcome`` (skipped, fooled, unchanged or perturbed),
    ``repaired`` and ``over_budget`` (see :func:`advcompare.analysis.metrics.image_outcomes`), the
    label ``y`` and the predictions ``pred_clean``/``pred_adv`` (-1 where not stored).
    ``samples.attrs["missing"]`` lists cells whose per-sample
    file is missing or unreadable.
    """

    cells: pd.DataFrame
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)


class PerImage:
    """One row per cell × image, kept in a DataFrame's ``attrs`` by reference: pandas
    compares and deep-copies ``attrs`` on every operation, so the holder compares by
    identity and is shared, never copied."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def __deepcopy__(self, memo: dict) -> "PerImage":
        return self

    def __repr__(self) -> str:
        return f"PerImage({len(self.frame)} rows)"


IDENTITY = (
    "key",
    "dataset",
    "defense",
    "threat",
    "seed",
    "role",
    "label",
    "attack",
    "backend",
)
SAMPLE_COLUMNS = (
    *IDENTITY,
    "index",
    "correct",
    "success",
    "l0",
    "l2",
    "linf",
    "y",
    "pred_clean",
    "pred_adv",
    "outcome",
    "repaired",
    "over_budget",
)


def load_results(run_dir: str | Path) -> Results:
    """Read the run directory ``run_dir`` (written by ``advcompare run``) without changing it.

    Raises :class:`~advcompare.errors.RunDirError` when it is missing or holds no advcompare
    results store.
    """
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
            samples = {c.key: store.load_samples(c.key) for c in cells}
    except (AdvCompareError, sqlite3.Error) as exc:
        raise RunDirError(f"'{db}' is not a readable advcompare results store ({exc})") from None
    frame = results_frame(cells) if cells else pd.DataFrame()
    return Results(cells=frame, samples=samples_frame(cells, samples))


def samples_frame(
    cells: list[CellRecord], samples: dict[str, dict[str, torch.Tensor] | None]
) -> pd.DataFrame:
    """One row per cell × attacked image, from each cell's per-sample tensors."""
    parts, missing = [], []
    for cell in cells:
        tensors = samples.get(cell.key)
        if tensors is None or "success" not in tensors:
            missing.append(cell.key)
            continue
        success = tensors["success"].bool()
        n = len(success)
        part: dict[str, Any] = {name: [getattr(cell, name)] * n for name in IDENTITY}
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
        for name in ("y", "pred_clean", "pred_adv"):  # labels and predictions (-1: not stored)
            part[name] = tensors[name].long().numpy() if name in tensors else np.full(n, -1)
        codes = tensors["outcome"].numpy() if "outcome" in tensors else None
        part["outcome"] = [OUTCOMES[int(c)] for c in codes] if codes is not None else [None] * n
        for flag in ("repaired", "over_budget"):
            part[flag] = tensors[flag].bool().numpy() if flag in tensors else np.zeros(n, bool)
        parts.append(pd.DataFrame(part))
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: [] for c in SAMPLE_COLUMNS})
    )
    frame.attrs["missing"] = missing
    return frame
