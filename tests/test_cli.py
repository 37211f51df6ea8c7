"""The command line: bad input is one line on stderr and exit status 2, never a traceback;
a bug of ours is exit 1; Ctrl-C is 130. In process (``cli.main``), except one end-to-end
test in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _advcompare(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "advcompare", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def _bad_config(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "case,args,message",
    [
        (
            "unknown backend",
            ["run", "--backend", "cleverhans"],
            "unknown backend 'cleverhans'; known backends: torchattacks, art, foolbox, native",
        ),
        ("unknown dataset", ["run", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (
            "missing data root",
            ["run", "--dataset", "cifar10", "--data-root", "{tmp}/none"],
            "expected torchvision's layout: <root>/cifar-10-batches-py/data_batch_1",
        ),
        (
            "unknown attack",
            ["run", "--config", "@[attacks.fgsm_l2]\neps = 0.1"],
            "unknown attack 'fgsm_l2'; known attacks: ifgsm, deepfool, cw, fmn, ddn, pixel_swap",
        ),
        (
            "unknown parameter",
            ["run", "--config", "@[attacks.ifgsm]\nepsilon = 0.1"],
            "attack 'ifgsm' has no parameter 'epsilon'",
        ),
        ("malformed TOML", ["run", "--config", "@datasets = ["], "is not valid TOML"),
        ("missing config", ["run", "--config", "{tmp}/nope.toml"], "config file"),
        ("bad flag", ["run", "--samples", "many"], "invalid int value"),
        ("report without results", ["report", "{tmp}"], "holds no results.sqlite"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, case, args, message):
    """In process (``cli.main``), as the interpreter would run it from ``tmp_path``."""
    from advcompare import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    resolved = []
    for arg in args:
        if arg.startswith("@"):
            arg = _bad_config(tmp_path, arg[1:])
        resolved.append(arg.replace("{tmp}", str(tmp_path)))
    try:
        code = cli.main(resolved)
    except SystemExit as exit_:  # argparse's own errors (a bad flag value) exit from inside
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not (tmp_path / "reports").exists()  # nothing started
    assert not (tmp_path / "cache").exists()  # nothing trained


def test_the_installed_command_reports_bad_input_in_one_line_exit_2(tmp_path):
    """End to end, once, in a fresh interpreter: ``python -m advcompare`` as a user runs it."""
    result = _advcompare("run", "--backend", "cleverhans", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "advcompare: error: unknown backend 'cleverhans'; known backends: torchattacks, art, "
        "foolbox, native"
    ]
    assert not (tmp_path / "reports").exists()


def test_backends_prints_the_capability_table(capsys):
    from advcompare import cli

    assert cli.main(["backends"]) == 0
    out = capsys.readouterr().out
    rows = [[c.strip() for c in line.split("|")[1:4]] for line in out.splitlines()]
    assert ["cw", "torchattacks", "emulated"] in rows, out
    assert ["fgsm", "art", "exact"] in rows
    lines = out.splitlines()
    assert any("art PixelAttack" in line and "one_pixel" in line for line in lines)
    assert ["pixel_swap", "foolbox", "unsupported"] in rows


QUICK = 'datasets = ["digits"]\nsamples = 8\n[train]\nepochs = 1\n[attacks.fgsm]\neps = 0.1\n'


def _quick_run(tmp_path, monkeypatch):
    """An in-process ``advcompare run`` argv on 8 digits (one FGSM cell, one epoch)."""
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "quick.toml"
    config.write_text(QUICK)
    return ["run", "--config", str(config), "--out", str(tmp_path / "run")]


def test_a_bug_of_ours_is_one_line_exit_1_and_a_traceback_with_debug(tmp_path, monkeypatch, capsys):
    """An unexpected exception inside a run: one stderr line naming it and asking for
    --debug, exit status 1; with --debug the traceback (the exception itself) comes out."""
    from advcompare import cli
    from advcompare.grid import runner

    def broken(cfg, **kwargs):
        raise RuntimeError("boom\n  on two lines")

    monkeypatch.setattr(runner, "run_experiment", broken)
    argv = _quick_run(tmp_path, monkeypatch)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error: RuntimeError: boom on two lines" in err[0]
    assert "--debug" in err[0]
    with pytest.raises(RuntimeError, match="boom"):
        cli.main([*argv, "--debug"])


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path, monkeypatch, capsys):
    from advcompare import cli
    from advcompare.grid import runner

    def interrupted(cfg, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_experiment", interrupted)
    assert cli.main(_quick_run(tmp_path, monkeypatch)) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "rerun the same command to resume" in err
    assert str(tmp_path / "run" / "results.sqlite") in err


def test_report_rerenders_a_stored_run(tmp_path, monkeypatch, capsys):
    """``advcompare report DIR`` writes the report again from the store alone."""
    from advcompare import cli

    assert cli.main(_quick_run(tmp_path, monkeypatch)) == 0
    report = tmp_path / "run" / "report.md"
    first = report.read_text()
    report.unlink()
    capsys.readouterr()
    assert cli.main(["report", str(tmp_path / "run")]) == 0
    assert capsys.readouterr().out.strip() == f"report: {report}"
    again = report.read_text()
    assert "| FGSM " in again
    assert again.splitlines()[:20] == first.splitlines()[:20]


def test_off_a_terminal_a_run_prints_plain_lines_and_quiet_only_the_result(
    tmp_path, monkeypatch, capsys
):
    """Under pytest standard error is no terminal, as in a CI log or ``> run.log``: no bar's
    control characters, one line per cell and the training epochs summarised; ``--quiet``
    prints the result line alone."""
    from advcompare import cli, progress

    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    argv = _quick_run(tmp_path, monkeypatch)
    assert cli.main([*argv, "--epochs", "6"]) == 0
    out, err = capsys.readouterr()
    assert not any(c in out + err for c in ("\x1b", "\r"))
    assert "[digits/fgsm/torchattacks] adversarial F1" in out
    epochs = [line for line in err.splitlines() if "] epoch " in line]
    assert [line.split("] epoch ")[1].split(":")[0] for line in epochs] == ["5/6", "6/6"]

    assert cli.main([*argv, "--quiet", "--out", str(tmp_path / "quiet")]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines() == [out.strip()] and out.startswith("1 cells computed")
    assert "\x1b" not in err and "epoch" not in err
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
