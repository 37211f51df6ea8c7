"""Device names a user may give, and what they resolve to on this machine."""

from __future__ import annotations

import torch

from advcompare.errors import AdvCompareError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when torch sees a GPU, else CPU; ``cuda`` without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise AdvCompareError(
            "device 'cuda' requested but torch sees no CUDA device; "
            "use --device cpu or --device auto"
        )
    if name not in DEVICES:
        raise AdvCompareError(f"unknown device '{name}'; use one of: {', '.join(DEVICES)}")
    return torch.device(name)
