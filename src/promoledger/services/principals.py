"""What every kind of authentication shares: credential names and the principal a row becomes."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Row

from promoledger.domain.context import Principal
from promoledger.domain.vocabulary import Access, CredentialKind

MAX_NAME_LENGTH = 200
MAX_SECRET_LENGTH = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def valid_name(name: str) -> bool:
    """A credential name that can be stored, sent in a Basic header and counted for throttling."""
    return 0 < len(name) <= MAX_NAME_LENGTH and not _CONTROL.search(name)


def principal_of(row: Row[Any]) -> Principal:
    """The authenticated caller a credential row stands for."""
    return Principal(
        org_id=int(row.org_id),
        credential_id=int(row.id),
        kind=CredentialKind(row.kind),
        name=row.name,
        customer_access=Access[row.customer_access],
        config_access=Access[row.config_access],
    )
