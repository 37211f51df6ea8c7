"""The report's "Oblivious gains against plain retraining" section (issue 28, item 6): each
defense's oblivious F1 beside the retrained control's (:mod:`advcompare.paper.retraining`)."""

from __future__ import annotations

import pandas as pd

from advcompare.report.blocks import LEVEL, Block, heading, paragraph, table
from advcompare.report.tables import attack_name, defense_name


def _signed(value: float) -> str:
    return f"{value:+.3f}".replace("-", "−")


def retraining_table(part: pd.DataFrame, level: str) -> pd.DataFrame:
    """One row per attack × defense: gain over the undefended model, the control's gain,
    the gain beyond the control with its interval, and what that interval says."""
    return pd.DataFrame(
        {
            "attack": [attack_name(a) for a in part["attack"]],
            "defense": [defense_name(d) for d in part["defense"]],
            "gain over none": [_signed(v) for v in part["gain"]],
            "control's gain": [_signed(v) for v in part["control_gain"]],
            f"beyond the control ({level} CI)": [
                f"{_signed(r.beyond)} ({_signed(r.beyond_lo)} to {_signed(r.beyond_hi)})"
                for r in part.itertuples()
            ],
            "reading": list(part["reading"]),
        }
    )


def retraining_blocks(frame: pd.DataFrame | None, level: str = LEVEL) -> list[Block]:
    """The section, one table per dataset; nothing when the run has no retrained control."""
    if frame is None or frame.empty:
        return []
    blocks = [
        heading(2, "Oblivious gains against plain retraining"),
        paragraph(
            "An oblivious attack crafts its examples on the undefended CNN, and any other "
            "network, defended or not, classifies many of them right (transfer loss). The "
            f"{defense_name('retrained')} is the undefended CNN trained again from another "
            "seed: a defense's oblivious gain counts only beyond the control's, on the same "
            f"images (F1 difference, paired bootstrap {level} interval; *within* when the "
            "interval includes 0)."
        ),
    ]
    for dataset, part in frame.groupby("dataset", sort=False):
        n = int(part["n"].iloc[0])
        blocks.append(
            table(
                retraining_table(part, level),
                f"{dataset}: oblivious F1 gains against the {defense_name('retrained')} "
                f"(n = {n} images)",
            )
        )
    return blocks
