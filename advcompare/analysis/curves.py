"""Attack strength beyond one number: robust-accuracy curves and AttackBench's optimality.

Computed from stored results only (never by rerunning a library); the fixed-budget attacks'
curves against ε are :mod:`advcompare.analysis.eps_curves`'.

*Norm-minimising attacks* (:func:`minimises_norm`: records whose kind is minimum-norm, in
any norm, and the decision-based L2 attacks, HopSkipJump and Boundary, which shrink the L2
distance from an adversarial start) look for the smallest perturbation that fools each
image, so one run gives robust accuracy at every budget *of its own norm* (EAD: L1, JSMA:
L0, the rest L2). Per image ``i`` of the attacked set, its *needed norm* is

    d_i = 0                 if the clean prediction was already wrong,
    d_i = ‖x_adv_i − x_i‖   if it was right and the attack fooled it (the attack's norm),
    d_i = +inf              if it was right and the attack failed,

and robust accuracy at budget ε is ``r(ε) = #{i : d_i > ε} / N``: the image was correct and
the attack failed or needed more than ε (so ``r(0)`` is the clean accuracy).

*The reference* (:data:`REFERENCES`): every cell is measured against an *independent*
strength reference of its own norm, run on the same classifier and images (role
``reference``, planned by ``advcompare.grid.plan.reference_entries``): Foolbox's FMN-L2
(Pintor et al. 2021) and DDN (Rony et al. 2019) for L2, Foolbox's FMN-L1 for L1 (EAD) and
FMN-L0, its projection repaired (``adapters.foolbox_backend``), for L0 (JSMA). Its
*envelope* is the per-image minimum of ``d_i`` over those reference cells only, as
AttackBench's "best distances" over its reference attacks. No cell is ever scored against an
envelope it belongs to: a compared cell against the reference cells, a reference cell
against the *other* references of its norm (FMN-L2 against DDN; FMN-L1 and FMN-L0, alone
in their norms, get none). Norms without a reference (L∞: no norm-minimising attack in the
atlas) and runs that did not run it (``[curves] reference = false``) read "no reference"
and score NaN, never 1: the best of the run's own cells is no yardstick (the old "best of
all cells" envelope row is gone; the L2 figure still draws it, unscored).

*Optimality* (AttackBench, Cinà et al. 2024, arXiv:2404.19460) compares the area under a
curve with the reference envelope's on ``[0, D]``, ``D`` the envelope's largest finite
needed norm. Because ``r`` is a step function its area is exact:
``A = ∫_0^D r(ε) dε = (1/N) Σ_i min(d_i, D)``. With ``A*`` the envelope's area and
``W = D · clean accuracy`` the area of an attack that fools nothing,

    optimality = 1 − (A − A*) / (W − A*) = (W − A) / (W − A*)

which is 1 for a curve on the envelope and 0 for an attack that fools no image. It is not
clipped above: a cell that beats the reference scores > 1 (the reference was too weak
there, which the table then shows). (AttackBench's script integrates the same curves with
the trapezoidal rule on the sampled steps; the exact step integral differs from it by
discretisation only.) Undefined (NaN) when the envelope fools nothing. A cell that attacked
fewer images than the reference (``samples``) is compared on its images, the reference's
first ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from advcompare.analysis.statistics import (
    lower_median,
    percentile_interval,
    resample_counts,
    weighted_lower_median,
)
from advcompare.attacks.spec import ATTACKS, DECISION_BASED, MINIMUM_NORM
from advcompare.storage.store import load_samples

# L2 budgets (pixel units) of the table's robust accuracy; the figure draws the whole curve.
TABLE_BUDGETS = (0.5, 1.0, 1.5, 2.0, 3.0)
# The independent strength reference of each norm: the attacks ``reference_entries`` plans
# (Foolbox backend) and that the norm's cells are scored against. No L∞ entry: no atlas
# attack minimises L∞ (Foolbox's LInfFMNAttack would be its reference).
REFERENCES: dict[str, tuple[str, ...]] = {
    "l2": ("fmn", "ddn"),
    "l1": ("fmn_l1",),
    "l0": ("fmn_l0",),
}
# The fewest steps the sparse references run, whatever ``[curves] fmn_steps`` says: on the
# MNIST sample FMN-L0 fooled 17 of 49 images at 50 steps and all 49 at 200, and FMN-L1's
# median L1 fell from 15.1 at 50 steps to 12.7 at 200 (12.66 at 1,000).
REFERENCE_MIN_STEPS = {"fmn_l1": 200, "fmn_l0": 200}
NORM_NAMES = {"linf": "L∞", "l2": "L2", "l1": "L1", "l0": "L0"}
NO_REFERENCE = "no reference"
# The median norm's interval: a percentile bootstrap over images, as the attacks table's.
MEDIAN_RESAMPLES = 1000


def needed_norms(correct: Any, success: Any, norms: Any) -> np.ndarray:
    """Per image: 0 where the clean prediction was wrong, its stored perturbation norm where
    the attack fooled it, +inf where the attack failed."""
    correct = np.asarray(correct).astype(bool)
    success = np.asarray(success).astype(bool) & correct
    needed = np.where(correct, np.inf, 0.0)
    needed[success] = np.asarray(norms, dtype=float)[success]
    return needed


def is_minimum_norm(attack: str) -> bool:
    """Whether ``attack``'s record says one run gives every L2 budget (no record: no)."""
    record = ATTACKS.get(attack)
    return record is not None and record.minimum_norm


def minimises_norm(attack: str) -> bool:
    """Whether ``attack`` looks for the smallest perturbation in its record's norm, so its
    optimality is defined: a minimum-norm threat in any norm (EAD, JSMA too), or a
    decision-based L2 attack (HopSkipJump, Boundary). No record: no."""
    record = ATTACKS.get(attack)
    if record is None:
        return False
    return record.kind == MINIMUM_NORM or (record.kind == DECISION_BASED and record.norm == "l2")


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
    docstring): ``(W − A) / (W − A*)`` on ``[0, D]``, ≥ 0, above 1 where the curve beats
    the envelope; NaN when the envelope fools nothing."""
    norms, best = np.asarray(norms, dtype=float), np.asarray(best, dtype=float)
    if norms.shape != best.shape:
        raise ValueError("a curve and its envelope must cover the same images")
    limit = budget_limit(best)
    worst = limit * float((best > 0).mean())  # D × clean accuracy: an attack that fools nothing
    best_area = curve_area(best, limit)
    if not limit or worst - best_area <= 0:
        return float("nan")
    value = (worst - curve_area(norms, limit)) / (worst - best_area)
    return float(max(value, 0.0))


@dataclass
class NormCurve:
    """One norm-minimising cell's needed norms in ``norm`` (``reference``: a cell of the
    independent strength reference)."""

    label: str
    attack: str
    backend: str
    norms: np.ndarray
    reference: bool = False
    norm: str = "l2"


def _prefix(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The arrays cut to their shortest length: a cell that attacked the first m images is
    compared on those."""
    m = min(len(a) for a in arrays)
    return [np.asarray(a, dtype=float)[:m] for a in arrays]


@dataclass
class NormGroup:
    """Every norm-minimising cell in one norm on one classifier (dataset, defense, threat),
    and the independent reference it is scored against."""

    dataset: str
    defense: str
    threat: str
    curves: list[NormCurve] = field(default_factory=list)
    norm: str = "l2"

    @property
    def classifier(self) -> str:
        return "undefended" if self.defense == "none" else f"{self.defense} ({self.threat})"

    @property
    def references(self) -> list[NormCurve]:
        return [c for c in self.curves if c.reference]

    @property
    def has_reference(self) -> bool:
        return bool(self.references)

    @property
    def best(self) -> np.ndarray:
        """Per image the smallest norm any cell found (references included): what the L2
        figure draws as the best envelope. It scores nothing."""
        return envelope(_prefix([c.norms for c in self.curves]))

    @property
    def limit(self) -> float:
        return budget_limit(self.best)

    def reference_cells(self, curve: NormCurve | None = None) -> list[NormCurve]:
        """The reference cells ``curve`` is scored against: every reference of the norm
        but ``curve`` itself (no cell belongs to its own yardstick)."""
        return [c for c in self.references if c is not curve]

    def reference_envelope(self, curve: NormCurve | None = None) -> np.ndarray | None:
        """Per image the smallest norm of :meth:`reference_cells`, or None when none."""
        refs = self.reference_cells(curve)
        return envelope(_prefix([c.norms for c in refs])) if refs else None

    def optimality(self, curve: NormCurve) -> float:
        """``curve`` against the reference envelope of its norm; NaN without one."""
        best = self.reference_envelope(curve)
        if best is None:
            return float("nan")
        norms, best = _prefix([curve.norms, best])
        return optimality(norms, best)

    def reference_of(self, curve: NormCurve | None = None) -> str:
        """What ``curve``'s envelope is the per-image minimum of, in words."""
        refs = self.reference_cells(curve)
        return ", ".join(f"{c.label} ({c.backend})" for c in refs) or NO_REFERENCE

    @property
    def made_of(self) -> str:
        """What the compared cells' reference envelope is made of, in words."""
        return self.reference_of()


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
    """Norm-minimising and reference cells of a results frame grouped by classifier and
    norm (L2 groups first), with their per-image needed norms in that norm read from
    ``adv/<key>.safetensors``.

    Returns the groups and notes on cells left out (no per-image norm stored, or graded on
    other images than the rest of their classifier's cells).
    """
    part = _main(frame)
    part = part[part["attack"].map(minimises_norm).astype(bool)]
    if not len(part):
        return [], []
    part = part.assign(norm=part["attack"].map(lambda a: ATTACKS[a].norm))
    groups: list[NormGroup] = []
    notes: list[str] = []
    for (dataset, defense, threat), cells in part.groupby(
        ["dataset", "defense", "threat"], sort=False
    ):
        by_norm: dict[str, NormGroup] = {}
        seen: np.ndarray | None = None  # the classifier's longest `correct` so far
        for row in cells.itertuples():
            stored = _load(Path(run_dir) / "adv" / f"{row.key}.safetensors")
            name = f"{dataset}/{row.label} ({row.backend})"
            if stored is None or row.norm not in stored:
                notes.append(
                    f"{name}: no per-image {NORM_NAMES[row.norm]} norms stored (a store "
                    f"from before they were kept); rerun the cell to score it"
                )
                continue
            correct = np.asarray(stored["correct"]).astype(bool)
            if seen is not None:
                m = min(len(seen), len(correct))
                if not np.array_equal(seen[:m], correct[:m]):
                    notes.append(
                        f"{name}: graded on other images or another model than the "
                        f"rest of its classifier's cells; left out of the comparison"
                    )
                    continue
            if seen is None or len(correct) > len(seen):
                seen = correct
            group = by_norm.setdefault(row.norm, NormGroup(dataset, defense, threat, norm=row.norm))
            group.curves.append(
                NormCurve(
                    row.label,
                    row.attack,
                    row.backend,
                    needed_norms(correct, stored["success"], stored[row.norm]),
                    getattr(row, "role", "main") == "reference",
                    row.norm,
                )
            )
        groups += sorted(by_norm.values(), key=lambda g: g.norm != "l2")
    return groups, notes


def _median_success(norms: np.ndarray) -> float:
    """The lower median over fooled images: the attacks table's definition, so one cell shows
    one median L2 (NumPy's mean of the two middle values differed by up to 1%)."""
    return lower_median(norms[np.isfinite(norms) & (norms > 0)])


def median_interval(
    norms: np.ndarray, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """The ``confidence`` percentile-bootstrap interval (over images, 1,000 resamples) of
    the lower median needed norm over fooled images."""
    norms = np.asarray(norms, dtype=float)
    fooled = np.isfinite(norms) & (norms > 0)
    if not fooled.any():
        return float("nan"), float("nan")
    counts = resample_counts(len(norms), MEDIAN_RESAMPLES, seed)
    medians = weighted_lower_median(norms[fooled], counts[:, fooled])
    return percentile_interval(medians, confidence)


def optimality_frame(
    groups: list[NormGroup], budgets: Iterable[float] = TABLE_BUDGETS, confidence: float = 0.95
) -> pd.DataFrame:
    """One row per norm-minimising cell, and one per reference envelope: its norm, what it
    is scored against (``reference``, or "no reference"), robust accuracy at the L2
    ``budgets`` (L2 rows only), the median needed norm over fooled images with its
    ``confidence`` interval (``median_l2`` too on L2 rows), area on ``[0, D]`` and
    optimality against the reference (NaN without one; the envelope row's is NaN too: it is
    the yardstick)."""
    budgets = tuple(budgets)
    rows = []
    for g in groups:
        entries = [
            (
                c.label,
                c.backend,
                c.norms,
                g.optimality(c),
                "reference" if c.reference else "main",
                g.reference_envelope(c),
                g.reference_of(c),
            )
            for c in g.curves
        ]
        best = g.reference_envelope()
        if best is not None:
            entries.append(
                ("envelope", "reference", best, float("nan"), "envelope", best, g.made_of)
            )
        for label, backend, norms, score, role, against, of in entries:
            limit = budget_limit(_prefix([norms, against])[1]) if against is not None else 0.0
            lo, hi = median_interval(norms, confidence)
            robust = robust_accuracy(norms, budgets) if g.norm == "l2" else [np.nan] * len(budgets)
            rows.append(
                {
                    "dataset": g.dataset,
                    "defense": g.defense,
                    "threat": g.threat,
                    "classifier": g.classifier,
                    "attack": label,
                    "backend": backend,
                    "role": role,
                    "norm": g.norm,
                    "reference": of,
                    "n": len(norms),
                    "clean_accuracy": float((norms > 0).mean()),
                    **{f"robust_at_{b:g}": float(v) for b, v in zip(budgets, robust)},
                    "median_l2": _median_success(norms) if g.norm == "l2" else float("nan"),
                    "median_norm": _median_success(norms),
                    "median_norm_lo": lo,
                    "median_norm_hi": hi,
                    "budget_limit": limit,
                    "area": curve_area(norms, limit) if against is not None else float("nan"),
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
