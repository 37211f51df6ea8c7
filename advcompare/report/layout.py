"""The report as a list of blocks: a fidelity summary, then a section per dataset.

The words that name attacks (which attacks are minimum-norm, which have ε curves) come from
their records (``advcompare.attacks.spec``), never from this module."""

from __future__ import annotations

from typing import Any

import pandas as pd

from advcompare.analysis.curves import NormGroup
from advcompare.analysis.statistics import DEFAULT_CONFIDENCE
from advcompare.attacks.spec import ATTACKS
from advcompare.config.checks import low_accuracy_warning
from advcompare.paper.reference import paper_value
from advcompare.paper.verdict import DEFAULT_TOLERANCE, NO_FIGURE, summary_line
from advcompare.report.blocks import (
    LEVEL,
    REGENERATE,
    Block,
    figure,
    heading,
    level_text,
    paragraph,
    table,
)
from advcompare.report.claim_tables import claim_frame
from advcompare.report.curve_blocks import curve_blocks
from advcompare.report.defense_tables import defense_blocks
from advcompare.report.library_blocks import (
    agreement_blocks,
    library_blocks,
    ranking_blocks,
    seed_blocks,
)
from advcompare.report.retraining_blocks import retraining_blocks
from advcompare.report.tables import (
    attack_frame,
    cost_frame,
    eps_curve_names,
    fidelity_frame,
    how_cells_ran_frame,
    minimum_norm_names,
    outcome_frame,
)
from advcompare.results import main_cells
from advcompare.storage.store import ResultStore

PAPER_CITATION = (
    "Campbell & Lasselle, *Enhancing the Robustness of Deep Neural Networks*, WPI MQP 2024"
)


def _model_text(summary: dict[str, Any]) -> str:
    """The paper CNN, or a user's model (``model``/``weights`` in the config)."""
    if not summary.get("model"):
        return "paper CNN"
    return (
        f"`{summary['model']}` with weights `{summary.get('weights', '?')}` "
        f"(sha256 `{str(summary.get('weights_sha256', ''))[:12]}`; loaded, not trained)"
    )


def _dataset_header(name: str, record: dict[str, Any] | None) -> list[Block]:
    """A dataset's heading: its data, model and clean prediction time."""
    blocks = [heading(2, name)]
    if record is None:
        return blocks
    s, clean = record["summary"], record["clean"]
    paper_time = paper_value(name, "none", "prediction_time")
    warning = low_accuracy_warning(clean.get("clean_accuracy"), int(s.get("num_classes", 10)))
    if warning:
        blocks.append(paragraph(f"**Warning: {warning}.**"))
    blocks.append(
        paragraph(
            "\n".join(
                [
                    f"- Data: {s['source']}; train/validation/test = {s['n_train']}/{s['n_val']}/"
                    f"{s['n_test']} (split seed {s['split_seed']}, "
                    f"fingerprint `{s['fingerprint']}`).",
                    f"- Model: {_model_text(s)}, cache key `{record['model_key']}`; clean macro F1 "
                    f"{clean['clean_f1']:.3f}, accuracy {clean['clean_accuracy']:.3f} on the "
                    f"{clean['n']} attacked test images.",
                    f"- Prediction time: {clean['prediction_time_per_image'] * 1e3:.3f} ms/image"
                    + (
                        f" (paper Table 2: {paper_time * 1e3:.0f} ms/image)." if paper_time else "."
                    ),
                ]
            )
        )
    )
    return blocks


def _fidelity_blocks(frame: pd.DataFrame, tolerance: float, level: str = LEVEL) -> list[Block]:
    """The opening summary: per dataset, every cell's verdict against the paper (one line
    when none of the run's attacks is one of the paper's, as in the attack atlas)."""
    main = main_cells(frame)
    if not any(ATTACKS[a].paper for a in set(main["attack"]) if a in ATTACKS):
        return [
            heading(2, "Fidelity to the paper"),
            paragraph(
                "None of this run's attacks is one of the paper's (I-FGSM, DeepFool, CW, "
                "pixel swap), so no cell has a paper figure to compare with."
            ),
        ]
    blocks = [
        heading(2, "Fidelity to the paper"),
        paragraph(
            f"A cell *reproduces* the paper when the paper's adversarial macro F1 (Tables 3, "
            f"5, 7, 9) lies inside the cell's {level} bootstrap interval widened by "
            f"{tolerance:.2f} on each side and the interval alone is at most "
            f"{2 * tolerance:.2f} wide; it is *inconclusive* when the paper's figure lies inside "
            f"but the interval is wider (the cause says how many images would settle it); "
            f"otherwise it *differs*, with the most specific documented cause (a library's "
            f"semantics, a parameter the paper does not give, data that is not the paper's). "
            f"Gap = our F1 − paper F1. How verdicts and causes are decided: `docs/fidelity.md`."
        ),
    ]
    for name, part in main.groupby("dataset", sort=False):
        shown = part[(part.defense == "none") | (part.verdict != NO_FIGURE)]
        hidden = len(part) - len(shown)
        blocks.append(heading(3, f"{name}"))
        if (shown.verdict != NO_FIGURE).any():
            blocks.append(paragraph(f"**{summary_line(shown.verdict, tolerance, level)}.**"))
        else:
            cause = next((c for c in shown.verdict_cause if isinstance(c, str)), "")
            blocks.append(
                paragraph(
                    "No cell of this dataset has a paper figure" + (f": {cause}" if cause else ".")
                )
            )
        if len(shown):
            blocks.append(
                table(
                    fidelity_frame(shown, level),
                    f"{name}: adversarial F1 against the paper's (tolerance {tolerance:.2f})",
                    wide=("cause",),
                )
            )
        if hidden:
            which = (
                "1 cell on a defended classifier has"
                if hidden == 1
                else f"{hidden} cells on defended classifiers have"
            )
            blocks.append(
                paragraph(
                    f"{which} no paper figure: the paper reports F1 under "
                    f"defenses only as bar charts (Figures 12-18)."
                )
            )
    return blocks


def _warnings(datasets: dict[str, dict[str, Any]]) -> list[Block]:
    """The report's first lines: every dataset whose model is mostly wrong before attacks."""
    lines = []
    for name, record in datasets.items():
        clean, summary = record.get("clean", {}), record.get("summary", {})
        warning = low_accuracy_warning(
            clean.get("clean_accuracy"), int(summary.get("num_classes", 10))
        )
        if warning:
            lines.append(f"- **{name}**: {warning}.")
    return [paragraph("\n".join(lines))] if lines else []


def cost_note(part: pd.DataFrame) -> str:
    """What the cost table's times can be compared with: cells that shared the cores with
    other cells (concurrency above 1) are not comparable with a serial run's."""
    at_once = pd.to_numeric(part.get("concurrency", pd.Series(dtype=float)), errors="coerce")
    most = int(at_once.max()) if at_once.notna().any() else 1
    if most > 1:
        when = (
            f"These cells ran up to {most} at a time, sharing the machine's cores (\"How each "
            'cell ran", at the end): their per-image times are not comparable with a serial '
            "run's."
        )
    else:
        when = (
            'Each cell ran alone ("How each cell ran", at the end), so the per-image times '
            "compare across rows."
        )
    return (
        f"{when} forward/image counts the model queries per image: the budget decision- and "
        "score-based attacks spend."
    )


def claim_blocks(claims: pd.DataFrame | None, level: str = LEVEL) -> list[Block]:
    """The paper's defense findings, claim by claim, under both threat models."""
    if claims is None or not len(claims) or (claims["verdict"] == "not run").all():
        return []
    counts = claims["verdict"].value_counts()
    tally = ", ".join(f"{counts[v]} {v}" for v in counts.index)
    return [
        heading(2, "The paper's defense claims"),
        paragraph(
            "Each finding of §3.5-3.6 as data (`advcompare/resources/paper_claims.toml`), judged "
            "per dataset and threat model: *oblivious* (examples crafted on the undefended model)"
            " and *adaptive* (per cell the worst case, the stronger of the white-box attack on "
            "the defended model and the transfer attack). Claims about DeepFool and CW, which "
            "have no budget, are judged at each L2 budget (an example beyond it leaves the clean "
            "prediction) and unbounded. A claim is *supported* when every condition (or k of n, "
            f"for the paper's \"most\") holds at its {level} interval's pessimistic end, "
            "*contradicted* when one fails even at the optimistic end, *inconclusive* in between,"
            " *by construction* when the defense cannot change the figure, *not run* when the run"
            " lacks its cells or datasets. Intervals: a paired bootstrap over the attacked "
            "images, never narrower than the exact interval of the per-image outcomes (Wilson's "
            "for one cell, Tango's for a paired difference); a paired difference claimed against "
            f"0 also needs McNemar's exact test at the same {level} level. Each condition is "
            "tested on its own: no correction for the many claims in this table (not Holm), so "
            "read one supported verdict among many with that in mind. Thresholds for the paper's "
            "words: `docs/defenses.md`; the last column says whether a verdict holds at half and "
            f"1.5 times them. This run (claims × datasets × threat models × budgets): {tally}."
        ),
        table(
            claim_frame(claims),
            "The paper's defense claims",
            wide=("the paper's words", "deciding figure"),
            one_page=True,
        ),
    ]


def provenance_blocks(record: dict[str, Any] | None, datasets: dict[str, Any]) -> list[Block]:
    """The closing section: what a reader needs to reproduce the run."""
    if not record:
        return []
    versions = ", ".join(f"{k} {v}" for k, v in record.get("versions", {}).items())
    commit = record.get("git_commit") or "not run from a git checkout"
    lines = [
        f"- advcompare {record.get('advcompare')} (commit `{commit}`).",
        f"- Libraries: {versions}.",
        f"- Device: {record.get('device')} ({record.get('device_name')}), "
        f"{record.get('torch_threads')} torch threads.",
        f"- Seeds: splits and attacked images {record.get('seed')}; training "
        f"{', '.join(str(s) for s in record.get('seeds', []))}.",
    ]
    for name, rec in datasets.items():
        summary = rec.get("summary", {})
        lines.append(
            f"- {name}: data fingerprint `{summary.get('fingerprint')}`, weights SHA-256 "
            f"`{summary.get('weights_sha256')}`."
        )
    lines.append("- The resolved config is in `results.json` (`provenance.config`).")
    return [heading(2, "Reproducibility"), paragraph("\n".join(lines))]


def _intro_blocks(title: str, datasets: dict[str, dict[str, Any]], frame: pd.DataFrame) -> list:
    """The title, data warnings, what was reproduced and how to read the figures."""
    return [
        heading(1, title),
        *_warnings(datasets),
        paragraph(
            (
                f"Reproduction of {PAPER_CITATION}."
                if "paper_f1" in frame and frame["paper_f1"].notna().any()
                else "The same attacks from several libraries on one model and one set of "
                f"images (no cell has a figure of {PAPER_CITATION})."
            )
            + " Rendered by advcompare from "
            f"`{ResultStore.FILENAME}`; regenerate with `{REGENERATE}` (also writes "
            f"`report.tex`, LaTeX booktabs tables, and every figure as PNG and PDF)."
        ),
        paragraph(
            "Adversarial F1 is macro F1 on the attacked test images (paper §3.2); success is "
            "the share of initially correct images the attack made wrong; norms are medians "
            "over successful images (pixel units, 3×32×32 inputs in [0, 1]). "
            "'attack+predict' is comparable to the paper's per-attack prediction time "
            "(Tables 4, 6, 8, 10)."
        ),
    ]


def _attack_blocks(name: str, part: pd.DataFrame, everything: pd.DataFrame, level: str) -> list:
    """The undefended model's attacks table, per-image outcomes and cost."""
    if not len(part):
        return []
    return [
        heading(3, "Attacks (undefended model)" if len(part) < len(everything) else "Attacks"),
        paragraph(
            f"Intervals: {level} bootstrap over the attacked images (percentile; "
            "`docs/statistics.md`). Medians are lower medians over the n fooled images."
        ),
        table(attack_frame(part, level), f"{name}: adversarial F1, success and perturbation size"),
        heading(3, "What happened to each image"),
        table(outcome_frame(part), f"{name}: per-image outcomes of each cell"),
        heading(3, "Cost"),
        paragraph(cost_note(part)),
        table(cost_frame(part), f"{name}: time and model passes per image"),
    ]


def _backend_notes(everything: pd.DataFrame) -> list:
    notes_md = [
        f"- **{r.label}** ({r.backend}"
        f"{'' if r.defense == 'none' else ', ' + r.defense + ' ' + r.threat}): "
        f"{r.notes}"
        for r in everything.itertuples()
        if r.notes
    ]
    return [heading(3, "Backend notes"), paragraph("\n".join(notes_md))] if notes_md else []


def _closing_blocks(
    figures: dict[str, dict[str, str]],
    provenance: dict[str, Any] | None,
    datasets: dict[str, dict[str, Any]],
    main: pd.DataFrame,
) -> list:
    """The other figures, the provenance record and how each cell ran."""
    others = figures.get("other", {})
    blocks = [heading(2, "Figures")] if others else []
    blocks += [figure(stem, caption) for stem, caption in others.items()]
    blocks += provenance_blocks(provenance, datasets)
    return blocks + [
        heading(3, "How each cell ran"),
        table(how_cells_ran_frame(main), "Executor, cells at once and output checks per cell"),
    ]


def report_blocks(
    frame: pd.DataFrame,
    datasets: dict[str, dict[str, Any]],
    title: str,
    agreement: pd.DataFrame | None = None,
    defenses: dict[tuple[str, str], dict] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    curves: tuple[list[NormGroup], pd.DataFrame, list[str], pd.DataFrame] | None = None,
    figures: dict[str, dict[str, str]] | None = None,
    conclusions: pd.DataFrame | None = None,
    seeds: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    provenance: dict[str, Any] | None = None,
    claims: pd.DataFrame | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    ranking: pd.DataFrame | None = None,
    retraining: pd.DataFrame | None = None,
) -> list[Block]:
    """The whole report: the fidelity summary, then a section per dataset."""
    figures = figures or {}
    groups, norm_table, notes, eps = curves or ([], pd.DataFrame(), [], pd.DataFrame())
    spread, versus = seeds or (pd.DataFrame(), pd.DataFrame())
    level = level_text(confidence)  # the run's [statistics] confidence
    blocks = _intro_blocks(title, datasets, frame)
    blocks += library_blocks(conclusions, level)
    blocks += claim_blocks(claims, level)
    blocks += retraining_blocks(retraining, level)
    blocks += _fidelity_blocks(frame, tolerance, level)
    main = main_cells(frame)
    names = (minimum_norm_names(main["attack"]), eps_curve_names(frame))
    for name, everything in main.groupby("dataset", sort=False):
        blocks += _dataset_header(name, datasets.get(name))
        blocks += _attack_blocks(name, everything[everything.defense == "none"], everything, level)
        pairs = None
        if agreement is not None and len(agreement):
            pairs = agreement[agreement["dataset"] == name]
        blocks += agreement_blocks(name, pairs)
        blocks += seed_blocks(name, spread, versus)
        blocks += curve_blocks(name, groups, norm_table, notes, eps, figures, names)
        blocks += ranking_blocks(name, ranking, level)
        records = {d: rec for (ds, d), rec in (defenses or {}).items() if ds == name}
        blocks += defense_blocks(name, everything, records)
        blocks += _backend_notes(everything)
    return blocks + _closing_blocks(figures, provenance, datasets, main)
