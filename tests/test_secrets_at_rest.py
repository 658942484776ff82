"""Secrets at rest: a new SQLite database (and its WAL/SHM) is readable by its owner only, and
the token signing key cannot be had from the database alone."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr
from sqlalchemy import insert, text

from promoledger.domain.errors import AuthenticationFailed
from promoledger.runtime import Runtime
from promoledger.services import token_keys
from promoledger.settings import Settings
from promoledger.store import tables as t
from promoledger.store.schema import upgrade
from promoledger.store.types import utcnow
from tests.support.factories import World


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask, under which files used to come out world-readable (0644)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    runtime = Runtime.build(Settings(database_url=f"sqlite:///{path}"))
    try:
        upgrade(runtime.engine)
        with runtime.uow.write() as conn:
            conn.execute(text("INSERT INTO orgs (name, created_at) VALUES ('a', '2026-01-01')"))
        with runtime.uow.read() as conn:  # a connection stays open: the -wal and -shm exist
            conn.execute(text("SELECT 1"))
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files)
            assert [_mode(f) for f in files] == [0o600] * 3
    finally:
        runtime.close()


@pytest.mark.usefixtures("loose_umask")
def test_the_signing_key_is_not_in_the_database(world: World, settings: Settings) -> None:
    caller = world.oauth_client(world.org())
    token = world.oauth_token(caller)
    (row,) = world.rows(t.signing_keys)
    assert jwt.get_unverified_header(token)["kid"] == row.kid
    # What the database holds does not verify the token: it is a salt, not the key.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, bytes(row.secret), algorithms=["HS256"], options={"verify_exp": False})
    # The master key it is derived with lives in a file only its owner can read.
    key_file = token_keys.key_file(settings)
    assert _mode(key_file) == 0o600
    assert bytes(row.secret).hex() not in key_file.read_text()


def test_a_key_from_the_environment_is_needed_to_accept_the_tokens(
    world: World, settings: Settings
) -> None:
    caller = world.oauth_client(world.org())
    mine = settings.model_copy(update={"token_key": SecretStr("k" * 40)})
    theirs = settings.model_copy(update={"token_key": SecretStr("t" * 40)})
    issuer, stranger = Runtime.build(mine), Runtime.build(theirs)
    try:
        issued = asyncio.run(issuer.auth.issue_token(caller.name, caller.secret))
        peer = Runtime.build(mine)
        try:  # another process (or host) with the same key accepts it
            principal = asyncio.run(peer.auth.authenticate_token(issued.access_token))
            assert principal.credential_id == caller.credential_id
        finally:
            peer.close()
        with pytest.raises(AuthenticationFailed):
            asyncio.run(stranger.auth.authenticate_token(issued.access_token))
    finally:
        issuer.close()
        stranger.close()


def test_a_key_stored_in_clear_by_an_older_version_still_verifies_its_tokens(
    world: World,
) -> None:
    legacy = b"L" * 64
    with world.uow.write() as conn:
        conn.execute(
            insert(t.signing_keys).values(kid="0011aabb", secret=legacy, created_at=utcnow())
        )
    caller = world.oauth_client(world.org())
    old = jwt.encode(
        {
            **jwt.decode(world.oauth_token(caller), options={"verify_signature": False}),
        },
        legacy,
        algorithm="HS256",
        headers={"kid": "0011aabb"},
    )
    probe = world.client.get("/admin/v1/programs", headers={"X-CAP-API-OAUTH-TOKEN": old})
    assert probe.status_code == 200
    # New tokens are signed with a derived key.
    fresh = world.oauth_token(caller)
    assert jwt.get_unverified_header(fresh)["kid"].startswith(token_keys.KID_PREFIX)
