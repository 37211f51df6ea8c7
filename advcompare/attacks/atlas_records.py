"""The attack atlas: attacks that two or more of torchattacks, ART and Foolbox implement, one
record each (canonical names, defaults from the attack's paper). What each library's version
differs in is in its adapter entry and in ``docs/backends.md``; the atlas run is
``configs/atlas.toml`` and its findings ``docs/atlas.md``.

- ``fgsm``: Goodfellow et al. 2015, arXiv:1412.6572 (ε = 0.25 on MNIST).
- ``pgd`` (L∞) and ``pgd_l2``: Madry et al. 2018, arXiv:1706.06083, with a uniform random
  start (L∞: ε = 0.3, step 0.01, 40 steps on MNIST; L2: no paper fixes an MNIST budget, so
  ε = 1.0 with the same step count).
- ``apgd``: Croce & Hein 2020, arXiv:2003.01690 (100 steps, cross-entropy or DLR loss,
  first step 2ε; ε = 0.3 on MNIST).
- ``autoattack``: the same paper's *standard* ensemble (APGD-CE, APGD-T, FAB-T, Square;
  100 iterations each APGD). Every backend runs APGD-CE, APGD-T over the top 9 other
  classes at ``steps`` and Square at ``square_queries`` (5,000); FAB-T is left out (ART has
  none).
- ``square``: Andriushchenko et al. 2020, arXiv:1912.00049, L∞, 5,000 queries, p = 0.8
  (AutoAttack's setting), margin loss.
- ``ead``: Chen et al. 2018, arXiv:1709.04114, elastic-net (β = 0.01, 9 binary-search steps,
  1,000 iterations, lr 0.01, initial c 0.001, EN decision rule); no early abort by default,
  because ART's ElasticNet has none (torchattacks and Foolbox abort on different tests).
- ``jsma``: Papernot et al. 2016, arXiv:1511.07528 (θ = 1, at most γ = 14.5% of the
  features changed), targeted at class (y + 1) mod C on every backend.
- ``newtonfool``: Jang et al. 2017, ACSAC (η = 0.01, 100 steps).
- ``hopskipjump``: Chen, Jordan & Wainwright 2020, arXiv:1904.02144, L2, decision-based.
- ``boundary``: Brendel, Rauber & Bethge 2018, arXiv:1712.04248, decision-based.

Decision-based attacks' budgets are their iterations and gradient-estimate evaluations; the
queries each image actually took are counted by the grader (``forward_per_image``).
"""

from __future__ import annotations

from advcompare.attacks.record import (
    BOUNDED,
    DECISION_BASED,
    MINIMUM_NORM,
    AttackRecord,
    Param,
    choice,
    flag,
    non_negative,
    positive,
)


def _unit(default: float) -> Param:
    return Param(float, default, lambda v: 0 < v <= 1, "in (0, 1]")


def _count(default: int, what: str = "a positive integer") -> Param:
    return Param(int, default, positive, what)


def _rate(default: float, what: str = "> 0") -> Param:
    return Param(float, default, positive, what)


ATLAS_RECORDS: tuple[AttackRecord, ...] = (
    AttackRecord(
        "fgsm",
        {"eps": _unit(0.25)},
        "torchattacks",
        "Goodfellow et al. 2015, arXiv:1412.6572",
        display="FGSM",
        norm="linf",
        kind=BOUNDED,
        gradient=True,
    ),
    AttackRecord(
        "pgd",
        {
            "eps": _unit(0.3),
            "step_size": _unit(0.01),
            "steps": _count(40),
            "random_start": flag(True),
        },
        "torchattacks",
        "Madry et al. 2018, arXiv:1706.06083 (L∞)",
        display="PGD",
        norm="linf",
        kind=BOUNDED,
        gradient=True,
    ),
    AttackRecord(
        "pgd_l2",
        {
            "eps": _rate(1.0, "> 0 (L2 radius)"),
            "step_size": _rate(0.1, "> 0 (L2 step)"),
            "steps": _count(40),
            "random_start": flag(True),
        },
        "torchattacks",
        "Madry et al. 2018, arXiv:1706.06083 (L2)",
        display="PGD-L2",
        norm="l2",
        kind=BOUNDED,
        gradient=True,
    ),
    AttackRecord(
        "apgd",
        {
            "eps": _unit(0.3),
            "steps": _count(100),
            "loss": choice("ce", "ce", "dlr"),
            "restarts": _count(1),
        },
        "torchattacks",
        "Croce & Hein 2020, arXiv:2003.01690 (APGD, L∞)",
        display="APGD",
        norm="linf",
        kind=BOUNDED,
        gradient=True,
    ),
    AttackRecord(
        "autoattack",
        {
            "eps": _unit(0.3),
            "steps": _count(100, "a positive integer (iterations of APGD-CE and APGD-T)"),
            # Croce & Hein's 5,000; a parameter so a matched-cost control can set it
            "square_queries": _count(5000, "a positive integer (queries of its Square)"),
        },
        "torchattacks",
        "Croce & Hein 2020, arXiv:2003.01690 (AutoAttack, standard, L∞)",
        display="AutoAttack",
        norm="linf",
        kind=BOUNDED,
        gradient=True,
    ),
    AttackRecord(
        "square",
        {
            "eps": _unit(0.3),
            "queries": _count(5000, "a positive integer (queries per image)"),
            "p_init": _unit(0.8),
            "restarts": _count(1),
        },
        "torchattacks",
        "Andriushchenko et al. 2020, arXiv:1912.00049 (Square, L∞)",
        display="Square",
        norm="linf",
        kind=BOUNDED,
        gradient=False,
    ),
    AttackRecord(
        "ead",
        {
            "beta": Param(float, 0.01, non_negative, ">= 0 (L1 weight)"),
            "c": _rate(0.001, "> 0 (initial c of the binary search)"),
            "binary_search_steps": _count(9),
            "steps": _count(1000),
            "lr": _rate(0.01),
            "confidence": Param(float, 0.0, non_negative, ">= 0 (kappa)"),
            "decision_rule": choice("EN", "EN", "L1"),
            # off: ART's ElasticNet cannot abort, so only "off" means the same everywhere
            "abort_early": flag(False),
        },
        "foolbox",
        "Chen et al. 2018, arXiv:1709.04114 (elastic-net attack)",
        display="EAD",
        norm="l1",
        kind=MINIMUM_NORM,
        gradient=True,
    ),
    AttackRecord(
        "jsma",
        {
            "theta": Param(float, 1.0, lambda v: 0 < abs(v) <= 1, "in [-1, 0) or (0, 1]"),
            "gamma": _unit(0.145),
        },
        "torchattacks",
        "Papernot et al. 2016, arXiv:1511.07528 (JSMA, target (y + 1) mod C)",
        display="JSMA",
        norm="l0",
        kind=MINIMUM_NORM,
        gradient=True,
    ),
    AttackRecord(
        "newtonfool",
        {"steps": _count(100), "eta": _rate(0.01)},
        "art",  # Foolbox 3.3.4's step is δ/‖g‖³, not δ/‖g‖ (its backend notes)
        "Jang et al. 2017, ACSAC (NewtonFool)",
        display="NewtonFool",
        norm="l2",
        kind=MINIMUM_NORM,
        gradient=True,
    ),
    AttackRecord(
        "hopskipjump",
        {
            "steps": _count(64, "a positive integer (iterations)"),
            "initial_evals": _count(100, "a positive integer (first gradient estimate)"),
            "max_evals": _count(10000, "a positive integer (largest gradient estimate)"),
            # true: each library's departure from Chen et al.'s reference loop undone (Foolbox
            # one image at a time, ART a binary search after its last step; the controls')
            "reference_loop": flag(False),
        },
        "foolbox",
        "Chen, Jordan & Wainwright 2020, arXiv:1904.02144 (HopSkipJump, L2)",
        display="HopSkipJump",
        norm="l2",
        kind=DECISION_BASED,
        gradient=False,
    ),
    AttackRecord(
        "boundary",
        {
            "steps": _count(5000, "a positive integer (iterations)"),
            "spherical_step": _rate(0.01),
            "source_step": _rate(0.01),
            "step_adaptation": Param(float, 1.5, lambda v: v > 1, "> 1"),
        },
        "foolbox",
        "Brendel, Rauber & Bethge 2018, arXiv:1712.04248 (boundary attack)",
        display="Boundary",
        norm="l2",
        kind=DECISION_BASED,
        gradient=False,
    ),
)
