"""Settings: the frozen configuration of one run, as :mod:`advcompare.config.experiment` parses it
from TOML and flags. Everything downstream (plan, executors, runner, training) reads these
dataclasses and never the TOML itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from advcompare.adapters.entry import AttackEntry
from advcompare.analysis.statistics import StatisticsConfig
from advcompare.models.train import TrainConfig

# Device names a user may give: auto (CUDA when torch sees one), cpu, cuda or cuda:N.
DEVICES = ("auto", "cpu", "cuda")
EXECUTORS = ("serial", "processes", "ray")


@dataclass(frozen=True)
class ExecutorConfig:
    """How cells are executed (``[executor]`` in the config, ``--executor`` and friends).

    ``cpus_per_cell`` is torch's thread count in each cell (and the CPUs Ray reserves for
    it); ``None`` keeps torch's default in a serial run and means 1 in parallel executors.
    ``gpus_per_cell`` may be fractional (0.25: four small-CNN cells share a GPU).
    ``images_per_shard``: split each attack cell into shards of that many images (rounded
    up to whole batches) that run as separate tasks, then one task joins and grades them;
    0 never splits; ``None`` never splits serially and, in parallel (processes, Ray),
    spreads a cell over the cells that can run at once. Split or not, a cell's figures are the same.
    ``shared_cache``: every worker can read the driver's weights cache (a shared
    filesystem), so weights travel as paths rather than through Ray's object store.
    """

    name: str = "serial"
    address: str | None = None
    cpus_per_cell: int | None = None
    gpus_per_cell: float = 0.0
    images_per_shard: int | None = None
    shared_cache: bool = False
    max_retries: int = 3


@dataclass(frozen=True)
class ReferenceConfig:
    """The independent strength reference of the L2 curves (``[curves]`` in the config):
    Foolbox's FMN-L2 and DDN run with a large budget on every classifier that has a
    minimum-norm cell, so each backend's optimality is measured against more than the run's
    own attacks. ``enabled`` false leaves them out (the envelope is then the run's own)."""

    enabled: bool = True
    fmn_steps: int = 50
    ddn_steps: int = 100


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything one ``advcompare run`` needs."""

    name: str = "default"
    datasets: tuple[str, ...] = ("mnist-sample",)
    attacks: tuple[AttackEntry, ...] = ()
    data_root: str | None = None
    download: bool = False
    device: str = "auto"
    seed: int = 0
    samples: int = 0
    batch_size: int = 128
    train: TrainConfig = field(default_factory=TrainConfig)
    defenses: tuple[tuple[str, dict], ...] = (("none", {}),)
    cache_dir: str = ""
    out: str | None = None
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    fidelity_tolerance: float = 0.10
    eps_curve: tuple[float, ...] = ()  # budget curves of bounded L∞ attacks
    eps_curve_l2: tuple[float, ...] = ()  # ... and of bounded L2 attacks
    model: str = ""  # "package.module:factory" of a user's model ("" = train the paper CNN)
    weights: str = ""  # its state dict, a .safetensors file
    input_shape: tuple[int, int, int] = (3, 32, 32)  # C, H, W of the model's input
    seeds: tuple[int, ...] = ()  # training seeds, one model each ("" = just ``seed``)
    statistics: StatisticsConfig = field(default_factory=StatisticsConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    claim_budgets: tuple[float, ...] = (1.0, 2.0)  # [claims] l2_budgets: DeepFool/CW claims

    @property
    def training_seeds(self) -> tuple[int, ...]:
        """One model per seed (training and attacks seeded by it); the first is the run's
        headline seed. Splits and the attacked images always follow ``seed``."""
        return self.seeds or (self.seed,)

    @property
    def headline_seed(self) -> int:
        """The training seed whose cells the report's main tables show."""
        return self.training_seeds[0]

    def run_dir(self) -> Path:
        """Where results go: ``--out`` if given, else ``reports/<name>``."""
        return Path(self.out) if self.out else Path("reports") / self.name

    def model_cache_dir(self) -> Path:
        """Trained weights cache: config, ``$ADVCOMPARE_CACHE``, or ~/.cache/advcompare."""
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        env = os.environ.get("ADVCOMPARE_CACHE")
        return Path(env).expanduser() if env else Path.home() / ".cache" / "advcompare"
