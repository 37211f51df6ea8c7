"""A run directory's report: read the store, write the tables (CSV, JSON), every figure
(PNG and PDF), ``report.md`` and ``report.tex``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from advcompare.analysis.agreement import agreement_frame
from advcompare.analysis.comparison import attack_conclusions
from advcompare.analysis.controls import judge_controls
from advcompare.analysis.curves import norm_groups, optimality_frame
from advcompare.analysis.eps_curves import eps_curve_frame
from advcompare.analysis.ranking import ranking_frame
from advcompare.analysis.seeds import library_vs_seeds, seed_spread
from advcompare.analysis.statistics import (
    DEFAULT_ALPHA,
    DEFAULT_CONFIDENCE,
    DEFAULT_MARGIN,
    DEFAULT_MAX_COST_RATIO,
    DEFAULT_RESAMPLES,
)
from advcompare.defenses.worst_case import with_worst_case
from advcompare.errors import AdvCompareError
from advcompare.paper.claims import claims_frame
from advcompare.paper.grids import RETRAINED
from advcompare.paper.retraining import retraining_frame
from advcompare.paper.verdict import DEFAULT_TOLERANCE, judge_frame, tolerance_from_meta
from advcompare.report.figures import plot_defenses, plot_eps_curves, plot_f1, plot_norm_curves
from advcompare.report.latex import render_latex
from advcompare.report.layout import PAPER_CITATION, report_blocks
from advcompare.report.markdown import render_markdown_blocks
from advcompare.report.tables import eps_curve_names
from advcompare.results import main_cells, results_frame
from advcompare.storage.store import ResultStore, load_samples


def _images_of(main: pd.DataFrame, dataset: str) -> int:
    """Images attacked per cell of ``dataset`` (the largest, should cells differ)."""
    return int(main.loc[main["dataset"] == dataset, "n"].max())


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _other_figures(main: pd.DataFrame) -> list[tuple[str, str]]:
    """The figures besides the curves, (stem, caption), whether or not this run drew them."""
    out = [
        ("f1_by_attack", "Adversarial F1 per attack and backend, ours beside the paper's"),
        ("f1_by_defense", "Adversarial F1 per defense and attack (paper Figures 12-18)"),
    ]
    for dataset in dict.fromkeys(main.dataset):
        out += [
            (
                f"example_7_{dataset}",
                f"{dataset}: one test 7 under each attack with the top-3 confidences "
                f"(paper Figures 7-11)",
            ),
            (f"training/{dataset}_loss", f"{dataset}: training and validation loss"),
        ]
    return out


def _paper_f1_by_label(frame: pd.DataFrame, dataset: str) -> dict[str, float]:
    part = main_cells(frame)
    part = part[(part.dataset == dataset) & (part.defense == "none")]
    return {
        r.label: r.paper_f1
        for r in part.itertuples()
        if r.paper_f1 is not None and r.paper_f1 == r.paper_f1
    }


def render_markdown(
    frame: pd.DataFrame,
    datasets: dict[str, dict[str, Any]],
    title: str,
    agreement: pd.DataFrame | None = None,
    defenses: dict[tuple[str, str], dict] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    **kwargs: Any,
) -> str:
    """The whole report as Markdown (see :func:`~advcompare.report.layout.report_blocks`)."""
    if "verdict" not in frame:
        frame = pd.concat([frame, judge_frame(frame, tolerance)], axis=1)
    return render_markdown_blocks(
        report_blocks(frame, datasets, title, agreement, defenses, tolerance, **kwargs)
    )


def write_report(
    run_dir: Path,
    keys: list[str] | None = None,
    title: str | None = None,
    tolerance: float | None = None,
) -> Path:
    """Render ``report.md``, ``report.tex``, ``results.csv``/``.json``, the curve tables
    (``optimality.csv``, ``eps_curves.csv``), the implementation ranking (``ranking.csv``)
    and every figure (PNG and PDF).

    ``tolerance`` defaults to the run's (``fidelity_tolerance`` in the store), else 0.10.
    """
    run_dir = Path(run_dir)
    with ResultStore(run_dir) as store:
        if keys is None:  # the cells of the run's latest command, not every cell ever stored
            current = store.meta("current_keys")
            keys = json.loads(current) if current else None
        cells = store.cells(keys)
        datasets = store.datasets()
        defenses = store.defenses()
        name = store.meta("name") or run_dir.name
        if tolerance is None:
            tolerance = tolerance_from_meta(store.meta("fidelity_tolerance"))
        headline = store.primary_seed()
        seed_models = {s: store.datasets(s) for s in store.seeds()}
        provenance = json.loads(store.meta("provenance") or "null")
        statistics = json.loads(store.meta("statistics") or "{}")
        claim_budgets = tuple(json.loads(store.meta("claim_budgets") or "[1.0, 2.0]"))
        alpha = float(statistics.get("alpha", DEFAULT_ALPHA))
    if not cells:
        raise AdvCompareError(f"no stored results in '{run_dir}'; run `advcompare run` first")
    every_seed = with_worst_case(
        results_frame(cells, tolerance), lambda key: load_samples(run_dir, key), alpha
    )
    spread = seed_spread(every_seed)
    versus = library_vs_seeds(spread)
    frame = every_seed[every_seed["seed"] == headline]
    if not len(frame):  # a store whose cells are all of another seed
        frame = every_seed
    main = main_cells(frame)

    groups, notes = norm_groups(frame, run_dir)
    # every norm; the L2 curves and table show L2
    norm_table = optimality_frame(
        groups, confidence=float(statistics.get("confidence", DEFAULT_CONFIDENCE))
    )
    ranking = ranking_frame(
        frame,
        norm_table,
        float(statistics.get("max_cost_ratio", DEFAULT_MAX_COST_RATIO)),
    )
    l2_groups = [g for g in groups if g.norm == "l2"]
    l2_table = norm_table[norm_table["norm"] == "l2"] if len(norm_table) else norm_table
    eps = eps_curve_frame(frame)
    every_seed.to_csv(run_dir / "results.csv", index=False)
    if len(spread):
        spread.to_csv(run_dir / "seeds.csv", index=False)
    if len(norm_table):
        norm_table.to_csv(run_dir / "optimality.csv", index=False)
    if len(ranking):
        ranking.to_csv(run_dir / "ranking.csv", index=False)
    if len(eps):
        eps.to_csv(run_dir / "eps_curves.csv", index=False)
    claims = None
    if set(main.defense) - {"none"}:
        claims = claims_frame(
            main,
            lambda key: load_samples(run_dir, key),
            int(statistics.get("resamples", DEFAULT_RESAMPLES)),
            float(statistics.get("confidence", DEFAULT_CONFIDENCE)),
            int((provenance or {}).get("seed", 0)),
            budgets=claim_budgets,
        )
        claims.to_csv(run_dir / "claims.csv", index=False)
    retraining = None
    if RETRAINED in set(main.defense):
        retraining = retraining_frame(
            main,
            lambda key: load_samples(run_dir, key),
            int(statistics.get("resamples", DEFAULT_RESAMPLES)),
            float(statistics.get("confidence", DEFAULT_CONFIDENCE)),
            int((provenance or {}).get("seed", 0)),
        )
        retraining.to_csv(run_dir / "retraining.csv", index=False)
    claims_json = {} if claims is None else {"claims": json.loads(claims.to_json(orient="records"))}
    (run_dir / "results.json").write_text(
        json.dumps(
            {
                "paper": PAPER_CITATION,
                "fidelity_tolerance": tolerance,
                "datasets": datasets,
                "provenance": provenance,
                "models_by_seed": {str(k): v for k, v in seed_models.items()},
                "cells": json.loads(every_seed.to_json(orient="records")),
                "seed_spread": json.loads(spread.to_json(orient="records")) if len(spread) else [],
                "optimality": json.loads(norm_table.to_json(orient="records"))
                if len(norm_table)
                else [],
                "eps_curves": json.loads(eps.to_json(orient="records")) if len(eps) else [],
                "ranking": json.loads(ranking.to_json(orient="records")) if len(ranking) else [],
                **claims_json,
            },
            indent=2,
        )
    )

    undefended = main[main.defense == "none"]
    plot_f1(undefended if len(undefended) else main, run_dir / "f1_by_attack.png")
    if set(main.defense) - {"none"}:
        plot_defenses(main, run_dir / "f1_by_defense.png")
    figures: dict[str, dict[str, str]] = {"l2": {}, "eps": {}}
    attacks = ", ".join(eps_curve_names(frame))
    for dataset in dict.fromkeys(main.dataset):
        mine = [g for g in l2_groups if g.dataset == dataset]
        if mine:
            stem = f"l2_curves_{_slug(dataset)}"
            plot_norm_curves(mine, run_dir / f"{stem}.png", f"{dataset}: minimum-norm attacks")
            figures["l2"][dataset] = stem
        part = eps[eps["dataset"] == dataset] if len(eps) else eps
        if len(part):
            stem = f"eps_curves_{_slug(dataset)}"
            plot_eps_curves(
                part,
                run_dir / f"{stem}.png",
                f"{dataset}: {attacks + ' ' if attacks else ''}against ε "
                f"(n = {_images_of(main, dataset)} images per point)",
                _paper_f1_by_label(frame, dataset),
            )
            figures["eps"][dataset] = stem

    figures["other"] = {
        stem: caption
        for stem, caption in _other_figures(main)
        if (run_dir / f"{stem}.png").is_file() and (run_dir / f"{stem}.pdf").is_file()
    }

    confidence = float(statistics.get("confidence", DEFAULT_CONFIDENCE))
    agreement = agreement_frame(main, run_dir, alpha, confidence)
    conclusions = attack_conclusions(
        agreement,
        alpha,
        float(statistics.get("margin", DEFAULT_MARGIN)),
        float(statistics.get("max_cost_ratio", DEFAULT_MAX_COST_RATIO)),
    )
    conclusions = judge_controls(conclusions, frame, run_dir, alpha, confidence)
    if len(agreement):
        agreement.to_csv(run_dir / "agreement.csv", index=False)
        conclusions.to_csv(run_dir / "library_differences.csv", index=False)
    blocks = report_blocks(
        frame,
        datasets,
        title or f"advcompare: {name}",
        agreement,
        defenses,
        tolerance,
        (l2_groups, l2_table, notes, eps),
        figures,
        conclusions,
        (spread, versus),
        provenance,
        claims,
        confidence=confidence,
        ranking=ranking,
        retraining=retraining,
    )
    (run_dir / "report.tex").write_text(render_latex(blocks, _slug(name)))
    report = run_dir / "report.md"
    report.write_text(render_markdown_blocks(blocks))
    return report
