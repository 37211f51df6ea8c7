"""Training the paper's CNN, with a disk cache keyed by everything that determines the weights.

Paper §3.3: Adam, 20 epochs, keep the weights with the lowest validation loss. Weights are
stored as safetensors (no pickled code is ever executed on load) beside a JSON record of the
loss history; the history is also written as CSV and PNG.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from advcompare import progress
from advcompare.data.datasets import Dataset
from advcompare.hashing import digest
from advcompare.models.cnn import ARCHITECTURE_VERSION, PaperCNN, channel_stats
from advcompare.models.weights import Weights, WeightsCache
from advcompare.plotting import plot_history

# Part of the weights cache key: bump it whenever a change to the training code (optimiser,
# loss, schedule, best-epoch rule) can change the weights, so stale weights are never reused.
TRAINING_CODE_VERSION = "fit-v1"


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (paper §3.3 defaults)."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0


@dataclass
class TrainedModel:
    """A trained CNN, where it is cached and its per-epoch loss history."""

    model: nn.Module
    key: str
    path: Path
    history: list[dict[str, float]]
    from_cache: bool


def cache_key(dataset: Dataset, config: TrainConfig) -> str:
    """Digest of everything that determines the weights: data, splits, seed, hyperparameters,
    architecture, the training code's version and the torch version that trained them."""
    payload = {
        "data": dataset.summary(),
        "train": asdict(config),
        "architecture": ARCHITECTURE_VERSION,
        "training_code": TRAINING_CODE_VERSION,
        "torch": torch.__version__.split("+")[0],
    }
    return f"{dataset.name}-{digest(payload, 16)}"


def tempered_loss(
    out: torch.Tensor, target: torch.Tensor, temperature: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy of ``log_softmax(out / T)`` against labels (N,) or soft labels (N, C).

    The CNN ends in log-softmax, and log_softmax(log_softmax(z) / T) = log_softmax(z / T),
    so a temperature can be applied to its outputs directly (defensive distillation, §2.3.4).
    """
    # at T = 1 the outputs already are log-probabilities: use them as they are (bit for bit
    # the plain NLL training of the paper, §3.3)
    log_p = out if temperature == 1 else F.log_softmax(out / temperature, dim=1)
    if target.ndim == 1:
        return F.nll_loss(log_p, target, reduction=reduction)
    per_sample = -(target * log_p).sum(1)
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def _epoch_loss(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    device: torch.device,
    temperature: float = 1.0,
) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(x[i : i + batch_size].to(device))
            total += float(
                tempered_loss(out, y[i : i + batch_size].to(device), temperature, reduction="sum")
            )
    return total / max(len(x), 1)


def fit(
    model: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    device: torch.device,
    desc: str = "train",
    temperature: float = 1.0,
    targets: tuple[torch.Tensor, torch.Tensor] | None = None,
    perturb=None,
    keep_best: bool = True,
) -> list[dict[str, float]]:
    """Adam on (tempered) cross-entropy; returns the history and leaves ``model`` at its best
    validation loss (paper §3.3).

    ``targets`` replaces the train and validation labels (soft labels for distillation);
    ``perturb(model, xb, yb)``, when given, replaces each training batch's inputs
    (adversarial training, §2.3.1); ``keep_best=False`` keeps the last epoch's weights.
    """
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    x = dataset.train.x
    y, val_y = targets if targets is not None else (dataset.train.y, dataset.val.y)
    best_loss, best_state, history = float("inf"), None, []
    for epoch in progress.bar(range(1, config.epochs + 1), desc=desc, unit="epoch", leave=False):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        running = 0.0
        for i in range(0, len(x), config.batch_size):
            idx = order[i : i + config.batch_size]
            xb, yb = x[idx].to(device), y[idx].to(device)
            if perturb is not None:
                xb = perturb(model, xb, dataset.train.y[idx].to(device))
            optimizer.zero_grad()
            loss = tempered_loss(model(xb), yb, temperature)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(idx)
        val_loss = _epoch_loss(model, dataset.val.x, val_y, 512, device, temperature)
        history.append({"epoch": epoch, "train_loss": running / len(x), "val_loss": val_loss})
        if progress.every(epoch, config.epochs):
            progress.line(
                f"[{desc or 'train'}] epoch {epoch}/{config.epochs}: train loss "
                f"{running / len(x):.4f}, validation loss {val_loss:.4f}"
            )
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


@contextlib.contextmanager
def deterministic_cudnn() -> Iterator[None]:
    """cuDNN's deterministic kernels, no autotuning, for the block; restores the caller's
    settings. On a GPU the same seed then trains the same weights and the same attack run
    gives the same images (the first GPU run trained two different models from one seed)."""
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def train_model(
    dataset: Dataset, config: TrainConfig, device: torch.device | str
) -> tuple[PaperCNN, list[dict[str, float]]]:
    """Train the paper CNN on ``dataset`` from a seeded initialisation (no cache)."""
    mean, std = channel_stats(dataset.train.x)
    torch.manual_seed(config.seed)
    model = PaperCNN(dataset.num_classes, mean, std).to(device)
    with deterministic_cudnn():
        history = fit(model, dataset, config, torch.device(device), desc=f"train {dataset.name}")
    return model, history


def untrained(dataset: Dataset) -> PaperCNN:
    """A paper CNN shaped for ``dataset`` (its Normalize statistics included), to load into."""
    mean, std = channel_stats(dataset.train.x)
    return PaperCNN(dataset.num_classes, mean, std)


def train_or_load(
    dataset: Dataset, config: TrainConfig, cache_dir: Path, device: torch.device
) -> TrainedModel:
    """Load the cached CNN for ``(dataset, config)``, or train it and cache it."""
    key = cache_key(dataset, config)
    cache = WeightsCache(cache_dir)
    cached = cache.load(key, dataset.num_classes, untrained(dataset))
    if cached is not None:
        model = untrained(dataset)
        cached.load_into(model, device)
        return TrainedModel(model, key, cache.folder(key), cached.history, True)
    cache.check_writable()
    model, history = train_model(dataset, config, device)
    weights = Weights.of(key, model, dataset.num_classes, history)
    save_trained(cache, weights, dataset, config)
    return TrainedModel(model.eval(), key, cache.folder(key), history, False)


def save_trained(
    cache: WeightsCache, weights: Weights, dataset: Dataset, config: TrainConfig
) -> None:
    """Cache a base model's weights with the record of what trained it, and its loss plot."""
    cache.save(weights, {"data": dataset.summary(), "train": asdict(config)})
    write_history(weights.history, cache.folder(weights.key) / "loss")


def write_history(history: list[dict[str, Any]], stem: Path, title: str = "") -> None:
    """Loss curves as ``<stem>.csv`` and ``<stem>.png``/``.pdf`` (paper Figures 3-5)."""
    pd.DataFrame(history).to_csv(stem.with_suffix(".csv"), index=False)
    plot_history(history, stem.with_suffix(".png"), title)
