"""A program: the container an org's promotions and customer memberships hang off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Program:
    id: int
    org_id: int
    name: str
    created_at: datetime
