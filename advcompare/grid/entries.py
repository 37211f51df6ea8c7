"""The cells a run adds beside each main entry: the independent strength reference of each
norm a main entry minimises (docs/statistics.md), the control cells that equalise a documented
cause of a library difference (:mod:`advcompare.analysis.controls`), and the budget curve's
other ε of a bounded attack."""

from __future__ import annotations

from advcompare.adapters.entry import AttackEntry
from advcompare.adapters.registry import implementation
from advcompare.attacks.spec import AttackSpec, attack_record
from advcompare.config.settings import ExperimentConfig

REFERENCE_BACKEND = "foolbox"


def reference_entries(cfg: ExperimentConfig) -> list[AttackEntry]:
    """The independent strength reference of every norm that one of the run's main entries
    minimises (:data:`advcompare.analysis.curves.REFERENCES`: Foolbox's FMN-L2 and DDN for L2,
    FMN-L1 for L1, FMN-L0 for L0; FMN steps ``[curves] fmn_steps``, at least
    :data:`~advcompare.analysis.curves.REFERENCE_MIN_STEPS` for the sparse ones; DDN's
    ``ddn_steps``), when enabled."""
    from advcompare.analysis.curves import REFERENCE_MIN_STEPS, REFERENCES, minimises_norm

    if not cfg.reference.enabled:
        return []
    norms = {
        attack_record(e.spec.attack).norm for e in cfg.attacks if minimises_norm(e.spec.attack)
    }
    steps = {"ddn": cfg.reference.ddn_steps}
    return [
        AttackEntry(
            name,
            AttackSpec.create(
                name,
                steps=steps.get(
                    name, max(cfg.reference.fmn_steps, REFERENCE_MIN_STEPS.get(name, 0))
                ),
            ),
            REFERENCE_BACKEND,
        )
        for norm, names in REFERENCES.items()
        if norm in norms
        for name in names
    ]


def control_entries(entries: list[AttackEntry]) -> list[AttackEntry]:
    """Per attack row run by two or more backends: each backend entry that declares a
    :class:`~advcompare.adapters.base.Control` again, with its documented cause equalised
    (skipped where the overrides leave the spec as it was)."""
    backends: dict[str, set[str]] = {}
    for entry in entries:
        backends.setdefault(entry.label, set()).add(entry.backend)
    out = []
    for entry in entries:
        impl = implementation(entry.backend, entry.spec.attack)
        if len(backends[entry.label]) < 2 or impl is None or impl.control is None:
            continue
        params = dict(entry.spec.params)
        spec = AttackSpec.create(entry.spec.attack, **{**params, **impl.control.params(params)})
        if spec != entry.spec:
            out.append(AttackEntry(entry.label, spec, entry.backend, False, entry.samples))
    return out


def curve_eps(cfg: ExperimentConfig, attack: str) -> tuple[float, ...]:
    """The ε of ``attack``'s budget curve: ``[curves] linf_eps`` or ``l2_eps`` by its norm."""
    norm = attack_record(attack).budget_norm
    return {"linf": cfg.eps_curve, "l2": cfg.eps_curve_l2}.get(norm or "", ())


def eps_curve_entries(entry: AttackEntry, eps_values: tuple[float, ...]) -> list[AttackEntry]:
    """A bounded attack at each ε of its budget (security-evaluation) curve (unless its
    table says ``curve = false``), its own ε excluded; a step size is scaled in proportion
    so every ε gets the same number of steps to reach its bound. Each keeps its row's label:
    its ε is part of its typed identity (:class:`~advcompare.storage.record.CellId`)."""
    record = attack_record(entry.spec.attack)
    if not record.has_eps_curve or not entry.curve:
        return []
    params = dict(entry.spec.params)
    out = []
    for eps in eps_values:
        if eps == params["eps"]:
            continue
        scaled = {"eps": eps}
        if "step_size" in params:
            scaled["step_size"] = params["step_size"] * eps / params["eps"]
            if record.norm == "linf":
                scaled["step_size"] = min(1.0, scaled["step_size"])
        spec = AttackSpec.create(entry.spec.attack, **{**params, **scaled})
        out.append(AttackEntry(entry.label, spec, entry.backend, samples=entry.samples))
    return out
