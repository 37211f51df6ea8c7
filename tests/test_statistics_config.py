"""The ``[statistics]`` config table (DESIGN.md §9): its values parse, with one-line errors
for bad ones, and reach the run: the bootstrap's resamples and level in every cell's
intervals, α in the backend comparison, and the level in every sentence of the report that
states one."""

from __future__ import annotations

import json

import pytest

from advcompare.analysis.statistics import StatisticsConfig, with_intervals
from advcompare.config.experiment import load_config, parse_config
from advcompare.errors import ConfigError

TABLE = {"resamples": 200, "confidence": 0.9, "alpha": 0.01}
IN_RANGE = r"must be a finite number in \[0.5, 0.999\]"


def _statistics(table: dict) -> StatisticsConfig:
    return parse_config({"statistics": table}).statistics


def test_the_table_parses_and_its_absent_keys_keep_their_defaults():
    default = parse_config({}).statistics
    assert (default.resamples, default.confidence, default.alpha) == (1000, 0.95, 0.05)
    given = _statistics(TABLE)
    assert (given.resamples, given.confidence, given.alpha) == (200, 0.9, 0.01)
    only = _statistics({"confidence": 0.99})
    assert (only.resamples, only.confidence, only.alpha) == (1000, 0.99, 0.05)


@pytest.mark.parametrize(
    "table,message",
    [
        ({"resamples": 99}, "'statistics.resamples': must be >= 100, got 99"),
        ({"resamples": 200.5}, "'statistics.resamples': expected an integer"),
        ({"confidence": 1.0}, f"'statistics.confidence': {IN_RANGE}, got 1.0"),
        ({"confidence": 0.4}, f"'statistics.confidence': {IN_RANGE}, got 0.4"),
        ({"confidence": "high"}, "'statistics.confidence': expected a number, got 'high'"),
        ({"alpha": 0}, r"'statistics.alpha': must be a finite number in \(0, 0.5\]"),
        ({"alpha": 0.6}, r"'statistics.alpha': must be a finite number in \(0, 0.5\]"),
        ({"level": 0.9}, "unknown config key 'statistics.level'; allowed keys in statistics: "),
    ],
    ids=[
        "too-few-resamples",
        "fractional-resamples",
        "confidence-1",
        "confidence-0.4",
        "confidence-a-word",
        "alpha-0",
        "alpha-0.6",
        "unknown-key",
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(table, message):
    with pytest.raises(ConfigError, match=message) as caught:
        _statistics(table)
    assert "\n" not in str(caught.value)


RUN = """
name = "statistics"
out = "{out}"
datasets = ["digits"]
samples = 20
batch_size = 20
[train]
epochs = 2
[statistics]
resamples = 200
confidence = 0.9
alpha = 0.01
[attacks.bim]
attack = "ifgsm"
backend = ["torchattacks", "art"]
eps = 0.1
step_size = 0.02
steps = 3
decay = 0.0
"""


def test_the_table_reaches_the_cells_the_comparison_and_the_report(
    tmp_path, shared_cache, monkeypatch
):
    """A run with ``[statistics]`` resamples 200, confidence 0.9 and α 0.01: the store
    records them, each cell's intervals are the 90% ones of 200 resamples (recomputed here
    from its stored per-image outcomes, and unlike the 95% ones), the backend comparison is
    made at α 0.01, and the report states 90% wherever it states a level."""
    from advcompare.grid.runner import run_experiment
    from advcompare.report import write
    from advcompare.storage.store import ResultStore

    path = tmp_path / "statistics.toml"
    path.write_text(RUN.replace("{out}", str(tmp_path / "run")))
    cfg = load_config(path)
    summary = run_experiment(cfg, log=lambda *_: None)
    with ResultStore(summary.run_dir) as store:
        stored = json.loads(store.meta("statistics") or "{}")
        cells = store.cells()
        samples = {c.key: store.load_samples(c.key) for c in cells}
    assert {k: stored[k] for k in TABLE} == TABLE
    assert len(cells) == 2
    wider = StatisticsConfig(resamples=200, confidence=0.95)
    differs = False
    for cell in cells:
        m = cell.metrics
        assert m["bootstrap_resamples"] == 200 and m["confidence"] == 0.9
        again = with_intervals({}, samples[cell.key], cfg.statistics, cfg.seed)
        at_95 = with_intervals({}, samples[cell.key], wider, cfg.seed)
        for key in ("adv_f1_lo", "adv_f1_hi", "success_rate_lo", "success_rate_hi"):
            assert m[key] == pytest.approx(again[key], abs=1e-12), key
            differs |= at_95[key] != again[key]
    assert differs  # the check above can tell the level apart

    alphas = []
    real = write.agreement_frame

    def spy(*args, **kwargs):
        alphas.append(kwargs["alpha"] if "alpha" in kwargs else args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(write, "agreement_frame", spy)
    report = write.write_report(summary.run_dir)
    assert alphas == [0.01]
    text = " ".join(report.read_text().split())
    latex = " ".join((summary.run_dir / "report.tex").read_text().split())
    assert "Intervals: 90% bootstrap" in text and "(90% CI)" in text
    assert "Intervals: 90\\% bootstrap" in latex and "(90\\% CI)" in latex
    assert "95%" not in text and "95\\%" not in latex
