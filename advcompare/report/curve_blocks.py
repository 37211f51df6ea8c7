"""The report's attack-strength sections: robust accuracy against each norm's budget with
optimality against the independent reference, and the bounded attacks' ε curves."""

import pandas as pd

from advcompare.analysis.curves import NormGroup
from advcompare.report.blocks import REGENERATE, Block, figure, heading, paragraph, table
from advcompare.report.curve_tables import eps_table_frame, norm_curve_frame


def _in_parentheses(names: list[str]) -> str:
    """Attack names in parentheses to follow a phrase (`` (DeepFool, CW)``), or nothing."""
    return f" ({', '.join(names)})" if names else ""


def _main_cells_phrase(names: list[str]) -> str:
    """The main cells of the attacks with ε curves, e.g. "The main I-FGSM cell and ..."."""
    if len(names) == 1:
        return f"The main {names[0]} cell and its ε-curve cells"
    if names:
        return f"The main {', '.join(names)} cells and their ε-curve cells"
    return "The main cell and its ε-curve cells"


def _envelope_text(groups: list[NormGroup]) -> str:
    """What each classifier's envelope is made of (with the strength reference, if run)."""
    if not groups:
        return ""
    kinds = list(dict.fromkeys(g.made_of for g in groups))
    made = (
        kinds[0] if len(kinds) == 1 else "; ".join(f"{g.classifier}: {g.made_of}" for g in groups)
    )
    if not any(g.has_reference for g in groups):
        return (
            " (no strength reference was run, so no cell is scored: the best of the run's "
            "own cells is no yardstick; set `[curves] reference = true`)"
        )
    return (
        ": Foolbox's FMN-L2 and DDN with a large step budget, never the compared cells (a "
        "reference cell is scored against the other reference). Envelope of " + made
    )


def _l2_blocks(
    name: str, mine: list[NormGroup], part: pd.DataFrame, figures: dict, norm_names: list[str]
) -> list[Block]:
    """Robust accuracy against the L2 budget, optimality against the reference, its figure."""
    blocks = [
        heading(3, "Attack strength: robust accuracy against the L2 budget"),
        paragraph(
            f"Minimum-norm attacks{_in_parentheses(norm_names)}, from the stored per-image "
            "L2 norms: an image is robust at budget ε if it was classified right and the "
            "attack failed or needed L2 > ε. Optimality is measured against the "
            "independent strength reference: its envelope is, per image, the smallest norm "
            "the reference cells found on the same classifier"
            + _envelope_text(mine)
            + ". Optimality (AttackBench, Cinà "
            "et al. 2024) = (W − A) / (W − A*), with A the area under the curve on "
            "[0, D], A* the envelope's, W = D × clean accuracy and D the envelope's "
            "largest finite norm: 1 = on the envelope, 0 = fools nothing. "
            f"Regenerate: `{REGENERATE}`."
        ),
        table(
            norm_curve_frame(part),
            f"{name}: robust accuracy at L2 budgets and optimality (AttackBench)",
        ),
    ]
    if name in figures.get("l2", {}):
        caption = (
            f"{name}: robust accuracy against the L2 budget, one curve per backend, and the "
            "best envelope"
        )
        blocks.append(figure(figures["l2"][name], caption))
    return blocks


def _eps_blocks(name: str, part: pd.DataFrame, figures: dict, eps_names: list[str]) -> list[Block]:
    """Robust accuracy and adversarial F1 against ε, and its figure."""
    named = f"{', '.join(eps_names)} " if eps_names else ""
    blocks = [
        heading(3, f"Security evaluation: robust accuracy against ε{_in_parentheses(eps_names)}"),
        paragraph(
            f"{_main_cells_phrase(eps_names)} (same attack, other ε, same backend); ε = 0 "
            "is the clean model. Robust accuracy = clean accuracy × (1 − success rate). "
            f"Regenerate: `{REGENERATE}`."
        ),
        table(
            eps_table_frame(part), f"{name}: {named}robust accuracy and adversarial F1 against ε"
        ),
    ]
    if name in figures.get("eps", {}):
        caption = f"{name}: robust accuracy (solid) and adversarial F1 (dotted) against ε"
        blocks.append(figure(figures["eps"][name], caption))
    return blocks


def curve_blocks(
    name: str,
    groups: list[NormGroup],
    norm_table: pd.DataFrame,
    notes: list[str],
    eps: pd.DataFrame,
    figures: dict[str, dict[str, str]],
    names: tuple[list[str], list[str]],
) -> list[Block]:
    """The L2 curves of the minimum-norm attacks and the ε curves of one dataset;
    ``names``: the report names of the run's minimum-norm attacks and of its attacks with
    ε curves."""
    norm_names, eps_names = names
    blocks: list[Block] = []
    mine = [g for g in groups if g.dataset == name]
    if mine:
        blocks += _l2_blocks(
            name, mine, norm_table[norm_table["dataset"] == name], figures, norm_names
        )
    mine_notes = [n for n in notes if n.startswith(f"{name}/")]
    if mine_notes:
        blocks.append(paragraph("\n".join(f"- {n}" for n in mine_notes)))
    part = eps[eps["dataset"] == name] if len(eps) else eps
    if len(part):
        blocks += _eps_blocks(name, part, figures, eps_names)
    return blocks
