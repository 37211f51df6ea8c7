"""The claims table: each paper defense claim's verdict per budget, the figures that decide
it and the images that would settle it (issue 28; docs/defenses.md)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from advcompare.paper.conditions import HOLDS_AT_BOTH


def _claim_verdict(row: Any) -> str:
    """One verdict in words: what it lacks when not run, the images that would settle it."""
    verdict = str(row["verdict"])
    if verdict == "not run":
        missing = [str(m) for m in row["missing"]]
        needs = [m for m in missing if m.startswith("needs ")]
        if needs:
            return f"not run ({'; '.join(needs)})"
        plural = "s" if len(missing) != 1 else ""
        return (
            f"not run (the grid lacks {len(missing)} cell{plural} it reads; claims.csv names them)"
        )
    n = row["images_needed"]
    if verdict == "inconclusive" and isinstance(n, (int, float)) and n == n:
        return f"inconclusive (≈{_images(n)} images would settle it)"
    return verdict


# Beyond this many images a count says only that the run cannot settle the claim.
MANY_IMAGES = 100_000


def _images(n: float) -> str:
    """An image count for a reader: thousands separated, and "> 100,000" past MANY_IMAGES
    (a figure like 17,117,655 is a precise-looking way to say "never")."""
    return f"> {MANY_IMAGES:,}" if n > MANY_IMAGES else f"{int(n):,}"


def _same_verdict_at_budgets(part: pd.DataFrame) -> str | None:
    """Inconclusive at every budget, said once: "inconclusive at L2 ≤ 1, unbounded (≈72,
    ≈304 images would settle it)"; None when the budgets' verdicts differ in kind."""
    if not (part["verdict"] == "inconclusive").all():
        return None
    needed = [float(n) for n in part["images_needed"] if n is not None and pd.notna(n)]
    if len(needed) != len(part):
        return None
    counts = ", ".join(f"≈{_images(n)}" for n in needed)
    return f"inconclusive at {', '.join(part['budget'])} ({counts} images would settle it)"


def _claim_verdicts(part: pd.DataFrame) -> str:
    """A threat model's verdict, per L2 budget where the claim is about DeepFool or CW."""
    if not len(part):
        return "—"
    if len(part) == 1 and not part["budget"].iloc[0]:
        return _claim_verdict(part.iloc[0])
    verdicts = [_claim_verdict(r) for _, r in part.iterrows()]
    if len(set(verdicts)) == 1 and verdicts[0].startswith("not run"):
        return verdicts[0]  # a claim that did not run was judged at no budget
    if len(set(verdicts)) == 1:  # the same at every budget: named once
        return f"{verdicts[0]} at {', '.join(part['budget'])}"
    if (same := _same_verdict_at_budgets(part)) is not None:
        return same
    return "; ".join(f"{b}: {v}" for b, v in zip(part["budget"], verdicts))


def claim_frame(claims: pd.DataFrame) -> pd.DataFrame:
    """The paper's defense claims, one row per claim (and dataset): the paper's words, the
    oblivious and the adaptive (worst-case) verdict, each per L2 budget for DeepFool and CW
    claims, the deciding figure in words (adaptive, at the first budget) and whether the
    verdict survives 0.5× and 1.5× each vague word's threshold."""
    claims = claims.assign(**{c: "" for c in ("budget", "sensitivity") if c not in claims})
    rows = []
    for (_, dataset), part in claims.groupby(["id", "dataset"], sort=False):
        first = part.iloc[0]
        adaptive = part[part["threat"] == "adaptive"]
        headline = (adaptive if len(adaptive) else part).iloc[0]
        figure = str(headline["deciding"] or "")
        if figure and headline["budget"]:
            figure = f"{headline['budget']}: {figure}"
        rows.append(
            {
                "the paper's words": f"“{first['quote']}” (§{first['section']})",
                "dataset": dataset,
                "oblivious": _claim_verdicts(part[part["threat"] == "oblivious"]),
                "adaptive (worst case)": _claim_verdicts(adaptive),
                "deciding figure": figure or "—",
                "at 0.5× and 1.5× the threshold": str(headline["sensitivity"] or "—").replace(
                    HOLDS_AT_BOTH,
                    "holds at both",  # as headed
                ),
            }
        )
    out = pd.DataFrame(rows)
    if len(set(out["dataset"]) - {"across datasets"}) <= 1:
        out = out.drop(columns="dataset")
    return out
