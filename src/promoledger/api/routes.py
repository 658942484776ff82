"""Every router the app serves, in one list the app factory includes."""

from __future__ import annotations

from fastapi import APIRouter

from promoledger.api import (
    admin_audit,
    admin_customers,
    admin_events,
    admin_jobs,
    admin_programs,
    admin_reinstatements,
    admin_webhooks,
    enrol_earn,
    issue,
    lookup,
    oauth,
    revoke,
)

ROUTERS: tuple[APIRouter, ...] = (
    oauth.router,
    enrol_earn.router,
    revoke.router,
    issue.router,
    lookup.router,
    admin_programs.router,
    admin_customers.router,
    admin_audit.router,
    admin_reinstatements.router,
    admin_jobs.router,
    admin_events.router,
    admin_webhooks.router,
)
