"""The audit log, read a page at a time, newest first: for ``GET /v2/audit``, the console's
audit page and ``gatehouse audit`` (docs/operations.md lists what is recorded).

A page is asked for one event more than it shows, so whether another page follows is known
without a count; the next page starts before the last event shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.errors import InvalidInput
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Store

MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    more: bool  # older events follow: ask again with ``before_id=next_before``

    @property
    def next_before(self) -> int | None:
        return self.events[-1].id if self.more and self.events else None


def read_audit(
    store: Store,
    *,
    customer_id: str,
    limit: int,
    before_id: int | None = None,
    action: str | None = None,
    target: str | None = None,
) -> AuditPage:
    """Up to ``limit`` of the customer's events older than ``before_id``, optionally only of
    one ``action`` or on one ``target``; :class:`InvalidInput` for a limit out of range."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput({"limit": f"must be between 1 and {MAX_PAGE}"})
    if any(value is not None and "\x00" in value for value in (action, target)):
        return AuditPage(events=[], more=False)  # no event can hold NUL (PostgreSQL text)
    events = store.list_audit(
        customer_id=customer_id,
        limit=limit + 1,
        before_id=before_id,
        action=action or None,
        target=target or None,
    )
    return AuditPage(events=events[:limit], more=len(events) > limit)
