"""ASGI entry point for uvicorn (``promoledger.asgi:create`` with ``--factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from promoledger.app import create_app
from promoledger.settings import Settings


def create() -> FastAPI:
    return create_app(Settings(), background=True)
