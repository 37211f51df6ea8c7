"""The ``native`` backend: attacks implemented in this package, in torch.

Provides the paper's black-box iterative pixel swap (§2.2.4), which no library ships. The
spec's ``max_swaps`` (None by default) is passed as is: None swaps every pixel pair of the
image if needed, the paper's "until misclassification occurs".
"""

from __future__ import annotations

import torch
from torch import nn

from advcompare.adapters.base import NATIVE, Capability, finish, model_guard
from advcompare.attacks.pixel_swap import pixel_swap
from advcompare.spec import AttackSpec


class NativeBackend:
    """Attacks that advcompare implements itself."""

    name = "native"
    library = "advcompare"

    def capabilities(self) -> dict[str, Capability]:
        return {"pixel_swap": Capability("pixel_swap", NATIVE,
                                         "advcompare.attacks.pixel_swap.pixel_swap")}

    def check(self, spec: AttackSpec, num_classes: int) -> list[str]:
        from advcompare.adapters.support import require_capability

        require_capability(self, spec)
        return []

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
            spec: AttackSpec) -> torch.Tensor:
        with model_guard(model):
            x_adv, _ = pixel_swap(model, x, y, max_swaps=spec["max_swaps"])
            return finish(model, x, y, x_adv)
