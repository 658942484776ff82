"""`promoledger db backup PATH`: a consistent online copy of SQLite while writes run."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from promoledger.cli.main import app

runner = CliRunner()
ROWS_PER_TRANSACTION = 25


def _writer(path: Path, stop: threading.Event, committed: list[int]) -> None:
    """Transactions of ROWS_PER_TRANSACTION audit rows sharing one request id, until told."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    n = 0
    while not stop.is_set() or n < 5:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO audit_events (occurred_at, org_id, actor_kind, action, entity_type, "
            "request_id) VALUES ('2026-01-01 00:00:00', 1, 'SYSTEM', 'LOAD', 'TEST', ?)",
            [(f"tx-{n}",)] * ROWS_PER_TRANSACTION,
        )
        conn.execute("COMMIT")
        n += 1
        committed.append(n)
    conn.close()


def test_backup_is_consistent_while_writes_run(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL backups are pg_dump's (see the next test)")
    source = Path(database_url.removeprefix("sqlite:///"))
    stop = threading.Event()
    committed: list[int] = []
    writer = threading.Thread(target=_writer, args=(source, stop, committed))
    writer.start()
    try:
        while len(committed) < 5:  # writes are really running before the copy starts
            threading.Event().wait(0.01)
        target = tmp_path / "copy.db"
        result = runner.invoke(app, ["--database-url", database_url, "db", "backup", str(target)])
        during = len(committed)
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["backup"] == str(target)
    assert report["revision"]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        groups = copy.execute(
            "SELECT request_id, count(*) FROM audit_events WHERE action = 'LOAD' "
            "GROUP BY request_id"
        ).fetchall()
    # A snapshot of one moment: whole transactions only, none torn.
    assert groups
    assert {count for _, count in groups} == {ROWS_PER_TRANSACTION}
    assert len(groups) <= during <= len(committed)
    assert not list(tmp_path.glob(".*partial"))


def test_backup_refuses_to_overwrite(database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "exists.db"
    target.write_bytes(b"keep me")
    result = runner.invoke(app, ["--database-url", database_url, "db", "backup", str(target)])
    assert result.exit_code != 0
    assert target.read_bytes() == b"keep me"


def test_postgresql_backup_explains_pg_dump(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is copied by the command itself")
    result = runner.invoke(
        app, ["--database-url", database_url, "db", "backup", str(tmp_path / "x.dump")]
    )
    assert result.exit_code == 1
    assert "pg_dump --format=custom" in result.stderr
    assert not (tmp_path / "x.dump").exists()
