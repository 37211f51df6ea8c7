"""The ``native`` backend: attacks implemented in this package, in torch.

Provides the paper's black-box iterative pixel swap (§2.2.4), which no library ships. The
spec's ``max_swaps`` (None by default) is passed as is: None swaps every pixel pair of the
image if needed, the paper's "until misclassification occurs".
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from advcompare.adapters.base import EXACT, Adapter, AttackImpl, Capability
from advcompare.attacks.pixel_swap import pixel_swap


def _pixel_swap(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, p: Mapping[str, Any]
) -> torch.Tensor:
    return pixel_swap(model, x, y, max_swaps=p["max_swaps"])[0]


class NativeBackend(Adapter):
    """Attacks that advcompare implements itself."""

    name = "native"
    library = "advcompare"
    attacks = {
        "pixel_swap": AttackImpl(
            Capability("pixel_swap", EXACT, "advcompare.attacks.pixel_swap.pixel_swap"),
            _pixel_swap,
            seconds_per_image=0.07,
        ),
    }
