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
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from advcompare.adapters import get_backend
from advcompare.config import AttackEntry, ExperimentConfig
from advcompare.defenses.preflight import preflight, raised
from advcompare.defenses.registry import (ADAPTIVE, OBLIVIOUS, Defended, build_defense,
                                          threat_models)
from advcompare.data import NUM_CLASSES, Dataset, Split, load_dataset, preflight_dataset
from advcompare.figures import DIGIT_DATASETS, plot_example_seven
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
             device: torch.device, num_classes: int, seed: int, desc: str = "",
             grade_model: torch.nn.Module | None = None
             ) -> tuple[dict, list[str], dict[str, torch.Tensor]]:
    """Attack ``data`` batch by batch with one backend, then grade it.

    Returns (metrics, notes, per-sample tensors: ``x_adv``, ``correct``, ``success``).
    ``grade_model`` (default ``model``) is the classifier that is graded: a defended one,
    where the attack ran on another view of it (threat models). Torch and NumPy are seeded first, so the
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
        grade_model if grade_model is not None else model, data.x, data.y, x_adv,
        attack_seconds=seconds,
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


def _record_defense(store: ResultStore, dataset_name: str, defended: Defended, data: Split,
                    device: torch.device) -> None:
    """Clean metrics and preflight flags of a defended classifier, stored for the report."""
    pred, seconds = timed_predict(defended.classifier, data.x, device)
    flags = preflight(defended.classifier, data.x[:64].to(device), data.y[:64].to(device))
    store.set_defense(dataset_name, defended.name, {
        "key": defended.key, "params": defended.params, "clean": grade_clean(data.y, pred,
                                                                             seconds),
        "preflight": raised(flags), "history": defended.history})


def _cell_name(dataset: str, defense: str, threat: str, entry: AttackEntry) -> str:
    where = dataset if defense == "none" else f"{dataset}/{defense}:{threat}"
    return f"{where}/{entry.label}/{entry.backend}"


def _attack_cell(store: ResultStore, summary: RunSummary, cfg: ExperimentConfig,
                 dataset: Dataset, data: Split, trained: TrainedModel, defended: Defended,
                 threat: str, entry: AttackEntry, device: torch.device, log) -> None:
    """Attack, grade and store one dataset × defense × threat × attack × backend cell."""
    def key_for(defense_key: str, defense: str, threat_name: str) -> str:
        return cell_key(model=defense_key, defense=defense, threat=threat_name,
                        spec=entry.spec.as_dict(), backend=entry.backend,
                        samples=cfg.samples, seed=cfg.seed, batch_size=cfg.batch_size,
                        n=len(data))

    key = key_for(defended.key, defended.name, threat)
    summary.keys.append(key)
    name = _cell_name(dataset.name, defended.name, threat, entry)
    if store.has_cell(key):
        summary.resumed.append(name)
        log(f"[{name}] already stored")
        return
    # Oblivious: the undefended model's adversarial examples, classified by the defense.
    undefended = key_for(trained.key, "none", ADAPTIVE)
    reuse = adversarial_path(summary.run_dir, undefended)
    if threat == OBLIVIOUS and store.has_cell(undefended) and reuse.is_file():
        crafted = store.cells([undefended])[0]["metrics"]
        x_adv = load_file(str(reuse))["x_adv"]
        metrics, outcomes = grade_attack_samples(
            defended.classifier, data.x, data.y, x_adv,
            attack_seconds=crafted["attack_time_per_image"] * len(data),
            forward_samples=int(crafted["forward_per_image"] * len(data)),
            backward_samples=int(crafted["backward_per_image"] * len(data)), device=device)
        notes = ["adversarial examples crafted on the undefended model (oblivious)"]
        samples = {"x_adv": x_adv, **outcomes}
    else:
        attacked = defended.attacked_model(threat, entry.spec.attack)
        metrics, notes, samples = run_cell(attacked, entry, data, cfg.batch_size, device,
                                           dataset.num_classes, cfg.seed, desc=name,
                                           grade_model=defended.classifier)
        if attacked is defended.eot_view:
            notes = notes + [f"expectation over {defended.params['eot_samples']} gradient "
                             f"draws (EOT)"]
    save_adversarial(summary.run_dir, key, samples)
    store.add_cell(key, dataset=dataset.name, label=entry.label, attack=entry.spec.attack,
                   backend=entry.backend, spec=entry.spec.as_dict(), notes=notes,
                   metrics=metrics, model_key=defended.key, defense=defended.name,
                   threat=threat)
    summary.computed.append(name)
    log(f"[{name}] adversarial F1 {metrics['adv_f1']:.3f} (clean {metrics['clean_f1']:.3f}), "
        f"success {metrics['success_rate']:.1%}, "
        f"{metrics['attack_time_per_image'] * 1e3:.1f} ms/image")


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
        store.set_meta("name", cfg.name)
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
            for defense_name, params in cfg.defenses:
                defended = build_defense(defense_name, params, trained, dataset, cfg.train,
                                         device, cfg.model_cache_dir(), cfg.attacks)
                if not defended.from_cache:
                    summary.trained.append(f"{dataset_name}/{defense_name}")
                _record_defense(store, dataset_name, defended, data, device)
                for threat in threat_models(defense_name):
                    for entry in cfg.attacks:
                        _attack_cell(store, summary, cfg, dataset, data, trained, defended,
                                     threat, entry, device, log)
            if dataset_name in DIGIT_DATASETS:
                undefended = [c for c in store.cells(summary.keys)
                              if c["dataset"] == dataset_name and c["defense"] == "none"]
                plot_example_seven(trained.model, data.x, data.y, undefended,
                                   summary.run_dir / "adv",
                                   summary.run_dir / f"example_7_{dataset_name}.png")
    return summary
