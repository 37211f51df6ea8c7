"""advcompare: compare adversarial attacks across torchattacks, ART and Foolbox on one CNN.

Reproduces Campbell & Lasselle, *Enhancing the Robustness of Deep Neural Networks* (WPI MQP,
2024): one CNN, four attacks, one grader (macro F1, time per image).

The Python API (see ``docs/api.md``)::

    import advcompare
    frame = advcompare.evaluate(model, x, y, attacks=["ifgsm", "deepfool"], backends="all")
    stored = advcompare.load_results("reports/default")

Public names are imported on first use, so ``import advcompare`` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "evaluate": "advcompare.api",
    "compare_backends": "advcompare.api",
    "per_image": "advcompare.api",
    "check_claims": "advcompare.api",
    "load_results": "advcompare.results",
    "Results": "advcompare.results",
    "AttackSpec": "advcompare.attacks.spec",
    "with_normalization": "advcompare.models.normalization",
    "AdvCompareError": "advcompare.errors",
}

__all__ = [
    "AdvCompareError",
    "AttackSpec",
    "Results",
    "__version__",
    "evaluate",
    "compare_backends",
    "per_image",
    "check_claims",
    "load_results",
    "with_normalization",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'advcompare' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
