"""The experiment loop: dataset → trained CNN → every attack cell → graded, stored, reported.

Each cell is skipped when the store already holds it, so rerunning an interrupted command
resumes where it stopped; trained weights come from the cache, so nothing is retrained.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from advcompare.adapters import get_backend
from advcompare.config import AttackEntry, ExperimentConfig
from advcompare.data import NUM_CLASSES, Dataset, Split, load_dataset, preflight_dataset
from advcompare.metrics import PassCounter, grade_attack_samples, grade_clean, timed_predict
from advcompare.store import ResultStore, cell_key
from advcompare.train import TrainedModel, train_or_load, write_history


@dataclass
class RunSummary:
    """What a run did: cells computed now, cells found already stored, where it wrote."""

    run_dir: Path
    computed: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from advcompare.errors import AdvCompareError

        raise AdvCompareError("device 'cuda' requested but torch sees no CUDA device; "
                              "use --device cpu or --device auto")
    return torch.device(name)


def attack_subset(test: Split, samples: int, seed: int) -> Split:
    """The test images to attack: all of them, or a seeded random ``samples`` of them."""
    if samples <= 0 or samples >= len(test):
        return test
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:samples]
    idx = idx.sort().values
    return Split(test.x[idx], test.y[idx])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_cell(model: torch.nn.Module, entry: AttackEntry, data: Split, batch_size: int,
             device: torch.device, num_classes: int, seed: int,
             desc: str = "") -> tuple[dict, list[str], dict[str, torch.Tensor]]:
    """Attack ``data`` batch by batch with one backend, then grade it.

    Returns (metrics, notes, per-sample tensors: ``x_adv``, ``correct``, ``success``). Torch and NumPy are seeded first, so the
    libraries' random choices (Pixle, differential evolution) repeat.
    """
    backend = get_backend(entry.backend)
    notes = backend.check(entry.spec, num_classes)
    counter = PassCounter(model)
    torch.manual_seed(seed)
    np.random.seed(seed)
    adv_batches, seconds = [], 0.0
    for i in tqdm(range(0, len(data), batch_size), desc=desc, unit="batch", leave=False):
        xb = data.x[i:i + batch_size].to(device)
        yb = data.y[i:i + batch_size].to(device)
        _sync(device)
        start = time.perf_counter()
        adv = backend.run(counter, xb, yb, entry.spec)
        _sync(device)
        seconds += time.perf_counter() - start
        adv_batches.append(adv.cpu())
    x_adv = torch.cat(adv_batches)
    metrics, outcomes = grade_attack_samples(
        model, data.x, data.y, x_adv, attack_seconds=seconds,
        forward_samples=counter.forward_samples, backward_samples=counter.backward_samples,
        device=device)
    return metrics, notes, {"x_adv": x_adv, **outcomes}


def adversarial_path(run_dir: Path, key: str) -> Path:
    """Where a cell's per-sample results live (read by the agreement table)."""
    return Path(run_dir) / "adv" / f"{key}.safetensors"


def save_adversarial(run_dir: Path, key: str, samples: dict[str, torch.Tensor]) -> None:
    """Keep a cell's adversarial inputs and per-sample outcomes for comparing backends."""
    path = adversarial_path(run_dir, key)
    path.parent.mkdir(exist_ok=True)
    save_file({k: v.contiguous() if v.dtype != torch.bool else v.to(torch.uint8).contiguous()
               for k, v in samples.items()}, str(path))


def _prepare(dataset_name: str, cfg: ExperimentConfig, device: torch.device
             ) -> tuple[Dataset, TrainedModel]:
    dataset = load_dataset(dataset_name, cfg.data_root, cfg.download, cfg.seed)
    trained = train_or_load(dataset, cfg.train, cfg.model_cache_dir(), device)
    return dataset, trained


def run_experiment(cfg: ExperimentConfig, log=print) -> RunSummary:
    """Run every dataset × attack cell of ``cfg`` not already in the run's store."""
    device = resolve_device(cfg.device)
    summary = RunSummary(cfg.run_dir())
    # Check data roots and every spec against its backend before any work starts.
    for dataset_name in cfg.datasets:
        preflight_dataset(dataset_name, cfg.data_root, cfg.download)
        for entry in cfg.attacks:
            get_backend(entry.backend).check(entry.spec, NUM_CLASSES[dataset_name])
    with ResultStore(summary.run_dir) as store:
        for dataset_name in cfg.datasets:
            dataset, trained = _prepare(dataset_name, cfg, device)
            log(f"[{dataset_name}] model {trained.key} "
                f"({'loaded from cache' if trained.from_cache else 'trained'}; "
                f"train/val/test = {len(dataset.train)}/{len(dataset.val)}/{len(dataset.test)})")
            if not trained.from_cache:
                summary.trained.append(dataset_name)
            model = trained.model
            data = attack_subset(dataset.test, cfg.samples, cfg.seed)
            pred, seconds = timed_predict(model, data.x, device)
            clean = grade_clean(data.y, pred, seconds)
            store.set_dataset(dataset_name, summary=dataset.summary(), model_key=trained.key,
                              clean=clean, history=trained.history)
            training_dir = summary.run_dir / "training"
            training_dir.mkdir(exist_ok=True)
            write_history(trained.history, training_dir / f"{dataset_name}_loss",
                          title=f"{dataset_name}: training loss")
            for entry in cfg.attacks:
                key = cell_key(model=trained.key, spec=entry.spec.as_dict(),
                               backend=entry.backend, samples=cfg.samples, seed=cfg.seed,
                               batch_size=cfg.batch_size, n=len(data))
                summary.keys.append(key)
                name = f"{dataset_name}/{entry.label}/{entry.backend}"
                if store.has_cell(key):
                    summary.resumed.append(name)
                    log(f"[{dataset_name}] {entry.label} ({entry.backend}): already stored")
                    continue
                metrics, notes, samples = run_cell(model, entry, data, cfg.batch_size, device,
                                                   dataset.num_classes, cfg.seed, desc=name)
                save_adversarial(summary.run_dir, key, samples)
                store.add_cell(key, dataset=dataset_name, label=entry.label,
                               attack=entry.spec.attack, backend=entry.backend,
                               spec=entry.spec.as_dict(), notes=notes, metrics=metrics,
                               model_key=trained.key)
                summary.computed.append(name)
                log(f"[{dataset_name}] {entry.label} ({entry.backend}): adversarial F1 "
                    f"{metrics['adv_f1']:.3f} (clean {metrics['clean_f1']:.3f}), success "
                    f"{metrics['success_rate']:.1%}, "
                    f"{metrics['attack_time_per_image'] * 1e3:.1f} ms/image")
    return summary
