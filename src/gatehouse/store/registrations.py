"""Storage of dynamic client registration (RFC 7591/7592): initial access tokens and the
registrations they made. Tokens are stored as HMACs only, never as presented."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from gatehouse.store import tables as t
from gatehouse.store.models import AppClientRecord, AuditEvent
from gatehouse.store.store import NotFound, Store


@dataclass(frozen=True, slots=True)
class InitialTokenRecord:
    id: str
    customer_id: str
    roles: tuple[str, ...]
    expires_at: float
    max_uses: int | None
    uses: int
    revoked_at: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    app_id: str
    customer_id: str
    allowed_roles: tuple[str, ...]
    metadata: dict[str, Any]
    initial_token_id: str | None
    created_at: float
    updated_at: float


def _token_from_row(row: Row[Any]) -> InitialTokenRecord:
    m = row._mapping
    return InitialTokenRecord(
        id=m["id"],
        customer_id=m["customer_id"],
        roles=tuple(orjson.loads(m["roles"])),
        expires_at=m["expires_at"],
        max_uses=m["max_uses"],
        uses=m["uses"],
        revoked_at=m["revoked_at"],
        created_at=m["created_at"],
    )


def _registration_from_row(row: Row[Any]) -> RegistrationRecord:
    m = row._mapping
    return RegistrationRecord(
        app_id=m["app_id"],
        customer_id=m["customer_id"],
        allowed_roles=tuple(orjson.loads(m["allowed_roles"])),
        metadata=orjson.loads(m["metadata"]),
        initial_token_id=m["initial_token_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class RegistrationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- initial access tokens -------------------------------------------------------------------

    def insert_initial_token(
        self, *, record: InitialTokenRecord, token_hash: bytes, audit: AuditEvent | None = None
    ) -> None:
        with self.engine.begin() as conn:
            Store.write_audit(conn, audit)
            conn.execute(
                insert(t.initial_access_tokens).values(
                    id=record.id,
                    customer_id=record.customer_id,
                    token_hash=token_hash,
                    roles=orjson.dumps(list(record.roles)).decode(),
                    expires_at=record.expires_at,
                    max_uses=record.max_uses,
                    uses=record.uses,
                    revoked_at=record.revoked_at,
                    created_at=record.created_at,
                )
            )

    def list_initial_tokens(self, *, customer_id: str) -> list[InitialTokenRecord]:
        c = t.initial_access_tokens.c
        query = select(t.initial_access_tokens).where(c.customer_id == customer_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(c.created_at, c.id)).all()
        return [_token_from_row(row) for row in rows]

    def revoke_initial_token(
        self, *, customer_id: str, token_id: str, audit: AuditEvent | None = None
    ) -> None:
        c = t.initial_access_tokens.c
        where = (c.id == token_id) & (c.customer_id == customer_id)
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    update(t.initial_access_tokens).where(where).values(revoked_at=time.time())
                ).rowcount
                != 1
            ):
                raise NotFound(token_id)
            Store.write_audit(conn, audit)

    def find_initial_token(self, *, token_hash: bytes) -> InitialTokenRecord | None:
        c = t.initial_access_tokens.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.initial_access_tokens).where(c.token_hash == token_hash)
            ).first()
        return _token_from_row(row) if row is not None else None

    def use_initial_token(self, *, token_hash: bytes, now: float) -> InitialTokenRecord | None:
        """Count one use of the token the hash names, if it is still good (atomically)."""
        c = t.initial_access_tokens.c
        usable = (
            (c.token_hash == token_hash)
            & c.revoked_at.is_(None)
            & (c.expires_at > now)
            & (c.max_uses.is_(None) | (c.uses < c.max_uses))
        )
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    update(t.initial_access_tokens).where(usable).values(uses=c.uses + 1)
                ).rowcount
                != 1
            ):
                return None
            row = conn.execute(
                select(t.initial_access_tokens).where(c.token_hash == token_hash)
            ).one()
        return _token_from_row(row)

    # -- registrations ---------------------------------------------------------------------------

    def insert_registration(self, *, record: RegistrationRecord, access_token_hash: bytes) -> None:
        with self.engine.begin() as conn:
            self._insert_registration(conn, record, access_token_hash)

    def insert_registered_client(
        self,
        *,
        client: AppClientRecord,
        record: RegistrationRecord,
        access_token_hash: bytes,
        audit: Sequence[AuditEvent] = (),
    ) -> None:
        """RFC 7591 §3: the new client, its registration and their audit rows, all or none."""
        with self.engine.begin() as conn:
            Store.insert_client_in(conn, client)
            self._insert_registration(conn, record, access_token_hash)
            for event in audit:
                Store.write_audit(conn, event)

    @staticmethod
    def _insert_registration(
        conn: Connection, record: RegistrationRecord, access_token_hash: bytes
    ) -> None:
        conn.execute(
            insert(t.client_registrations).values(
                app_id=record.app_id,
                customer_id=record.customer_id,
                access_token_hash=access_token_hash,
                allowed_roles=orjson.dumps(list(record.allowed_roles)).decode(),
                metadata=orjson.dumps(record.metadata).decode(),
                initial_token_id=record.initial_token_id,
                created_at=record.created_at,
                updated_at=record.updated_at,
            )
        )

    def find_registration(
        self, *, app_id: str, access_token_hash: bytes
    ) -> RegistrationRecord | None:
        """The registration of ``app_id`` if ``access_token_hash`` is its token's."""
        if "\x00" in app_id:
            return None
        c = t.client_registrations.c
        query = select(t.client_registrations).where(
            (c.app_id == app_id) & (c.access_token_hash == access_token_hash)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _registration_from_row(row) if row is not None else None

    def update_registration(self, *, app_id: str, metadata: dict[str, Any]) -> None:
        c = t.client_registrations.c
        with self.engine.begin() as conn:
            conn.execute(
                update(t.client_registrations)
                .where(c.app_id == app_id)
                .values(metadata=orjson.dumps(metadata).decode(), updated_at=time.time())
            )

    def delete_registration(self, *, app_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(t.client_registrations).where(t.client_registrations.c.app_id == app_id)
            )

    def registered_app_ids(self, *, customer_id: str) -> set[str]:
        c = t.client_registrations.c
        with self.engine.connect() as conn:
            return set(conn.execute(select(c.app_id).where(c.customer_id == customer_id)).scalars())
