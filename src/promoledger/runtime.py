"""What one process holds: settings, engine, unit of work, authenticator.

The server (``create_app``) and every CLI command build it the same way, through ``build``,
and release it with ``close``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from promoledger.services.auth import Authenticator
from promoledger.settings import Settings
from promoledger.store.engine import build_engine
from promoledger.store.uow import UnitOfWork


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    uow: UnitOfWork
    auth: Authenticator

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = build_engine(settings)
        uow = UnitOfWork(engine, write_wait_seconds=settings.sqlite_busy_timeout_ms / 1000)
        return cls(settings=settings, engine=engine, uow=uow, auth=Authenticator(uow, settings))

    def close(self) -> None:
        """Release the database connections and the hash executor."""
        self.auth.close()
        self.engine.dispose()
