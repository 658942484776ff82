"""Webhook endpoints and deliveries: the types and the pure rules (targets, retry schedule)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from promoledger.domain.events import ALL_TYPES, EVENT_TYPES

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
MAX_EVENTS_PER_DELIVERY = 100
SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    org_id: int
    url: str
    event_types: tuple[str, ...]  # ("*",) for every type
    description: str | None
    enabled: bool
    cursor: int  # the last event id handed to a delivery
    failing_since: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        return ALL_TYPES in self.event_types or event_type in self.event_types


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    endpoint_id: int
    status: str
    event_ids: tuple[int, ...]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


def clean_event_types(types: Sequence[str]) -> tuple[str, ...]:
    """The subscribed types, deduplicated in order; ``ValueError`` names an unknown one."""
    if not types:
        raise ValueError('eventTypes must name at least one event type, or be ["*"]')
    out: list[str] = []
    for t in types:
        if t != ALL_TYPES and t not in EVENT_TYPES:
            raise ValueError(f"unknown event type {t!r}")
        if t not in out:
            out.append(t)
    return (ALL_TYPES,) if ALL_TYPES in out else tuple(out)


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL if it is an acceptable target, else ``ValueError`` saying why.

    https only, unless private networks are allowed (then http too). A host given as an IP
    address (or ``localhost``) must not be loopback / private / link-local / reserved unless
    allowed; host names are resolved and checked again at every delivery."""
    if any(ch.isspace() for ch in url):
        raise ValueError("url must not contain spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise ValueError("url must be an https URL")
    if parts.scheme == "http" and not allow_private:
        raise ValueError(
            "url must use https (http only with PROMOLEDGER_WEBHOOK_ALLOW_PRIVATE_NETWORKS)"
        )
    if not parts.hostname:
        raise ValueError("url has no host")
    if parts.username or parts.password:
        raise ValueError("url must not carry credentials")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("url has an invalid port") from exc
    try:
        parts.hostname.encode("idna")
    except UnicodeError as exc:
        raise ValueError("url has an invalid host name") from exc
    if not allow_private:
        host = parts.hostname.rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            raise ValueError("url targets a private network address")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return url  # a name: resolved and checked at delivery time
        if not is_public(address):
            raise ValueError("url targets a private network address")
    return url


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a delivery may connect to ``address`` without private networks allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def retry_delay(attempts: int, delays: Sequence[float]) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based); the last delay repeats."""
    index = min(max(attempts, 1), len(delays)) - 1
    return timedelta(seconds=delays[index])


def parse_delays(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(","))
