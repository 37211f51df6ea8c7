"""What the report says about a model before any attack: its clean figures on the attacked
images, its loss curves, and, for a defended classifier, AutoAttack-style preflight flags.
Pure functions from models and data to records; the driver stores them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from advcompare.analysis.metrics import grade_clean, timed_predict
from advcompare.data.datasets import Dataset, Split
from advcompare.defenses.defended import Defended
from advcompare.models.preflight import preflight, raised
from advcompare.models.train import write_history
from advcompare.models.user_model import weights_digest
from advcompare.models.weights import Weights
from advcompare.provenance import state_digest

PREFLIGHT_SAMPLES = 64


def dataset_record(
    model: nn.Module,
    weights: Weights,
    dataset: Dataset,
    attacked: Split,
    device: torch.device,
    weights_path: str = "",
) -> dict[str, Any]:
    """What a dataset's rows were computed on: its splits, the model (a user's model named
    by factory and weights file) and its clean metrics on the attacked images."""
    pred, seconds = timed_predict(model, attacked.x, device)
    summary = dataset.summary()
    summary["weights_sha256"] = state_digest(weights.state)
    if weights.factory:
        summary |= {
            "model": weights.factory,
            "weights": weights_path,
            "weights_sha256": weights_digest(Path(weights_path).expanduser()),
        }
    return {
        "summary": summary,
        "model_key": weights.key,
        "clean": grade_clean(attacked.y, pred, seconds),
        "history": weights.history,
    }


def write_loss_curves(weights: Weights, run_dir: Path, dataset: str) -> None:
    """``training/<dataset>_loss.{csv,png,pdf}`` when the model was trained here (a user's
    model comes without a history)."""
    if not weights.history:
        return
    training_dir = run_dir / "training"
    training_dir.mkdir(exist_ok=True)
    write_history(
        weights.history, training_dir / f"{dataset}_loss", title=f"{dataset}: training loss"
    )


def defense_record(defended: Defended, attacked: Split, device: torch.device) -> dict[str, Any]:
    """A defended classifier's key, parameters, clean metrics, preflight flags and history."""
    pred, seconds = timed_predict(defended.classifier, attacked.x, device)
    flags = preflight(
        defended.classifier,
        attacked.x[:PREFLIGHT_SAMPLES].to(device),
        attacked.y[:PREFLIGHT_SAMPLES].to(device),
    )
    return {
        "key": defended.key,
        "params": defended.params,
        "clean": grade_clean(attacked.y, pred, seconds),
        "preflight": raised(flags),
        "history": defended.history,
    }
