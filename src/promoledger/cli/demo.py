"""`promoledger demo`: a ready demo org, its credentials and a working curl line."""

from __future__ import annotations

from typing import Annotated

import typer

from promoledger.cli.common import domain_errors, emit, unit_of_work
from promoledger.services import demo as demo_service


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        ctx: typer.Context,
        if_empty: Annotated[
            bool, typer.Option("--if-empty", help="Create nothing if any org exists already.")
        ] = False,
        base_url: Annotated[
            str, typer.Option(help="Server address the printed curl line targets.")
        ] = demo_service.DEFAULT_BASE_URL,
        new_org: Annotated[
            bool,
            typer.Option(
                "--new-org",
                help="Create another demo org even if one exists (the demo till moves to it).",
            ),
        ] = False,
    ) -> None:
        """Create a ready demo org and print its credentials and a working curl line.

        The org gets a program, an ENROL_AND_ISSUE and a DIRECT_ISSUE promotion and 20
        customers with enrolments and earns; the till is demo-till / demo-password. If the demo
        exists already, nothing is created (exit status 1) unless --new-org is given.
        """
        with domain_errors(), unit_of_work(ctx) as uow:
            existing = None if if_empty or new_org else demo_service.describe(uow)
            if existing is not None:
                typer.echo(
                    f"The demo already exists (org {existing.org_id}); nothing was created. "
                    "`promoledger demo --if-empty` prints it again; `--new-org` creates another "
                    "demo org and moves the demo till to it.",
                    err=True,
                )
                raise typer.Exit(1)
            world = demo_service.load(uow, if_empty=if_empty)
        if world is None:
            typer.echo(
                "The database already has orgs and none of them is the demo's; nothing was "
                "created. Run `promoledger demo` (without --if-empty) to add a demo org.",
                err=True,
            )
            emit({"created": False, "org": None, "curl": None})
            return
        typer.echo(_summary(world, base_url), err=True)
        emit(world.as_json(base_url))


def _summary(world: demo_service.Demo, base_url: str) -> str:
    head = "Demo data created." if world.created else "Demo data already present; nothing created."
    return "\n".join(
        [
            head,
            f"  org {world.org_id} ({demo_service.ORG_NAME}), program {world.program_id}",
            f"  ENROL_AND_ISSUE promotion {world.enrol_and_issue.id} "
            f"(promoIdentifier {world.enrol_and_issue.identifier})",
            f"  DIRECT_ISSUE promotion {world.direct_issue.id} "
            f"(promoIdentifier {world.direct_issue.identifier})",
            f"  {demo_service.CUSTOMERS} customers; till {demo_service.TILL_CODE} / password "
            f"{demo_service.TILL_PASSWORD} ({demo_service.TILL_ACCESS})",
            f"Revoke the earns of customer {world.sample_mobile}:",
            f"  {world.curl(base_url)}",
            f"Console: {base_url}/console (sign in with the till above)",
        ]
    )
