"""The report from a store of fake cells: fidelity summary, curves, LaTeX, CSV/JSON, PDFs."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import replace

import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from advcompare.attacks import spec
from advcompare.attacks.spec import AttackSpec
from advcompare.report import latex_escape, latex_inline, latex_table, write_report
from advcompare.results import CellRecord
from advcompare.storage.store import ResultStore

N = 8
CORRECT = [1, 1, 1, 1, 1, 1, 1, 0]


def _metrics(adv_f1, success, **extra):
    return {
        "n": N,
        "n_clean_correct": 7,
        "clean_f1": 0.87,
        "clean_accuracy": 0.875,
        "adv_f1": adv_f1,
        "adv_accuracy": 0.875 * (1 - success),
        "success_rate": success,
        "attack_time_per_image": 0.01,
        "adv_prediction_time_per_image": 0.001,
        "paper_time_per_image": 0.011,
        "forward_per_image": 10.0,
        "backward_per_image": 10.0,
        "output_valid": True,
        "delta_f1": adv_f1 - 0.87,
        "l0_median": 100.0,
        "l0_mean": 100.0,
        "l2_median": 1.0,
        "l2_mean": 1.0,
        "linf_median": 0.1,
        "linf_mean": 0.1,
        **extra,
    }


def _samples(success, l2):
    return {
        "x_adv": torch.rand(N, 3, 4, 4),
        "correct": torch.tensor(CORRECT, dtype=torch.uint8),
        "success": torch.tensor(success, dtype=torch.uint8),
        "l0": torch.zeros(N),
        "l2": torch.tensor(l2, dtype=torch.float32),
        "linf": torch.zeros(N),
    }


# (label, attack, backend, params, adv F1, per-image success, per-image L2)
CELLS = [
    ("ifgsm", "ifgsm", "torchattacks", {"eps": 0.1}, 0.12, [1] * 6 + [0, 0], [3.0] * 8),
    ("ifgsm", "ifgsm", "art", {"eps": 0.1}, 0.12, [1] * 6 + [0, 0], [3.0] * 8),
    (
        "deepfool",
        "deepfool",
        "torchattacks",
        {},
        0.586,
        [1, 1, 1, 0, 0, 0, 0, 0],
        [1.0, 1.5, 2.0, 0, 0, 0, 0, 0],
    ),
    (
        "deepfool",
        "deepfool",
        "foolbox",
        {},
        0.0,
        [1] * 7 + [0],
        [1.1, 1.4, 1.9, 1.0, 2.0, 2.5, 3.0, 0],
    ),
    ("cw", "cw", "foolbox", {}, 0.0, [1] * 7 + [0], [0.9, 1.6, 1.8, 1.2, 2.2, 2.4, 2.9, 0]),
    ("pixel_swap", "pixel_swap", "native", {"max_swaps": 100}, 0.28, [1] * 4 + [0] * 4, [9.0] * 8),
    ("pixle", "pixle", "torchattacks", {}, 0.0, [1] * 7 + [0], [9.0] * 8),
]


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    with ResultStore(run) as store:
        store.set_meta("name", "fake")
        for i, (label, attack, backend, params, f1, success, l2) in enumerate(CELLS):
            key = f"k{i}"
            store.add_cell(
                CellRecord(
                    key,
                    dataset="mnist-sample",
                    label=label,
                    attack=attack,
                    backend=backend,
                    spec=AttackSpec.create(attack, **params).as_dict(),
                    notes=["a note with an_underscore & 5%"],
                    metrics=_metrics(f1, sum(success) / 7),
                    model_key="m",
                )
            )
            (run / "adv").mkdir(exist_ok=True)
            save_file(_samples(success, l2), str(run / "adv" / f"{key}.safetensors"))
    return run


def test_the_report_opens_with_the_fidelity_summary(run_dir):
    text = write_report(run_dir).read_text()
    assert text.startswith("# advcompare: fake")
    fidelity = text.index("## Fidelity to the paper")
    assert fidelity < text.index("\n## mnist-sample")
    # ifgsm ×2, deepfool (foolbox) and cw reproduce; deepfool (torchattacks) and pixel_swap
    # differ; pixle has no figure
    flat = " ".join(text.split())  # prose is wrapped at 100 characters
    assert (
        "**4 of 6 cells reproduce the paper (tolerance 0.10 around each cell's 95% interval).**"
        in flat
    )
    summary = text[fidelity : text.index("\n## mnist-sample")]
    assert re.search(
        r"\| DeepFool +\| torchattacks +\| 0\.586 +\| 0\.010 +\| \+0\.576 +\| "
        r"differs +\| torchattacks' DeepFool",
        summary,
    )
    assert "max_swaps=100 of the 512 pixel pairs" in " ".join(summary.split())  # a footnote
    assert "| no paper figure |" in summary and "library comparator" in " ".join(summary.split())
    # a paper can print it: no line over 200 characters (image links aside), causes as
    # short labels with numbered footnotes under the table
    assert max(len(line.encode()) for line in text.splitlines() if line[:2] != "![") <= 200
    assert re.search(r"\| differs +\| [^|]*… \(1\) +\|", summary)
    assert re.search(r"^1\. torchattacks' DeepFool", summary, flags=re.M)
    results = pd.read_csv(run_dir / "results.csv")
    assert {"verdict", "verdict_gap", "verdict_cause", "role", "executor", "concurrency"} <= set(
        results.columns
    )
    assert list(results["verdict"]).count("reproduces") == 4
    cells = json.loads((run_dir / "results.json").read_text())
    assert cells["fidelity_tolerance"] == 0.10
    assert cells["cells"][2]["verdict"] == "differs"


def test_the_stored_tolerance_is_used(run_dir):
    with ResultStore(run_dir) as store:
        store.set_meta("fidelity_tolerance", "0.6")
    text = write_report(run_dir).read_text()
    assert "6 of 6 cells reproduce the paper (tolerance 0.60 around" in text
    assert "0 of 6" in write_report(run_dir, tolerance=0.0001).read_text()


@pytest.mark.parametrize("confidence,level", [(0.9, "90%"), (0.975, "97.5%")])
def test_the_stored_confidence_names_every_interval(run_dir, confidence, level):
    """The run's ``[statistics] confidence`` is the level every sentence, caption and column
    of the report states, in Markdown and LaTeX alike (the default's 95% nowhere)."""
    with ResultStore(run_dir) as store:
        store.set_meta("statistics", json.dumps({"confidence": confidence}))
    text = " ".join(write_report(run_dir).read_text().split())
    assert f"adv. F1 ({level} CI)" in text and f"our F1 ({level} CI)" in text
    assert f"around each cell's {level} interval" in text
    assert f"Intervals: {level} bootstrap" in text
    assert "95%" not in text
    latex = " ".join((run_dir / "report.tex").read_text().split())
    tex_level = level.replace("%", "\\%")
    assert f"adv. F1 ({tex_level} CI)" in latex and f"Intervals: {tex_level} bootstrap" in latex
    assert "95\\%" not in latex


def test_the_default_confidence_renders_as_before(run_dir):
    """Stated or left to its default, a 0.95 level renders the same bytes ("95%")."""
    default = write_report(run_dir).read_text()
    default_tex = (run_dir / "report.tex").read_text()
    assert "(95% CI)" in default and "(95\\% CI)" in default_tex
    with ResultStore(run_dir) as store:
        store.set_meta("statistics", json.dumps({"confidence": 0.95}))
    assert write_report(run_dir).read_text() == default
    assert (run_dir / "report.tex").read_text() == default_tex


def test_cost_table_says_how_cells_ran(run_dir):
    text = write_report(run_dir).read_text()
    cost = text[text.index("### Cost") : text.index("### Agreement")]
    assert "| executor " not in cost and "| attack ms/image " in cost  # what a paper prints
    assert "Each cell ran alone" in cost and "not comparable" not in cost  # a serial run
    ran = text[text.index("### How each cell ran") :]  # the bookkeeping, at the end
    assert "| executor " in ran and "| concurrency " in ran and "| serial " in ran
    with sqlite3.connect(run_dir / "results.sqlite") as db:  # as a Ray run on 4 slots stores it
        db.execute("UPDATE cells SET executor = 'ray', concurrency = 4")
    text = write_report(run_dir).read_text()
    cost = " ".join(text[text.index("### Cost") : text.index("### Agreement")].split())
    assert "ran up to 4 at a time" in cost and "not comparable with a serial run's" in cost


def test_l2_curves_and_optimality_are_in_the_report(run_dir):
    text = write_report(run_dir).read_text()
    section = text[text.index("### Attack strength") :]
    assert "advcompare report <run-dir>" in " ".join(section.split())
    assert "![mnist-sample: robust accuracy against the L2 budget" in section
    table = pd.read_csv(run_dir / "optimality.csv")
    assert list(table["backend"]) == ["torchattacks", "foolbox", "foolbox"]
    # no reference ran: no cell is scored (the best of the run's own cells is no yardstick)
    assert table["optimality"].isna().all() and set(table["reference"]) == {"no reference"}
    assert "no strength reference was run, so no cell is scored" in " ".join(section.split())
    for stem in ("l2_curves_mnist-sample", "f1_by_attack"):
        assert (run_dir / f"{stem}.png").stat().st_size > 10_000
        assert (run_dir / f"{stem}.pdf").read_bytes().startswith(b"%PDF")


def test_report_tex_has_every_table_as_escaped_booktabs(run_dir):
    text = write_report(run_dir).read_text()
    tex = (run_dir / "report.tex").read_text()
    markdown_tables = sum(line.startswith("|--") for line in text.splitlines())
    # one per Markdown table, or more where a wide table is split into parts
    assert tex.count(r"\toprule") >= markdown_tables >= 5
    assert r"\resizebox" not in tex and r"\begin{table}[htbp]" not in tex  # never shrunk
    labels = re.findall(r"\\label\{([^}]*)\}", tex)
    assert len(labels) == len(set(labels)) and all(x.split(":")[1] == "fake" for x in labels)
    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}")
    assert tex.count("{") == tex.count("}")
    assert tex.isascii()  # every symbol translated for pdflatex
    assert r"pixel\_swap" in tex and r"an\_underscore \& 5\%" in tex
    body = re.sub(r"\\(includegraphics|label)(\[[^]]*\])?\{[^}]*\}", "", tex)
    separator = re.compile(r"(?<!\\)&")
    for tabular in re.findall(r"\\begin\{tabular\}.*?\\end\{tabular\}", body, re.DOTALL):
        rows = [line for line in tabular.splitlines() if line.endswith("\\\\")]
        assert len({len(separator.findall(row)) for row in rows}) == 1  # same cells per row
        body = body.replace(tabular, separator.sub("", tabular))
    assert not re.search(r"(?<!\\)[_%&#]", body)  # nothing unescaped outside file names
    assert r"\includegraphics[width=\linewidth]{l2_curves_mnist-sample.pdf}" in tex


def test_eps_curves_from_eps_curve_cells(run_dir, monkeypatch):
    with ResultStore(run_dir) as store:
        cells = store.cells()
    extra = []
    for backend, success in (("torchattacks", (0.2, 1.0)), ("art", (0.3, 1.0))):
        for eps, rate in zip((0.05, 0.2), success):
            extra.append(
                CellRecord(
                    key=f"e{backend}{eps}",
                    dataset="mnist-sample",
                    label="ifgsm",
                    attack="ifgsm",
                    backend=backend,
                    role="eps_curve",
                    notes=[],
                    spec=AttackSpec.create("ifgsm", eps=eps).as_dict(),
                    metrics=_metrics(0.5, rate),
                    model_key="m",
                    defense="none",
                    threat="adaptive",
                    executor="ray",
                    concurrency=2,
                    verdict=None,
                )
            )
    monkeypatch.setattr(ResultStore, "cells", lambda self, keys=None: cells)
    without = write_report(run_dir).read_text()
    monkeypatch.setattr(ResultStore, "cells", lambda self, keys=None: cells + extra)
    text = write_report(run_dir).read_text()
    assert "**4 of 6 cells reproduce" in text  # ε-curve cells are not judged
    # ε-curve cells share their row's label: the main tables are those of the main cells alone
    assert without.startswith(text.split("### Security evaluation")[0])
    section = text[text.index("### Security evaluation") :]
    assert section.startswith("### Security evaluation: robust accuracy against ε (I-FGSM)")
    assert "The main I-FGSM cell and its ε-curve cells" in section  # named from the records
    assert "| attack   | ε    | acc. torchattacks" in section
    assert re.search(r"\| I-FGSM +\| 0.2 +\| 0.0%", section)
    curves = pd.read_csv(run_dir / "eps_curves.csv")
    assert list(curves[curves.backend == "art"]["eps"]) == [0.0, 0.05, 0.1, 0.2]
    assert (run_dir / "eps_curves_mnist-sample.pdf").is_file()
    results = pd.read_csv(run_dir / "results.csv")
    assert set(results[results.role == "eps_curve"]["verdict"]) == {"no paper figure"}


def test_latex_helpers_escape_and_translate():
    assert latex_escape("a_b & 5% ε ≤ 1 — x") == r"a\_b \& 5\% $\varepsilon$ $\le$ 1 --- x"
    assert (
        latex_inline("see `a_b` and **N of M** *here*")
        == r"see \texttt{a\_b} and \textbf{N of M} \emph{here}"
    )
    # characters outside the table: Greek letters and super/subscripts by their names
    assert latex_escape("η‖x₀‖² Ω Α") == r"$\eta$$\|$x$_{0}$$\|$$^{2}$ $\Omega$ A"
    tex = latex_table(pd.DataFrame({"ΔF1": ["-0.5"], "median L∞": ["0.1"]}), "cap_tion")
    assert r"\toprule" in tex and r"$\Delta$F1" in tex and r"\caption{cap\_tion}" in tex


def test_every_figure_the_run_drew_is_embedded_and_no_other(run_dir):
    text = write_report(run_dir).read_text()
    embedded = re.findall(r"^!\[[^]]*\]\(([^)]+)\)$", text, flags=re.M)
    assert "f1_by_attack.png" in embedded and "l2_curves_mnist-sample.png" in embedded
    assert all((run_dir / path).is_file() for path in embedded)
    assert "f1_by_defense" not in text  # this run has no defenses: no such figure
    tex = (run_dir / "report.tex").read_text()
    included = re.findall(r"\\includegraphics\[[^]]*\]\{([^}]+)\}", tex)
    assert sorted(p.removesuffix(".pdf") for p in included) == sorted(
        p.removesuffix(".png") for p in embedded
    )


def test_a_wide_latex_table_is_split_with_its_names_and_numbers_right_aligned():
    frame = pd.DataFrame(
        {
            "attack": ["I-FGSM", "DeepFool"],
            "backend": ["torchattacks", "art"],
            **{f"F1 {i}": ["0.120 (0.094–0.145)", "−0.5"] for i in range(7)},
        }
    )
    tex = latex_table(frame, "Wide", label="tab:run:3")
    parts = re.findall(r"\\begin\{tabular\}\{([lrp{}.\\a-z0-9]*)\}", tex)
    assert parts == ["llrrrr", "llrrr"]  # 2 name columns repeated, 7 numbers in 4 + 3
    assert "(part 1 of 2)" in tex and "(part 2 of 2)" in tex
    assert r"\label{tab:run:3-1}" in tex and r"\label{tab:run:3-2}" in tex
    assert tex.count(r"\begin{table}[H]") == 2 and r"\resizebox" not in tex


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex is not installed (.ci/run installs texlive-latex-base and -recommended)",
)
def test_report_tex_compiles_with_pdflatex(run_dir):
    """The report as a paper would include it: pdflatex, twice (for references and
    longtable's widths), stops at the first LaTeX error; every figure is found; no table or
    line runs into the margin (no overfull box wider than 1 pt)."""
    write_report(run_dir)
    for _ in range(2):
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
            cwd=run_dir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-3000:]
    log = (run_dir / "report.log").read_text(errors="replace")
    assert "! " not in log and "LaTeX Warning: Reference" not in log
    assert "File `" not in log  # no missing figure
    overfull = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
    assert [float(pt) for pt in overfull if float(pt) > 1.0] == []
    assert (run_dir / "report.pdf").read_bytes().startswith(b"%PDF")


def test_figures_own_the_training_plot_too(tmp_path):
    from advcompare.plotting import plot_history

    history = [
        {"epoch": 1, "train_loss": 1.0, "val_loss": 0.9},
        {"epoch": 2, "train_loss": 0.5, "val_loss": 0.6},
    ]
    plot_history(history, tmp_path / "digits_loss.png", "digits")
    assert (tmp_path / "digits_loss.png").stat().st_size > 5_000
    assert (tmp_path / "digits_loss.pdf").read_bytes().startswith(b"%PDF")


def test_datasets_and_defenses_without_paper_figures_say_so(tmp_path):
    run = tmp_path / "run"
    with ResultStore(run) as store:
        for key, dataset, defense in (
            ("d", "digits", "none"),
            ("m", "mnist-sample", "none"),
            ("f", "mnist-sample", "feature_smoothing"),
        ):
            store.add_cell(
                CellRecord(
                    key,
                    dataset=dataset,
                    label="ifgsm",
                    attack="ifgsm",
                    backend="art",
                    spec=AttackSpec.create("ifgsm").as_dict(),
                    notes=[],
                    metrics=_metrics(0.1, 0.9),
                    model_key="m",
                    defense=defense,
                )
            )
    text = write_report(run).read_text()
    summary = text[: text.index("\n## digits")]
    assert "No cell of this dataset has a paper figure: digits (scikit-learn's 8×8" in summary
    assert "1 of 1 cells reproduce the paper" in summary
    assert "1 cell on a defended classifier has no paper figure" in summary
    # defended cells stay out of the summary table (and code names out of the claims table)
    assert "feature_smoothing" not in summary, summary


def test_the_prose_names_attacks_from_their_records(run_dir, monkeypatch):
    text = write_report(run_dir).read_text()
    assert "Minimum-norm attacks (DeepFool, CW), from the stored" in text
    monkeypatch.setitem(spec.ATTACKS, "cw", replace(spec.ATTACKS["cw"], display="C&W L2"))
    text = write_report(run_dir).read_text()
    assert "Minimum-norm attacks (DeepFool, C&W L2), from the stored" in text


@pytest.fixture()
def drawn(monkeypatch) -> dict:
    """Every figure the test draws, by file name, kept open for inspection (and saved)."""
    from advcompare.report import figures

    kept: dict = {}
    real_save = figures.save_figure

    def keep(fig, path, **kwargs):
        kept[path.name] = fig
        return real_save(fig, path, **kwargs)

    monkeypatch.setattr(figures, "save_figure", keep)
    return kept


def test_figures_a_paper_can_print(tmp_path, drawn):
    """The "7" figure wraps at six panels a row; bars carry their values (a zero bar says
    0.00, a missing paper figure says —)."""
    from torch import nn

    from advcompare.report import figures

    x = torch.rand(3, 3, 8, 8)
    y = torch.tensor([1, 7, 2])
    (tmp_path / "adv").mkdir()
    cells = []
    for i in range(8):
        save_file({"x_adv": x.clone()}, str(tmp_path / "adv" / f"seven{i}.safetensors"))
        cells.append(
            CellRecord(
                f"seven{i}", dataset="d", label=f"a{i}", attack="ifgsm", backend="art",
                spec={}, notes=[], metrics={}, model_key="m",
            )
        )  # fmt: skip
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10)).eval()
    assert figures.plot_example_seven(model, x, y, cells, tmp_path / "adv", tmp_path / "seven.png")
    shown = [ax for ax in drawn["seven.png"].axes if ax.axison]
    assert len(shown) == 9  # clean + 8 attacks
    assert len({round(ax.get_position().y0, 3) for ax in shown}) == 2  # two rows of at most 6
    frame = pd.DataFrame(
        {
            "dataset": ["d", "d"],
            "label": ["ifgsm", "pixle"],
            "backend": ["art", "torchattacks"],
            "clean_f1": [0.9, 0.9],
            "adv_f1": [0.0, 0.4],
            "paper_f1": [0.2, None],
        }
    )
    figures.plot_f1(frame, tmp_path / "f1.png")
    texts = [t.get_text() for t in drawn["f1.png"].axes[0].texts]
    assert "0.00" in texts and "—" in texts and "0.40" in texts


def test_f1_figures_name_bars_as_the_tables_do_and_draw_each_cells_interval(tmp_path, drawn):
    """Both F1 figures name attacks and defenses by their records (as the tables do), say n
    and the interval's level in each panel's title, and draw an interval on every bar that
    is one cell; a bar that averages two training seeds gets none."""
    from matplotlib.container import ErrorbarContainer

    from advcompare.report import figures

    rows = [  # (label, attack, defense, threat, seed, adv_f1)
        ("ifgsm", "ifgsm", "none", "adaptive", 0, 0.10),
        ("bim", "ifgsm", "none", "adaptive", 0, 0.20),
        ("ifgsm", "ifgsm", "defensive_distillation", "oblivious", 0, 0.80),
        ("bim", "ifgsm", "defensive_distillation", "oblivious", 0, 0.70),
        ("bim", "ifgsm", "defensive_distillation", "oblivious", 1, 0.60),  # a second seed
    ]
    frame = pd.DataFrame(
        [
            dict(dataset="d", label=lab, attack=a, backend="art", defense=d, threat=t, seed=s,
                 n=20, confidence=0.95, clean_f1=0.9, paper_f1=None, adv_f1=f,
                 adv_f1_lo=f - 0.05, adv_f1_hi=f + 0.05)
            for lab, a, d, t, s, f in rows
        ]
    )  # fmt: skip

    def intervals(ax) -> int:
        containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        return sum(len(c.lines[2][0].get_segments()) for c in containers)

    figures.plot_defenses(frame, tmp_path / "defenses.png")
    ax = drawn["defenses.png"].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "no defense",
        "defensive distillation (oblivious)",
    ]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["I-FGSM\n(art)", "bim (I-FGSM)\n(art)"]
    assert ax.get_title() == "d (n = 20, 95% bootstrap intervals)"
    assert intervals(ax) == 3  # four bars, one of them the mean of two seeds
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == ["0.10", "0.20", "0.65", "0.80"]

    figures.plot_f1(frame[frame.defense == "none"], tmp_path / "f1.png")
    ax = drawn["f1.png"].axes[0]
    assert intervals(ax) == 2  # the adversarial bars; clean and paper figures have none
    assert ax.get_title() == "d (n = 20, 95% bootstrap intervals)"
    assert "bim (I-FGSM)\n(art)" in [t.get_text() for t in ax.get_xticklabels()]
    # the run's level, written as the report's text writes it (97.5%, not a rounded 98%)
    figures.plot_f1(frame[frame.defense == "none"].assign(confidence=0.975), tmp_path / "f.png")
    assert drawn["f.png"].axes[0].get_title() == "d (n = 20, 97.5% bootstrap intervals)"


def test_prose_wraps_with_hanging_list_indents_and_keeps_any_line():
    from advcompare.report.markdown import wrap_markdown

    assert wrap_markdown("50") == "50"  # a bare number is a line, not a list item
    item = wrap_markdown("12. " + "word " * 30).splitlines()
    assert len(item) == 2 and item[1].startswith("    word") and max(map(len, item)) <= 100
    bullet = wrap_markdown("- " + "word " * 30).splitlines()
    assert bullet[1].startswith("  word")


def test_the_seven_figure_draws_an_image_every_attack_attacked(tmp_path, drawn):
    """An expensive attack that took a prefix of the images (the atlas's ead on 60 of 140):
    the figure shows the first 7 inside that prefix, from every attack, instead of failing."""
    from torch import nn

    from advcompare.report import figures

    x = torch.rand(6, 3, 8, 8)
    y = torch.tensor([7, 1, 2, 7, 3, 7])
    (tmp_path / "adv").mkdir()
    cells = []
    for i, n in enumerate([6, 2]):
        save_file({"x_adv": x[:n] + 0.5}, str(tmp_path / "adv" / f"p{i}.safetensors"))
        cells.append(
            CellRecord(
                f"p{i}", dataset="d", label=f"a{i}", attack="ifgsm", backend="art",
                spec={}, notes=[], metrics={}, model_key="m",
            )
        )  # fmt: skip
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10)).eval()
    assert figures.plot_example_seven(model, x, y, cells, tmp_path / "adv", tmp_path / "7.png")
    shown = [ax for ax in drawn["7.png"].axes if ax.axison]
    assert len(shown) == 3  # clean + both attacks
    assert "test image 0" in drawn["7.png"]._suptitle.get_text()
    y[0] = 1  # no 7 inside the 2-image prefix: the first 7 (image 3), without that attack
    assert figures.plot_example_seven(model, x, y, cells, tmp_path / "adv", tmp_path / "n.png")
    assert len([ax for ax in drawn["n.png"].axes if ax.axison]) == 2
    assert "test image 3" in drawn["n.png"]._suptitle.get_text()
    assert "1 attack ran on fewer images" in drawn["n.png"]._suptitle.get_text()
    y[:] = 1
    assert not figures.plot_example_seven(model, x, y, cells, tmp_path / "adv", tmp_path / "0.png")
