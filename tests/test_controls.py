"""A documented cause is confirmed by a control run (advcompare.analysis.controls), on planted
backends whose cause is known: one that runs half the configured steps (half the cost: its
control re-runs it at matched cost), one that takes half the step size (its control removes
the difference: confirmed), and one that also halves ε while its control only doubles the
step size (the difference persists: unexplained)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from advcompare.adapters import registry
from advcompare.adapters.base import EXACT, Adapter, AttackImpl, Capability, Control
from advcompare.config.experiment import load_config
from advcompare.grid.entries import control_entries
from advcompare.grid.plan import CONTROL
from advcompare.grid.runner import run_experiment
from advcompare.report import write_report


def _bim(model, x, y, steps: int, step_size: float, eps: float) -> torch.Tensor:
    """Kurakin et al.'s BIM, the arithmetic of torchattacks' BIM (sign steps, clipped)."""
    adv = x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step_size * grad.sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv


def half_steps(model, x, y, p):
    return _bim(model, x, y, p["steps"] // 2, p["step_size"], p["eps"])


def half_step_size(model, x, y, p):
    return _bim(model, x, y, p["steps"], p["step_size"] / 2, p["eps"])


def half_step_size_and_eps(model, x, y, p):
    return _bim(model, x, y, p["steps"], p["step_size"] / 2, p["eps"] / 2)


def _adapter(name: str, call, note: str, control: Control) -> type[Adapter]:
    impl = AttackImpl(Capability("ifgsm", EXACT, "BIM", note=note), call, control=control)
    return type(name, (Adapter,), {"name": name, "library": "torch", "attacks": {"ifgsm": impl}})


PLANTED = {
    # runs half the steps, so half the passes: not comparable at equal cost until its
    # control (the steps doubled) re-runs it at matched cost
    "halfsteps": _adapter(
        "halfsteps",
        half_steps,
        "runs half the configured steps",
        Control("half the steps", lambda p: {"steps": 2 * p["steps"]}),
    ),
    # the same passes at half the step size: a difference its control removes
    "halfstep": _adapter(
        "halfstep",
        half_step_size,
        "takes half the configured step size",
        Control("half the step size", lambda p: {"step_size": 2 * p["step_size"]}),
    ),
    # half the steps again, but a control that does not restore them: still unequal cost
    "halfcost": _adapter(
        "halfcost",
        half_steps,
        "runs half the configured steps",
        Control("the step size", lambda p: {"step_size": 2 * p["step_size"]}),
    ),
    # half the step size and half ε: the documented cause is only part of it
    "halfboth": _adapter(
        "halfboth",
        half_step_size_and_eps,
        "takes half the configured step size",
        Control("half the step size", lambda p: {"step_size": 2 * p["step_size"]}),
    ),
}


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory, module_cache):
    for name, adapter in PLANTED.items():
        registry.register_backend(name, adapter)
    tmp = tmp_path_factory.mktemp("controls")
    rows = "".join(
        f'[attacks.{name}]\nattack = "ifgsm"\nbackend = ["torchattacks", "{name}"]\n'
        "eps = 0.1\nstep_size = 0.02\nsteps = 6\ndecay = 0.0\ncurve = false\n"
        for name in PLANTED
    )
    path = tmp / "controls.toml"
    path.write_text(
        f'name = "controls"\nout = "{tmp / "run"}"\ncache_dir = "{module_cache}"\n'
        f'datasets = ["digits"]\nsamples = 160\ntrain = {{ epochs = 2 }}\n{rows}'
    )
    try:
        summary = run_experiment(load_config(path), log=lambda *_: None)
        write_report(summary.run_dir, summary.keys)
        run = summary.run_dir
        yield (
            pd.read_csv(run / "results.csv"),
            pd.read_csv(run / "library_differences.csv", keep_default_na=False).set_index("label"),
            (run / "report.md").read_text(),
        )
    finally:
        for name in PLANTED:
            registry.unregister_backend(name)


def test_a_control_re_runs_a_pair_of_unequal_cost_at_matched_cost(planted_run):
    results, differences, report = planted_run
    control = results[(results["role"] == CONTROL) & (results["label"] == "halfsteps")]
    assert list(control["backend"]) == ["halfsteps"]  # torchattacks declares no control
    assert '"steps": 12' in control["spec"].iloc[0]
    row = differences.loc["halfsteps"]
    assert row["answer"] == "not comparable" and row["cost_ratio"] == pytest.approx(2.0)
    assert row["cause_status"] == "confirmed"
    assert row["control"].startswith("halfsteps with steps = 12 vs torchattacks: agree within")


def test_a_control_that_leaves_the_cost_unequal_settles_nothing(planted_run):
    _, differences, _ = planted_run
    row = differences.loc["halfcost"]
    assert row["answer"] == "not comparable" and row["cause_status"] == "not comparable"
    assert "not comparable at equal cost: 2.0× the passes per image" in row["control"]


def test_the_control_cell_confirms_a_planted_cause(planted_run):
    _, differences, report = planted_run
    row = differences.loc["halfstep"]
    assert row["answer"] == "differ" and row["differ_in"] == "success"
    assert row["cost_ratio"] == pytest.approx(1.0)
    assert row["cause_status"] == "confirmed"
    assert row["control"].startswith("halfstep with step_size = 0.04 vs torchattacks: agree")
    assert "(torchattacks vs halfstep): cause confirmed. Control: halfstep with" in report


def test_a_cause_that_is_not_the_whole_story_stays_unexplained(planted_run):
    _, differences, report = planted_run
    row = differences.loc["halfboth"]
    assert row["answer"] == "differ" and row["cause_status"] == "unexplained"
    assert "(torchattacks vs halfboth): cause unexplained" in report


def test_a_control_is_planned_only_where_a_row_is_compared_and_the_spec_changes(planted_run):
    from advcompare.adapters.entry import AttackEntry
    from advcompare.attacks.spec import AttackSpec

    spec = AttackSpec.create("ifgsm", steps=6, decay=0.0)
    ta = AttackEntry("bim", spec, "torchattacks", samples=30)
    half = AttackEntry("bim", spec, "halfsteps", samples=30)
    (control,) = control_entries([ta, half])
    assert control.backend == "halfsteps" and control.spec.params["steps"] == 12
    assert control.samples == 30  # the control attacks the images its row attacks
    assert control_entries([half]) == []  # a row with one backend compares nothing
