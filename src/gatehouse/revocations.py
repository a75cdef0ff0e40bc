"""The deny list of revoked tokens and the revocation feed for outside verifiers.

A revoked ``jti`` is kept in ``revoked_tokens`` until the token's ``exp`` and announced on the
change feed (kind ``revocation``), so every server process adds it to its in-memory deny set.
Per-client events the feed also reports are recorded on the change feed by the store: a client
change (``client``: revoke_tokens, disabling), a role removal (``roles_reduced``) and a deletion
(``client_deleted``).

The feed (``GET {issuer}/oauth2/revocations``) is incremental: the cursor is a position in the
change feed. Changes are re-sent until they are older than :data:`SETTLE` seconds, because a
PostgreSQL transaction may commit a lower change id after a higher one; applying an entry twice
is harmless. Nothing secret is in it: ``jti`` and ``exp`` of revoked tokens, and per client its
``client_id``, a cut-off time and whether it is active, disabled or deleted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatehouse.store import revocations as deny
from gatehouse.store.models import AuditEvent, Change
from gatehouse.store.store import Store

SETTLE = 10.0  # seconds after which a change id is taken as final (see the module docstring)
FEED_PAGE = 1000
# A deleted client's entry is reported while any of its tokens may live (the longest lifetime).
DELETED_HORIZON = 86400 + 60
FEED_KINDS = ("revocation", "client", "roles_reduced", "client_deleted")
# A deny entry outlives its token's exp by more than any verifier's leeway (gatehouse.verify
# allows 30 s), so a revoked token is never accepted again between exp and exp + leeway.
DENY_GRACE = 60.0


def revoke_jti(
    store: Store,
    *,
    customer_id: str,
    client_id: str,
    jti: str,
    expires_at: float,
    audit: AuditEvent | None = None,
) -> bool:
    """Put ``jti`` on the deny list until ``expires_at``; False if it already was. ``audit`` is
    written in the same transaction when the entry is new."""
    return deny.insert_revocation(
        store,
        customer_id=customer_id,
        client_id=client_id,
        jti=jti,
        expires_at=expires_at,
        audit=audit,
    )


def revoked_until(store: Store, *, jtis: Iterable[str] | None = None) -> dict[str, float]:
    """``jti -> exp`` of the deny-list entries whose token may still be accepted somewhere (all,
    or those among ``jtis``): unexpired, or expired less than :data:`DENY_GRACE` ago."""
    return deny.revocations_after(store, expires_after=time.time() - DENY_GRACE, jtis=jtis)


def prune_revoked(store: Store, *, now: float | None = None) -> int:
    """Drop deny-list entries whose token has expired; returns how many."""
    cutoff = now if now is not None else time.time()
    return deny.delete_revocations(store, expired_before=cutoff)


# -- the feed ---------------------------------------------------------------------------------


@dataclass
class FeedPage:
    cursor: int
    revoked: dict[str, float] = field(default_factory=dict)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    has_more: bool = False

    def document(self) -> dict[str, Any]:
        return {
            "cursor": str(self.cursor),
            "revoked": [{"jti": j, "exp": _number(exp)} for j, exp in sorted(self.revoked.items())],
            "clients": [self.clients[k] for k in sorted(self.clients)],
            "has_more": self.has_more,
        }


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _client_entry(
    client_id: str, status: str, revoked_before: float | None, at: float | None = None
) -> dict[str, Any]:
    # For a disabled or deleted client every token is refused; revoked_before is then the time
    # it happened, for information.
    if status != "active" and at is not None:
        revoked_before = max(revoked_before or 0.0, at)
    return {"client_id": client_id, "status": status, "revoked_before": revoked_before}


def _client_entries(
    store: Store, customer_id: str, app_ids: Sequence[str] | None, now: float
) -> dict[str, dict[str, Any]]:
    """Entries of the given clients (all with a cut-off when ``app_ids`` is None)."""
    standings = deny.client_standings(store, customer_id=customer_id, app_ids=app_ids)
    if not standings:
        return {}
    reductions = deny.latest_reductions(
        store,
        customer_id=customer_id,
        client_ids=[s.client_id for s in standings] if app_ids is not None else None,
        after=now - DELETED_HORIZON,
    )
    entries: dict[str, dict[str, Any]] = {}
    for row in standings:
        cutoffs = [x for x in (row.tokens_revoked_before, reductions.get(row.client_id)) if x]
        revoked_before = max(cutoffs) if cutoffs else None
        if row.enabled and revoked_before is None and app_ids is None:
            continue  # the snapshot lists only clients with something to refuse
        status = "active" if row.enabled else "disabled"
        entries[row.client_id] = _client_entry(
            row.client_id, status, revoked_before, None if row.enabled else row.updated_at
        )
    return entries


def _deleted(changes: Iterable[Change]) -> dict[str, dict[str, Any]]:
    return {
        ch.entity_id: _client_entry(ch.entity_id, "deleted", None, ch.at)
        for ch in changes
        if ch.kind == "client_deleted"
    }


def read_feed(
    store: Store, *, customer_id: str, cursor: int | None, now: float | None = None
) -> FeedPage:
    """The entries since ``cursor`` (everything still relevant when ``cursor`` is None)."""
    now = now if now is not None else time.time()
    if cursor is None:
        page = FeedPage(cursor=deny.settled_change_id(store, at_or_before=now - SETTLE))
        deletions = deny.changes_of_kind(
            store, customer_id=customer_id, kind="client_deleted", after=now - DELETED_HORIZON
        )
        page.revoked = deny.customer_revocations(store, customer_id=customer_id, expires_after=now)
        page.clients = _client_entries(store, customer_id, None, now)
        page.clients.update(_deleted(deletions))
        return page
    changes = store.changes_after(cursor, limit=FEED_PAGE)
    page = FeedPage(cursor=cursor, has_more=len(changes) == FEED_PAGE)
    for change in changes:
        # The cursor moves only over settled changes unless a full page forces it on.
        if change.at > now - SETTLE and not page.has_more:
            break
        page.cursor = change.id
    mine = [ch for ch in changes if ch.customer_id == customer_id and ch.kind in FEED_KINDS]
    jtis = [ch.entity_id for ch in mine if ch.kind == "revocation"]
    page.revoked = revoked_until(store, jtis=jtis) if jtis else {}
    app_ids = sorted({ch.entity_id for ch in mine if ch.kind == "client"})
    reduced = sorted({ch.entity_id for ch in mine if ch.kind == "roles_reduced"})
    if reduced:
        app_ids = sorted({*app_ids, *deny.app_ids_of(store, client_ids=reduced)})
    page.clients = _client_entries(store, customer_id, app_ids, now)
    page.clients.update(_deleted(mine))
    return page
