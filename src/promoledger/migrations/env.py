"""Alembic environment. Runs with the connection handed over by ``store.schema.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from promoledger.store.tables import metadata

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters via table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `promoledger db upgrade`, which passes a connection")
run_migrations(connection)
