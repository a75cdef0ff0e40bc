"""Store verbs for the deny list of revoked tokens (``revoked_tokens``) and the reads behind the
revocation feed (docs/architecture.md; the feed itself is ``gatehouse.revocations``).

A new deny entry records a ``revocation`` change in its own transaction (with the audit row of
the revocation when one is given), so every process adds the ``jti`` to its deny set.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent, Change
from gatehouse.store.store import Store

_r = t.revoked_tokens.c
_ch = t.changes.c
_ac = t.app_clients.c


@dataclass(frozen=True, slots=True)
class ClientStanding:
    """What the revocation feed reports of one app client."""

    app_id: str
    client_id: str
    enabled: bool
    tokens_revoked_before: float | None
    updated_at: float


def insert_revocation(
    store: Store,
    *,
    customer_id: str,
    client_id: str,
    jti: str,
    expires_at: float,
    audit: AuditEvent | None = None,
) -> bool:
    """Put ``jti`` on the deny list until ``expires_at``; False if it already was. The change
    and ``audit`` are written in the same transaction, only when the entry is new."""
    with store.engine.begin() as conn:
        if conn.execute(select(_r.jti).where(_r.jti == jti)).first() is not None:
            return False
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(t.revoked_tokens).values(
                        jti=jti,
                        customer_id=customer_id,
                        client_id=client_id,
                        expires_at=expires_at,
                        revoked_at=time.time(),
                    )
                )
        except IntegrityError:  # revoked at the same moment by another request
            return False
        Store.record_change(conn, kind="revocation", customer_id=customer_id, entity_id=jti)
        Store.write_audit(conn, audit)
    return True


def revocations_after(
    store: Store, *, expires_after: float, jtis: Iterable[str] | None = None
) -> dict[str, float]:
    """``jti -> exp`` of the entries whose token expires after ``expires_after`` (all, or those
    among ``jtis``)."""
    query = select(_r.jti, _r.expires_at).where(_r.expires_at > expires_after)
    if jtis is not None:
        wanted = list(jtis)
        if not wanted:
            return {}
        query = query.where(_r.jti.in_(wanted))
    with store.engine.connect() as conn:
        return {row.jti: row.expires_at for row in conn.execute(query)}


def customer_revocations(
    store: Store, *, customer_id: str, expires_after: float
) -> dict[str, float]:
    """``jti -> exp`` of one customer's entries whose token expires after ``expires_after``."""
    query = select(_r.jti, _r.expires_at).where(
        (_r.customer_id == customer_id) & (_r.expires_at > expires_after)
    )
    with store.engine.connect() as conn:
        return {row.jti: row.expires_at for row in conn.execute(query)}


def delete_revocations(store: Store, *, expired_before: float) -> int:
    """Drop the entries whose token expired before ``expired_before``; returns how many."""
    with store.engine.begin() as conn:
        result = conn.execute(delete(t.revoked_tokens).where(_r.expires_at < expired_before))
    return int(result.rowcount or 0)


# -- reads of the feed -------------------------------------------------------------------------


def settled_change_id(store: Store, *, at_or_before: float) -> int:
    """The highest change id recorded at or before ``at_or_before`` (0 when none)."""
    query = select(func.coalesce(func.max(_ch.id), 0)).where(_ch.at <= at_or_before)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def changes_of_kind(store: Store, *, customer_id: str, kind: str, after: float) -> list[Change]:
    """One customer's changes of ``kind`` recorded after the time ``after``."""
    query = select(t.changes).where(
        (_ch.customer_id == customer_id) & (_ch.kind == kind) & (_ch.at > after)
    )
    with store.engine.connect() as conn:
        return [Change(**row._mapping) for row in conn.execute(query)]


def latest_reductions(
    store: Store, *, customer_id: str, client_ids: Sequence[str] | None, after: float
) -> dict[str, float]:
    """``client_id -> time`` of each client's latest ``roles_reduced`` change after ``after``
    (of every client when ``client_ids`` is None)."""
    query = (
        select(_ch.entity_id, func.max(_ch.at))
        .where((_ch.customer_id == customer_id) & (_ch.kind == "roles_reduced") & (_ch.at > after))
        .group_by(_ch.entity_id)
    )
    if client_ids is not None:
        query = query.where(_ch.entity_id.in_(list(client_ids)))
    with store.engine.connect() as conn:
        return {row[0]: float(row[1]) for row in conn.execute(query)}


def client_standings(
    store: Store, *, customer_id: str, app_ids: Sequence[str] | None = None
) -> list[ClientStanding]:
    """The standing of the given app clients of one customer (all when ``app_ids`` is None)."""
    query = select(
        _ac.id, _ac.client_id, _ac.enabled, _ac.tokens_revoked_before, _ac.updated_at
    ).where(_ac.customer_id == customer_id)
    if app_ids is not None:
        if not app_ids:
            return []
        query = query.where(_ac.id.in_(list(app_ids)))
    with store.engine.connect() as conn:
        return [
            ClientStanding(
                app_id=row.id,
                client_id=row.client_id,
                enabled=bool(row.enabled),
                tokens_revoked_before=row.tokens_revoked_before,
                updated_at=row.updated_at,
            )
            for row in conn.execute(query)
        ]


def app_ids_of(store: Store, *, client_ids: Sequence[str]) -> list[str]:
    """The app ids of the clients with these ``client_id`` values (those that still exist)."""
    if not client_ids:
        return []
    query = select(_ac.id).where(_ac.client_id.in_(list(client_ids)))
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())
