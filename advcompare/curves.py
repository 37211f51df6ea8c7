"""Attack strength beyond one number: robust-accuracy curves and AttackBench's optimality.

Two kinds of curve, both computed from stored results only (never by rerunning a library):

*Minimum-norm attacks* (records whose threat is minimum-norm: DeepFool and CW by default)
look for the smallest perturbation that fools each image, so one run gives robust accuracy
at every L2 budget. Per image ``i`` of the attacked set, its *needed norm* is

    d_i = 0                  if the clean prediction was already wrong,
    d_i = L2(x_adv_i − x_i)  if it was right and the attack fooled it,
    d_i = +inf               if it was right and the attack failed,

and robust accuracy at budget ε is ``r(ε) = #{i : d_i > ε} / N``: the image was correct and
the attack failed or needed more than ε (so ``r(0)`` is the clean accuracy). The *envelope*
is the per-image minimum of ``d_i`` over every minimum-norm cell (every attack and backend)
graded on the same classifier and images: the best any of them found, as AttackBench's
"best distances". It also takes the run's *reference* cells (role ``reference``): Foolbox's
FMN-L2 and DDN run with a large step budget on the same images, so the strongest backend is
measured against an independent attack rather than scoring ≈ 1 by construction.

*Optimality* (AttackBench, Cinà et al. 2024, arXiv:2404.19460) compares the area under a
curve with the envelope's on ``[0, D]``, ``D`` the largest finite needed norm of the
envelope. Because ``r`` is a step function its area is exact:
``A = ∫_0^D r(ε) dε = (1/N) Σ_i min(d_i, D)``. With ``A*`` the envelope's area and
``W = D · clean accuracy`` the area of an attack that fools nothing,

    optimality = 1 − (A − A*) / (W − A*) = (W − A) / (W − A*)

which is 1 for a curve on the envelope and 0 for an attack that fools no image. (AttackBench's
script integrates the same curves with the trapezoidal rule on the sampled steps; the exact
step integral differs from it by discretisation only.) Undefined (NaN) when the envelope
fools nothing.

*Fixed-budget attacks* (records with ``has_eps_curve``: I-FGSM by default) give one point per
run, so the security-evaluation curve (robust accuracy against ε, as SecML and ARES draw it)
joins the main cell with its ε-curve cells (role ``eps_curve``), plus ε = 0 where robust
accuracy is the clean accuracy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from advcompare.spec import ATTACKS
from advcompare.statistics import lower_median
from advcompare.results.store import load_samples

# L2 budgets (pixel units, 3×32×32 inputs in [0, 1]) at which the table reports robust
# accuracy; the figure draws the whole curve.
TABLE_BUDGETS = (0.5, 1.0, 1.5, 2.0, 3.0)


def needed_norms(correct: Any, success: Any, l2: Any) -> np.ndarray:
    """Per image: 0 where the clean prediction was wrong, the L2 norm where the attack
    fooled it, +inf where the attack failed."""
    correct = np.asarray(correct).astype(bool)
    success = np.asarray(success).astype(bool) & correct
    norms = np.where(correct, np.inf, 0.0)
    norms[success] = np.asarray(l2, dtype=float)[success]
    return norms


def is_minimum_norm(attack: str) -> bool:
    """Whether ``attack``'s record says one run gives every L2 budget (no record: no)."""
    record = ATTACKS.get(attack)
    return record is not None and record.minimum_norm


def has_eps_curve(attack: str) -> bool:
    """Whether ``attack``'s record gives it an ε curve (no record: no)."""
    record = ATTACKS.get(attack)
    return record is not None and record.has_eps_curve


def robust_accuracy(norms: np.ndarray, budgets: Iterable[float]) -> np.ndarray:
    """``r(ε) = #{i : d_i > ε} / N`` at each budget ε."""
    norms = np.asarray(norms, dtype=float)
    budgets = np.asarray(list(budgets), dtype=float)
    if norms.size == 0:
        return np.full(budgets.shape, np.nan)
    return (norms[None, :] > budgets[:, None]).mean(axis=1)


def envelope(norms: Iterable[np.ndarray]) -> np.ndarray:
    """Per-image minimum needed norm over several attacks on the same images."""
    stacked = np.stack([np.asarray(n, dtype=float) for n in norms])
    return stacked.min(axis=0)


def budget_limit(best: np.ndarray) -> float:
    """``D``: the envelope's largest finite needed norm (0 when it fools nothing)."""
    finite = np.asarray(best, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else 0.0


def curve_area(norms: np.ndarray, limit: float) -> float:
    """Exact ``∫_0^limit r(ε) dε = (1/N) Σ_i min(d_i, limit)``."""
    norms = np.asarray(norms, dtype=float)
    return float(np.minimum(norms, limit).mean()) if norms.size else float("nan")


def optimality(norms: np.ndarray, best: np.ndarray) -> float:
    """AttackBench's optimality of one curve against the envelope ``best`` (see the module
    docstring): ``(W − A) / (W − A*)`` on ``[0, D]``; NaN when the envelope fools nothing."""
    norms, best = np.asarray(norms, dtype=float), np.asarray(best, dtype=float)
    if norms.shape != best.shape:
        raise ValueError("a curve and its envelope must cover the same images")
    limit = budget_limit(best)
    worst = limit * float((best > 0).mean())  # D × clean accuracy: an attack that fools nothing
    best_area = curve_area(best, limit)
    if not limit or worst - best_area <= 0:
        return float("nan")
    value = (worst - curve_area(norms, limit)) / (worst - best_area)
    return float(min(max(value, 0.0), 1.0))


@dataclass
class NormCurve:
    """One minimum-norm cell's needed norms (``reference``: a strength-reference cell)."""

    label: str
    attack: str
    backend: str
    norms: np.ndarray
    reference: bool = False


@dataclass
class NormGroup:
    """Every minimum-norm cell on one classifier (dataset, defense, threat) and its envelope."""

    dataset: str
    defense: str
    threat: str
    curves: list[NormCurve] = field(default_factory=list)

    @property
    def classifier(self) -> str:
        return "undefended" if self.defense == "none" else f"{self.defense} ({self.threat})"

    @property
    def best(self) -> np.ndarray:
        return envelope(c.norms for c in self.curves)

    @property
    def limit(self) -> float:
        return budget_limit(self.best)

    def optimality(self, curve: NormCurve) -> float:
        return optimality(curve.norms, self.best)

    @property
    def made_of(self) -> str:
        """What the envelope is the per-image minimum of, in words."""
        own = [f"{c.label} ({c.backend})" for c in self.curves if not c.reference]
        refs = [f"{c.label} ({c.backend}, reference)" for c in self.curves if c.reference]
        return ", ".join(own + refs)

    @property
    def has_reference(self) -> bool:
        return any(c.reference for c in self.curves)


def _load(path: Path) -> dict | None:
    """A cell's per-sample arrays, or None when the file is missing or unreadable."""
    tensors = load_samples(path.parent.parent, path.stem)
    return None if tensors is None else {k: v.numpy() for k, v in tensors.items()}


def _main(frame: pd.DataFrame) -> pd.DataFrame:
    """Main and strength-reference cells (the ε-curve points are not minimum-norm runs)."""
    if "role" not in frame:
        return frame
    return frame[frame["role"].fillna("main").isin(["main", "reference"])]


def norm_groups(frame: pd.DataFrame, run_dir: Path) -> tuple[list[NormGroup], list[str]]:
    """Minimum-norm cells of a results frame grouped by classifier, with their per-image
    needed norms read from ``adv/<key>.safetensors``.

    Returns the groups and notes on cells left out (no per-image norms stored, or graded
    on other images than the rest of their group).
    """
    groups: list[NormGroup] = []
    notes: list[str] = []
    part = _main(frame)
    part = part[part["attack"].map(is_minimum_norm).astype(bool)]
    for (dataset, defense, threat), cells in part.groupby(
        ["dataset", "defense", "threat"], sort=False
    ):
        group, reference = NormGroup(dataset, defense, threat), None
        for row in cells.itertuples():
            stored = _load(Path(run_dir) / "adv" / f"{row.key}.safetensors")
            name = f"{dataset}/{row.label} ({row.backend})"
            if stored is None or "l2" not in stored:
                notes.append(
                    f"{name}: no per-image L2 norms stored (a store from before "
                    f"they were kept); rerun the cell to draw its curve"
                )
                continue
            if reference is None:
                reference = stored["correct"]
            elif not np.array_equal(reference, stored["correct"]):
                notes.append(
                    f"{name}: graded on other images or another model than the "
                    f"rest of its classifier's cells; left out of the envelope"
                )
                continue
            group.curves.append(
                NormCurve(
                    row.label,
                    row.attack,
                    row.backend,
                    needed_norms(stored["correct"], stored["success"], stored["l2"]),
                    getattr(row, "role", "main") == "reference",
                )
            )
        if group.curves:
            groups.append(group)
    return groups, notes


def _median_success(norms: np.ndarray) -> float:
    """The lower median over fooled images: the attacks table's definition, so one cell shows
    one median L2 (NumPy's mean of the two middle values differed by up to 1%)."""
    return lower_median(norms[np.isfinite(norms) & (norms > 0)])


def optimality_frame(
    groups: list[NormGroup], budgets: Iterable[float] = TABLE_BUDGETS
) -> pd.DataFrame:
    """One row per minimum-norm cell and one per envelope: robust accuracy at ``budgets``,
    median needed L2 over fooled images, area on ``[0, D]`` and optimality."""
    budgets = tuple(budgets)
    rows = []
    for g in groups:
        best, limit = g.best, g.limit
        entries = [
            (c.label, c.backend, c.norms, g.optimality(c), "reference" if c.reference else "main")
            for c in g.curves
        ]
        entries.append(
            ("envelope", "best of all", best, 1.0 if limit else float("nan"), "envelope")
        )
        for label, backend, norms, score, role in entries:
            rows.append(
                {
                    "dataset": g.dataset,
                    "defense": g.defense,
                    "threat": g.threat,
                    "classifier": g.classifier,
                    "attack": label,
                    "backend": backend,
                    "role": role,
                    "envelope_of": g.made_of,
                    "n": len(norms),
                    "clean_accuracy": float((norms > 0).mean()),
                    **{
                        f"robust_at_{b:g}": float(v)
                        for b, v in zip(budgets, robust_accuracy(norms, budgets))
                    },
                    "median_l2": _median_success(norms),
                    "budget_limit": limit,
                    "area": curve_area(norms, limit),
                    "optimality": score,
                }
            )
    return pd.DataFrame(rows)


def curve_points(norms: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """The step curve ``r(ε)`` on ``[0, limit]`` as (x, y) for ``drawstyle='steps-post'``."""
    norms = np.asarray(norms, dtype=float)
    steps = np.unique(norms[np.isfinite(norms) & (norms <= limit)])
    x = np.concatenate([[0.0], steps, [limit]])
    x = np.unique(x)
    return x, robust_accuracy(norms, x)


def base_label(label: str) -> str:
    """``"ifgsm@eps=0.05"`` → ``"ifgsm"``."""
    return str(label).split("@")[0]


def eps_curve_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Robust accuracy and adversarial F1 against ε for every label of an attack with an ε
    curve (``AttackRecord.has_eps_curve``) that has ε-curve cells: its main cell, its
    ``eps_curve`` cells and ε = 0 (the clean figures).

    Robust accuracy is ``clean accuracy × (1 − success rate)``: images classified right
    that the attack did not fool, as for the L2 curves.
    """
    if "role" not in frame or not (frame["role"] == "eps_curve").any():
        return pd.DataFrame(
            columns=[
                "dataset",
                "defense",
                "threat",
                "attack",
                "backend",
                "eps",
                "robust_accuracy",
                "adv_f1",
                "role",
                "norm",
            ]
        )
    part = frame[frame["attack"].map(has_eps_curve).astype(bool)].assign(
        base=lambda f: f["label"].map(base_label)
    )
    rows = []
    for (dataset, defense, threat, label, backend), cells in part.groupby(
        ["dataset", "defense", "threat", "base", "backend"], sort=False
    ):
        if not (cells["role"] == "eps_curve").any():
            continue
        first = cells.iloc[0]
        where = {
            "dataset": dataset,
            "defense": defense,
            "threat": threat,
            "attack": label,
            "backend": backend,
            "norm": ATTACKS[first["attack"]].norm,
        }
        points = {
            0.0: {
                **where,
                "eps": 0.0,
                "robust_accuracy": first["clean_accuracy"],
                "adv_f1": first["clean_f1"],
                "role": "clean",
            }
        }
        for row in cells.itertuples():
            eps = _eps_of(row)
            if eps is None or eps in points:
                continue
            success = 0.0 if _nan(row.success_rate) else row.success_rate
            points[eps] = {
                **where,
                "eps": eps,
                "robust_accuracy": row.clean_accuracy * (1 - success),
                "adv_f1": row.adv_f1,
                "role": row.role,
            }
        rows += [points[eps] for eps in sorted(points)]
    return pd.DataFrame(rows)


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _eps_of(row: Any) -> float | None:
    spec = row.spec if isinstance(row.spec, dict) else json.loads(row.spec)
    if "eps" in spec and spec["eps"] is not None:
        return float(spec["eps"])
    label = str(row.label)
    if "@eps=" in label:
        return float(label.split("@eps=")[1])
    return None
