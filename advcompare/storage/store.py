"""Durable results: one SQLite file per run directory, one row per finished cell.

A cell (dataset × attack × backend on one trained model) is committed the moment it is
graded, so an interrupted run loses at most the cell in progress and a rerun of the same
command skips every cell already stored.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from advcompare.errors import AdvCompareError
from advcompare.hashing import digest
from advcompare.storage.record import CellRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    defense TEXT NOT NULL,
    threat TEXT NOT NULL,
    label TEXT NOT NULL,
    attack TEXT NOT NULL,
    backend TEXT NOT NULL,
    spec TEXT NOT NULL,
    notes TEXT NOT NULL,
    metrics TEXT NOT NULL,
    model_key TEXT NOT NULL,
    created REAL NOT NULL,
    role TEXT NOT NULL DEFAULT 'main',
    executor TEXT NOT NULL DEFAULT 'serial',
    concurrency INTEGER NOT NULL DEFAULT 1,
    node TEXT NOT NULL DEFAULT '',
    verdict TEXT,
    seed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS defenses (
    dataset TEXT NOT NULL,
    defense TEXT NOT NULL,
    record TEXT NOT NULL,
    seed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dataset, defense, seed)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS datasets (
    dataset TEXT NOT NULL,
    summary TEXT NOT NULL,
    model_key TEXT NOT NULL,
    clean TEXT NOT NULL,
    history TEXT NOT NULL,
    seed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dataset, seed)
);
"""


def cell_key(**parts: Any) -> str:
    """Stable digest of everything that determines a cell's result."""
    return digest(parts, 24)


# 2: cells carry defense and threat model; 3: role, executor, concurrency, node, verdict;
# 4: the training seed of cells, models and defenses; 5: a budget-curve cell's label is its
# row's (its ε is in its spec and its CellId), no longer "label@eps=…"
SCHEMA_VERSION = 5
# What brings a store of each older version up to the next one, in place (keys unchanged)
MIGRATIONS = {
    4: (
        "UPDATE cells SET label = substr(label, 1, instr(label, '@eps=') - 1) "
        "WHERE role = 'eps_curve' AND instr(label, '@eps=') > 1",
    ),
}
TABLES = {"cells", "defenses", "meta", "datasets"}


class ResultStore:
    """Finished cells and per-dataset records of one run directory."""

    FILENAME = "results.sqlite"

    def __init__(self, run_dir: Path, readonly: bool = False) -> None:
        run_dir = Path(run_dir)
        self.path = run_dir / self.FILENAME
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            else:
                run_dir.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                r[0]
                for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        except (sqlite3.Error, OSError) as exc:
            raise AdvCompareError(
                f"cannot use '{self.path}' as a results store ({exc}); pass another --out, "
                f"or move that file away"
            ) from exc
        if tables - TABLES:
            self._db.close()
            raise AdvCompareError(
                f"'{self.path}' is an SQLite file that advcompare did not write (tables: "
                f"{', '.join(sorted(tables - TABLES))}); pass another --out"
            )
        has_cells = "cells" in tables
        if has_cells and version in MIGRATIONS:
            version = self._migrate(version, readonly)
        if has_cells and version != SCHEMA_VERSION:
            self._db.close()
            raise AdvCompareError(
                f"'{self.path}' was written by another advcompare version (results schema "
                f"{version}, this one reads {SCHEMA_VERSION}); its cells cannot be resumed: "
                f"pass another --out, or move that file away"
            )
        if readonly:
            return
        try:
            self._db.executescript(SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.commit()
        except sqlite3.Error as exc:
            raise AdvCompareError(
                f"cannot write the results store '{self.path}' ({exc}); pass a writable --out"
            ) from exc

    def _migrate(self, version: int, readonly: bool) -> int:
        """Bring an older store up to :data:`SCHEMA_VERSION` (a read-only one in a copy in
        memory, so reading never writes); returns the version reached."""
        if readonly:
            memory = sqlite3.connect(":memory:")
            self._db.backup(memory)
            self._db.close()
            self._db = memory
        while version in MIGRATIONS:
            for statement in MIGRATIONS[version]:
                self._db.execute(statement)
            version += 1
            self._db.execute(f"PRAGMA user_version = {version}")
        self._db.commit()
        return version

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_cell(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM cells WHERE key = ?", (key,)).fetchone() is not None

    def add_cell(self, record: CellRecord) -> None:
        """Store one graded cell and commit at once.

        ``executor`` and ``concurrency`` (cells running at once while it was timed) say how
        comparable its times are; ``node`` is the machine that computed it."""
        self._db.execute(
            "INSERT OR REPLACE INTO cells (key, dataset, defense, threat, label, attack, "
            "backend, spec, notes, metrics, model_key, created, role, executor, concurrency, "
            "node, verdict, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.key,
                record.dataset,
                record.defense,
                record.threat,
                record.label,
                record.attack,
                record.backend,
                json.dumps(record.spec),
                json.dumps(record.notes),
                json.dumps(record.metrics),
                record.model_key,
                time.time(),
                record.role,
                record.executor,
                record.concurrency,
                record.node,
                None if record.verdict is None else json.dumps(record.verdict),
                record.seed,
            ),
        )
        self._db.commit()

    def samples_path(self, key: str) -> Path:
        """Where a cell's per-sample tensors live."""
        return samples_path(self.path.parent, key)

    def save_samples(self, key: str, samples: dict[str, torch.Tensor]) -> None:
        """Keep a cell's adversarial inputs and per-sample outcomes (atomically)."""
        save_samples(self.path.parent, key, samples)

    def samples_readable(self, key: str) -> bool:
        """Whether a cell's per-sample file exists and its header reads (no tensor loaded)."""
        path = self.samples_path(key)
        if not path.is_file():
            return False
        try:
            with safe_open(str(path), framework="pt") as handle:
                return "x_adv" in handle.keys()
        except (SafetensorError, OSError, ValueError):
            return False

    def set_aside_samples(self, key: str) -> Path | None:
        """Move an unreadable per-sample file to ``<file>.corrupt`` (so the cell is
        recomputed and the damaged file kept for inspection); None when there is none."""
        path = self.samples_path(key)
        if not path.exists():
            return None
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        return aside

    def load_samples(self, key: str) -> dict[str, torch.Tensor] | None:
        """A cell's per-sample tensors, or None when missing or unreadable."""
        return load_samples(self.path.parent, key)

    def set_defense(self, dataset: str, defense: str, record: dict, seed: int = 0) -> None:
        """What a defended model is: its cache key, clean metrics, preflight flags."""
        self._db.execute(
            "INSERT OR REPLACE INTO defenses VALUES (?, ?, ?, ?)",
            (dataset, defense, json.dumps(record), seed),
        )
        self._db.commit()

    def primary_seed(self) -> int:
        """The run's headline training seed: the first of ``meta("seeds")`` (0 when the
        run did not record its seeds)."""
        seeds = self.seeds()
        return seeds[0] if seeds else 0

    def seeds(self) -> list[int]:
        """The run's training seeds, in the order the config gives them."""
        value = self.meta("seeds")
        return list(json.loads(value)) if value else []

    def set_meta(self, key: str, value: str) -> None:
        """Run-level facts, such as the run's name (the report's title)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self._db.commit()

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def defenses(self, seed: int | None = None) -> dict[tuple[str, str], dict]:
        """Defended models at ``seed`` (default: the headline seed)."""
        seed = self.primary_seed() if seed is None else seed
        rows = self._db.execute(
            "SELECT dataset, defense, record FROM defenses WHERE seed = ?", (seed,)
        ).fetchall()
        return {(r[0], r[1]): json.loads(r[2]) for r in rows}

    def set_dataset(
        self,
        dataset: str,
        *,
        summary: dict,
        model_key: str,
        clean: dict,
        history: list[dict],
        seed: int = 0,
    ) -> None:
        """Store what a dataset's rows were computed on: splits, model, clean metrics."""
        self._db.execute(
            "INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?)",
            (
                dataset,
                json.dumps(summary),
                model_key,
                json.dumps(clean),
                json.dumps(history),
                seed,
            ),
        )
        self._db.commit()

    def cells(self, keys: list[str] | None = None) -> list[CellRecord]:
        """Stored cells in insertion order; only ``keys`` (in that order) when given."""
        rows = self._db.execute(
            "SELECT key, dataset, label, attack, backend, spec, notes, metrics, model_key, "
            "defense, threat, role, executor, concurrency, node, verdict, seed FROM cells "
            "ORDER BY created"
        ).fetchall()
        records = [
            CellRecord(
                key=r[0],
                dataset=r[1],
                label=r[2],
                attack=r[3],
                backend=r[4],
                spec=json.loads(r[5]),
                notes=json.loads(r[6]),
                metrics=json.loads(r[7]),
                model_key=r[8],
                defense=r[9],
                threat=r[10],
                role=r[11],
                executor=r[12],
                concurrency=r[13],
                node=r[14],
                verdict=json.loads(r[15]) if r[15] else None,
                seed=r[16],
            )
            for r in rows
        ]
        if keys is None:
            return records
        by_key = {r.key: r for r in records}
        return [by_key[k] for k in keys if k in by_key]

    def datasets(self, seed: int | None = None) -> dict[str, dict[str, Any]]:
        """Each dataset's record at ``seed`` (default: the headline seed)."""
        seed = self.primary_seed() if seed is None else seed
        rows = self._db.execute(
            "SELECT dataset, summary, model_key, clean, history FROM datasets WHERE seed = ?",
            (seed,),
        ).fetchall()
        return {
            r[0]: {
                "summary": json.loads(r[1]),
                "model_key": r[2],
                "clean": json.loads(r[3]),
                "history": json.loads(r[4]),
            }
            for r in rows
        }


def samples_path(run_dir: Path, key: str) -> Path:
    """``<run_dir>/adv/<key>.safetensors``: one cell's per-sample tensors."""
    return Path(run_dir) / "adv" / f"{key}.safetensors"


def save_samples(run_dir: Path, key: str, samples: dict[str, torch.Tensor]) -> None:
    """Write a cell's per-sample tensors (booleans as uint8) through a temporary file."""
    path = samples_path(run_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: (v.to(torch.uint8) if v.dtype == torch.bool else v).contiguous()
        for k, v in samples.items()
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_samples(run_dir: Path, key: str) -> dict[str, torch.Tensor] | None:
    """A cell's per-sample tensors, or None when the file is missing or unreadable."""
    path = samples_path(run_dir, key)
    if not path.is_file():
        return None
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError):
        return None
