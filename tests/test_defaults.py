"""One source of default parameters: the spec's defaults are the default run's parameters.

``AttackSpec.create("cw")`` through the API must be the attack the default report shows, so
every parameter the default config writes out equals the spec default, the two copies of the
default config are identical, and the default-run table in ``docs/backends.md`` says the same.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from advcompare.attacks.spec import ATTACKS, AttackSpec
from advcompare.config.experiment import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "default.toml"
RESOURCE = ROOT / "advcompare" / "resources" / "default.toml"
DOCS = ROOT / "docs" / "backends.md"


def _attack_tables() -> dict[str, dict]:
    return tomllib.loads(CONFIG.read_text())["attacks"]


def test_the_two_default_configs_are_identical():
    assert CONFIG.read_bytes() == RESOURCE.read_bytes()


@pytest.mark.parametrize("label", sorted(_attack_tables()))
def test_every_default_config_parameter_is_the_spec_default(label):
    table = dict(_attack_tables()[label])
    table.pop("backend", None)
    attack = table.pop("attack", label)
    schema = ATTACKS[attack].params
    for name, value in table.items():
        assert name in schema, f"[attacks.{label}] {name} is not a parameter of {attack}"
        assert value == schema[name].default, (
            f"[attacks.{label}] {name} = {value!r} but the spec default is "
            f"{schema[name].default!r}: change one source, not two"
        )


def test_the_default_run_uses_exactly_the_api_default_specs():
    cfg = load_config(None)
    assert cfg.attacks, "the default run has no attacks"
    for entry in cfg.attacks:
        assert entry.spec == AttackSpec.create(entry.spec.attack), entry.label


def test_the_default_config_names_every_backend_explicitly():
    """The default run's backends are chosen per attack in the config (see docs/backends.md),
    not left to the built-in fallback."""
    for label, table in _attack_tables().items():
        assert isinstance(table.get("backend"), str), f"[attacks.{label}] names no backend"


def _docs_default_table() -> dict[str, tuple[str, str]]:
    """attack → (backend, parameters) from the "default run" table of docs/backends.md."""
    text = DOCS.read_text()
    section = text.split("<!-- default-run-table -->")[1].split("<!-- /default-run-table -->")[0]
    rows = {}
    for line in section.strip().splitlines()[2:]:
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_the_docs_default_table_matches_the_default_run():
    rows = _docs_default_table()
    cfg = load_config(None)
    assert set(rows) == {e.label for e in cfg.attacks}
    for entry in cfg.attacks:
        backend, params = rows[entry.label]
        assert backend == entry.backend, entry.label
        shown = dict(re.findall(r"(\w+)=([^,\s]+)", params))
        expected = {k: str(v) for k, v in entry.spec.params.items() if v is not None}
        assert shown == expected, entry.label
