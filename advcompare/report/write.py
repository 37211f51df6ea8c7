"""A run directory's report: read the store, write the tables (CSV, JSON), every figure
(PNG and PDF), ``report.md`` and ``report.tex``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _StoredRun:
    """What a report reads from a run's store besides its per-image samples."""

    cells: list[Any]
    datasets: dict[str, Any]
    defenses: dict[tuple[str, str], dict]
    name: str
    tolerance: float
    headline: int
    seed_models: dict[int, Any]
    provenance: dict[str, Any] | None
    statistics: dict[str, Any]
    claim_budgets: tuple[float, ...]

    def _stat(self, key: str, default: float) -> float:
        """A ``[statistics]`` setting of the run (its default where the run stored none)."""
        return float(self.statistics.get(key, default))

    @property
    def alpha(self) -> float:
        return self._stat("alpha", DEFAULT_ALPHA)

    @property
    def confidence(self) -> float:
        return self._stat("confidence", DEFAULT_CONFIDENCE)

    @property
    def margin(self) -> float:
        return self._stat("margin", DEFAULT_MARGIN)

    @property
    def max_cost_ratio(self) -> float:
        return self._stat("max_cost_ratio", DEFAULT_MAX_COST_RATIO)

    @property
    def resamples(self) -> int:
        return int(self._stat("resamples", DEFAULT_RESAMPLES))


def _read_store(run_dir: Path, keys: list[str] | None, tolerance: float | None) -> _StoredRun:
    """The cells of ``keys`` (the run's latest command when None) and the run's records."""
    with ResultStore(run_dir) as store:
        if keys is None:  # the cells of the run's latest command, not every cell ever stored
            current = store.meta("current_keys")
            keys = json.loads(current) if current else None
        cells = store.cells(keys)
        if not cells:
            raise AdvCompareError(f"no stored results in '{run_dir}'; run `advcompare run` first")
        return _StoredRun(
            cells=cells,
            datasets=store.datasets(),
            defenses=store.defenses(),
            name=store.meta("name") or run_dir.name,
            tolerance=tolerance_from_meta(store.meta("fidelity_tolerance"))
            if tolerance is None
            else tolerance,
            headline=store.primary_seed(),
            seed_models={s: store.datasets(s) for s in store.seeds()},
            provenance=json.loads(store.meta("provenance") or "null"),
            statistics=json.loads(store.meta("statistics") or "{}"),
            claim_budgets=tuple(json.loads(store.meta("claim_budgets") or "[1.0, 2.0]")),
        )


def _paper_frames(
    main: pd.DataFrame, samples: Callable[[str], Any], run: _StoredRun
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The paper's defense claims judged on the grid, and the oblivious gains against plain
    retraining, where the run has the cells for them."""
    resamples, confidence = run.resamples, run.confidence
    seed = int((run.provenance or {}).get("seed", 0))
    claims = retraining = None
    if set(main.defense) - {"none"}:
        claims = claims_frame(main, samples, resamples, confidence, seed, budgets=run.claim_budgets)
    if RETRAINED in set(main.defense):
        retraining = retraining_frame(main, samples, resamples, confidence, seed)
    return claims, retraining


def _records(frame: pd.DataFrame | None) -> list[Any]:
    return json.loads(frame.to_json(orient="records")) if frame is not None and len(frame) else []


def _write_data(run_dir: Path, run: _StoredRun, frames: dict[str, pd.DataFrame | None]) -> None:
    """Every table as CSV (``results``, ``seeds``, ``optimality``, ``ranking``, ``eps_curves``,
    ``claims``, ``retraining``: those with rows) and ``results.json``."""
    files = {
        "results": "results.csv",
        "spread": "seeds.csv",
        "optimality": "optimality.csv",
        "ranking": "ranking.csv",
        "eps": "eps_curves.csv",
        "claims": "claims.csv",
        "retraining": "retraining.csv",
    }
    for key, file in files.items():
        table = frames[key]
        if table is not None and (len(table) or key in ("results", "claims", "retraining")):
            table.to_csv(run_dir / file, index=False)
    claims = frames["claims"]
    document = {
        "paper": PAPER_CITATION,
        "fidelity_tolerance": run.tolerance,
        "datasets": run.datasets,
        "provenance": run.provenance,
        "models_by_seed": {str(k): v for k, v in run.seed_models.items()},
        "cells": _records(frames["results"]),
        "seed_spread": _records(frames["spread"]),
        "optimality": _records(frames["optimality"]),
        "eps_curves": _records(frames["eps"]),
        "ranking": _records(frames["ranking"]),
        **({} if claims is None else {"claims": _records(claims)}),
    }
    (run_dir / "results.json").write_text(json.dumps(document, indent=2))


def _draw_figures(
    run_dir: Path, frame: pd.DataFrame, main: pd.DataFrame, l2_groups: list, eps: pd.DataFrame
) -> dict[str, dict[str, str]]:
    """Every figure (PNG and PDF) and, per kind, the stems the report embeds."""
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
    return figures


def _library_answers(
    run_dir: Path, run: _StoredRun, frame: pd.DataFrame, main: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per pair of backends the paired tests and effect sizes, and per attack the answer
    with its control (``agreement.csv``, ``library_differences.csv``)."""
    alpha, confidence = run.alpha, run.confidence
    agreement = agreement_frame(main, run_dir, alpha, confidence)
    conclusions = attack_conclusions(
        agreement,
        alpha,
        run.margin,
        run.max_cost_ratio,
    )
    conclusions = judge_controls(conclusions, frame, run_dir, alpha, confidence)
    if len(agreement):
        agreement.to_csv(run_dir / "agreement.csv", index=False)
        conclusions.to_csv(run_dir / "library_differences.csv", index=False)
    return agreement, conclusions


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
    run = _read_store(run_dir, keys, tolerance)
    samples = lambda key: load_samples(run_dir, key)  # noqa: E731
    every_seed = with_worst_case(results_frame(run.cells, run.tolerance), samples, run.alpha)
    spread = seed_spread(every_seed)
    frame = every_seed[every_seed["seed"] == run.headline]
    if not len(frame):  # a store whose cells are all of another seed
        frame = every_seed
    main = main_cells(frame)
    groups, notes = norm_groups(frame, run_dir)  # every norm; the L2 curves and table show L2
    norm_table = optimality_frame(groups, confidence=run.confidence)
    ranking = ranking_frame(frame, norm_table, run.max_cost_ratio)
    l2_groups = [g for g in groups if g.norm == "l2"]
    l2_table = norm_table[norm_table["norm"] == "l2"] if len(norm_table) else norm_table
    eps = eps_curve_frame(frame)
    claims, retraining = _paper_frames(main, samples, run)
    tables = {"results": every_seed, "spread": spread, "optimality": norm_table}
    tables |= {"ranking": ranking, "eps": eps, "claims": claims, "retraining": retraining}
    _write_data(run_dir, run, tables)
    figures = _draw_figures(run_dir, frame, main, l2_groups, eps)
    agreement, conclusions = _library_answers(run_dir, run, frame, main)
    blocks = report_blocks(
        frame,
        run.datasets,
        title or f"advcompare: {run.name}",
        agreement,
        run.defenses,
        run.tolerance,
        (l2_groups, l2_table, notes, eps),
        figures,
        conclusions,
        (spread, library_vs_seeds(spread)),
        run.provenance,
        claims,
        confidence=run.confidence,
        ranking=ranking,
        retraining=retraining,
    )
    (run_dir / "report.tex").write_text(render_latex(blocks, _slug(run.name)))
    report = run_dir / "report.md"
    report.write_text(render_markdown_blocks(blocks))
    return report
