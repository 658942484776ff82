"""`promoledger serve`: check the start-up, migrate, then serve with uvicorn under limits."""

from __future__ import annotations

import logging
import logging.config
import os
import resource
import shutil
import tempfile
from enum import StrEnum
from typing import Annotated

import typer
import uvicorn
from alembic.migration import MigrationContext
from uvicorn.supervisors import Multiprocess

from promoledger import __version__
from promoledger.cli.common import state
from promoledger.observability.logs import logging_config, mask_url
from promoledger.observability.server import Limits, ServerConfig
from promoledger.observability.startup import bind, check_sqlite_file, check_token_key
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from promoledger.store.schema import upgrade

log = logging.getLogger("promoledger")
# prometheus_client reads this when it is first imported: it must be set before any worker (or,
# with one worker, this process) builds the app, so nothing here imports prometheus_client.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Descriptors a process needs besides client sockets: database connections, logs, imports.
_SPARE_DESCRIPTORS = 64


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


DEFAULT_WORKERS = 2


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        *,
        host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        workers: Annotated[
            int,
            typer.Option(
                min=1,
                help="Server processes (they share the database). The default, 2, measured best "
                "on both databases on a 2-core machine: the processes run their Python side by "
                "side while SQLite's writers queue across them.",
            ),
        ] = DEFAULT_WORKERS,
        create: Annotated[
            bool, typer.Option("--create", help="Create the SQLite file if it does not exist.")
        ] = False,
        log_format: Annotated[
            LogFormat | None,
            typer.Option(
                help="Log lines as text or JSON (env PROMOLEDGER_LOG_FORMAT, default text)."
            ),
        ] = None,
        log_level: Annotated[
            LogLevel | None,
            typer.Option(
                help="Least severe level logged (env PROMOLEDGER_LOG_LEVEL, default info)."
            ),
        ] = None,
    ) -> None:
        """Check the start-up, upgrade the schema, then serve the HTTP API."""
        # Worker processes rebuild the app from the environment through the factory, so
        # what the options chose goes there first.
        if log_format is not None:
            os.environ["PROMOLEDGER_LOG_FORMAT"] = log_format.value
        if log_level is not None:
            os.environ["PROMOLEDGER_LOG_LEVEL"] = log_level.value
        settings = state(ctx).settings
        settings = Settings.model_validate(
            {
                **settings.model_dump(),
                "log_format": os.environ.get("PROMOLEDGER_LOG_FORMAT", settings.log_format),
                "log_level": os.environ.get("PROMOLEDGER_LOG_LEVEL", settings.log_level),
            }
        )
        log_config = logging_config(settings.log_format, settings.log_level)
        logging.config.dictConfig(log_config)

        sock = bind(host, port)  # the port first: a port in use is reported before migrating
        try:
            check_sqlite_file(settings.database_url, create=create)
            check_token_key(settings)
            revision = _migrate(settings)
            os.environ["PROMOLEDGER_DATABASE_URL"] = settings.database_url
            limits = _limits(settings)
            log.info(
                "promoledger %s starting",
                __version__,
                extra={
                    "listen": f"http://{host}:{port}",
                    "database": mask_url(settings.database_url),
                    "revision": revision,
                    "workers": workers,
                    "max_connections": limits.max_connections,
                },
            )
            _run(settings, limits, log_config, sock, workers)
        finally:
            sock.close()


def _migrate(settings: Settings) -> str | None:
    """Upgrade the schema through the runtime every command and the server build."""
    built = Runtime.build(settings)
    try:
        upgrade(built.engine)
        with built.engine.connect() as conn:
            revision: str | None = MigrationContext.configure(conn).get_current_revision()
    finally:
        built.close()
    return revision


def _limits(settings: Settings) -> Limits:
    most = settings.max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = most + _SPARE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < needed:
        # The soft limit is often 1024; raise it as far as the hard limit allows.
        raised = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    if soft != resource.RLIM_INFINITY and most > soft - _SPARE_DESCRIPTORS:
        most = max(1, soft - _SPARE_DESCRIPTORS)
        log.warning(
            "PROMOLEDGER_MAX_CONNECTIONS=%d is above what the open-file limit (%d) allows; "
            "using %d (raise `ulimit -n` to allow more)",
            settings.max_connections,
            soft,
            most,
        )
    return Limits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        max_connections=most,
    )


def _run(
    settings: Settings,
    limits: Limits,
    log_config: dict[str, object],
    sock: object,
    workers: int,
) -> None:
    # Each run gets its own metrics directory: samples from an earlier run never leak in.
    metrics_dir = tempfile.mkdtemp(prefix="promoledger-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        config = ServerConfig(
            "promoledger.asgi:create",
            factory=True,
            workers=workers,
            limits=limits,
            log_config=log_config,
            access_log=False,  # promoledger writes its own access line
            server_header=False,
            timeout_keep_alive=settings.keep_alive_seconds,
            timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
            h11_max_incomplete_event_size=settings.max_header_bytes,
        )
        assert hasattr(sock, "fileno")
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()  # type: ignore[list-item]
        else:
            uvicorn.Server(config).run(sockets=[sock])  # type: ignore[list-item]
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it has already handled by shutting down
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
