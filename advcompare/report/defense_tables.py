"""The defense sections: adversarial F1 per defense and threat model (the worst case per cell,
obfuscated gradients marked), prediction time per defense and the preflight flags."""

from __future__ import annotations

from typing import Any

import pandas as pd

from advcompare.paper.reference import paper_value
from advcompare.report.blocks import heading, paragraph, table
from advcompare.report.tables import _fmt, _missing, _ms, _p, attack_name, defense_name


def defense_column(defense: str, threat: str) -> str:
    """A defense's column: its display name, with the threat model when it defends."""
    return defense_name(defense) if defense == "none" else f"{defense_name(defense)} ({threat})"


OBFUSCATED_MARK = "†"


def _worst(r: Any) -> str | None:
    """A defended adaptive row's worst case, ``0.093 (transfer) †``; None where it has none
    (the undefended model, an oblivious row, a frame without the worst-case columns)."""
    by = getattr(r, "worst_by", None)
    if r.defense == "none" or not isinstance(by, str):
        return None
    return f"{_fmt(r.worst_f1)} ({by})" + (f" {OBFUSCATED_MARK}" if r.obfuscated else "")


def defense_f1_frame(part: pd.DataFrame, defenses: dict[str, dict]) -> pd.DataFrame:
    """Adversarial F1 of every attack (rows) under every defense and threat (columns), each
    defense's threat columns followed by its worst case (the stronger of its white-box and
    transfer attacks, † where transfer beats white-box beyond chance)."""
    columns: dict[str, list[str]] = {}
    rows: dict[tuple[str, str], dict[str, str]] = {}
    clean = {"attack": "no attack (clean F1)"}
    for r in part.itertuples():
        column = defense_column(r.defense, r.threat)
        mine = columns.setdefault(r.defense, [])
        row = rows.setdefault(
            (r.label, r.backend), {"attack": f"{attack_name(r.label, r.attack)} ({r.backend})"}
        )
        row[column] = _fmt(r.adv_f1)
        here = [column]
        worst = _worst(r)
        if worst is not None:
            here.append(f"{defense_name(r.defense)} (worst case)")
            row[here[-1]] = worst
        mine += [c for c in here if c not in mine]
        record = defenses.get(r.defense)
        if record:
            for c in here:
                clean[c] = _fmt(record["clean"]["clean_f1"])
    ordered = [
        c for cs in columns.values() for c in sorted(cs, key=lambda c: c.endswith("(worst case)"))
    ]
    return pd.DataFrame([clean, *rows.values()], columns=["attack", *ordered]).fillna("—")


def obfuscation_lines(part: pd.DataFrame) -> list[str]:
    """One line per cell whose transfer attack beats its white-box one beyond chance."""
    if "obfuscated" not in part:
        return []
    flagged = part[part["obfuscated"].fillna(False).astype(bool)]
    out = []
    for r in flagged.itertuples():
        test = "" if _missing(r.paired_p) else f", McNemar p = {_p(r.paired_p)}"
        out.append(
            f"- {OBFUSCATED_MARK} {attack_name(r.label, r.attack)} ({r.backend}) against "
            f"{defense_name(r.defense)}: {r.worst_note} (white-box F1 {_fmt(r.adv_f1)}, "
            f"transfer {_fmt(r.worst_f1)}{test})"
        )
    return out


def defense_time_frame(part: pd.DataFrame, defenses: dict[str, dict], dataset: str) -> pd.DataFrame:
    """Time per image after each defense, ours beside the paper's (Tables 11-14), in ms."""
    names = list(dict.fromkeys(part.defense))
    header = ["attack"] + [f"{defense_name(d)} {who}" for d in names for who in ("ours", "paper")]
    rows = [
        ["no attack"]
        + [
            v
            for d in names
            for v in (
                _ms(defenses[d]["clean"]["prediction_time_per_image"]) if d in defenses else "—",
                _ms(paper_value(dataset, "none", "prediction_time", d)),
            )
        ]
    ]
    adaptive = part[part.threat == "adaptive"]
    for (label, backend), group in adaptive.groupby(["label", "backend"], sort=False):
        by_defense = {r.defense: r for r in group.itertuples()}
        rows.append(
            [f"{label} ({backend})"]
            + [
                v
                for d in names
                for v in (
                    _ms(by_defense[d].paper_time_per_image) if d in by_defense else "—",
                    _ms(by_defense[d].paper_time_per_image_reported) if d in by_defense else "—",
                )
            ]
        )
    return pd.DataFrame(rows, columns=header)


def defense_blocks(name: str, everything: pd.DataFrame, records: dict[str, dict]) -> list:
    """Adversarial F1 and time under each defense, and the preflight flags."""
    if not set(everything.defense) - {"none"}:
        return []
    flags = [
        f"- **{d}**: {', '.join(rec['preflight']) or 'no flags'}" for d, rec in records.items()
    ]
    flagged = obfuscation_lines(everything)
    return [
        heading(3, "Defenses: adversarial F1"),
        paragraph(
            "Columns are defense (threat model): *oblivious* attacks the undefended "
            "model and the defended one classifies (a transfer attack); *adaptive* "
            "attacks the defended pipeline white-box, as the field builds the attack "
            "(BPDA through gradient masking, a margin loss on logits / T against "
            "distillation: `docs/defenses.md`); *worst case* is the stronger of the "
            f"two, named. {OBFUSCATED_MARK}: the transfer attack beats the white-box "
            "one beyond chance (intervals apart, or McNemar's exact test on the same "
            "images, per cell): a sign of obfuscated gradients."
        ),
        table(defense_f1_frame(everything, records), f"{name}: adversarial F1 under each defense"),
        *([paragraph("\n".join(flagged))] if flagged else []),
        heading(3, "Defenses: attack + prediction time per image (ms), paper Tables 11-14"),
        table(
            defense_time_frame(everything, records, name),
            f"{name}: attack + prediction time per image (ms) under each defense",
        ),
        heading(3, "Preflight checks (before attacking)"),
        paragraph("\n".join(flags)),
    ]
