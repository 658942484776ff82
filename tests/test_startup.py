"""Start-up, on the real `promoledger` command: mistakes are one line naming the variable, file
or port with exit status 2 and no traceback; the start-up line, JSON logs and /metrics summed
over `serve --workers 2`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import httpx2
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from promoledger import __version__
from tests.support.db import PG_ADMIN_URL
from tests.support.servers import PROMOLEDGER, Server, free_port

pytestmark = pytest.mark.slow
GENEROUS = 60.0


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROMOLEDGER_")}
    return subprocess.run(
        [str(PROMOLEDGER), *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=GENEROUS,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: ")
    return errors[0]


def test_a_sqlite_path_typo_is_refused_not_created(tmp_path: Path) -> None:
    line = _one_line_error(
        _run(
            "serve",
            "--port",
            str(free_port()),
            cwd=tmp_path,
            PROMOLEDGER_DATABASE_URL="sqlite:///./promoledgr.db",
        )
    )
    assert "promoledgr.db" in line
    assert "does not exist" in line
    assert not (tmp_path / "promoledgr.db").exists()


def test_an_in_memory_sqlite_database_is_refused(tmp_path: Path) -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        line = _one_line_error(_run("serve", cwd=tmp_path, PROMOLEDGER_DATABASE_URL=url))
        assert "in-memory" in line


def test_a_missing_directory_or_unwritable_path_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/promoledger.db"
    assert "no/such/dir" in _one_line_error(
        _run("serve", cwd=tmp_path, PROMOLEDGER_DATABASE_URL=url)
    )
    assert "no/such/dir" in _one_line_error(
        _run("db", "upgrade", cwd=tmp_path, PROMOLEDGER_DATABASE_URL=url)
    )


def test_an_unusable_token_key_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    url = f"sqlite:///{tmp_path}/promoledger.db"
    assert _run("db", "upgrade", cwd=tmp_path, PROMOLEDGER_DATABASE_URL=url).returncode == 0
    line = _one_line_error(
        _run(
            "serve",
            "--port",
            str(free_port()),
            cwd=tmp_path,
            PROMOLEDGER_DATABASE_URL=url,
            PROMOLEDGER_TOKEN_KEY_FILE=str(tmp_path / "a-file" / "token-key"),
        )
    )
    assert "PROMOLEDGER_TOKEN_KEY_FILE" in line
    assert "a-file/token-key" in line


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    line = _one_line_error(_run("serve", cwd=tmp_path, PROMOLEDGER_BATCH_LIMIT="lots"))
    assert "PROMOLEDGER_BATCH_LIMIT" in line
    line = _one_line_error(_run("serve", cwd=tmp_path, PROMOLEDGER_LOG_FORMAT="xml"))
    assert "PROMOLEDGER_LOG_FORMAT" in line


def test_a_bad_database_url_names_the_variable(tmp_path: Path) -> None:
    for url in ("mysql://root@localhost/x", "not a url", "postgresql://postgres@127.0.0.1:1/x"):
        line = _one_line_error(_run("db", "upgrade", cwd=tmp_path, PROMOLEDGER_DATABASE_URL=url))
        assert "PROMOLEDGER_DATABASE_URL" in line, url


def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    try:
        import psycopg  # noqa: PLC0415

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error:
        pytest.skip("PostgreSQL unreachable")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/promoledger_no_such_database"
    line = _one_line_error(_run("serve", cwd=tmp_path, PROMOLEDGER_DATABASE_URL=url))
    assert "promoledger_no_such_database" in line


def test_a_misspelt_variable_is_warned_about_with_the_closest_name(tmp_path: Path) -> None:
    result = _run("--version", cwd=tmp_path, PROMOLEDGER_DATABSE_URL="sqlite:///x.db")
    assert result.returncode == 0
    assert result.stdout.strip() == f"promoledger {__version__}"
    assert "PROMOLEDGER_DATABSE_URL" in result.stderr
    assert "did you mean PROMOLEDGER_DATABASE_URL" in result.stderr


def test_a_port_in_use_is_reported_before_touching_the_database(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_error(
            _run(
                "serve",
                "--create",
                "--port",
                str(port),
                cwd=tmp_path,
                PROMOLEDGER_DATABASE_URL="sqlite:///./fresh.db",
            )
        )
    assert f"port {port}" in line
    assert not (tmp_path / "fresh.db").exists()  # checked before migrating


def test_make_run_on_a_fresh_clone_still_works(tmp_path: Path) -> None:
    """`make run` is `demo --if-empty` (creates and migrates the file) then `serve`."""
    url = f"sqlite:///{tmp_path}/promoledger.db"
    demo = _run("demo", "--if-empty", cwd=tmp_path, PROMOLEDGER_DATABASE_URL=url)
    assert demo.returncode == 0, demo.stderr
    server = Server(url).start(tmp_path)
    try:
        assert httpx2.get(f"{server.url}/version", timeout=GENEROUS).json()["version"]
    finally:
        server.stop()


def _total(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_two_workers_json_logs_start_up_line_and_summed_metrics(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "promoledger.db"
    shutil.copyfile(sqlite_template, path)
    server = Server(f"sqlite:///{path}", workers=2, env={"PROMOLEDGER_LOG_FORMAT": "json"})
    server.start(tmp_path)
    try:
        requests = 40
        for _ in range(requests):  # a new connection each: the kernel spreads them over workers
            assert httpx2.get(f"{server.url}/healthz", timeout=GENEROUS).status_code == 200
        for _ in range(6):  # whichever worker answers, it reports every worker's requests
            text = httpx2.get(f"{server.url}/metrics", timeout=GENEROUS).text
            assert _total(text, "promoledger_http_requests_total", route="/healthz") == requests
    finally:
        server.stop()
    assert server.log_path is not None
    log = server.log_path.read_text()
    lines = [orjson.loads(line) for line in log.splitlines() if line.strip()]
    (start,) = [entry for entry in lines if entry["message"].endswith("starting")]
    assert start["workers"] == 2
    assert start["revision"]
    assert start["database"] == f"sqlite:///{path}"
    assert __version__ in start["message"]
    access = [entry for entry in lines if entry["logger"] == "promoledger.access"]
    assert any(entry["route"] == "/healthz" and entry["status"] == 200 for entry in access)
