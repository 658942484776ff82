"""Set-based lookups shared by every bulk endpoint: one statement per question, any batch size."""

from __future__ import annotations

from collections.abc import Collection
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from promoledger.domain.promotions import Promotion
from promoledger.domain.vocabulary import IdentifierName
from promoledger.store import driver
from promoledger.store.promotions import promotion_of
from promoledger.store.tables import customers, promotions
from promoledger.store.types import storable

# The customer column each identifierName names (each unique within an org).
KEY_COLUMN = {
    IdentifierName.ID: customers.c.id,
    IdentifierName.MOBILE: customers.c.mobile,
    IdentifierName.EMAIL: customers.c.email,
    IdentifierName.EXTERNAL_ID: customers.c.external_id,
}


_PROMOTION_COLUMN_NAMES = tuple(c.name for c in promotions.columns)
_PROMOTION_COLUMNS = ", ".join(_PROMOTION_COLUMN_NAMES)


def _program_and_promotion(by_id: bool, by_identifier: bool) -> driver.Sql:
    def text(p: str) -> str:
        keys = [f"p.id = {p}"] if by_id else []
        keys += [f"p.identifier = {p}"] if by_identifier else []
        on = " AND ".join(keys) or "1 = 0"
        columns = ", ".join(f"p.{c.strip()}" for c in _PROMOTION_COLUMNS.split(","))
        return (
            f"SELECT g.id, {columns} FROM programs g LEFT JOIN promotions p "
            f"ON p.program_id = g.id AND p.org_id = g.org_id AND {on} "
            f"WHERE g.id = {p} AND g.org_id = {p}"
        )

    return driver.Sql(text("?"), text("%s"))


_PROGRAM_AND_PROMOTION = {
    (by_id, by_identifier): _program_and_promotion(by_id, by_identifier)
    for by_id in (False, True)
    for by_identifier in (False, True)
}


def program_and_promotion(
    conn: Connection,
    org_id: int,
    program_id: int,
    promotion_id: int | None,
    identifier: str | None,
) -> tuple[bool, Promotion | None]:
    """(does the org have this program, the promotion of it matching every key given).

    One statement: the program, LEFT JOINed to its promotion, so an unknown program (1101)
    and an unknown promotion (8874) are told apart without a second round trip. A key
    PostgreSQL could not hold (a NUL byte) names no promotion on either database.
    """
    if identifier is not None and not storable(identifier):
        promotion_id, identifier = None, None
    keys = [k for k in (promotion_id, identifier) if k is not None]
    sql = _PROGRAM_AND_PROMOTION[(promotion_id is not None, identifier is not None)]
    rows = driver.execute(conn, sql, (*keys, program_id, org_id))
    if not rows:
        return False, None
    found = rows[0]
    if found[1] is None:
        return True, None
    values = dict(zip(_PROMOTION_COLUMN_NAMES, found[1:], strict=True))
    read_time = driver.time_reader(conn)
    for column in ("start_date", "end_date", "created_at", "updated_at"):
        values[column] = read_time(values[column])
    return True, promotion_of(SimpleNamespace(**values))


def _members(column: str, by_org: bool, lock: bool) -> driver.Sql:
    # By id, the primary key must be the only usable index: with `org_id = ?` in the WHERE,
    # PostgreSQL on stale statistics walked every customer of the org through an
    # (org_id, ...) index instead of probing 100 ids. The org is checked on the rows instead.
    # Mobile, email and external id are looked up through their (org_id, value) unique indexes.
    head = (
        f"SELECT c.id, c.org_id, c.{column} FROM customers c JOIN program_members m "
        "ON m.customer_id = c.id AND m.program_id = "
    )
    org = " AND c.org_id = {p}" if by_org else ""
    tail = " ORDER BY c.id" + (" FOR UPDATE OF c" if lock else "")
    return driver.Sql(
        f"{head}? WHERE c.{column} IN (SELECT value FROM json_each(?))"
        + org.format(p="?")
        + " ORDER BY c.id",
        f"{head}%s WHERE c.{column} = ANY(%s)" + org.format(p="%s") + tail,
    )


_MEMBERS = {
    (name, lock): _members(KEY_COLUMN[name].name, name is not IdentifierName.ID, lock)
    for name in KEY_COLUMN
    for lock in (False, True)
}


def members_by_identifier(
    conn: Connection,
    *,
    org_id: int,
    program_id: int,
    identifier: IdentifierName,
    values: Collection[Any],
    lock: bool,
) -> dict[Any, int]:
    """identifier value → customer id, for customers of the org that belong to the program.

    With ``lock`` (PostgreSQL), the customer rows are locked in id order for the rest of the
    transaction: every write on a customer serialises on that row, so two concurrent requests
    never both pass a per-customer limit check, and id order rules out deadlocks. (SQLite has
    one writer at a time: nothing to lock.)
    """
    values = [v for v in values if storable(v)]  # a NUL byte names no customer
    if not values:
        return {}
    params: tuple[Any, ...] = (program_id, driver.ids(conn, values))
    if identifier is not IdentifierName.ID:
        params += (org_id,)
    rows = driver.execute(conn, _MEMBERS[(identifier, lock)], params)
    return {key: cid for cid, org, key in rows if org == org_id}
