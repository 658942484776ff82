"""Online backup of a SQLite database: a consistent copy taken while the server writes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Copied:
    bytes: int
    revision: str | None


def sqlite_backup(source: Path, target: Path, *, busy_timeout_seconds: float = 30.0) -> Copied:
    """Copy ``source`` to ``target`` in one read transaction, check it, then move it in place.

    ``pages=-1`` copies every page in a single step: a WAL reader sees one snapshot and never
    blocks the writer, whereas a stepwise copy restarts each time another connection writes
    (and may never finish under steady load). The copy is written next to ``target`` and
    renamed only once it passed ``PRAGMA integrity_check``; like the database, it is readable
    by its owner only.
    """
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=busy_timeout_seconds)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
            (verdict,) = dst.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise RuntimeError(f"the copy failed its integrity check: {verdict}")
            revision = _revision(dst)
        finally:
            dst.close()
            src.close()
        with open(partial, "rb") as copy:
            os.fsync(copy.fileno())
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return Copied(bytes=target.stat().st_size, revision=revision)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None
