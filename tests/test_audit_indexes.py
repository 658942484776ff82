"""The audit API's ?action= and ?since= filters have indexes (migration 0003)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect

from promoledger.store import audit


def test_the_audit_filters_have_indexes(engine: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("audit_events")}
    assert indexes["ix_audit_events_org_action_id"] == ["org_id", "action", "id"]
    assert indexes["ix_audit_events_org_occurred_at"] == ["org_id", "occurred_at"]


def test_action_and_since_filters_are_answered_from_their_indexes_on_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL's plan depends on statistics; the index's presence is checked above
    captured: list[str] = []
    with engine.connect() as conn:
        original = conn.execute

        def explain(stmt: object, *args: object, **kwargs: object) -> object:
            compiled = stmt.compile(  # type: ignore[attr-defined]
                dialect=engine.dialect, compile_kwargs={"literal_binds": True}
            )
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
            captured.extend(str(r[-1]) for r in rows)
            return original(stmt, *args, **kwargs)

        conn.execute = explain  # type: ignore[method-assign]
        audit.query(conn, org_id=1, action="CUSTOMER_CREATED")
        audit.query(conn, org_id=1, since=datetime(2030, 1, 1, tzinfo=UTC))
    plan = " | ".join(captured)
    assert "ix_audit_events_org_action_id" in plan, plan
    assert "ix_audit_events_org_occurred_at" in plan, plan
