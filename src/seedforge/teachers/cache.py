"""The persistent call cache: one SQLite database in WAL mode, one row per answered call.

Each answer is committed the moment it arrives, before the stage's own outputs exist, so a rerun,
an experiment sharing prompts, or a resume after a crash or `kill -9` sends no request whose answer
is stored. Failed calls are never stored: a rerun asks them again. The key is the call key
(`teachers.base.call_key`); the profile name and creation time are kept only for `seedforge cache
stats` and `prune` (this database is not a DVC output, so a time in it churns nothing).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    created REAL NOT NULL,
    answer TEXT NOT NULL
)
"""


class CallCache:
    """`CallCache(None)` caches nothing (every call is sent)."""

    def __init__(self, path: Path | str | None) -> None:
        self.path = Path(path) if path is not None else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            if self.path.suffix != ".sqlite":  # a folder was given: keep the database inside it
                self.path = self.path / "calls.sqlite"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
            self._db.execute(SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT answer FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:  # a corrupt entry is a miss, not a failure
            return None

    def put(self, key: str, value: dict[str, Any], profile: str = "") -> None:
        """Store one answer and commit it at once (autocommit)."""
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO calls (key, profile, created, answer) VALUES (?, ?, ?, ?)",
                (key, profile, time.time(), json.dumps(value, ensure_ascii=False, sort_keys=True)),
            )

    def stats(self) -> dict[str, Any]:
        """Entries and bytes per profile, and the age range."""
        assert self._db is not None
        rows = self._db.execute(
            "SELECT profile, COUNT(*), SUM(LENGTH(answer)), MIN(created), MAX(created)"
            " FROM calls GROUP BY profile"
        ).fetchall()
        return {
            "path": str(self.path),
            "calls": sum(r[1] for r in rows),
            "profiles": {r[0]: {"calls": r[1], "bytes": r[2], "oldest": r[3], "newest": r[4]} for r in rows},
        }

    def prune(self, older_than_days: float | None = None, profile: str | None = None) -> int:
        """Delete entries older than the given age and/or of one profile; returns how many."""
        assert self._db is not None
        where, args = [], []
        if older_than_days is not None:
            where.append("created < ?")
            args.append(time.time() - older_than_days * 86400)
        if profile is not None:
            where.append("profile = ?")
            args.append(profile)
        if not where:
            return 0
        cur = self._db.execute(f"DELETE FROM calls WHERE {' AND '.join(where)}", args)
        self._db.execute("VACUUM")
        return cur.rowcount

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
