"""Attack specs: canonical names, defaults and validation."""

from __future__ import annotations

import pytest

from advcompare.attacks.spec import AttackSpec
from advcompare.errors import ConfigError, UnknownNameError


def test_defaults_are_filled_and_values_coerced():
    spec = AttackSpec.create("ifgsm", eps=8 / 255, steps=10.0)
    assert spec["steps"] == 10 and isinstance(spec["steps"], int)
    assert spec["decay"] == 1.0 and spec["step_size"] == 0.01
    assert set(AttackSpec.create("cw").params) == {
        "c",
        "binary_search_steps",
        "steps",
        "lr",
        "confidence",
    }
    assert AttackSpec.create("deepfool")["candidates"] is None
    assert AttackSpec.create("pixel_swap")["max_swaps"] is None  # every pixel pair
    assert AttackSpec.create("pixel_swap", max_swaps=100.0)["max_swaps"] == 100
    cw = AttackSpec.create("cw")  # the default run's CW (configs/default.toml)
    assert (cw["steps"], cw["lr"], cw["binary_search_steps"]) == (100, 0.05, 3)


def test_specs_are_comparable_and_hashable():
    assert AttackSpec.create("cw", c=2) == AttackSpec.create("cw", c=2.0)
    assert len({AttackSpec.create("cw"), AttackSpec.create("cw")}) == 1


@pytest.mark.parametrize(
    "attack,params,message",
    [
        ("ifgsm", {"eps": 0}, "parameter 'eps': must be in \\(0, 1\\]"),
        ("ifgsm", {"steps": "ten"}, "expected an integer"),
        ("cw", {"c": -1}, "must be > 0"),
        ("cw", {"kappa": 0}, "has no parameter 'kappa'; its parameters are: c, "),
        ("pixel_swap", {"max_swaps": True}, "got a boolean"),
        ("pixel_swap", {"max_swaps": 0}, "a positive integer \\(none: every pixel pair\\)"),
        ("deepfool", {"candidates": 1}, "an integer >= 2"),
    ],
)
def test_bad_parameters_name_the_parameter_and_the_rule(attack, params, message):
    with pytest.raises(ConfigError, match=message):
        AttackSpec.create(attack, **params)


def test_unknown_attack_lists_known_attacks():
    with pytest.raises(
        UnknownNameError, match="known attacks: ifgsm, deepfool, cw, fmn, ddn, pixel_swap"
    ):
        AttackSpec.create("fgsm_l2")
