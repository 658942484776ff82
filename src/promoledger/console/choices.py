"""The promotions a form offers: every promotion of the org, labelled with its program."""

from __future__ import annotations

from promoledger.runtime import Runtime
from promoledger.services import programs, promotions


def promotion_choices(runtime: Runtime, org_id: int) -> list[tuple[str, str]]:
    """(value, label) per promotion of the org: value ``programId:promotionId``."""
    found = []
    for program in programs.list_programs(runtime.uow, org_id=org_id):
        for p in promotions.list_promotions(runtime.uow, org_id=org_id, program_id=program.id):
            label = f"{program.name} / {p.name} ({p.type.value}, #{p.id})"
            found.append((f"{program.id}:{p.id}", label))
    return found
