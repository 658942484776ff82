"""`promoledger org ...`: tenants."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from promoledger.cli.common import domain_errors, emit, read_password, unit_of_work
from promoledger.domain.errors import DUPLICATE, VALIDATION, Conflict, Invalid
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services import credentials
from promoledger.store import credentials as credential_store

app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Option(help="Display name.")],
    till_code: Annotated[
        str | None, typer.Option(help="Also create a till with this code (the Basic user name).")
    ] = None,
    till_password: Annotated[
        str | None, typer.Option(help="The till's plain password; clients send its md5 hex.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the till's password from standard input instead.")
    ] = False,
    till_access: Annotated[
        str, typer.Option(help="The till's access group, e.g. customer:write,config:write.")
    ] = "customer:write,config:write",
) -> None:
    """Create an org, optionally with its first till; prints {"id", "name"[, "till"]}."""
    if till_password is not None or password_stdin:
        till_password = read_password(till_password, password_stdin, option="--till-password")
    with domain_errors(), unit_of_work(ctx) as uow:
        if (till_code is None) != (till_password is None):
            raise Invalid(
                VALIDATION, detail="--till-code and --till-password go together", field="till"
            )
        group = credentials.AccessGroup.parse(till_access)
        if till_code is not None:
            # Checked before the org exists, so a taken code leaves no orphan org behind.
            with uow.read() as conn:
                if credential_store.by_name(conn, CredentialKind.TILL.value, till_code):
                    raise Conflict(
                        DUPLICATE, detail=f"till {till_code!r} already exists", field="till"
                    )
        org_id = credentials.create_org(uow, name=name)
        out: dict[str, Any] = {"id": org_id, "name": name}
        if till_code is not None and till_password is not None:
            till_id = credentials.create_till(
                uow, org_id=org_id, code=till_code, password=till_password, access=group
            )
            out["till"] = {"id": till_id, "code": till_code}
        emit(out)
