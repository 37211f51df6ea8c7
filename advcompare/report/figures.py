"""Every figure of a report, each saved as PNG (for Markdown) and PDF (for LaTeX).

- :func:`plot_f1`: adversarial F1 per attack, ours beside the paper's (Tables 3, 5, 7, 9);
- :func:`plot_defenses`: F1 per attack under each defense (paper Figures 12-18);
- :func:`plot_example_seven`: one MNIST test "7" under each attack with the undefended
  model's three most confident classes (paper Figures 7-11);
- :func:`plot_norm_curves`: robust accuracy against the L2 budget for minimum-norm attacks,
  one curve per backend and the best envelope (``advcompare.analysis.curves``);
- :func:`plot_eps_curves`: robust accuracy against ε for the attacks with ε curves
  (security evaluation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from advcompare.analysis.curves import NormGroup, curve_points
from advcompare.attacks.spec import minimum_norm_attacks
from advcompare.models.cnn import model_device
from advcompare.plotting import pyplot as _pyplot
from advcompare.plotting import save_figure
from advcompare.results import MAIN, CellRecord
from advcompare.storage.store import load_samples

BACKEND_COLOURS = {
    "torchattacks": "#1f77b4",
    "art": "#2ca02c",
    "foolbox": "#d62728",
    "native": "#9467bd",
}
# Line styles of the minimum-norm attacks on the L2 curves, in the order of their records
# (DeepFool "-", CW "--" by default); any other attack is dotted.
LINE_STYLES = ("-", "--", "-.", ":")


NORM_NAMES = {"linf": "L∞", "l2": "L2", "l1": "L1", "l0": "L0"}


def _grid(n: int, width: float, height: float, columns: int = 3):
    """A figure with ``n`` panels, at most ``columns`` per row; unused panels hidden."""
    plt = _pyplot()
    ncols = max(1, min(n, columns))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


# The "7" figure's panels per row, and markers that tell coinciding curves apart.
PANELS_PER_ROW = 6
MARKERS = ("o", "s", "^", "D", "v", "P")


def _labelled_bars(ax, pos, values: pd.Series, width: float, lo=None, hi=None, **style) -> None:
    """Bars with their values written above them: a zero-height bar still shows "0.00", and
    a missing value (no paper figure) draws no bar and says "—". With ``lo`` and ``hi``
    each bar carries its interval, and its value is written above the interval."""
    at = np.asarray(pos, dtype=float)
    values = pd.Series(values).astype(float).reset_index(drop=True)
    ax.bar(at, values.fillna(0.0), width, **style)
    tops = values.fillna(0.0)
    if lo is not None and hi is not None:
        lo = pd.Series(lo).astype(float).reset_index(drop=True)
        hi = pd.Series(hi).astype(float).reset_index(drop=True)
        known = values.notna() & lo.notna() & hi.notna()
        if known.any():
            below = (values - lo)[known].clip(lower=0)
            above = (hi - values)[known].clip(lower=0)
            ax.errorbar(
                at[known.to_numpy()],
                values[known],
                yerr=[below, above],
                fmt="none",
                ecolor="black",
                elinewidth=0.7,
                capsize=1.5,
            )
            tops = hi.where(known, tops)
    for x, top, v in zip(at, tops, values):
        label = "—" if v != v else f"{v:.2f}"
        ax.text(x, top + 0.01, label, ha="center", va="bottom", rotation=90, fontsize=6)


def _interval_note(part: pd.DataFrame) -> str:
    """What a panel's bars rest on: the images per cell and the interval's level."""
    counts = sorted({int(n) for n in part["n"].dropna()}) if "n" in part else []
    n = ""
    if counts:
        n = f"n = {counts[0]}" + (f"–{counts[-1]}" if len(counts) > 1 else "")
    level = ""
    if "confidence" in part and part["confidence"].notna().any() and "adv_f1_lo" in part:
        # written as the report's text writes the level (97.5%, not a rounded 98%)
        level = f"{float(part['confidence'].dropna().iloc[0]) * 100:g}% bootstrap intervals"
    return ", ".join(s for s in (n, level) if s)


def _colour(backend: str, i: int) -> str:
    return BACKEND_COLOURS.get(backend, f"C{(i + 4) % 10}")


def attack_style(attack: str) -> str:
    """The line style of ``attack``'s L2 curve: by its place among the minimum-norm
    attacks' records, cycling through :data:`LINE_STYLES` (dotted when it is not one)."""
    names = minimum_norm_attacks()
    if attack not in names:
        return ":"
    return LINE_STYLES[names.index(attack) % len(LINE_STYLES)]


@torch.no_grad()
def top3(model: nn.Module, image: torch.Tensor) -> list[tuple[int, float]]:
    """The three most probable classes for one image and their probabilities."""
    model.eval()
    probs = model(image[None].to(model_device(model))).exp()[0].cpu()  # log-probabilities
    values, classes = probs.topk(3)
    return [(int(c), float(v)) for c, v in zip(classes, values)]


def plot_example_seven(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cells: list[CellRecord],
    adv_dir: Path,
    path: Path,
    digit: int = 7,
) -> bool:
    """Clean image and each undefended attack's version of the first test ``digit``.

    ``cells`` are stored undefended cells of this dataset (ε-curve cells are skipped); their
    adversarial images are read from ``adv_dir/<key>.safetensors``. Saved as PNG and PDF.
    Returns False (and draws nothing) without a ``digit``.
    """
    attacked = []
    for cell in cells:
        if (cell.role or MAIN) != MAIN:  # ε-curve points are not attacks of their own
            continue
        stored = load_samples(adv_dir.parent, cell.key)
        if stored is not None and "x_adv" in stored:
            attacked.append((f"{cell.label}\n({cell.backend})", stored["x_adv"]))
    # expensive attacks take a prefix of the images: the first `digit` they all attacked,
    # else the first one at all, without the attacks whose prefix lacks it (the title says so)
    common = min([len(x)] + [len(images) for _, images in attacked])
    hits = torch.nonzero(y[:common] == digit).flatten()
    if len(hits) == 0:
        hits = torch.nonzero(y == digit).flatten()
    if len(hits) == 0:
        return False
    idx = int(hits[0])
    plt = _pyplot()
    panels = [("clean", x[idx])] + [(t, images[idx]) for t, images in attacked if idx < len(images)]
    left_out = len(attacked) + 1 - len(panels)
    columns = min(len(panels), PANELS_PER_ROW)
    rows = -(-len(panels) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.9 * rows), squeeze=False)
    for ax in grid.flat[len(panels) :]:
        ax.axis("off")
    for ax, (title, image) in zip(grid.flat, panels):
        pixels = image.permute(1, 2, 0).clamp(0, 1).numpy()
        if pixels.shape[-1] == 1:  # a user's grey model (input_shape = [1, H, W])
            ax.imshow(pixels[..., 0], cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(pixels)
        ax.set_xticks([])
        ax.set_yticks([])
        ranked = "\n".join(f"{c}: {p:.2f}" for c, p in top3(model, image))
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(ranked, fontsize=8)
    title = f"test image {idx} (label {digit}): top-3 confidences of the undefended CNN"
    if left_out:
        ran = "attack ran" if left_out == 1 else "attacks ran"
        title += f"\n({left_out} {ran} on fewer images, without this one: not shown)"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, bbox_inches="tight")
    return True


def plot_f1(frame: pd.DataFrame, path: Path) -> None:
    """Grouped bars per dataset: clean, adversarial (with its interval) and the paper's F1
    for each attack, named as the report's tables name them."""
    plt = _pyplot()
    groups = list(frame.groupby("dataset", sort=False))
    width = max(5.5, 0.75 * max(len(part) for _, part in groups) + 1.5)
    fig, axes = plt.subplots(1, len(groups), figsize=(width * len(groups), 4.4), squeeze=False)
    for ax, (name, part) in zip(axes[0], groups):
        labels = _bar_names(part)
        pos = np.arange(len(part))
        lo, hi = part.get("adv_f1_lo"), part.get("adv_f1_hi")
        for offset, values, label, colour, interval in (
            (-0.27, part["clean_f1"], "clean", "#bbbbbb", (None, None)),
            (0.0, part["adv_f1"], "adversarial (ours)", "#1f77b4", (lo, hi)),
            (0.27, part["paper_f1"], "adversarial (paper)", "#ff7f0e", (None, None)),
        ):
            _labelled_bars(ax, pos + offset, values, 0.27, *interval, label=label, color=colour)
        ax.set_xticks(
            pos,
            labels,
            fontsize=8,
            rotation=35 if len(part) > 5 else 0,
            ha="right" if len(part) > 5 else "center",
        )
        note = _interval_note(part)
        title = f"{name} ({note})" if note else name
        ax.set(ylim=(0, 1.25), ylabel="macro F1", title=title)  # room for the value labels
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, path)


def _bar_names(part: pd.DataFrame) -> list[str]:
    """Each row's attack as the report's tables name it, over its backend."""
    from advcompare.report.tables import attack_name  # the report package imports this one

    attacks = part["attack"] if "attack" in part else part["label"]
    return [
        f"{attack_name(label, attack)}\n({backend})"
        for label, attack, backend in zip(part["label"], attacks, part["backend"])
    ]


def _bar_grid(
    part: pd.DataFrame, values: str, rows: list[str], columns: list[str], aggfunc: str = "mean"
) -> pd.DataFrame:
    """``values`` with one row per ``row`` and one column per ``column`` of ``part``."""
    table = part.pivot_table(
        index="row", columns="column", values=values, aggfunc=aggfunc, dropna=False
    )
    return table.reindex(index=rows, columns=columns)


def plot_defenses(frame: pd.DataFrame, path: Path) -> None:
    """Per dataset, adversarial F1 of each attack under each defense (paper Figures 12-18),
    named as the report's tables name them, each bar with its interval when it is one cell
    (several training seeds: their mean, without one)."""
    from advcompare.report.defense_tables import defense_column  # the report package imports it

    plt = _pyplot()
    groups = list(frame.groupby("dataset", sort=False))
    fig, axes = plt.subplots(len(groups), 1, figsize=(11, 5 * len(groups)), squeeze=False)
    for ax, (name, part) in zip(axes[:, 0], groups):
        part = part.assign(
            column=[defense_column(d, t) for d, t in zip(part.defense, part.threat)],
            row=_bar_names(part),
        )
        shown = list(dict.fromkeys(part["column"]))
        rows = list(dict.fromkeys(part["row"]))

        f1 = _bar_grid(part, "adv_f1", rows, shown)
        one = _bar_grid(part, "adv_f1", rows, shown, "size") == 1
        lo = hi = None
        if {"adv_f1_lo", "adv_f1_hi"} <= set(part.columns):
            lo, hi = (_bar_grid(part, v, rows, shown) for v in ("adv_f1_lo", "adv_f1_hi"))
        width = 0.8 / max(len(shown), 1)
        pos = np.arange(len(rows))
        for i, column in enumerate(shown):
            interval = (None, None)
            if lo is not None and hi is not None:
                interval = (lo[column].where(one[column]), hi[column].where(one[column]))
            x = pos + i * width - 0.4 + width / 2
            _labelled_bars(ax, x, f1[column], width, *interval, label=column)
        ax.set_xticks(pos, rows, fontsize=8)
        note = _interval_note(part)
        title = f"{name} ({note})" if note else name
        ax.set(ylim=(0, 1.25), ylabel="adversarial macro F1", title=title)
        ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below
    fig.tight_layout()
    save_figure(fig, path)


def plot_norm_curves(groups: list[NormGroup], path: Path, title: str = "") -> None:
    """One panel per classifier: robust accuracy against the L2 budget for every
    minimum-norm cell (colour: backend; line style: attack), the envelope in black, each
    curve's optimality in the legend."""
    fig, axes = _grid(len(groups), 5.6, 4.2)
    # one L2 axis for every panel, so defenses compare at a glance
    right = max((g.limit * 1.15 for g in groups if g.limit), default=1.0)
    for ax, group in zip(axes, groups):
        best = group.best
        for i, curve in enumerate(group.curves):
            x, y = curve_points(curve.norms, right)
            ax.plot(
                x,
                y,
                drawstyle="steps-post",
                color=_colour(curve.backend, i),
                linestyle=attack_style(curve.attack),
                linewidth=1.4,
                marker=MARKERS[i % len(MARKERS)],
                markevery=max(len(x) // 6, 1),  # markers keep overlapping curves apart
                markersize=4,
                label=f"{curve.label} ({curve.backend}): {group.optimality(curve):.2f}",
            )
        x, y = curve_points(best, right)
        ax.plot(
            x,
            y,
            drawstyle="steps-post",
            color="0.55",
            linewidth=5,
            alpha=0.45,
            label="best envelope",
            zorder=0,
            solid_capstyle="butt",
        )
        ax.set(
            xlim=(0, right),
            ylim=(0, 1.02),
            xlabel="L2 budget ε (pixel units)",
            ylabel="robust accuracy",
            title=group.classifier if title else f"{group.dataset}: {group.classifier}",
        )
        ax.grid(True, linestyle="--", color="lightgrey")
        ax.legend(fontsize=7, title="attack (backend): optimality", title_fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_eps_curves(
    curves: pd.DataFrame, path: Path, title: str = "", paper_f1: dict[str, float] | None = None
) -> None:
    """One panel per classifier and attack label: robust accuracy (solid) and adversarial
    F1 (dotted) against ε, one colour per backend; the paper's F1 as a horizontal line."""
    panels = list(curves.groupby(["defense", "threat", "attack"], sort=False))
    fig, axes = _grid(len(panels), 5.4, 4.2)
    for ax, ((defense, threat, label), part) in zip(axes, panels):
        for i, (backend, line) in enumerate(part.groupby("backend", sort=False)):
            colour = _colour(backend, i)
            marker = MARKERS[i % len(MARKERS)]  # curves that coincide stay visible
            ax.plot(
                line["eps"],
                line["robust_accuracy"],
                marker=marker,
                markersize=6 - 1.5 * (i % 3),
                markerfacecolor="none",
                color=colour,
                label=f"{backend}: robust accuracy",
            )
            ax.plot(
                line["eps"],
                line["adv_f1"],
                linestyle=":",
                marker=marker,
                markersize=3,
                color=colour,
                label=f"{backend}: adv. F1",
            )
        paper = (paper_f1 or {}).get(label)
        if paper is not None and defense == "none":
            ax.axhline(
                paper, color="#ff7f0e", linestyle="--", linewidth=1, label=f"paper F1 ({paper:.2f})"
            )
        where = "undefended" if defense == "none" else f"{defense} ({threat})"
        norm = part["norm"].iloc[0] if "norm" in part else "linf"
        ax.set(
            ylim=(0, 1.02),
            xlabel=f"ε ({NORM_NAMES.get(norm, norm)} budget, pixel units)",
            ylabel="robust accuracy / adv. F1",
            title=f"{label}: {where}",
        )
        ax.grid(True, linestyle="--", color="lightgrey")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
