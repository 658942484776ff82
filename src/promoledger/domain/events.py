"""Events: what a state change tells the outside world (the feed and the webhooks).

Pure rules. Every state change already writes audit ``Change``s; ``from_changes`` turns those
into events, one per customer, event type and request: a revoke that ends two earns of one
customer is one ``earn.revoked`` carrying both ids. Audit actions that are not ledger changes
(config, credentials, denied requests) make no event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

ENROLMENT_CREATED = "enrolment.created"
ENROLMENT_REPLACED = "enrolment.replaced"
ENROLMENT_REVOKED = "enrolment.revoked"
ENROLMENT_EXPIRED = "enrolment.expired"
ENROLMENT_REINSTATED = "enrolment.reinstated"
EARN_CREATED = "earn.created"
EARN_REVOKED = "earn.revoked"
EARN_EXPIRED = "earn.expired"
EARN_REINSTATED = "earn.reinstated"
JOB_COMPLETED = "job.completed"

EVENT_TYPES = (
    ENROLMENT_CREATED,
    ENROLMENT_REPLACED,
    ENROLMENT_REVOKED,
    ENROLMENT_EXPIRED,
    ENROLMENT_REINSTATED,
    EARN_CREATED,
    EARN_REVOKED,
    EARN_EXPIRED,
    EARN_REINSTATED,
    JOB_COMPLETED,
)
ALL_TYPES = "*"

# (audit action, entity type) -> event type. DIRECT_ENROL is the dummy enrolment a direct issue
# creates under the customer's first earn: it is a real enrolment, so it is reported as created.
_BY_ACTION: Mapping[tuple[str, str], str] = {
    ("ENROL", "ENROLMENT"): ENROLMENT_CREATED,
    ("DIRECT_ENROL", "ENROLMENT"): ENROLMENT_CREATED,
    ("REPLACE", "ENROLMENT"): ENROLMENT_REPLACED,
    ("REVOKE_ENROL", "ENROLMENT"): ENROLMENT_REVOKED,
    ("REVOKE_ENROL", "EARN"): EARN_REVOKED,
    ("REVOKE_EARN", "EARN"): EARN_REVOKED,
    ("REVOKE_EARN", "ENROLMENT"): ENROLMENT_REVOKED,
    ("EXPIRE", "ENROLMENT"): ENROLMENT_EXPIRED,
    ("EXPIRE", "EARN"): EARN_EXPIRED,
    ("REINSTATE_ENROL", "ENROLMENT"): ENROLMENT_REINSTATED,
    ("REINSTATE_ENROL", "EARN"): EARN_REINSTATED,
    ("REINSTATE_EARN", "EARN"): EARN_REINSTATED,
    ("REINSTATE_EARN", "ENROLMENT"): ENROLMENT_REINSTATED,
    ("EARN", "EARN"): EARN_CREATED,
}


def event_type(action: str, entity_type: str) -> str | None:
    """The event an audit change makes, or None for changes that are not ledger changes."""
    return _BY_ACTION.get((action, entity_type))


@dataclass(slots=True)
class PendingEvent:
    """An event collected in a transaction, written by the unit of work at commit.

    ``ids`` are the enrolment or earn ids it reports (in the order they were changed);
    ``extra`` carries what only some events have (``jobId`` and a job's summary)."""

    type: str
    customer_id: int | None
    promotion_id: int | None
    ids: list[int] = field(default_factory=list)
    extra: dict[str, Any] | None = None

    def data(self) -> dict[str, Any]:
        """The part of ``data`` that is not read from the promotion (see ``Event.data``)."""
        out: dict[str, Any] = {}
        if self.type.startswith("enrolment."):
            out["enrolmentId"] = self.ids[0] if self.ids else None
            if len(self.ids) > 1:
                out["enrolmentIds"] = list(self.ids)
        elif self.type.startswith("earn."):
            out["earnIds"] = list(self.ids)
        if self.extra:
            out.update(self.extra)
        return out


class ChangeLike(Protocol):
    """What ``from_changes`` reads of an audit change (``store.audit.Change`` has it)."""

    @property
    def action(self) -> str: ...
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> int | None: ...
    @property
    def customer_id(self) -> int | None: ...
    @property
    def promotion_id(self) -> int | None: ...


EventKey = tuple[str, int | None, int | None]


def from_changes(changes: Iterable[ChangeLike], into: dict[EventKey, PendingEvent]) -> None:
    """Fold audit changes into ``into``: one event per (type, customer, promotion).

    ``into`` lives as long as the transaction, so changes recorded in several steps of one
    request (expire what is due, then revoke) still make one event per customer and type.
    This runs once per customer of every bulk request: it stays a tight loop."""
    lookup = _BY_ACTION.get
    get = into.get
    for c in changes:
        kind = lookup((c.action, c.entity_type))
        if kind is None:
            continue
        customer, promotion = c.customer_id, c.promotion_id
        key = (kind, customer, promotion)
        pending = get(key)
        if pending is None:
            pending = into[key] = PendingEvent(kind, customer, promotion, [])
        if c.entity_id is not None:
            pending.ids.append(c.entity_id)


@dataclass(frozen=True, slots=True)
class Event:
    """An event as the feed and the webhooks show it."""

    id: int
    type: str
    created_at: datetime
    org_id: int
    request_id: str | None
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "orgId": self.org_id,
            "requestId": self.request_id,
            "data": self.data,
        }
