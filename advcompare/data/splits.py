"""The data model every dataset is loaded into: images as (N, C, H, W) floats in [0, 1] with
integer labels, split train/validation/test with seeded stratified splits (paper §3.3: an 80:20
train/test split where a dataset has no test split of its own, then 20% of train held out for
validation), and the conversions to the paper's 3×32×32 input (§3.1) or another model's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_SIZE = 32
VALIDATION_SHARE = 0.2  # paper §3.3: 20% of the training data
TEST_SHARE = 0.2  # paper §3.3: 80:20 train/test where a dataset has no test split


@dataclass
class Split:
    """Images (N, 3, 32, 32) float32 in [0, 1] and integer labels (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    """A named dataset with its train/validation/test splits and how they were made."""

    name: str
    num_classes: int
    train: Split
    val: Split
    test: Split
    seed: int
    source: str

    def summary(self) -> dict:
        """What a results record needs to say which data it was computed on."""
        return {
            "dataset": self.name,
            "num_classes": self.num_classes,
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
            "split_seed": self.seed,
            "source": self.source,
            "fingerprint": self.fingerprint(),
        }

    def fingerprint(self) -> str:
        """Hash of the split contents: part of the trained-model cache key."""
        h = hashlib.sha256()
        for split in (self.train, self.val, self.test):
            h.update(split.x.numpy().tobytes())
            h.update(split.y.numpy().tobytes())
        return h.hexdigest()[:16]


def to_model_input(images: np.ndarray | torch.Tensor, scale: float) -> torch.Tensor:
    """(N, H, W) or (N, H, W, 3) pixels → (N, 3, 32, 32) float32 in [0, 1] (paper §3.1)."""
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32) / scale
    if x.ndim == 3:
        x = x.unsqueeze(1)
    elif x.ndim == 4 and x.shape[-1] in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        x = F.interpolate(
            x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True, align_corners=False
        )
    return x.clamp_(0.0, 1.0).contiguous()


def _split_off(x: torch.Tensor, y: torch.Tensor, share: float, seed: int):
    from sklearn.model_selection import train_test_split  # on use: workers never split

    idx = np.arange(len(y))
    keep, held = train_test_split(idx, test_size=share, random_state=seed, stratify=y.numpy())
    keep, held = torch.as_tensor(np.sort(keep)), torch.as_tensor(np.sort(held))
    return Split(x[keep], y[keep]), Split(x[held], y[held])


def make_splits(
    name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    source: str,
    test: Split | None = None,
    num_classes: int | None = None,
) -> Dataset:
    """Seeded, stratified splits: test 20% (unless given), then validation 20% of train."""
    y = y.long()
    if test is None:
        pool, test = _split_off(x, y, TEST_SHARE, seed)
        x, y = pool.x, pool.y
    train, val = _split_off(x, y, VALIDATION_SHARE, seed)
    n_classes = num_classes or int(max(y.max(), test.y.max())) + 1
    return Dataset(name, n_classes, train, val, test, seed, source)


def conform(dataset: Dataset, shape: tuple[int, int, int]) -> Dataset:
    """``dataset`` converted to (C, H, W) images: grey (channel mean) or RGB (grey repeated),
    resized with antialiasing; the splits stay the same."""
    channels, height, width = shape

    def convert(split: Split) -> Split:
        x = split.x
        if channels == 1 and x.shape[1] != 1:
            x = x.mean(dim=1, keepdim=True)
        elif channels == 3 and x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if tuple(x.shape[-2:]) != (height, width):
            x = F.interpolate(
                x, size=(height, width), mode="bilinear", antialias=True, align_corners=False
            )
        return Split(x.clamp(0.0, 1.0).contiguous(), split.y)

    return Dataset(
        dataset.name,
        dataset.num_classes,
        convert(dataset.train),
        convert(dataset.val),
        convert(dataset.test),
        dataset.seed,
        f"{dataset.source}, as {channels}x{height}x{width}",
    )
