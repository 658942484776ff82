"""`promoledger till ...` and `promoledger client ...`: credentials and their access groups."""

from __future__ import annotations

from typing import Annotated

import typer

from promoledger.cli.common import domain_errors, emit, unit_of_work
from promoledger.services import credentials
from promoledger.services.auth import DEFAULT_TOKEN_TTL

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
    org: Annotated[int, typer.Option(help="Org id.")],
    code: Annotated[str, typer.Option(help="Till code (the Basic user name).")],
    password: Annotated[str, typer.Option(help="Plain password; clients send its md5 hex.")],
    access: Annotated[str, typer.Option(help=ACCESS_HELP)] = "customer:write",
) -> None:
    """Create a till; prints {"id": .., "code": ..}."""
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
