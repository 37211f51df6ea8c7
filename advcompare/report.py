"""Reports rendered from stored results: Markdown (pandas + tabulate), CSV, JSON and PNG.

Results are data (one row per cell in the SQLite store, as RobustBench keeps one JSON per
model); every table here is rendered from them, never typed in. The paper's figure for a cell
stands beside ours wherever the paper reports one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from advcompare.agreement import agreement_frame
from advcompare.paper import paper_value
from advcompare.store import ResultStore

PAPER_CITATION = ("Campbell & Lasselle, *Enhancing the Robustness of Deep Neural Networks*, "
                  "WPI MQP 2024")


def results_frame(cells: list[dict[str, Any]]) -> pd.DataFrame:
    """One flat row per cell: identity, spec, notes, every metric and the paper's figures."""
    rows = []
    for cell in cells:
        m = cell["metrics"]
        rows.append({
            "key": cell["key"],
            "dataset": cell["dataset"], "defense": cell.get("defense", "none"),
            "threat": cell.get("threat", "adaptive"),
            "label": cell["label"], "attack": cell["attack"],
            "backend": cell["backend"],
            "spec": json.dumps({k: v for k, v in cell["spec"].items() if k != "attack"}),
            "notes": "; ".join(cell["notes"]),
            **m,
            "paper_f1": paper_value(cell["dataset"], cell["attack"], "f1",
                                    cell.get("defense", "none")),
            "paper_time_per_image_reported": paper_value(cell["dataset"], cell["attack"],
                                                         "prediction_time",
                                                         cell.get("defense", "none")),
        })
    return pd.DataFrame(rows)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ms(value: Any) -> str:
    return "—" if value is None or value != value else f"{value * 1e3:.2f}"


def _markdown(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def attack_table(frame: pd.DataFrame) -> str:
    """Per-attack F1, success and perturbation size, the paper's F1 beside ours."""
    table = pd.DataFrame({
        "attack": frame["label"],
        "backend": frame["backend"],
        "clean F1": frame["clean_f1"].map(_fmt),
        "adv. F1": frame["adv_f1"].map(_fmt),
        "paper F1": frame["paper_f1"].map(_fmt),
        "ΔF1": frame["delta_f1"].map(_fmt),
        "success": frame["success_rate"].map(lambda v: _fmt(v * 100, 1) + "%"
                                             if v == v else "—"),
        "median L2": frame["l2_median"].map(_fmt),
        "median L∞": frame["linf_median"].map(_fmt),
        "median L0": frame["l0_median"].map(lambda v: _fmt(v, 0)),
    })
    return _markdown(table)


def cost_table(frame: pd.DataFrame) -> str:
    """Per-attack time per image (ours and the paper's) and model passes per image."""
    table = pd.DataFrame({
        "attack": frame["label"],
        "backend": frame["backend"],
        "attack ms/image": frame["attack_time_per_image"].map(_ms),
        "attack+predict ms/image": frame["paper_time_per_image"].map(_ms),
        "paper ms/image": frame["paper_time_per_image_reported"].map(_ms),
        "forward/image": frame["forward_per_image"].map(lambda v: _fmt(v, 1)),
        "backward/image": frame["backward_per_image"].map(lambda v: _fmt(v, 1)),
        "outputs valid": frame["output_valid"].map(lambda v: "yes" if v else "NO"),
    })
    return _markdown(table)


def agreement_table(frame: pd.DataFrame) -> str:
    """Pairwise backend agreement: outcomes on the same images and distance between them."""
    pct = lambda v: _fmt(v * 100, 1) + "%"  # noqa: E731
    table = pd.DataFrame({
        "attack": frame["attack"],
        "backends": frame["first"] + " vs " + frame["second"],
        "both succeed": frame["both_succeed"].map(pct),
        "both fail": frame["both_fail"].map(pct),
        "only first": frame["only_first"].map(pct),
        "only second": frame["only_second"].map(pct),
        "mean L2 between": frame["mean_l2_between"].map(_fmt),
        "max L∞ between": frame["max_linf_between"].map(lambda v: f"{v:.2g}"),
    })
    return _markdown(table)


def defense_f1_table(part: pd.DataFrame, defenses: dict[str, dict]) -> str:
    """Adversarial F1 of every attack (rows) under every defense and threat (columns)."""
    columns = list(dict.fromkeys(
        f"{d}" if d == "none" else f"{d} ({t})" for d, t in zip(part.defense, part.threat)))
    rows = {}
    clean = {"attack": "no attack (clean F1)"}
    for r in part.itertuples():
        column = r.defense if r.defense == "none" else f"{r.defense} ({r.threat})"
        row = rows.setdefault((r.label, r.backend), {"attack": f"{r.label} ({r.backend})"})
        row[column] = _fmt(r.adv_f1)
        record = defenses.get(r.defense)
        if record:
            clean[column] = _fmt(record["clean"]["clean_f1"])
    table = pd.DataFrame([clean, *rows.values()], columns=["attack", *columns]).fillna("—")
    return _markdown(table)


def defense_time_table(part: pd.DataFrame, defenses: dict[str, dict], dataset: str) -> str:
    """Time per image after each defense, ours beside the paper's (Tables 11-14), in ms."""
    names = list(dict.fromkeys(part.defense))
    header = ["attack"] + [f"{d} {who}" for d in names for who in ("ours", "paper")]
    rows = [["no attack"] + [v for d in names for v in (
        _ms(defenses[d]["clean"]["prediction_time_per_image"]) if d in defenses else "—",
        _ms(paper_value(dataset, "none", "prediction_time", d)))]]
    adaptive = part[part.threat == "adaptive"]
    for (label, backend), group in adaptive.groupby(["label", "backend"], sort=False):
        by_defense = {r.defense: r for r in group.itertuples()}
        rows.append([f"{label} ({backend})"] + [v for d in names for v in (
            _ms(by_defense[d].paper_time_per_image) if d in by_defense else "—",
            _ms(by_defense[d].paper_time_per_image_reported) if d in by_defense else "—")])
    return _markdown(pd.DataFrame(rows, columns=header))


def _dataset_header(name: str, record: dict[str, Any] | None) -> list[str]:
    lines = [f"## {name}", ""]
    if record is None:
        return lines
    s, clean = record["summary"], record["clean"]
    paper_time = paper_value(name, "none", "prediction_time")
    lines += [
        f"- Data: {s['source']}; train/validation/test = {s['n_train']}/{s['n_val']}/"
        f"{s['n_test']} (split seed {s['split_seed']}, fingerprint `{s['fingerprint']}`).",
        f"- Model: paper CNN, cache key `{record['model_key']}`; clean macro F1 "
        f"{clean['clean_f1']:.3f}, accuracy {clean['clean_accuracy']:.3f} on the "
        f"{clean['n']} attacked test images.",
        f"- Prediction time: {clean['prediction_time_per_image'] * 1e3:.3f} ms/image"
        + (f" (paper Table 2: {paper_time * 1e3:.0f} ms/image)." if paper_time else "."),
        "",
    ]
    return lines


def render_markdown(frame: pd.DataFrame, datasets: dict[str, dict[str, Any]],
                    title: str, agreement: pd.DataFrame | None = None,
                    defenses: dict[tuple[str, str], dict] | None = None) -> str:
    """The whole report: a section per dataset with its attack and cost tables."""
    out = [f"# {title}", "",
           f"Reproduction of {PAPER_CITATION}. Rendered by advcompare from "
           f"`{ResultStore.FILENAME}`; regenerate with `advcompare report <run-dir>`.", "",
           "Adversarial F1 is macro F1 on the attacked test images (paper §3.2); success is "
           "the share of initially correct images the attack made wrong; norms are medians "
           "over successful images (pixel units, 3×32×32 inputs in [0, 1]). "
           "'attack+predict' is comparable to the paper's per-attack prediction time "
           "(Tables 4, 6, 8, 10).", ""]
    for name, everything in frame.groupby("dataset", sort=False):
        part = everything[everything.defense == "none"]
        out += _dataset_header(name, datasets.get(name))
        if len(part):
            out += ["### Attacks (undefended model)" if len(part) < len(everything)
                    else "### Attacks", "", attack_table(part), "",
                    "### Cost", "", cost_table(part), ""]
        pairs = (agreement[agreement["dataset"] == name]
                 if agreement is not None and len(agreement) else None)
        if pairs is not None and len(pairs):
            out += ["### Agreement between backends", "",
                    "Shares of the initially correct images; distances over all attacked "
                    "images.", "", agreement_table(pairs), ""]
        records = {d: rec for (ds, d), rec in (defenses or {}).items() if ds == name}
        if set(everything.defense) - {"none"}:
            flags = [f"- **{d}**: {', '.join(rec['preflight']) or 'no flags'}"
                     for d, rec in records.items()]
            out += ["### Defenses: adversarial F1", "",
                    "Columns are defense (threat model): *oblivious* attacks the undefended "
                    "model and the defended one classifies; *adaptive* attacks the defended "
                    "pipeline (with EOT where its gradients are random).", "",
                    defense_f1_table(everything, records), "",
                    "### Defenses: attack + prediction time per image (ms), paper Tables 11-14",
                    "", defense_time_table(everything, records, name), "",
                    "### Preflight checks (before attacking)", "", *flags, ""]
        notes = [f"- **{r.label}** ({r.backend}{'' if r.defense == 'none' else ', ' + r.defense + ' ' + r.threat}): {r.notes}"
                 for r in everything.itertuples() if r.notes]
        if notes:
            out += ["### Backend notes", "", *notes, ""]
    out += ["Figures: `f1_by_attack.png` (adversarial F1, ours vs. the paper), "
            "`f1_by_defense.png` (with defenses: F1 per defense and attack, paper Figures "
            "12-18), `example_7_<dataset>.png` (one test 7 under each attack with the top-3 "
            "confidences, paper Figures 7-11), `training/<dataset>_loss.png` (loss curves).",
            ""]
    return "\n".join(out)


def plot_f1(frame: pd.DataFrame, path: Path) -> None:
    """Grouped bars per dataset: clean, adversarial and the paper's F1 for each attack."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = list(frame.groupby("dataset", sort=False))
    width = max(5.5, 0.75 * max(len(part) for _, part in groups) + 1.5)
    fig, axes = plt.subplots(1, len(groups), figsize=(width * len(groups), 4.4), squeeze=False)
    for ax, (name, part) in zip(axes[0], groups):
        labels = [f"{r.label}\n({r.backend})" for r in part.itertuples()]
        pos = np.arange(len(part))
        ax.bar(pos - 0.27, part["clean_f1"], 0.27, label="clean", color="#bbbbbb")
        ax.bar(pos, part["adv_f1"], 0.27, label="adversarial (ours)", color="#1f77b4")
        paper = part["paper_f1"].astype(float).fillna(0.0)
        ax.bar(pos + 0.27, paper, 0.27, label="adversarial (paper)", color="#ff7f0e")
        ax.set_xticks(pos, labels, fontsize=8, rotation=35 if len(part) > 5 else 0,
                      ha="right" if len(part) > 5 else "center")
        ax.set(ylim=(0, 1.05), ylabel="macro F1", title=name)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_defenses(frame: pd.DataFrame, path: Path) -> None:
    """Per dataset, adversarial F1 of each attack under each defense (paper Figures 12-18)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = list(frame.groupby("dataset", sort=False))
    fig, axes = plt.subplots(len(groups), 1, figsize=(11, 4 * len(groups)), squeeze=False)
    for ax, (name, part) in zip(axes[:, 0], groups):
        part = part.assign(column=[d if d == "none" else f"{d} ({t})"
                                   for d, t in zip(part.defense, part.threat)],
                           row=[f"{a}\n({b})" for a, b in zip(part.label, part.backend)])
        table = part.pivot_table(index="row", columns="column", values="adv_f1", sort=False)
        width = 0.8 / max(len(table.columns), 1)
        pos = np.arange(len(table.index))
        for i, column in enumerate(table.columns):
            ax.bar(pos + i * width - 0.4 + width / 2, table[column].fillna(0), width,
                   label=column)
        ax.set_xticks(pos, table.index, fontsize=8)
        ax.set(ylim=(0, 1.05), ylabel="adversarial macro F1", title=name)
        ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(run_dir: Path, keys: list[str] | None = None,
                 title: str | None = None) -> Path:
    """Render ``report.md``, ``results.csv``, ``results.json`` and ``f1_by_attack.png``."""
    run_dir = Path(run_dir)
    with ResultStore(run_dir) as store:
        cells = store.cells(keys)
        datasets = store.datasets()
        defenses = store.defenses()
        name = store.meta("name") or run_dir.name
    if not cells:
        from advcompare.errors import AdvCompareError

        raise AdvCompareError(f"no stored results in '{run_dir}'; run `advcompare run` first")
    frame = results_frame(cells)
    frame.to_csv(run_dir / "results.csv", index=False)
    (run_dir / "results.json").write_text(json.dumps(
        {"paper": PAPER_CITATION, "datasets": datasets,
         "cells": json.loads(frame.to_json(orient="records"))}, indent=2))
    plot_f1(frame[frame.defense == "none"] if (frame.defense == "none").any() else frame,
            run_dir / "f1_by_attack.png")
    if set(frame.defense) - {"none"}:
        plot_defenses(frame, run_dir / "f1_by_defense.png")
    agreement = agreement_frame(frame, run_dir)
    if len(agreement):
        agreement.to_csv(run_dir / "agreement.csv", index=False)
    report = run_dir / "report.md"
    report.write_text(render_markdown(frame, datasets, title or f"advcompare: {name}",
                                      agreement, defenses))
    return report
