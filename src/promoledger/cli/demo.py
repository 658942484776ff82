"""`promoledger demo`: placeholder, filled in by the foundation's config-API work."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        ctx: typer.Context,
        if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing if an org exists."),
    ) -> None:
        """Create a ready demo org and print credentials plus a working curl line."""
        raise typer.Exit(0)
