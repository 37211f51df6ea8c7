"""Defenses by name: parameters, how each is built on the base CNN, and what each threat model
attacks.

Threat models (paper §3.5 evaluates the first kind of defense only one way; we make both
explicit):
- ``oblivious``: adversarial examples are crafted on the undefended model, then classified by
  the defended one (only for the preprocessing defenses, whose base model is the same).
- ``adaptive``: the attack sees the defended pipeline end to end; where the pipeline is
  randomised (gradient masking) gradient attacks see its expectation over ``eot_samples``
  draws (Athalye et al. 2018).
Trained defenses (distillation, adversarial training) are cached like the base model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from advcompare.errors import ConfigError, require_known
from advcompare.spec import GRADIENT_ATTACKS

DEFENSE_PARAMS: dict[str, dict[str, Any]] = {
    "none": {},
    "feature_smoothing": {"kernel_size": 3, "sigma": 1.0},
    "gradient_masking": {"epsilon": 0.01, "eot_samples": 10},
    "defensive_distillation": {"temperature": 20.0},
    "adversarial_training": {"epochs": 5, "clean_share": 0.0, "attacks": []},
}
PREPROCESSING = ("feature_smoothing", "gradient_masking")
OBLIVIOUS, ADAPTIVE = "oblivious", "adaptive"


def known_defenses() -> list[str]:
    return list(DEFENSE_PARAMS)


def defense_params(name: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """``given`` over the defense's defaults, checked key by key."""
    require_known("defense", name, known_defenses())
    params = dict(DEFENSE_PARAMS[name])
    for key, value in (given or {}).items():
        if key not in params:
            raise ConfigError(f"defense '{name}' has no parameter '{key}'; its parameters "
                              f"are: {', '.join(params) or 'none'}")
        default = params[key]
        if isinstance(default, list):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if not ok:
            raise ConfigError(f"config key 'defense.{name}.{key}': expected a value like "
                              f"{default!r}, got {value!r}")
        params[key] = float(value) if isinstance(default, float) else value
    if name == "feature_smoothing" and params["kernel_size"] % 2 == 0:
        raise ConfigError("config key 'defense.feature_smoothing.kernel_size': must be odd")
    if name == "adversarial_training" and not 0 <= params["clean_share"] < 1:
        raise ConfigError("config key 'defense.adversarial_training.clean_share': must be "
                          "in [0, 1)")
    return params


def threat_models(name: str) -> tuple[str, ...]:
    """Which threat models a defense is evaluated under."""
    return (OBLIVIOUS, ADAPTIVE) if name in PREPROCESSING else (ADAPTIVE,)


@dataclass
class Defended:
    """A defended classifier and, per threat model, the model an attack is run on."""

    name: str
    params: dict[str, Any]
    classifier: nn.Module
    key: str
    views: dict[str, nn.Module]
    eot_view: nn.Module | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    from_cache: bool = True

    def attacked_model(self, threat: str, attack: str) -> nn.Module:
        """The model ``attack`` runs on under ``threat`` (EOT only for gradient attacks)."""
        if threat == ADAPTIVE and self.eot_view is not None and attack in GRADIENT_ATTACKS:
            return self.eot_view
        return self.views[threat]


def defense_key(base_key: str, name: str, params: dict[str, Any], extra: Any = None) -> str:
    blob = json.dumps({"base": base_key, "defense": name, "params": params, "extra": extra},
                      sort_keys=True, default=str).encode()
    return f"{base_key}-{name}-{hashlib.sha256(blob).hexdigest()[:10]}"


def _cached(folder: Path, template: nn.Module, train) -> tuple[nn.Module, list, bool]:
    """Load ``folder``'s weights into ``template``, or run ``train()`` and save them."""
    weights, record = folder / "model.safetensors", folder / "record.json"
    if weights.is_file() and record.is_file():
        template.load_state_dict(load_file(str(weights)))
        return template.eval(), json.loads(record.read_text())["history"], True
    model, history = train()
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
              str(weights))
    record.write_text(json.dumps({"history": history}, indent=2))
    return model.eval(), history, False


def build_defense(name: str, params: dict[str, Any], base, dataset, train_config,
                  device: torch.device, cache_dir: Path,
                  attacks: Sequence[Any] = ()) -> Defended:
    """The defended classifier for ``name`` on top of ``base`` (a TrainedModel)."""
    from advcompare.defenses.eot import ExpectationOverTransformation
    from advcompare.defenses.gradient_masking import GradientMasked
    from advcompare.defenses.smoothing import smoothed
    from advcompare.models import PaperCNN, channel_stats

    model = base.model
    if name == "none":
        return Defended(name, params, model, base.key, {ADAPTIVE: model})
    if name == "feature_smoothing":
        defended = smoothed(model, params["kernel_size"], params["sigma"]).eval()
        return Defended(name, params, defended, defense_key(base.key, name, params),
                        {OBLIVIOUS: model, ADAPTIVE: defended})
    if name == "gradient_masking":
        defended = GradientMasked(model, params["epsilon"]).eval()
        eot = ExpectationOverTransformation(defended, params["eot_samples"]).eval()
        return Defended(name, params, defended, defense_key(base.key, name, params),
                        {OBLIVIOUS: model, ADAPTIVE: defended}, eot_view=eot)

    mean, std = channel_stats(dataset.train.x)
    template = PaperCNN(dataset.num_classes, mean, std).to(device)
    if name == "defensive_distillation":
        from advcompare.defenses.distillation import distill

        key = defense_key(base.key, name, params)

        def train():
            result = distill(dataset, train_config, params["temperature"], device)
            return result.student, result.student_history
    else:
        from advcompare.defenses.adversarial_training import adversarially_train

        chosen = [a for a in attacks if not params["attacks"] or a.label in params["attacks"]]
        if not chosen:
            raise ConfigError("config key 'defense.adversarial_training.attacks': names no "
                              "configured attack label")
        key = defense_key(base.key, name, params,
                          [(a.label, a.backend, a.spec.as_dict()) for a in chosen])

        def train():
            result = adversarially_train(model, dataset, chosen, train_config, device,
                                         epochs=params["epochs"],
                                         clean_share=params["clean_share"])
            return result.model, result.history
    trained, history, from_cache = _cached(Path(cache_dir) / key, template, train)
    return Defended(name, params, trained.to(device), key, {ADAPTIVE: trained},
                    history=history, from_cache=from_cache)
