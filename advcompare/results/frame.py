"""The report's flat rows, derived from cell records: every metric, the paper's figures and
the verdict; every table, figure and API result is rendered from them."""

from __future__ import annotations

import json

import pandas as pd

from advcompare.paper.reference import paper_value
from advcompare.paper.verdict import DEFAULT_TOLERANCE, judge_frame
from advcompare.storage.record import MAIN, CellRecord


def results_frame(cells: list[CellRecord], tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """One flat row per cell: identity (:class:`~advcompare.storage.record.CellId`: ``eps``
    is a bounded attack's budget, a budget-curve point's own), spec, notes, how it ran, every
    metric, the paper's figures and the verdict against the paper at ``tolerance`` (``verdict``,
    ``verdict_gap``, ``verdict_cause``, ``verdict_tolerance``; see ``advcompare.paper.verdict``).

    Verdicts are recomputed from the cells here, so a re-rendered report applies the
    current cause table and the tolerance asked for.
    """
    rows = []
    for cell in cells:
        where = cell.cell_id
        main = where.role == MAIN
        rows.append(
            {
                "key": cell.key,
                "dataset": cell.dataset,
                "defense": where.defense,
                "threat": where.threat,
                "label": where.label,
                "attack": cell.attack,
                "backend": where.backend,
                "eps": where.eps,
                "role": where.role,
                "seed": int(cell.seed),
                "executor": cell.executor,
                "concurrency": int(cell.concurrency),
                "spec": json.dumps({k: v for k, v in cell.spec.items() if k != "attack"}),
                "notes": "; ".join(cell.notes),
                **cell.metrics,
                "paper_f1": paper_value(cell.dataset, cell.attack, "f1", cell.defense)
                if main
                else None,
                "paper_time_per_image_reported": paper_value(
                    cell.dataset, cell.attack, "prediction_time", cell.defense
                ),
            }
        )
    frame = pd.DataFrame(rows)
    if not len(frame):
        return frame
    return pd.concat([frame, judge_frame(frame, tolerance)], axis=1)


def main_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells of role "main": the ones main tables, verdicts and F1 figures show."""
    if "role" not in frame:
        return frame
    return frame[frame["role"] == MAIN]
