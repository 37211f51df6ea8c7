"""Figure primitives with no project imports: pyplot on Agg, saving as PNG and PDF, and the
training-loss plot (paper Figures 3-5), which training draws without importing the report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, **kwargs) -> list[Path]:
    """Save ``fig`` as ``path`` with suffix .png and .pdf; close it; return both paths.
    The PDF carries no creation date, so re-rendering a report changes no unchanged figure."""
    path = Path(path)
    written = []
    for suffix in (".png", ".pdf"):
        target = path.with_suffix(suffix)
        metadata = {"CreationDate": None} if suffix == ".pdf" else None
        fig.savefig(target, dpi=110, metadata=metadata, **kwargs)
        written.append(target)
    pyplot().close(fig)
    return written


def plot_history(history: list[dict], path: Path, title: str = "") -> None:
    """Training and validation loss per epoch, the kept epoch marked (paper Figures 3-5).

    Saved as PNG and PDF; ``advcompare.models.train.write_history`` draws through it. It lives here,
    beside the figure primitives, so that training does not import the report's figures.
    """
    plt = pyplot()
    frame = pd.DataFrame(history)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(frame["epoch"], frame["train_loss"], label="train", marker="o", ms=3)
    ax.plot(frame["epoch"], frame["val_loss"], label="validation", marker="o", ms=3)
    best = frame.loc[frame["val_loss"].idxmin()]
    ax.axvline(best["epoch"], color="grey", ls=":", label=f"kept (epoch {int(best['epoch'])})")
    ax.set(xlabel="epoch", ylabel="NLL loss", title=title or "training loss")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
