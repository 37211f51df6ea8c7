"""Reports rendered from stored results: Markdown and LaTeX, CSV, JSON, PNG and PDF.

Results are data (one row per cell in the SQLite store, as RobustBench keeps one JSON per
model); every table here is rendered from them, never typed in. The paper's figure for a cell
stands beside ours wherever the paper reports one, with a verdict (``advcompare.verdict``).

The report is built once as a list of blocks (headings, text, tables, figures) and written
twice: ``report.md`` (tables by tabulate) and ``report.tex`` (booktabs tables by pandas'
``Styler.to_latex``, figures as PDF). Every figure is drawn by ``advcompare.figures``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from advcompare.agreement import agreement_frame
from advcompare.curves import eps_curve_frame, norm_groups, optimality_frame
from advcompare.figures import plot_defenses, plot_eps_curves, plot_f1, plot_norm_curves
from advcompare.paper import paper_value
from advcompare.store import ResultStore
from advcompare.verdict import (
    DEFAULT_TOLERANCE,
    NO_FIGURE,
    judge_frame,
    summary_line,
    tolerance_from_meta,
)

PAPER_CITATION = (
    "Campbell & Lasselle, *Enhancing the Robustness of Deep Neural Networks*, WPI MQP 2024"
)
REGENERATE = "advcompare report <run-dir>"


def results_frame(
    cells: list[dict[str, Any]], tolerance: float = DEFAULT_TOLERANCE
) -> pd.DataFrame:
    """One flat row per cell: identity, spec, notes, how it ran, every metric, the paper's
    figures and the verdict against the paper at ``tolerance`` (``verdict``,
    ``verdict_gap``, ``verdict_cause``, ``verdict_tolerance``; see ``advcompare.verdict``).

    Verdicts are recomputed from the cells here, so a re-rendered report applies the
    current cause table and the tolerance asked for.
    """
    rows = []
    for cell in cells:
        m = cell["metrics"]
        defense = cell.get("defense", "none")
        rows.append(
            {
                "key": cell["key"],
                "dataset": cell["dataset"],
                "defense": defense,
                "threat": cell.get("threat", "adaptive"),
                "label": cell["label"],
                "attack": cell["attack"],
                "backend": cell["backend"],
                "role": cell.get("role") or "main",
                "executor": cell.get("executor") or "serial",
                "concurrency": int(cell.get("concurrency") or 1),
                "spec": json.dumps({k: v for k, v in cell["spec"].items() if k != "attack"}),
                "notes": "; ".join(cell["notes"]),
                **m,
                "paper_f1": paper_value(cell["dataset"], cell["attack"], "f1", defense)
                if (cell.get("role") or "main") == "main"
                else None,
                "paper_time_per_image_reported": paper_value(
                    cell["dataset"], cell["attack"], "prediction_time", defense
                ),
            }
        )
    frame = pd.DataFrame(rows)
    if not len(frame):
        return frame
    return pd.concat([frame, judge_frame(frame, tolerance)], axis=1)


def main_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells of role "main": the ones main tables, verdicts and F1 figures show."""
    if "role" not in frame:
        return frame
    return frame[frame["role"] == "main"]


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _signed(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.{digits}f}"


def _pct(value: Any) -> str:
    return "—" if value is None or value != value else f"{value * 100:.1f}%"


def _ms(value: Any) -> str:
    return "—" if value is None or value != value else f"{value * 1e3:.2f}"


def _markdown(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


# --- tables, as frames of display strings --------------------------------------------------


def attack_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-attack F1, success and perturbation size, the paper's F1 beside ours."""
    return pd.DataFrame(
        {
            "attack": frame["label"],
            "backend": frame["backend"],
            "clean F1": frame["clean_f1"].map(_fmt),
            "adv. F1": frame["adv_f1"].map(_fmt),
            "paper F1": frame["paper_f1"].map(_fmt),
            "ΔF1": frame["delta_f1"].map(_fmt),
            "success": frame["success_rate"].map(_pct),
            "median L2": frame["l2_median"].map(_fmt),
            "median L∞": frame["linf_median"].map(_fmt),
            "median L0": frame["l0_median"].map(lambda v: _fmt(v, 0)),
        }
    )


def attack_table(frame: pd.DataFrame) -> str:
    return _markdown(attack_frame(frame))


def fidelity_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Attack × backend: our F1, the paper's, the gap, the verdict and its cause."""
    return pd.DataFrame(
        {
            "attack": [
                label if d == "none" else f"{label} ({d}, {t})"
                for label, d, t in zip(frame["label"], frame["defense"], frame["threat"])
            ],
            "backend": frame["backend"],
            "our F1": frame["adv_f1"].map(_fmt),
            "paper F1": frame["paper_f1"].map(_fmt),
            "gap": frame["verdict_gap"].map(_signed),
            "verdict": frame["verdict"],
            "cause": frame["verdict_cause"].map(lambda v: v if isinstance(v, str) else ""),
        }
    )


def cost_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-attack time per image (ours and the paper's), model passes per image, and how
    the cell ran (executor, cells running at once)."""
    return pd.DataFrame(
        {
            "attack": frame["label"],
            "backend": frame["backend"],
            "attack ms/image": frame["attack_time_per_image"].map(_ms),
            "attack+predict ms/image": frame["paper_time_per_image"].map(_ms),
            "paper ms/image": frame["paper_time_per_image_reported"].map(_ms),
            "forward/image": frame["forward_per_image"].map(lambda v: _fmt(v, 1)),
            "backward/image": frame["backward_per_image"].map(lambda v: _fmt(v, 1)),
            "executor": frame["executor"] if "executor" in frame else "serial",
            "concurrency": (frame["concurrency"] if "concurrency" in frame else 1),
            "outputs valid": frame["output_valid"].map(lambda v: "yes" if v else "NO"),
        }
    ).astype({"concurrency": str})


def cost_table(frame: pd.DataFrame) -> str:
    return _markdown(cost_frame(frame))


def agreement_table_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Pairwise backend agreement: outcomes on the same images and distance between them."""
    return pd.DataFrame(
        {
            "attack": frame["attack"],
            "backends": frame["first"] + " vs " + frame["second"],
            "both succeed": frame["both_succeed"].map(_pct),
            "both fail": frame["both_fail"].map(_pct),
            "only first": frame["only_first"].map(_pct),
            "only second": frame["only_second"].map(_pct),
            "mean L2 between": frame["mean_l2_between"].map(_fmt),
            "max L∞ between": frame["max_linf_between"].map(lambda v: f"{v:.2g}"),
        }
    )


def agreement_table(frame: pd.DataFrame) -> str:
    return _markdown(agreement_table_frame(frame))


def defense_f1_frame(part: pd.DataFrame, defenses: dict[str, dict]) -> pd.DataFrame:
    """Adversarial F1 of every attack (rows) under every defense and threat (columns)."""
    columns = list(
        dict.fromkeys(
            f"{d}" if d == "none" else f"{d} ({t})" for d, t in zip(part.defense, part.threat)
        )
    )
    rows: dict[tuple[str, str], dict[str, str]] = {}
    clean = {"attack": "no attack (clean F1)"}
    for r in part.itertuples():
        column = r.defense if r.defense == "none" else f"{r.defense} ({r.threat})"
        row = rows.setdefault((r.label, r.backend), {"attack": f"{r.label} ({r.backend})"})
        row[column] = _fmt(r.adv_f1)
        record = defenses.get(r.defense)
        if record:
            clean[column] = _fmt(record["clean"]["clean_f1"])
    return pd.DataFrame([clean, *rows.values()], columns=["attack", *columns]).fillna("—")


def defense_f1_table(part: pd.DataFrame, defenses: dict[str, dict]) -> str:
    return _markdown(defense_f1_frame(part, defenses))


def defense_time_frame(part: pd.DataFrame, defenses: dict[str, dict], dataset: str) -> pd.DataFrame:
    """Time per image after each defense, ours beside the paper's (Tables 11-14), in ms."""
    names = list(dict.fromkeys(part.defense))
    header = ["attack"] + [f"{d} {who}" for d in names for who in ("ours", "paper")]
    rows = [
        ["no attack"]
        + [
            v
            for d in names
            for v in (
                _ms(defenses[d]["clean"]["prediction_time_per_image"]) if d in defenses else "—",
                _ms(paper_value(dataset, "none", "prediction_time", d)),
            )
        ]
    ]
    adaptive = part[part.threat == "adaptive"]
    for (label, backend), group in adaptive.groupby(["label", "backend"], sort=False):
        by_defense = {r.defense: r for r in group.itertuples()}
        rows.append(
            [f"{label} ({backend})"]
            + [
                v
                for d in names
                for v in (
                    _ms(by_defense[d].paper_time_per_image) if d in by_defense else "—",
                    _ms(by_defense[d].paper_time_per_image_reported) if d in by_defense else "—",
                )
            ]
        )
    return pd.DataFrame(rows, columns=header)


def defense_time_table(part: pd.DataFrame, defenses: dict[str, dict], dataset: str) -> str:
    return _markdown(defense_time_frame(part, defenses, dataset))


def norm_curve_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The L2-budget table: robust accuracy at fixed budgets, median needed L2, optimality."""
    budgets = [c for c in table.columns if c.startswith("robust_at_")]
    out = pd.DataFrame(
        {
            "classifier": table["classifier"],
            "attack": table["attack"],
            "backend": table["backend"],
            "clean acc.": table["clean_accuracy"].map(_pct),
            **{f"acc. @ L2 ≤ {c[len('robust_at_') :]}": table[c].map(_pct) for c in budgets},
            "median L2": table["median_l2"].map(_fmt),
            "optimality": table["optimality"].map(lambda v: _fmt(v, 2)),
        }
    )
    if out["classifier"].nunique() == 1:
        out = out.drop(columns="classifier")
    return out


def eps_table_frame(curves: pd.DataFrame) -> pd.DataFrame:
    """The ε table: one row per classifier, attack and ε; robust accuracy and adversarial
    F1 per backend."""
    rows: dict[tuple, dict[str, str]] = {}
    backends = list(dict.fromkeys(curves["backend"]))
    for r in curves.itertuples():
        where = "undefended" if r.defense == "none" else f"{r.defense} ({r.threat})"
        row = rows.setdefault(
            (where, r.attack, r.eps), {"classifier": where, "attack": r.attack, "ε": f"{r.eps:g}"}
        )
        row[f"acc. {r.backend}"] = _pct(r.robust_accuracy)
        row[f"F1 {r.backend}"] = _fmt(r.adv_f1)
    columns = ["classifier", "attack", "ε"] + [
        f"{kind} {b}" for b in backends for kind in ("acc.", "F1")
    ]
    out = pd.DataFrame(list(rows.values()), columns=columns).fillna("—")
    if out["classifier"].nunique() == 1:
        out = out.drop(columns="classifier")
    return out


# --- the report as blocks -------------------------------------------------------------------


@dataclass
class Block:
    """One piece of the report: a heading, a paragraph, a table or a figure."""

    kind: str  # "heading", "text", "table", "figure"
    text: str = ""  # heading or paragraph (Markdown inline: `code`, **bold**, *emphasis*)
    level: int = 0  # heading level (1 = title)
    table: pd.DataFrame | None = None
    caption: str = ""
    wide: tuple[str, ...] = ()  # columns that wrap in LaTeX (long text)
    path: str = ""  # figure path, relative to the run directory, without suffix


def _heading(level: int, text: str) -> Block:
    return Block("heading", text, level)


def _text(text: str) -> Block:
    return Block("text", text)


def _table(frame: pd.DataFrame, caption: str, wide: tuple[str, ...] = ()) -> Block:
    return Block("table", table=frame, caption=caption, wide=wide)


def _figure(path: str, caption: str) -> Block:
    return Block("figure", path=path, caption=caption)


def _model_text(summary: dict[str, Any]) -> str:
    """The paper CNN, or a user's model (``model``/``weights`` in the config)."""
    if not summary.get("model"):
        return "paper CNN"
    return (
        f"`{summary['model']}` with weights `{summary.get('weights', '?')}` "
        f"(sha256 `{str(summary.get('weights_sha256', ''))[:12]}`; loaded, not trained)"
    )


def _dataset_header(name: str, record: dict[str, Any] | None) -> list[Block]:
    blocks = [_heading(2, name)]
    if record is None:
        return blocks
    s, clean = record["summary"], record["clean"]
    paper_time = paper_value(name, "none", "prediction_time")
    blocks.append(
        _text(
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


def _fidelity_blocks(frame: pd.DataFrame, tolerance: float) -> list[Block]:
    """The opening summary: per dataset, every cell's verdict against the paper."""
    main = main_cells(frame)
    blocks = [
        _heading(2, "Fidelity to the paper"),
        _text(
            f"A cell *reproduces* the paper when its adversarial macro F1 is within "
            f"{tolerance:.2f} of the paper's (Tables 3, 5, 7, 9); otherwise it *differs*, with "
            f"the most specific documented cause (a library's semantics, a parameter the paper "
            f"does not give, data that is not the paper's). Gap = our F1 − paper F1. How "
            f"verdicts and causes are decided: `docs/fidelity.md`."
        ),
    ]
    for name, part in main.groupby("dataset", sort=False):
        shown = part[(part.defense == "none") | (part.verdict != NO_FIGURE)]
        hidden = len(part) - len(shown)
        blocks.append(_heading(3, f"{name}"))
        if (shown.verdict != NO_FIGURE).any():
            blocks.append(_text(f"**{summary_line(shown.verdict, tolerance)}.**"))
        else:
            cause = next((c for c in shown.verdict_cause if isinstance(c, str)), "")
            blocks.append(
                _text(
                    "No cell of this dataset has a paper figure" + (f": {cause}" if cause else ".")
                )
            )
        if len(shown):
            blocks.append(
                _table(
                    fidelity_frame(shown),
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
                _text(
                    f"{which} no paper figure: the paper reports F1 under "
                    f"defenses only as bar charts (Figures 12-18)."
                )
            )
    return blocks


def _curve_blocks(
    name: str,
    groups: list,
    norm_table: pd.DataFrame,
    notes: list[str],
    eps: pd.DataFrame,
    figures: dict[str, dict[str, str]],
) -> list[Block]:
    blocks: list[Block] = []
    mine = [g for g in groups if g.dataset == name]
    if mine:
        part = norm_table[norm_table["dataset"] == name]
        blocks += [
            _heading(3, "Attack strength: robust accuracy against the L2 budget"),
            _text(
                "Minimum-norm attacks (DeepFool, CW), from the stored per-image L2 norms: an "
                "image is robust at budget ε if it was classified right and the attack "
                "failed or needed L2 > ε. The envelope is, per image, the smallest norm any "
                "of these cells found on the same classifier. Optimality (AttackBench, Cinà "
                "et al. 2024) = (W − A) / (W − A*), with A the area under the curve on "
                "[0, D], A* the envelope's, W = D × clean accuracy and D the envelope's "
                "largest finite norm: 1 = on the envelope, 0 = fools nothing. "
                f"Regenerate: `{REGENERATE}`."
            ),
            _table(
                norm_curve_frame(part),
                f"{name}: robust accuracy at L2 budgets and optimality (AttackBench)",
            ),
        ]
        if name in figures.get("l2", {}):
            blocks.append(
                _figure(
                    figures["l2"][name],
                    f"{name}: robust accuracy against the "
                    f"L2 budget, one curve per backend, and the best envelope",
                )
            )
    mine_notes = [n for n in notes if n.startswith(f"{name}/")]
    if mine_notes:
        blocks.append(_text("\n".join(f"- {n}" for n in mine_notes)))
    part = eps[eps["dataset"] == name] if len(eps) else eps
    if len(part):
        blocks += [
            _heading(3, "Security evaluation: robust accuracy against ε (I-FGSM)"),
            _text(
                "The main I-FGSM cell and its ε-curve cells (same attack, other ε, same "
                "backend); ε = 0 is the clean model. Robust accuracy = clean accuracy × "
                f"(1 − success rate). Regenerate: `{REGENERATE}`."
            ),
            _table(
                eps_table_frame(part),
                f"{name}: I-FGSM robust accuracy and adversarial F1 against ε",
            ),
        ]
        if name in figures.get("eps", {}):
            blocks.append(
                _figure(
                    figures["eps"][name],
                    f"{name}: robust accuracy (solid) and adversarial F1 (dotted) against ε",
                )
            )
    return blocks


def report_blocks(
    frame: pd.DataFrame,
    datasets: dict[str, dict[str, Any]],
    title: str,
    agreement: pd.DataFrame | None = None,
    defenses: dict[tuple[str, str], dict] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    curves: tuple[list, pd.DataFrame, list[str], pd.DataFrame] | None = None,
    figures: dict[str, dict[str, str]] | None = None,
) -> list[Block]:
    """The whole report: the fidelity summary, then a section per dataset."""
    figures = figures or {}
    groups, norm_table, notes, eps = curves or ([], pd.DataFrame(), [], pd.DataFrame())
    blocks = [
        _heading(1, title),
        _text(
            f"Reproduction of {PAPER_CITATION}. Rendered by advcompare from "
            f"`{ResultStore.FILENAME}`; regenerate with `{REGENERATE}` (also writes "
            f"`report.tex`, LaTeX booktabs tables, and every figure as PNG and PDF)."
        ),
        _text(
            "Adversarial F1 is macro F1 on the attacked test images (paper §3.2); success is "
            "the share of initially correct images the attack made wrong; norms are medians "
            "over successful images (pixel units, 3×32×32 inputs in [0, 1]). "
            "'attack+predict' is comparable to the paper's per-attack prediction time "
            "(Tables 4, 6, 8, 10)."
        ),
    ]
    blocks += _fidelity_blocks(frame, tolerance)
    main = main_cells(frame)
    for name, everything in main.groupby("dataset", sort=False):
        part = everything[everything.defense == "none"]
        blocks += _dataset_header(name, datasets.get(name))
        if len(part):
            blocks += [
                _heading(
                    3, "Attacks (undefended model)" if len(part) < len(everything) else "Attacks"
                ),
                _table(
                    attack_frame(part), f"{name}: adversarial F1, success and perturbation size"
                ),
                _heading(3, "Cost"),
                _text(
                    "Per-image times measured while other cells ran concurrently "
                    "(concurrency > 1) are not comparable with a serial run's: the cells "
                    "shared the machine's cores."
                ),
                _table(cost_frame(part), f"{name}: time and model passes per image"),
            ]
        pairs = (
            agreement[agreement["dataset"] == name]
            if agreement is not None and len(agreement)
            else None
        )
        if pairs is not None and len(pairs):
            blocks += [
                _heading(3, "Agreement between backends"),
                _text(
                    "Shares of the initially correct images; distances over all attacked images."
                ),
                _table(agreement_table_frame(pairs), f"{name}: agreement between backends"),
            ]
        blocks += _curve_blocks(name, groups, norm_table, notes, eps, figures)
        records = {d: rec for (ds, d), rec in (defenses or {}).items() if ds == name}
        if set(everything.defense) - {"none"}:
            flags = [
                f"- **{d}**: {', '.join(rec['preflight']) or 'no flags'}"
                for d, rec in records.items()
            ]
            blocks += [
                _heading(3, "Defenses: adversarial F1"),
                _text(
                    "Columns are defense (threat model): *oblivious* attacks the undefended "
                    "model and the defended one classifies; *adaptive* attacks the defended "
                    "pipeline (with EOT where its gradients are random)."
                ),
                _table(
                    defense_f1_frame(everything, records),
                    f"{name}: adversarial F1 under each defense",
                ),
                _heading(
                    3, "Defenses: attack + prediction time per image (ms), paper Tables 11-14"
                ),
                _table(
                    defense_time_frame(everything, records, name),
                    f"{name}: attack + prediction time per image (ms) under each defense",
                ),
                _heading(3, "Preflight checks (before attacking)"),
                _text("\n".join(flags)),
            ]
        notes_md = [
            f"- **{r.label}** ({r.backend}"
            f"{'' if r.defense == 'none' else ', ' + r.defense + ' ' + r.threat}): "
            f"{r.notes}"
            for r in everything.itertuples()
            if r.notes
        ]
        if notes_md:
            blocks += [_heading(3, "Backend notes"), _text("\n".join(notes_md))]
    blocks.append(
        _text(
            "Figures (PNG and PDF): `f1_by_attack` (adversarial F1, ours vs. the paper), "
            "`f1_by_defense` (with defenses: F1 per defense and attack, paper Figures 12-18), "
            "`l2_curves_<dataset>` (robust accuracy against the L2 budget), "
            "`eps_curves_<dataset>` (robust accuracy against ε), `example_7_<dataset>` (one test "
            "7 under each attack with the top-3 confidences, paper Figures 7-11), "
            "`training/<dataset>_loss.png` (loss curves)."
        )
    )
    return blocks


def render_markdown_blocks(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind == "heading":
            out += ["#" * b.level + " " + b.text, ""]
        elif b.kind == "text":
            out += [b.text, ""]
        elif b.kind == "table":
            out += [_markdown(b.table), ""]
        elif b.kind == "figure":
            out += [f"![{b.caption}]({b.path}.png)", ""]
    return "\n".join(out)


def render_markdown(
    frame: pd.DataFrame,
    datasets: dict[str, dict[str, Any]],
    title: str,
    agreement: pd.DataFrame | None = None,
    defenses: dict[tuple[str, str], dict] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    **kwargs: Any,
) -> str:
    """The whole report as Markdown (see :func:`report_blocks`)."""
    if "verdict" not in frame:
        frame = pd.concat([frame, judge_frame(frame, tolerance)], axis=1)
    return render_markdown_blocks(
        report_blocks(frame, datasets, title, agreement, defenses, tolerance, **kwargs)
    )


# --- LaTeX -----------------------------------------------------------------------------------

# Characters pdflatex cannot typeset in text mode, after LaTeX escaping.
LATEX_UNICODE = {
    "—": "---",
    "–": "--",
    "Δ": r"$\Delta$",
    "∞": r"$\infty$",
    "ε": r"$\varepsilon$",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "×": r"$\times$",
    "−": "$-$",
    "→": r"$\to$",
    "↔": r"$\leftrightarrow$",
    "…": r"\ldots{}",
    "§": r"\S{}",
    "·": r"$\cdot$",
    "±": r"$\pm$",
    "≈": r"$\approx$",
    "’": "'",
    "“": "``",
    "”": "''",
    "é": r"\'e",
    "à": r"\`a",
}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: Any) -> str:
    """Plain text → LaTeX: special characters escaped, non-ASCII symbols as LaTeX."""
    text = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    return _latex_unicode(text)


def _latex_unicode(text: str) -> str:
    return "".join(LATEX_UNICODE.get(ch, ch) for ch in text)


def _latex_cell(text: str) -> str:
    """An escaped table cell: symbols as LaTeX, a negative number with a true minus sign."""
    text = _latex_unicode(text)
    return "$-$" + text[1:] if re.match(r"^-\d", text) else text


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*")


def latex_inline(text: str) -> str:
    """Markdown inline markup (`code`, **bold**, *emphasis*) → escaped LaTeX."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(latex_escape(text[last : m.start()]))
        code, bold, emph = m.groups()
        if code is not None:
            out.append(r"\texttt{" + latex_escape(code) + "}")
        elif bold is not None:
            out.append(r"\textbf{" + latex_escape(bold) + "}")
        else:
            out.append(r"\emph{" + latex_escape(emph) + "}")
        last = m.end()
    out.append(latex_escape(text[last:]))
    return "".join(out)


def latex_table(
    frame: pd.DataFrame, caption: str = "", wide: tuple[str, ...] = (), label: str = ""
) -> str:
    """A booktabs table from pandas' ``Styler.to_latex(hrules=True)``: every cell and
    header escaped; long-text columns in ``wide`` wrap; many columns shrink to the page."""
    styler = (
        frame.style.hide(axis="index")
        .format(_latex_cell, escape="latex")
        .format_index(_latex_unicode, escape="latex", axis=1)
    )
    columns = "".join(r"p{0.32\linewidth}" if c in wide else "l" for c in frame.columns)
    tabular = styler.to_latex(hrules=True, column_format=columns)
    if len(frame.columns) > 6 and not wide:
        tabular = r"\resizebox{\linewidth}{!}{" + tabular.rstrip("\n") + "}\n"
    elif wide:
        tabular = r"{\small" + "\n" + tabular + "}\n"
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + latex_inline(caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    return "\n".join(lines) + "\n" + tabular + r"\end{table}" + "\n"


def render_latex(blocks: list[Block]) -> str:
    """A standalone LaTeX document (``report.tex``): headings, paragraphs, every table as
    booktabs, every figure as its PDF."""
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "advcompare")
    out = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\usepackage{float}",
        r"\title{" + latex_inline(title) + "}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        "",
    ]
    counter = 0
    for b in blocks:
        if b.kind == "heading" and b.level > 1:
            command = {2: "section", 3: "subsection"}.get(b.level, "paragraph")
            out += ["\\" + command + "*{" + latex_inline(b.text) + "}", ""]
        elif b.kind == "text":
            items = b.text.split("\n")
            if all(line.startswith("- ") for line in items):
                out += (
                    [r"\begin{itemize}"]
                    + [r"\item " + latex_inline(line[2:]) for line in items]
                    + [r"\end{itemize}", ""]
                )
            else:
                out += [latex_inline(b.text), ""]
        elif b.kind == "table":
            counter += 1
            out += [latex_table(b.table, b.caption, b.wide, f"tab:{counter}")]
        elif b.kind == "figure":
            out += [
                r"\begin{figure}[htbp]",
                r"\centering",
                r"\includegraphics[width=\linewidth]{" + b.path + ".pdf}",
                r"\caption{" + latex_inline(b.caption) + "}",
                r"\end{figure}",
                "",
            ]
    out += [r"\end{document}", ""]
    return "\n".join(out)


# --- writing a run directory's report ---------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _paper_f1_by_label(frame: pd.DataFrame, dataset: str) -> dict[str, float]:
    part = main_cells(frame)
    part = part[(part.dataset == dataset) & (part.defense == "none")]
    return {
        r.label: r.paper_f1
        for r in part.itertuples()
        if r.paper_f1 is not None and r.paper_f1 == r.paper_f1
    }


def write_report(
    run_dir: Path,
    keys: list[str] | None = None,
    title: str | None = None,
    tolerance: float | None = None,
) -> Path:
    """Render ``report.md``, ``report.tex``, ``results.csv``/``.json``, the curve tables
    (``optimality.csv``, ``eps_curves.csv``) and every figure (PNG and PDF).

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
    if not cells:
        from advcompare.errors import AdvCompareError

        raise AdvCompareError(f"no stored results in '{run_dir}'; run `advcompare run` first")
    frame = results_frame(cells, tolerance)
    main = main_cells(frame)

    groups, notes = norm_groups(frame, run_dir)
    norm_table = optimality_frame(groups)
    eps = eps_curve_frame(frame)
    frame.to_csv(run_dir / "results.csv", index=False)
    if len(norm_table):
        norm_table.to_csv(run_dir / "optimality.csv", index=False)
    if len(eps):
        eps.to_csv(run_dir / "eps_curves.csv", index=False)
    (run_dir / "results.json").write_text(
        json.dumps(
            {
                "paper": PAPER_CITATION,
                "fidelity_tolerance": tolerance,
                "datasets": datasets,
                "cells": json.loads(frame.to_json(orient="records")),
                "optimality": json.loads(norm_table.to_json(orient="records"))
                if len(norm_table)
                else [],
                "eps_curves": json.loads(eps.to_json(orient="records")) if len(eps) else [],
            },
            indent=2,
        )
    )

    undefended = main[main.defense == "none"]
    plot_f1(undefended if len(undefended) else main, run_dir / "f1_by_attack.png")
    if set(main.defense) - {"none"}:
        plot_defenses(main, run_dir / "f1_by_defense.png")
    figures: dict[str, dict[str, str]] = {"l2": {}, "eps": {}}
    for dataset in dict.fromkeys(main.dataset):
        mine = [g for g in groups if g.dataset == dataset]
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
                f"{dataset}: I-FGSM against ε",
                _paper_f1_by_label(frame, dataset),
            )
            figures["eps"][dataset] = stem

    agreement = agreement_frame(main, run_dir)
    if len(agreement):
        agreement.to_csv(run_dir / "agreement.csv", index=False)
    blocks = report_blocks(
        frame,
        datasets,
        title or f"advcompare: {name}",
        agreement,
        defenses,
        tolerance,
        (groups, norm_table, notes, eps),
        figures,
    )
    (run_dir / "report.tex").write_text(render_latex(blocks))
    report = run_dir / "report.md"
    report.write_text(render_markdown_blocks(blocks))
    return report
