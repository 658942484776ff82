"""Prometheus metrics. Labels are route templates, methods, statuses and catalogue codes only:
never a path as sent, never a customer identifier.

Under ``serve --workers N`` each worker writes its samples to files in a per-run directory
(``PROMETHEUS_MULTIPROC_DIR``, set by ``serve`` before any worker starts) and ``/metrics``,
whichever worker answers it, sums them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Bulk entries are counted per outcome: one label set per (endpoint, action, outcome, code).
BulkKey = tuple[str, str, str, str]


class Metrics:
    """The metric families of one app, and a cache of their labelled children."""

    def __init__(self) -> None:
        # Samples go to files only if prometheus_client was imported with the variable set.
        shared = values.ValueClass.__name__ == "MmapedValue"
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) if shared else None
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "promoledger_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "promoledger_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.bulk_entries = Counter(
            "promoledger_bulk_entries",
            "Customer entries answered by the Capillary bulk endpoints, by outcome and code "
            "(code 0 for a success). Replays and dry runs are not counted.",
            ["endpoint", "action", "outcome", "code"],
            registry=self.registry,
        )
        self.jobs_running = Gauge(
            "promoledger_jobs_running",
            "Bulk jobs this server's workers are running now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.job_rows = Counter(
            "promoledger_job_rows",
            "Bulk-job rows processed by this server's workers, by action and outcome "
            "(succeeded / failed); dry runs included.",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "promoledger_webhook_attempts",
            "Webhook delivery attempts by the delivery's status after them: delivered, pending "
            "(to be retried) or failed (given up).",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_events = Counter(
            "promoledger_webhook_events_delivered",
            "Events delivered to webhook endpoints (an event sent to two endpoints counts twice).",
            registry=self.registry,
        )
        self.outbox_lag = Gauge(
            "promoledger_webhook_outbox_lag_events",
            "Events committed but not yet handed to a delivery, summed over enabled endpoints.",
            multiprocess_mode="max",
            registry=self.registry,
        )
        # Children are looked up once per label set, not per request.
        self._http: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._bulk: dict[BulkKey, Counter] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._http.get(key)
        if children is None:
            label = method if method in METHODS else "OTHER"
            children = (
                self.requests.labels(label, route, str(status)),
                self.duration.labels(label, route),
            )
            self._http[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_bulk(self, tally: Iterable[tuple[BulkKey, int]]) -> None:
        for key, amount in tally:
            child = self._bulk.get(key)
            if child is None:
                child = self._bulk[key] = self.bulk_entries.labels(*key)
            child.inc(amount)

    def count_job_rows(self, action: str, succeeded: int, failed: int) -> None:
        self.job_rows.labels(action, "succeeded").inc(succeeded)
        self.job_rows.labels(action, "failed").inc(failed)

    def render(self) -> bytes:
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
