"""Where token signing keys come from: never from the database alone.

The database (``signing_keys``) holds, per key id, only a random salt. The HMAC key that signs
tokens is derived from that salt and a master key kept outside the database:

- ``PROMOLEDGER_TOKEN_KEY`` (at least 32 characters), the same on every host that shares the
  database; or else
- a random key in ``PROMOLEDGER_TOKEN_KEY_FILE``, created mode 0600 on first start: by default
  ``<database file>.token-key`` next to a SQLite file, else a file per database under
  ``$XDG_STATE_HOME/promoledger`` (``~/.local/state/promoledger``).

So whoever can read the database (a copy, a backup, a read-only role) cannot mint tokens.
Key ids of derived keys start with ``KID_PREFIX``; rows written before (the key stored in
clear) still verify the tokens they signed until those expire, then they are deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from promoledger.settings import Settings

KID_PREFIX = "d1."
log = logging.getLogger("promoledger.auth")


def derive(master: bytes, kid: str, salt: bytes) -> bytes:
    """The HS256 key of one key id."""
    return hmac.new(
        master, b"promoledger token signing|" + kid.encode() + b"|" + salt, "sha512"
    ).digest()


def master_key(settings: Settings) -> bytes:
    if settings.token_key is not None:
        return hashlib.sha256(settings.token_key.get_secret_value().encode()).digest()
    path = key_file(settings)
    if not path.exists():
        _create(path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("token key file %s is readable by others (mode %o); chmod 600 it", path, mode)
    text = path.read_text().strip()
    if len(text) < 32:
        raise ValueError(f"token key file {path} holds no key (expected 32+ characters)")
    return hashlib.sha256(text.encode()).digest()


def key_file(settings: Settings) -> Path:
    if settings.token_key_file:
        return Path(settings.token_key_file).expanduser()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}.token-key")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    ident = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return state / "promoledger" / f"{url.database or 'db'}-{ident}.token-key"


def _create(path: Path) -> None:
    """Write a new random key, mode 0600, atomically: concurrent first starts agree on one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
