"""`promoledger till ...` and `promoledger client ...`: credentials and their access groups."""

from __future__ import annotations

from typing import Annotated

import typer

from promoledger.cli.common import (
    FROM_STDIN_HELP,
    domain_errors,
    emit,
    read_password,
    unit_of_work,
)
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services import credentials
from promoledger.services.tokens import DEFAULT_TOKEN_TTL

till_app = typer.Typer(
    help="Till credentials (HTTP Basic with md5 password).", no_args_is_help=True
)
client_app = typer.Typer(
    help="OAuth clients (key/secret for /v3/oauth/token/generate).", no_args_is_help=True
)

ACCESS_HELP = (
    "Comma list of resource:level, e.g. customer:write,config:read (levels none/read/write)."
)


@till_app.command("create")
def till_create(
    ctx: typer.Context,
    *,
    org: Annotated[int, typer.Option(help="Org id.")],
    code: Annotated[str, typer.Option(help="Till code (the Basic user name).")],
    password: Annotated[
        str | None, typer.Option(help="Plain password; clients send its md5 hex.")
    ] = None,
    password_stdin: Annotated[bool, typer.Option(help=FROM_STDIN_HELP)] = False,
    access: Annotated[str, typer.Option(help=ACCESS_HELP)] = "customer:write",
) -> None:
    """Create a till; prints {"id": .., "code": ..}."""
    password = read_password(password, password_stdin, option="--password")
    with domain_errors(), unit_of_work(ctx) as uow:
        group = credentials.AccessGroup.parse(access)
        cred_id = credentials.create_till(
            uow, org_id=org, code=code, password=password, access=group
        )
        emit({"id": cred_id, "code": code})


@client_app.command("create")
def client_create(
    ctx: typer.Context,
    org: Annotated[int, typer.Option(help="Org id.")],
    name: Annotated[str, typer.Option(help="A name for the client.")],
    access: Annotated[str, typer.Option(help=ACCESS_HELP)] = "customer:write",
    ttl: Annotated[
        int, typer.Option(help="Token lifetime in seconds (max 30 days).")
    ] = DEFAULT_TOKEN_TTL,
) -> None:
    """Create an OAuth client; prints {"id", "key", "secret"} — the secret is shown only once."""
    with domain_errors(), unit_of_work(ctx) as uow:
        group = credentials.AccessGroup.parse(access)
        cred_id, key, secret = credentials.create_client(
            uow, org_id=org, name=name, access=group, ttl=ttl
        )
        emit({"id": cred_id, "key": key, "secret": secret})


@till_app.command("list")
def till_list(
    ctx: typer.Context,
    org: Annotated[int | None, typer.Option(help="Only this org's tills.")] = None,
) -> None:
    """Print the tills as a JSON array (no passwords, no hashes)."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.list_credentials(uow, kind=CredentialKind.TILL, org_id=org))


@till_app.command("disable")
def till_disable(ctx: typer.Context, code: Annotated[str, typer.Option(help="Till code.")]) -> None:
    """Refuse the till from its next request on; prints the till."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.set_disabled(uow, kind=CredentialKind.TILL, name=code, disabled=True))


@till_app.command("enable")
def till_enable(ctx: typer.Context, code: Annotated[str, typer.Option(help="Till code.")]) -> None:
    """Accept a disabled till again; prints the till."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.set_disabled(uow, kind=CredentialKind.TILL, name=code, disabled=False))


@till_app.command("unlock")
def till_unlock(ctx: typer.Context, code: Annotated[str, typer.Option(help="Till code.")]) -> None:
    """End a lockout now: forget the till's failed attempts from every address (audited)."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.unlock(uow, kind=CredentialKind.TILL, name=code))


@till_app.command("rotate")
def till_rotate(
    ctx: typer.Context,
    code: Annotated[str, typer.Option(help="Till code.")],
    password: Annotated[str | None, typer.Option(help="The new plain password.")] = None,
    password_stdin: Annotated[bool, typer.Option(help=FROM_STDIN_HELP)] = False,
) -> None:
    """Replace the till's password; the old one is refused from the next request on."""
    password = read_password(password, password_stdin, option="--password")
    with domain_errors(), unit_of_work(ctx) as uow:
        cred_id = credentials.rotate_till(uow, code=code, password=password)
        emit({"id": cred_id, "code": code})


@client_app.command("list")
def client_list(
    ctx: typer.Context,
    org: Annotated[int | None, typer.Option(help="Only this org's clients.")] = None,
) -> None:
    """Print the OAuth clients as a JSON array (no secrets, no hashes)."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.list_credentials(uow, kind=CredentialKind.CLIENT, org_id=org))


@client_app.command("disable")
def client_disable(
    ctx: typer.Context, key: Annotated[str, typer.Option(help="Client key.")]
) -> None:
    """Refuse the client and every token it holds from the next request on; prints the client."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.set_disabled(uow, kind=CredentialKind.CLIENT, name=key, disabled=True))


@client_app.command("enable")
def client_enable(
    ctx: typer.Context, key: Annotated[str, typer.Option(help="Client key.")]
) -> None:
    """Accept a disabled client (and its unexpired tokens) again; prints the client."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.set_disabled(uow, kind=CredentialKind.CLIENT, name=key, disabled=False))


@client_app.command("unlock")
def client_unlock(
    ctx: typer.Context, key: Annotated[str, typer.Option(help="Client key.")]
) -> None:
    """End a lockout now: forget the client's failed attempts from every address (audited)."""
    with domain_errors(), unit_of_work(ctx) as uow:
        emit(credentials.unlock(uow, kind=CredentialKind.CLIENT, name=key))


@client_app.command("rotate")
def client_rotate(
    ctx: typer.Context, key: Annotated[str, typer.Option(help="Client key.")]
) -> None:
    """Print {"id", "key", "secret"} with a new secret (shown once); old tokens stop working."""
    with domain_errors(), unit_of_work(ctx) as uow:
        cred_id, key, secret = credentials.rotate_client(uow, key=key)
        emit({"id": cred_id, "key": key, "secret": secret})
