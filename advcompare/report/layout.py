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
from advcompare.report.blocks import LEVEL, Block, figure, heading, level_text, paragraph, table
from advcompare.report.retraining_blocks import retraining_blocks
from advcompare.report.tables import (
    OBFUSCATED_MARK,
    agreement_table_frame,
    attack_frame,
    attack_name,
    claim_frame,
    conclusion_frame,
    cost_frame,
    defense_f1_frame,
    defense_time_frame,
    eps_curve_names,
    eps_table_frame,
    fidelity_frame,
    how_cells_ran_frame,
    minimum_norm_names,
    norm_curve_frame,
    obfuscation_lines,
    outcome_frame,
    ranking_table_frame,
    seed_frame,
    where_label,
)
from advcompare.results import main_cells
from advcompare.storage.store import ResultStore

PAPER_CITATION = (
    "Campbell & Lasselle, *Enhancing the Robustness of Deep Neural Networks*, WPI MQP 2024"
)
REGENERATE = "advcompare report <run-dir>"


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


def _in_parentheses(names: list[str]) -> str:
    """Attack names in parentheses to follow a phrase (`` (DeepFool, CW)``), or nothing."""
    return f" ({', '.join(names)})" if names else ""


def _main_cells_phrase(names: list[str]) -> str:
    """The main cells of the attacks with ε curves, e.g. "The main I-FGSM cell and ..."."""
    if len(names) == 1:
        return f"The main {names[0]} cell and its ε-curve cells"
    if names:
        return f"The main {', '.join(names)} cells and their ε-curve cells"
    return "The main cell and its ε-curve cells"


def _envelope_text(groups: list[NormGroup]) -> str:
    """What each classifier's envelope is made of (with the strength reference, if run)."""
    if not groups:
        return ""
    kinds = list(dict.fromkeys(g.made_of for g in groups))
    made = (
        kinds[0] if len(kinds) == 1 else "; ".join(f"{g.classifier}: {g.made_of}" for g in groups)
    )
    if not any(g.has_reference for g in groups):
        return (
            " (no strength reference was run, so no cell is scored: the best of the run's "
            "own cells is no yardstick; set `[curves] reference = true`)"
        )
    return (
        ": Foolbox's FMN-L2 and DDN with a large step budget, never the compared cells (a "
        "reference cell is scored against the other reference). Envelope of " + made
    )


def _curve_blocks(
    name: str,
    groups: list[NormGroup],
    norm_table: pd.DataFrame,
    notes: list[str],
    eps: pd.DataFrame,
    figures: dict[str, dict[str, str]],
    names: tuple[list[str], list[str]],
) -> list[Block]:
    """The L2 curves of the minimum-norm attacks and the ε curves of one dataset;
    ``names``: the report names of the run's minimum-norm attacks and of its attacks with
    ε curves."""
    norm_names, eps_names = names
    blocks: list[Block] = []
    mine = [g for g in groups if g.dataset == name]
    if mine:
        part = norm_table[norm_table["dataset"] == name]
        blocks += [
            heading(3, "Attack strength: robust accuracy against the L2 budget"),
            paragraph(
                f"Minimum-norm attacks{_in_parentheses(norm_names)}, from the stored per-image "
                "L2 norms: an image is robust at budget ε if it was classified right and the "
                "attack failed or needed L2 > ε. Optimality is measured against the "
                "independent strength reference: its envelope is, per image, the smallest norm "
                "the reference cells found on the same classifier"
                + _envelope_text(mine)
                + ". Optimality (AttackBench, Cinà "
                "et al. 2024) = (W − A) / (W − A*), with A the area under the curve on "
                "[0, D], A* the envelope's, W = D × clean accuracy and D the envelope's "
                "largest finite norm: 1 = on the envelope, 0 = fools nothing. "
                f"Regenerate: `{REGENERATE}`."
            ),
            table(
                norm_curve_frame(part),
                f"{name}: robust accuracy at L2 budgets and optimality (AttackBench)",
            ),
        ]
        if name in figures.get("l2", {}):
            blocks.append(
                figure(
                    figures["l2"][name],
                    f"{name}: robust accuracy against the "
                    f"L2 budget, one curve per backend, and the best envelope",
                )
            )
    mine_notes = [n for n in notes if n.startswith(f"{name}/")]
    if mine_notes:
        blocks.append(paragraph("\n".join(f"- {n}" for n in mine_notes)))
    part = eps[eps["dataset"] == name] if len(eps) else eps
    if len(part):
        named = f"{', '.join(eps_names)} " if eps_names else ""
        blocks += [
            heading(
                3, f"Security evaluation: robust accuracy against ε{_in_parentheses(eps_names)}"
            ),
            paragraph(
                f"{_main_cells_phrase(eps_names)} (same attack, other ε, same backend); ε = 0 "
                "is the clean model. Robust accuracy = clean accuracy × (1 − success rate). "
                f"Regenerate: `{REGENERATE}`."
            ),
            table(
                eps_table_frame(part),
                f"{name}: {named}robust accuracy and adversarial F1 against ε",
            ),
        ]
        if name in figures.get("eps", {}):
            blocks.append(
                figure(
                    figures["eps"][name],
                    f"{name}: robust accuracy (solid) and adversarial F1 (dotted) against ε",
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


def library_blocks(conclusions: pd.DataFrame | None, level: str = LEVEL) -> list[Block]:
    """The tool's central answer, first in the report: per attack (and classifier), do the
    libraries agree, differ, or can this run not tell; with effect sizes, the cost check and
    the smallest difference the run could detect."""
    if conclusions is None or not len(conclusions):
        return []
    margin = 100 * float(conclusions["margin"].iloc[0])
    detectable = 100 * float(conclusions["detectable_difference"].max())
    n = int(conclusions["n"].min())
    ratio = float(conclusions["max_cost_ratio"].iloc[0])
    return [
        heading(2, "Does the library matter?"),
        paragraph(
            "Per attack, backends that attacked the same classifier and images are paired "
            f"image by image. A pair that spent more than {ratio:g}× the other's forward and "
            "backward passes per image is *not comparable at equal cost*. Otherwise it "
            "*differs* when McNemar's exact test on fooled / not fooled or, for an attack "
            "that minimises a distance, the Wilcoxon signed-rank test on L2 where both fooled "
            "rejects after Holm's correction across the run's table (an ε-bounded attack is "
            "judged by success at ε: its L2 ratio is shown, not tested); the success "
            f"difference carries Tango's {level} score interval and the L2 ratio a bootstrap "
            "one. It *agrees within "
            f"±{margin:.1f} points* when the difference's interval at 1 − 2α lies inside "
            "that margin (two one-sided tests); anything else is *inconclusive*, with about "
            "how many images would settle it. The documented cause is what the two backends' "
            "entries say they differ in (`advcompare backends`, `docs/backends.md`). How: "
            "`docs/statistics.md`."
        ),
        paragraph(
            f"Power: at n = {n} images, the smallest one-way difference in success these tests "
            f"detect with 80% power after the correction is {detectable:.1f} points; a smaller "
            "difference can hide behind an inconclusive answer."
        ),
        table(
            conclusion_frame(conclusions, level),
            "Do the libraries differ, per attack",
            footnote=("documented cause",),
        ),
        *_control_blocks(conclusions),
    ]


def _control_blocks(conclusions: pd.DataFrame) -> list[Block]:
    """One line per difference: its control run and whether it confirmed the cause."""
    if "cause_status" not in conclusions:
        return []
    differ = conclusions[conclusions["cause_status"] != ""]
    if not len(differ):
        return []
    lines = [
        f"- **{label}** ({pair}): cause {status}. Control: {control}."
        for label, pair, status, control in zip(
            where_label(differ), differ["pair"], differ["cause_status"], differ["control"]
        )
    ]
    return [
        paragraph(
            "Each difference's documented cause is tested by a control run that equalises "
            "it on one backend: *confirmed* when the difference then vanishes within its "
            "interval, *unexplained* when it persists."
        ),
        paragraph("\n".join(lines)),
    ]


def _agreement_blocks(name: str, pairs: pd.DataFrame | None) -> list[Block]:
    """Every pair of backends that ran the same attack on ``name``'s classifiers."""
    blocks: list[Block] = []
    if pairs is not None and len(pairs):
        blocks += [
            heading(3, "Agreement between backends"),
            paragraph(
                "Shares of the n initially correct images; distances over all attacked images; "
                "p-values Holm-corrected."
            ),
            table(agreement_table_frame(pairs), f"{name}: agreement between backends"),
        ]
    return blocks


def _seed_blocks(name: str, spread: pd.DataFrame, versus: pd.DataFrame) -> list[Block]:
    """Mean ± sd across training seeds, and per attack whether libraries differ by more."""
    part = spread[spread["dataset"] == name] if len(spread) else spread
    if not len(part):
        return []
    seeds = part["seeds"].iloc[0]
    blocks = [
        heading(3, "Training seeds"),
        paragraph(
            f"The same cells on models trained with seeds {seeds} (same splits and attacked "
            f"images): mean ± sd across seeds. A difference between libraries within the "
            f"spread between seeds is not a library effect."
        ),
        table(seed_frame(part), f"{name}: mean ± sd across training seeds"),
    ]
    mine = versus[versus["dataset"] == name] if len(versus) else versus
    if len(mine):
        lines = [f"- **{w}**: {c}" for w, c in zip(where_label(mine), mine["conclusion"])]
        blocks.append(paragraph("\n".join(lines)))
    return blocks


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


def ranking_blocks(name: str, ranking: pd.DataFrame | None, level: str = LEVEL) -> list[Block]:
    """The ranking of each attack family's backends on one dataset (``analysis.ranking``):
    success at counted cost, median norm in the attack's own norm, optimality against the
    reference of that norm; nothing when no family has two backends."""
    part = ranking[ranking["dataset"] == name] if ranking is not None and len(ranking) else None
    if part is None or not len(part):
        return []
    unequal = sorted(
        {attack_name(r.label, r.attack) for r in part.itertuples() if not r.equal_cost}
    )
    return [
        heading(3, "Ranking across implementations (AttackBench)"),
        paragraph(
            "Per attack, its backends best first: higher optimality against the independent "
            "reference of the attack's own norm (FMN-L2 and DDN for L2, FMN-L1 for EAD's L1, "
            "FMN-L0 for JSMA's L0; 'no reference' where none ran), then higher "
            "success, then a smaller median norm in that norm. Passes/image: forward + backward "
            "passes per image as the grader counted them (× the family's cheapest); "
            f"'≠ cost': the family's backends differ by more than "
            f"{float(part['max_cost_ratio'].iloc[0]):g}×, so the ranks compare "
            "success at unequal queries"
            + (f" ({', '.join(unequal)})" if unequal else "")
            + f". Intervals ({level}): Wilson's for success, a bootstrap over images for the "
            "median norm. "
            f"Regenerate: `{REGENERATE}`."
        ),
        table(ranking_table_frame(part), f"{name}: each attack's implementations ranked"),
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
    blocks = [
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
    level = level_text(confidence)  # the run's [statistics] confidence
    blocks += library_blocks(conclusions, level)
    blocks += claim_blocks(claims, level)
    blocks += retraining_blocks(retraining, level)
    blocks += _fidelity_blocks(frame, tolerance, level)
    main = main_cells(frame)
    names = (minimum_norm_names(main["attack"]), eps_curve_names(frame))
    for name, everything in main.groupby("dataset", sort=False):
        part = everything[everything.defense == "none"]
        blocks += _dataset_header(name, datasets.get(name))
        if len(part):
            blocks += [
                heading(
                    3, "Attacks (undefended model)" if len(part) < len(everything) else "Attacks"
                ),
                paragraph(
                    f"Intervals: {level} bootstrap over the attacked images (percentile; "
                    "`docs/statistics.md`). Medians are lower medians over the n fooled images."
                ),
                table(
                    attack_frame(part, level),
                    f"{name}: adversarial F1, success and perturbation size",
                ),
                heading(3, "What happened to each image"),
                table(outcome_frame(part), f"{name}: per-image outcomes of each cell"),
                heading(3, "Cost"),
                paragraph(cost_note(part)),
                table(cost_frame(part), f"{name}: time and model passes per image"),
            ]
        pairs = (
            agreement[agreement["dataset"] == name]
            if agreement is not None and len(agreement)
            else None
        )
        blocks += _agreement_blocks(name, pairs)
        blocks += _seed_blocks(name, spread, versus)
        blocks += _curve_blocks(name, groups, norm_table, notes, eps, figures, names)
        blocks += ranking_blocks(name, ranking, level)
        records = {d: rec for (ds, d), rec in (defenses or {}).items() if ds == name}
        if set(everything.defense) - {"none"}:
            flags = [
                f"- **{d}**: {', '.join(rec['preflight']) or 'no flags'}"
                for d, rec in records.items()
            ]
            flagged = obfuscation_lines(everything)
            blocks += [
                heading(3, "Defenses: adversarial F1"),
                paragraph(
                    "Columns are defense (threat model): *oblivious* attacks the undefended "
                    "model and the defended one classifies (a transfer attack); *adaptive* "
                    "attacks the defended pipeline white-box, as the field builds the attack "
                    "(BPDA through gradient masking, a margin loss on logits / T against "
                    "distillation: `docs/defenses.md`); *worst case* is the stronger of the "
                    f"two, named. {OBFUSCATED_MARK}: the transfer attack beats the white-box "
                    "one beyond chance (intervals apart, or McNemar's exact test on the same "
                    "images, per cell): a sign of obfuscated gradients."
                ),
                table(
                    defense_f1_frame(everything, records),
                    f"{name}: adversarial F1 under each defense",
                ),
                *([paragraph("\n".join(flagged))] if flagged else []),
                heading(3, "Defenses: attack + prediction time per image (ms), paper Tables 11-14"),
                table(
                    defense_time_frame(everything, records, name),
                    f"{name}: attack + prediction time per image (ms) under each defense",
                ),
                heading(3, "Preflight checks (before attacking)"),
                paragraph("\n".join(flags)),
            ]
        notes_md = [
            f"- **{r.label}** ({r.backend}"
            f"{'' if r.defense == 'none' else ', ' + r.defense + ' ' + r.threat}): "
            f"{r.notes}"
            for r in everything.itertuples()
            if r.notes
        ]
        if notes_md:
            blocks += [heading(3, "Backend notes"), paragraph("\n".join(notes_md))]
    others = figures.get("other", {})
    if others:
        blocks.append(heading(2, "Figures"))
        blocks += [figure(stem, caption) for stem, caption in others.items()]
    blocks += provenance_blocks(provenance, datasets)
    blocks += [
        heading(3, "How each cell ran"),
        table(how_cells_ran_frame(main), "Executor, cells at once and output checks per cell"),
    ]
    return blocks
