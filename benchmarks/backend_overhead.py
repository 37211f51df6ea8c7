"""What does advcompare's adapter cost over calling each library directly, and how efficient
is each library per model pass?

    python benchmarks/backend_overhead.py [--samples 64] [--repeats 4]

On the embedded MNIST sample and the default CNN (trained or loaded from the cache), for every
(attack, backend) pair this times, in one run and interleaved, (a) the advcompare adapter and
(b) a direct call of the same library class with the same parameters (alternating which goes
first), and prints:

- overhead = median(a) / median(b) - 1 (target <= 5%);
- time per image through advcompare;
- forward and backward passes per image (counted by advcompare's PassCounter);
- efficiency = time / (forward passes × forward time + backward passes × backward time), with
  the model's pass times measured here: 1.0 means the library spends all its time in the model.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
from torch import nn

from advcompare.adapters import get_backend
from advcompare.adapters.art_backend import build_attack as build_art_attack
from advcompare.adapters.cw_search import CWView, squeeze
from advcompare.adapters.foolbox_backend import build_attack as build_foolbox_attack
from advcompare.analysis.metrics import PassCounter
from advcompare.attacks.spec import AttackSpec
from advcompare.config.experiment import load_config
from advcompare.data.datasets import load_dataset
from advcompare.models.train import train_or_load

SPECS = [
    AttackSpec.create("ifgsm", eps=0.1, step_size=0.01, steps=20, decay=1.0),
    AttackSpec.create("ifgsm", eps=0.1, step_size=0.01, steps=20, decay=0.0),
    AttackSpec.create("deepfool", steps=50, overshoot=0.02),
    AttackSpec.create("cw", c=1.0, binary_search_steps=1, steps=50, lr=0.05),
]


def direct_call(
    backend: str, spec: AttackSpec, model: nn.Module
) -> Callable[[torch.Tensor, torch.Tensor], object]:
    """The library called as a user would, with the same parameters, no advcompare layer."""
    p = spec.params
    if backend == "torchattacks":
        import torchattacks

        if spec.attack == "ifgsm" and p["decay"] == 0:
            return torchattacks.BIM(model, eps=p["eps"], alpha=p["step_size"], steps=p["steps"])
        if spec.attack == "ifgsm":
            return torchattacks.MIFGSM(
                model, eps=p["eps"], alpha=p["step_size"], steps=p["steps"], decay=p["decay"]
            )
        if spec.attack == "deepfool":
            return torchattacks.DeepFool(model, steps=p["steps"], overshoot=p["overshoot"])
        # the same view of the model the adapter gives CW (see the adapter's docstring)
        attack = torchattacks.CW(
            CWView(model).eval(), c=p["c"], kappa=p["confidence"], steps=p["steps"], lr=p["lr"]
        )
        return lambda x, y: attack(squeeze(x), y)
    if backend == "art":

        def run_art(x, y):
            attack = build_art_attack(spec, model, x)
            labels = None if spec.attack == "deepfool" else y.numpy()
            return attack.generate(x.numpy(), y=labels)

        return run_art

    import foolbox as fb

    def run_foolbox(x, y):
        fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0))
        attack = build_foolbox_attack(spec, model, x)
        return attack(fmodel, x, y, epsilons=spec.params.get("eps"))

    return run_foolbox


def pass_times(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Seconds per image of one forward pass, and of one backward pass, at this batch size."""
    x = x.clone().requires_grad_(True)
    fwd, bwd = [], []
    for _ in range(10):
        start = time.perf_counter()
        out = model(x)
        mid = time.perf_counter()
        out.sum().backward()
        end = time.perf_counter()
        fwd.append(mid - start)
        bwd.append(end - mid)
    return statistics.median(fwd) / len(x), statistics.median(bwd) / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()

    cfg = load_config(None)
    data = load_dataset("mnist-sample", seed=cfg.seed)
    model = train_or_load(data, cfg.train, cfg.model_cache_dir(), torch.device("cpu")).model
    model.eval()
    x, y = data.test.x[: args.samples], data.test.y[: args.samples]
    fwd_s, bwd_s = pass_times(model, x)
    print(
        f"model passes at batch {len(x)}: forward {fwd_s * 1e3:.3f} ms/image, "
        f"backward {bwd_s * 1e3:.3f} ms/image (CPU, {torch.get_num_threads()} threads)"
    )
    print(
        f"{'attack':<10} {'backend':<13} {'adapter ms/img':>14} {'direct ms/img':>14} "
        f"{'overhead':>9} {'fwd/img':>8} {'bwd/img':>8} {'efficiency':>10}"
    )
    for spec in SPECS:
        label = "bim" if spec.attack == "ifgsm" and spec["decay"] == 0 else spec.attack
        for backend in ("torchattacks", "art", "foolbox"):
            adapter = get_backend(backend)
            direct = direct_call(backend, spec, model)
            timings: dict[str, list[float]] = {"ours": [], "theirs": []}
            calls = {
                "ours": lambda a=adapter, s=spec: a.run(model, x, y, s),
                "theirs": lambda d=direct: d(x, y),
            }
            for i in range(args.repeats):  # interleaved, alternating who goes first
                for who in ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours"):
                    torch.manual_seed(0)
                    start = time.perf_counter()
                    calls[who]()
                    timings[who].append(time.perf_counter() - start)
            ours, theirs = timings["ours"], timings["theirs"]
            counter = PassCounter(model)
            adapter.run(counter, x, y, spec)
            per_image = statistics.median(ours) / len(x)
            fwd, bwd = counter.forward_samples / len(x), counter.backward_samples / len(x)
            model_time = fwd * fwd_s + bwd * bwd_s
            overhead = statistics.median(ours) / statistics.median(theirs) - 1
            print(
                f"{label:<10} {backend:<13} {per_image * 1e3:14.2f} "
                f"{statistics.median(theirs) / len(x) * 1e3:14.2f} {overhead:+9.1%} "
                f"{fwd:8.1f} {bwd:8.1f} {model_time / per_image:10.2f}"
            )


if __name__ == "__main__":
    main()
