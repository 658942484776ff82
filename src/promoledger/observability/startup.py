"""Start-up mistakes become one line naming the variable, file or port, and exit status 2."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from promoledger.observability.logs import mask_url
from promoledger.services import token_keys
from promoledger.settings import ENV_PREFIX, Settings

EXIT_STARTUP = 2


class StartupError(Exception):
    """A mistake in how promoledger was started; its message is the whole report."""


def settings_problem(exc: ValidationError) -> str:
    """``PROMOLEDGER_BATCH_LIMIT: Input should be ... (got '5000')`` for the first bad field."""
    first = exc.errors()[0]
    name = ENV_PREFIX + ".".join(str(p) for p in first["loc"]).upper()
    return f"{name}: {first['msg']} (got {first.get('input')!r})"


def sqlite_path(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def check_sqlite_file(url: str, *, create: bool) -> None:
    """Refuse a SQLite file that doesn't exist (a typo would serve an empty database to every
    client as 401s) unless asked to create it; refuse one the process cannot write."""
    path = sqlite_path(url)
    if path is None:
        if make_url(url).get_backend_name() == "sqlite":
            raise StartupError(
                f"{mask_url(url)} is an in-memory SQLite database: every connection would see "
                "its own empty one; give a file (PROMOLEDGER_DATABASE_URL=sqlite:///path)"
            )
        return
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise StartupError(f"database directory {folder} does not exist (PROMOLEDGER_DATABASE_URL)")
    if not path.exists():
        if not create:
            raise StartupError(
                f"database file {path} does not exist (PROMOLEDGER_DATABASE_URL="
                f"{mask_url(url)}); create it with `promoledger db upgrade` or `serve --create`"
            )
        if not os.access(folder, os.W_OK):
            raise StartupError(f"cannot create database file {path}: {folder} is not writable")
        return
    if not os.access(path, os.R_OK | os.W_OK) or not os.access(folder, os.W_OK):
        raise StartupError(
            f"database file {path} (or its directory, for the WAL file) is not writable"
        )


def check_token_key(settings: Settings) -> None:
    """The token master key can be read (or its file created) before anything is served."""
    try:
        token_keys.master_key(settings)
    except (OSError, ValueError) as exc:
        path = token_keys.key_file(settings)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StartupError(
            f"cannot use the token key file {path} (PROMOLEDGER_TOKEN_KEY_FILE, or set "
            f"PROMOLEDGER_TOKEN_KEY): {reason}"
        ) from exc


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket before anything else, so a port in use is reported at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is already in use (--port)") from exc
        raise StartupError(
            f"cannot listen on {host}:{port} (--host/--port): {exc.strerror}"
        ) from exc
    sock.set_inheritable(True)
    return sock
