"""The reproducibility record of a run: what ran it (library versions, device, threads,
advcompare's version and git commit), with which seeds and config, on which data and weights.
Stored in the run's meta table, written to ``results.json`` and closing each report."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from dataclasses import asdict, is_dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

# Distribution names of the libraries a run's figures depend on, as the record shows them.
LIBRARIES = {
    "torch": "torch",
    "torchvision": "torchvision",
    "torchattacks": "torchattacks",
    "ART": "adversarial-robustness-toolbox",
    "Foolbox": "foolbox",
    "NumPy": "numpy",
    "SciPy": "scipy",
}


def library_versions() -> dict[str, str]:
    """Python's and every library's installed version ("not installed" when absent)."""
    out = {"Python": platform.python_version()}
    for shown, dist in LIBRARIES.items():
        try:
            out[shown] = version(dist)
        except PackageNotFoundError:
            out[shown] = "not installed"
    return out


def git_commit(where: Path | None = None) -> str | None:
    """advcompare's git commit when it runs from a checkout (with ``+dirty`` for local
    changes to tracked files outside ``reports/``, which a run rewrites), else None."""
    where = where or Path(__file__).resolve().parent.parent
    if not (where / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(where),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)reports",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def device_name(device: torch.device | str) -> str:
    """The accelerator's name (``torch.cuda.get_device_name``) or the CPU's."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


def state_digest(state: dict[str, torch.Tensor] | None) -> str | None:
    """SHA-256 of a state dict's tensors (names and bytes in name order)."""
    if not state:
        return None
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def run_record(cfg: Any, device: torch.device | str) -> dict[str, Any]:
    """Everything about a run but its data and weights (those are per dataset and seed):
    versions, device and threads, seeds, advcompare's version and commit, resolved config."""
    try:
        own = version("advcompare")
    except PackageNotFoundError:
        own = "unversioned"
    return {
        "advcompare": own,
        "git_commit": git_commit(),
        "versions": library_versions(),
        "device": str(device),
        "device_name": device_name(device),
        "torch_threads": torch.get_num_threads(),
        "seed": cfg.seed,
        "seeds": list(cfg.training_seeds),
        "config": _plain(cfg),
    }
