"""Mean/std normalisation inside the model, so inputs and every eps stay in pixel units.

Attack libraries clip adversarial images to a box and measure perturbations in the units of
the tensor they are given. advcompare gives every backend images in [0, 1], so a model that
expects standardised inputs (``(x - mean) / std``, as torchvision's pretrained models do) must
standardise them itself. Standardising the data *outside* the model instead silently changes
what every parameter means: eps=8/255 becomes 8/255 of a standard deviation (about 8/255 ×
0.23 of a pixel for ImageNet's std), and the [0, 1] box clips the wrong values.

:func:`with_normalization` wraps a model that expects standardised inputs into one that takes
pixels::

    from advcompare.models.normalization import IMAGENET_MEAN, IMAGENET_STD, with_normalization

    pixel_model = with_normalization(net, IMAGENET_MEAN, IMAGENET_STD).eval()
    advcompare.evaluate(pixel_model, x_pixels, y, attacks=["ifgsm"])

The wrapper shares ``net``'s weights (nothing is copied) and starts in ``net``'s mode.
"""

from __future__ import annotations

import math
from typing import Sequence, Union

import torch
from torch import nn

from advcompare.errors import InputError
from advcompare.models.cnn import Normalize

Stats = Union[float, Sequence[float], torch.Tensor]

#: torchvision's ImageNet channel statistics (RGB, pixel units).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _stats(name: str, values: Stats) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        raise InputError(
            f"{name} must be a number or one number per channel, got {values!r}"
        ) from None
    if tensor.numel() == 0 or not all(math.isfinite(v) for v in tensor.tolist()):
        raise InputError(f"{name} must be finite numbers, one per channel; got {values!r}")
    return tensor


class Normalized(nn.Module):
    """``model((x - mean) / std)`` for pixel inputs ``x`` in [0, 1] (per-channel statistics).

    ``normalize`` is advcompare's :class:`~advcompare.models.cnn.Normalize`, the same first layer
    the paper CNN has; ``model`` is the caller's module, shared, not copied.
    """

    def __init__(self, model: nn.Module, mean: Stats, std: Stats) -> None:
        super().__init__()
        mean_t, std_t = _stats("mean", mean), _stats("std", std)
        if mean_t.numel() != std_t.numel() and 1 not in (mean_t.numel(), std_t.numel()):
            raise InputError(
                f"mean has {mean_t.numel()} values and std {std_t.numel()}; "
                f"give one per channel for both (or one number)"
            )
        if bool((std_t <= 0).any()):
            raise InputError(f"std must be > 0 for every channel, got {std_t.tolist()}")
        channels = max(mean_t.numel(), std_t.numel())
        self.channels = channels
        self.normalize = Normalize(mean_t.expand(channels).clone(), std_t.expand(channels).clone())
        self.model = model
        # start in the model's mode without calling train(), which would recurse into it
        self.training = model.training
        self.normalize.training = model.training

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or (self.channels > 1 and x.shape[1] != self.channels):
            raise InputError(
                f"with_normalization has {self.channels} channel statistics but "
                f"got inputs of shape {tuple(x.shape)}; pass N×{self.channels}×H×W "
                f"pixels in [0, 1]"
            )
        return self.model(self.normalize(x))


def with_normalization(model: nn.Module, mean: Stats, std: Stats) -> nn.Module:
    """``model`` behind a ``(x - mean) / std`` layer: a classifier of pixels in [0, 1].

    ``mean`` and ``std`` are per-channel statistics in pixel units (one number, or one per
    channel), e.g. :data:`IMAGENET_MEAN` and :data:`IMAGENET_STD` for torchvision's pretrained
    models. Attack it with pixel-unit budgets (eps=8/255 means 8 grey levels) and pixel
    inputs; the wrapper shares ``model``'s weights and starts in ``model``'s train/eval mode.

    Raises :class:`~advcompare.errors.InputError` for statistics that are not finite, a std
    that is not positive, or mean and std of different lengths.
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return Normalized(model, mean, std)


__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Normalized", "with_normalization"]
