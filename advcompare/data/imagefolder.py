"""Your own images: ``imagefolder:<root>``, a torchvision ImageFolder tree (one folder per
class), read at a model's input shape with the same seeded splits as every dataset."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch

from advcompare.data.splits import IMAGE_SIZE, Dataset, make_splits
from advcompare.errors import DataRootError

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
