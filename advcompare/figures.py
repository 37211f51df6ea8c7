"""The paper's Figures 7-11: one MNIST test "7" under each attack, with the undefended
model's three most confident classes."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

DIGIT_DATASETS = ("mnist-sample", "mnist", "digits")


@torch.no_grad()
def top3(model: nn.Module, image: torch.Tensor) -> list[tuple[int, float]]:
    """The three most probable classes for one image and their probabilities."""
    model.eval()
    probs = model(image[None]).exp()[0]  # the CNN outputs log-probabilities
    values, classes = probs.topk(3)
    return [(int(c), float(v)) for c, v in zip(classes, values)]


def plot_example_seven(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                       cells: list[dict], adv_dir: Path, path: Path, digit: int = 7) -> bool:
    """Clean image and each undefended attack's version of the first test ``digit``.

    ``cells`` are stored undefended cells of this dataset; their adversarial images are read
    from ``adv_dir/<key>.safetensors``. Returns False (and draws nothing) without a ``digit``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hits = torch.nonzero(y == digit).flatten()
    if len(hits) == 0:
        return False
    idx = int(hits[0])
    panels = [("clean", x[idx])]
    for cell in cells:
        file = adv_dir / f"{cell['key']}.safetensors"
        if file.is_file():
            panels.append((f"{cell['label']}\n({cell['backend']})",
                           load_file(str(file))["x_adv"][idx]))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.1 * len(panels), 2.9), squeeze=False)
    for ax, (title, image) in zip(axes[0], panels):
        ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_xticks([])
        ax.set_yticks([])
        ranked = "\n".join(f"{c}: {p:.2f}" for c, p in top3(model, image))
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(ranked, fontsize=8)
    fig.suptitle(f"test image {idx} (label {digit}): top-3 confidences of the undefended CNN",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True
