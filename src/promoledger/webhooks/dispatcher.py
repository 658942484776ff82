"""The dispatcher: a thread running an asyncio loop that delivers due endpoints concurrently.

Every poll it looks for endpoints with work due (a read), takes their leases (a short write)
and drains each in its own task: cut or pick a delivery, POST it, record the outcome, repeat
until nothing is due. One task per endpoint keeps each endpoint's events in order while a slow
or failing endpoint holds up no other. Leases live in the database, so any number of threads
and processes share the work; a dispatcher that dies (kill -9) frees its endpoints when its
leases run out, and the delivery it was sending is sent again under the same id.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from promoledger.domain.webhooks import DELIVERED, FAILED, check_url, is_public, parse_delays
from promoledger.observability.metrics import Metrics
from promoledger.runtime import Runtime
from promoledger.services.webhooks import master_key
from promoledger.store.types import utcnow
from promoledger.webhooks import work
from promoledger.webhooks.work import Batch, Policy

log = logging.getLogger("promoledger.webhooks")
USER_AGENT = "promoledger-webhooks/1"
# Endpoints one dispatcher drains at the same time.
CONCURRENCY = 64


class Dispatcher:
    def __init__(
        self, runtime: Runtime, *, metrics: Metrics | None = None, name: str = "webhooks"
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.uow = runtime.uow
        self.metrics = metrics
        self.policy = Policy(
            lease=timedelta(seconds=settings.webhook_lease_seconds),
            delays=parse_delays(settings.webhook_retry_delays),
            give_up=timedelta(seconds=settings.webhook_give_up_seconds),
        )
        self.timeout = settings.webhook_timeout_seconds
        self.poll = settings.webhook_poll_seconds
        self.allow_private = settings.webhook_allow_private_networks
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: bytes | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        asyncio.run(self.run())

    async def run(self) -> None:
        """Poll and drain until ``stop``."""
        active: dict[int, asyncio.Task[None]] = {}
        limits = httpx.Limits(
            max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY
        )
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, limits=limits, timeout=self.timeout
        ) as client:
            while not self._stop.is_set():
                try:
                    await self._poll(client, active)
                except Exception:  # a database outage: log, keep polling
                    log.exception("webhook dispatcher poll failed")
                await asyncio.sleep(self.poll)
            for task in active.values():
                task.cancel()
            await asyncio.gather(*active.values(), return_exceptions=True)

    async def _poll(self, client: httpx.AsyncClient, active: dict[int, asyncio.Task[None]]) -> None:
        if self.metrics is not None:
            self.metrics.outbox_lag.set(await asyncio.to_thread(work.lag, self.uow))
        free = CONCURRENCY - len(active)
        if free <= 0:
            return
        now = utcnow()
        ids = await asyncio.to_thread(work.due, self.uow, now=now, limit=free, exclude=list(active))
        taken = await asyncio.to_thread(
            work.claim, self.uow, ids, owner=self.owner, now=now, policy=self.policy
        )
        for endpoint_id in taken:
            task = asyncio.create_task(self._drain(client, endpoint_id))
            active[endpoint_id] = task
            task.add_done_callback(_forget(active, endpoint_id))

    async def drain_all(self) -> None:
        """Deliver everything due now, then return (benchmarks and tests)."""
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            active: dict[int, asyncio.Task[None]] = {}
            while True:
                await self._poll(client, active)
                if not active:
                    return
                await asyncio.gather(*list(active.values()), return_exceptions=True)

    # --- one endpoint ---------------------------------------------------------------------
    async def _drain(self, client: httpx.AsyncClient, endpoint_id: int) -> None:
        try:
            while not self._stop.is_set():
                batch = await asyncio.to_thread(
                    work.next_batch,
                    self.uow,
                    endpoint_id,
                    owner=self.owner,
                    now=utcnow(),
                    policy=self.policy,
                    master=self._master_key(),
                )
                if batch is None:
                    return
                status, error = await self._post(client, batch)
                outcome = await asyncio.to_thread(
                    work.record,
                    self.uow,
                    batch,
                    now=utcnow(),
                    policy=self.policy,
                    status=status,
                    error=error,
                )
                self._count(outcome, batch)
                if outcome not in (DELIVERED, FAILED):
                    return  # retried later, when due; the events behind it wait (order)
        except Exception:
            log.exception("webhook endpoint %d: delivery failed", endpoint_id)
        finally:
            try:
                await asyncio.to_thread(work.release, self.uow, endpoint_id, owner=self.owner)
            except Exception:  # the lease runs out by itself
                log.warning("webhook endpoint %d: could not release its lease", endpoint_id)

    def _master_key(self) -> bytes:
        if self._master is None:
            self._master = master_key(self.runtime.settings)
        return self._master

    async def _post(self, client: httpx.AsyncClient, batch: Batch) -> tuple[int | None, str | None]:
        refused = await self._refusal(batch.url)
        if refused is not None:
            return None, refused
        msg_id = str(batch.delivery_id)
        sent_at = utcnow()
        text = batch.body.decode()
        signature = " ".join(Webhook(s).sign(msg_id, sent_at, text) for s in batch.secrets)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
        }
        try:
            response = await asyncio.wait_for(
                client.post(batch.url, content=batch.body, headers=headers), self.timeout
            )
        except TimeoutError:
            return None, f"no answer within {self.timeout:g} s"
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 300 <= response.status_code < 400:
            return response.status_code, "redirects are not followed"
        return response.status_code, None

    async def _refusal(self, url: str) -> str | None:
        """Why ``url`` may not be contacted now, or None. Names are resolved at every delivery
        so a name that moved to a private address is refused too."""
        try:
            check_url(url, allow_private=self.allow_private)
        except ValueError as exc:
            return f"refused: {exc}"
        if self.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            addresses = await self.resolve(host, parts.port or 443)
        except (OSError, UnicodeError) as exc:
            return f"cannot resolve {host}: {exc}"
        for address in addresses:
            if not is_public(ipaddress.ip_address(address)):
                return f"refused: {host} resolves to a private network address"
        return None

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to now."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [str(info[4][0]) for info in infos]

    def _count(self, outcome: str, batch: Batch) -> None:
        if self.metrics is None:
            return
        self.metrics.webhook_attempts.labels(outcome.lower()).inc()
        if outcome == DELIVERED:
            self.metrics.webhook_events.inc(batch.event_count)


def _forget(
    active: dict[int, asyncio.Task[None]], endpoint_id: int
) -> Callable[[asyncio.Task[None]], None]:
    def done(_: asyncio.Task[None]) -> None:
        active.pop(endpoint_id, None)

    return done


def start_dispatchers(runtime: Runtime, metrics: Metrics | None) -> list[Dispatcher]:
    """The dispatchers ``serve`` runs in each process (PROMOLEDGER_WEBHOOK_WORKERS)."""
    started = []
    for n in range(runtime.settings.webhook_workers):
        dispatcher = Dispatcher(runtime, metrics=metrics, name=f"webhooks-{n}")
        dispatcher.start()
        started.append(dispatcher)
    return started
