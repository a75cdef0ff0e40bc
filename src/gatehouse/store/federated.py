"""Store verbs for federated credentials and for single-use assertion ids (``jti``).

A credential write records a ``client`` change for its app client in the same transaction, so
every process's replica (and the credential cache keyed on its version) learns of it.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent, FederatedCredentialRecord
from gatehouse.store.store import NotFound, Store

_c = t.federated_credentials.c


def _from_row(row: Row[Any]) -> FederatedCredentialRecord:
    m = row._mapping
    return FederatedCredentialRecord(
        id=m["id"],
        app_id=m["app_id"],
        customer_id=m["customer_id"],
        name=m["name"],
        issuer=m["issuer"],
        audience=m["audience"],
        subject=m["subject"],
        claims=orjson.loads(m["claims"]),
        single_use=bool(m["single_use"]),
        allow_any_subject=bool(m["allow_any_subject"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _values(record: FederatedCredentialRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "app_id": record.app_id,
        "customer_id": record.customer_id,
        "name": record.name,
        "issuer": record.issuer,
        "audience": record.audience,
        "subject": record.subject,
        "claims": orjson.dumps(record.claims).decode(),
        "single_use": record.single_use,
        "allow_any_subject": record.allow_any_subject,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def insert_credential(
    store: Store, *, record: FederatedCredentialRecord, audit: AuditEvent | None = None
) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(t.federated_credentials).values(**_values(record)))
        store.record_change(
            conn, kind="client", customer_id=record.customer_id, entity_id=record.app_id
        )
        store.write_audit(conn, audit)


def replace_credential(
    store: Store, *, record: FederatedCredentialRecord, audit: AuditEvent | None = None
) -> None:
    values = _values(record)
    where = (_c.id == record.id) & (_c.app_id == record.app_id)
    with store.engine.begin() as conn:
        if (
            conn.execute(update(t.federated_credentials).where(where).values(**values)).rowcount
            != 1
        ):
            raise NotFound(record.id)
        store.record_change(
            conn, kind="client", customer_id=record.customer_id, entity_id=record.app_id
        )
        store.write_audit(conn, audit)


def delete_credential(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    credential_id: str,
    audit: AuditEvent | None = None,
) -> None:
    where = (_c.id == credential_id) & (_c.app_id == app_id) & (_c.customer_id == customer_id)
    with store.engine.begin() as conn:
        if conn.execute(delete(t.federated_credentials).where(where)).rowcount != 1:
            raise NotFound(credential_id)
        store.record_change(conn, kind="client", customer_id=customer_id, entity_id=app_id)
        store.write_audit(conn, audit)


def list_credentials(store: Store, *, app_id: str) -> list[FederatedCredentialRecord]:
    if "\x00" in app_id:
        return []
    query = select(t.federated_credentials).where(_c.app_id == app_id).order_by(_c.created_at)
    with store.engine.connect() as conn:
        return [_from_row(row) for row in conn.execute(query)]


def count_credentials(store: Store, *, app_id: str) -> int:
    query = select(func.count()).select_from(t.federated_credentials).where(_c.app_id == app_id)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def get_credential(
    store: Store, *, customer_id: str, app_id: str, credential_id: str
) -> FederatedCredentialRecord:
    if "\x00" in credential_id or "\x00" in app_id:
        raise NotFound(credential_id)
    where = (_c.id == credential_id) & (_c.app_id == app_id) & (_c.customer_id == customer_id)
    with store.engine.connect() as conn:
        row = conn.execute(select(t.federated_credentials).where(where)).first()
    if row is None:
        raise NotFound(credential_id)
    return _from_row(row)


def use_assertion_id(store: Store, *, key: str, expires_at: float) -> bool:
    """Record ``key`` as used until ``expires_at``; False when it was already used (a replay).
    The primary key decides, so two processes racing on one id cannot both win."""
    now = time.time()
    try:
        with store.engine.begin() as conn:
            # An expired id may be used again: its assertion can no longer be accepted anyway.
            conn.execute(
                delete(t.used_assertions).where(
                    (t.used_assertions.c.key == key) & (t.used_assertions.c.expires_at < now)
                )
            )
            conn.execute(insert(t.used_assertions).values(key=key, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


def prune_assertion_ids(store: Store, *, before: float) -> int:
    with store.engine.begin() as conn:
        result = conn.execute(
            delete(t.used_assertions).where(t.used_assertions.c.expires_at < before)
        )
    return int(result.rowcount)
