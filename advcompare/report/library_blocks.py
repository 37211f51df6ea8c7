"""The report's library sections: does the library matter (each pair's answer, its effect
size, cost and control), the per-pair agreement, the spread across training seeds and the
per-family ranking."""

import pandas as pd

from advcompare.report.blocks import LEVEL, REGENERATE, Block, heading, paragraph, table
from advcompare.report.tables import (
    agreement_table_frame,
    attack_name,
    conclusion_frame,
    ranking_table_frame,
    seed_frame,
    where_label,
)


def library_blocks(conclusions: pd.DataFrame | None, level: str = LEVEL) -> list[Block]:
    """The tool's central answer, first in the report: per attack (and classifier), do the
    libraries agree, differ, or can this run not tell; with effect sizes, the cost check and
    the smallest difference the run could detect."""
    if conclusions is None or not len(conclusions):
        return []
    margin = 100 * float(conclusions["margin"].iloc[0])
    detectable = 100 * float(conclusions["detectable_difference"].max())
    n = int(conclusions["n"].min())
    ratio = float(conclusions["max_cost_ratio"].iloc[0])
    return [
        heading(2, "Does the library matter?"),
        paragraph(
            "Per attack, backends that attacked the same classifier and images are paired "
            f"image by image. A pair that spent more than {ratio:g}× the other's forward and "
            "backward passes per image is *not comparable at equal cost*. Otherwise it "
            "*differs* when McNemar's exact test on fooled / not fooled or, for an attack "
            "that minimises a distance, the Wilcoxon signed-rank test on L2 where both fooled "
            "rejects after Holm's correction across the run's table (an ε-bounded attack is "
            "judged by success at ε: its L2 ratio is shown, not tested); the success "
            f"difference carries Tango's {level} score interval and the L2 ratio a bootstrap "
            "one. It *agrees within "
            f"±{margin:.1f} points* when the difference's interval at 1 − 2α lies inside "
            "that margin (two one-sided tests); anything else is *inconclusive*, with about "
            "how many images would settle it. The documented cause is what the two backends' "
            "entries say they differ in (`advcompare backends`, `docs/backends.md`). How: "
            "`docs/statistics.md`."
        ),
        paragraph(
            f"Power: at n = {n} images, the smallest one-way difference in success these tests "
            f"detect with 80% power after the correction is {detectable:.1f} points; a smaller "
            "difference can hide behind an inconclusive answer."
        ),
        table(
            conclusion_frame(conclusions, level),
            "Do the libraries differ, per attack",
            footnote=("documented cause",),
        ),
        *_control_blocks(conclusions),
    ]


def _control_blocks(conclusions: pd.DataFrame) -> list[Block]:
    """One line per difference: its control run and whether it confirmed the cause."""
    if "cause_status" not in conclusions:
        return []
    differ = conclusions[conclusions["cause_status"] != ""]
    if not len(differ):
        return []
    lines = [
        f"- **{label}** ({pair}): cause {status}. Control: {control}."
        for label, pair, status, control in zip(
            where_label(differ), differ["pair"], differ["cause_status"], differ["control"]
        )
    ]
    return [
        paragraph(
            "Each difference's documented cause is tested by a control run that equalises "
            "it on one backend: *confirmed* when the difference then vanishes within its "
            "interval, *unexplained* when it persists."
        ),
        paragraph("\n".join(lines)),
    ]


def agreement_blocks(name: str, pairs: pd.DataFrame | None) -> list[Block]:
    """Every pair of backends that ran the same attack on ``name``'s classifiers."""
    blocks: list[Block] = []
    if pairs is not None and len(pairs):
        blocks += [
            heading(3, "Agreement between backends"),
            paragraph(
                "Shares of the n initially correct images; distances over all attacked images; "
                "p-values Holm-corrected."
            ),
            table(agreement_table_frame(pairs), f"{name}: agreement between backends"),
        ]
    return blocks


def seed_blocks(name: str, spread: pd.DataFrame, versus: pd.DataFrame) -> list[Block]:
    """Mean ± sd across training seeds, and per attack whether libraries differ by more."""
    part = spread[spread["dataset"] == name] if len(spread) else spread
    if not len(part):
        return []
    seeds = part["seeds"].iloc[0]
    blocks = [
        heading(3, "Training seeds"),
        paragraph(
            f"The same cells on models trained with seeds {seeds} (same splits and attacked "
            f"images): mean ± sd across seeds. A difference between libraries within the "
            f"spread between seeds is not a library effect."
        ),
        table(seed_frame(part), f"{name}: mean ± sd across training seeds"),
    ]
    mine = versus[versus["dataset"] == name] if len(versus) else versus
    if len(mine):
        lines = [f"- **{w}**: {c}" for w, c in zip(where_label(mine), mine["conclusion"])]
        blocks.append(paragraph("\n".join(lines)))
    return blocks


def ranking_blocks(name: str, ranking: pd.DataFrame | None, level: str = LEVEL) -> list[Block]:
    """The ranking of each attack family's backends on one dataset (``analysis.ranking``):
    success at counted cost, median norm in the attack's own norm, optimality against the
    reference of that norm; nothing when no family has two backends."""
    part = ranking[ranking["dataset"] == name] if ranking is not None and len(ranking) else None
    if part is None or not len(part):
        return []
    unequal = sorted(
        {attack_name(r.label, r.attack) for r in part.itertuples() if not r.equal_cost}
    )
    return [
        heading(3, "Ranking across implementations (AttackBench)"),
        paragraph(
            "Per attack, its backends best first: higher optimality against the independent "
            "reference of the attack's own norm (FMN-L2 and DDN for L2, FMN-L1 for EAD's L1, "
            "FMN-L0 for JSMA's L0; 'no reference' where none ran), then higher "
            "success, then a smaller median norm in that norm. Passes/image: forward + backward "
            "passes per image as the grader counted them (× the family's cheapest); "
            f"'≠ cost': the family's backends differ by more than "
            f"{float(part['max_cost_ratio'].iloc[0]):g}×, so the ranks compare "
            "success at unequal queries"
            + (f" ({', '.join(unequal)})" if unequal else "")
            + f". Intervals ({level}): Wilson's for success, a bootstrap over images for the "
            "median norm. "
            f"Regenerate: `{REGENERATE}`."
        ),
        table(ranking_table_frame(part), f"{name}: each attack's implementations ranked"),
    ]
