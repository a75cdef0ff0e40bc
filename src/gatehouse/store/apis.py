"""API storage: keyword-only verbs over ``apis`` and ``api_grants``, scoped to one customer.

Every write records a change in the same transaction: an API change (kind ``api``) reloads the
customer's API table in every replica; a grant change reloads its client (kind ``client``), and
narrowing or removing a grant also reports a cut-off for the client on the revocation feed
(kind ``roles_reduced``), as taking away a role does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Conflict, NotFound, Store

BUILTIN_NAME = "Gatehouse API"
BUILTIN_DESCRIPTION = "The built-in API (corpora, app clients); its scopes are the account roles."


@dataclass(frozen=True, slots=True)
class ApiScope:
    value: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ApiRecord:
    """An API row; ``identifier`` None is the built-in API (the configured audience)."""

    id: str
    customer_id: str
    identifier: str | None
    match_key: str | None
    name: str
    description: str
    scopes: tuple[ApiScope, ...]
    token_lifetime_seconds: int | None
    created_at: float
    updated_at: float

    @property
    def builtin(self) -> bool:
        return self.identifier is None


@dataclass(frozen=True, slots=True)
class GrantRecord:
    app_id: str
    api_id: str
    scopes: tuple[str, ...]
    created_at: float
    updated_at: float


def encode_scopes(scopes: Sequence[ApiScope]) -> str:
    return orjson.dumps([{"value": s.value, "description": s.description} for s in scopes]).decode()


def _api_from_row(row: Row[Any]) -> ApiRecord:
    m = row._mapping
    return ApiRecord(
        id=m["id"],
        customer_id=m["customer_id"],
        identifier=m["identifier"],
        match_key=m["match_key"],
        name=m["name"],
        description=m["description"],
        scopes=tuple(ApiScope(**item) for item in orjson.loads(m["scopes"])),
        token_lifetime_seconds=m["token_lifetime_seconds"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _grant_from_row(row: Row[Any]) -> GrantRecord:
    m = row._mapping
    return GrantRecord(
        app_id=m["app_id"],
        api_id=m["api_id"],
        scopes=tuple(orjson.loads(m["scopes"])),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def new_api_id() -> str:
    return "api_" + secrets.token_hex(8)


def builtin_api_values(api_id: str, customer_id: str, now: float) -> dict[str, Any]:
    """The row of a customer's built-in API (inserted with the customer)."""
    return {
        "id": api_id,
        "customer_id": customer_id,
        "identifier": None,
        "match_key": None,
        "name": BUILTIN_NAME,
        "description": BUILTIN_DESCRIPTION,
        "scopes": "[]",
        "token_lifetime_seconds": None,
        "created_at": now,
        "updated_at": now,
    }


class ApiStore:
    """Typed access to the API tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- APIs ----------------------------------------------------------------------------------

    def list_apis(self, *, customer_id: str | None = None) -> list[ApiRecord]:
        """The customer's APIs (every customer's without one), the built-in API first."""
        c = t.apis.c
        query = select(t.apis).order_by(
            c.customer_id, c.identifier.is_not(None), c.created_at, c.id
        )
        if customer_id is not None:
            query = query.where(c.customer_id == customer_id)
        with self.engine.connect() as conn:
            return [_api_from_row(row) for row in conn.execute(query)]

    def get_api(self, *, customer_id: str, api_id: str) -> ApiRecord:
        if "\x00" in api_id:
            raise NotFound(api_id)
        c = t.apis.c
        query = select(t.apis).where((c.id == api_id) & (c.customer_id == customer_id))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(api_id)
        return _api_from_row(row)

    def find_api(self, *, customer_id: str, match_key: str) -> ApiRecord | None:
        if "\x00" in match_key:
            return None
        c = t.apis.c
        query = select(t.apis).where((c.customer_id == customer_id) & (c.match_key == match_key))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _api_from_row(row) if row is not None else None

    def builtin_api(self, *, customer_id: str) -> ApiRecord:
        c = t.apis.c
        query = select(t.apis).where((c.customer_id == customer_id) & c.identifier.is_(None))
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        if row is None:
            raise NotFound(customer_id)
        return _api_from_row(row)

    def insert_api(self, *, record: ApiRecord, audit: AuditEvent | None = None) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(t.apis).values(
                        id=record.id,
                        customer_id=record.customer_id,
                        identifier=record.identifier,
                        match_key=record.match_key,
                        name=record.name,
                        description=record.description,
                        scopes=encode_scopes(record.scopes),
                        token_lifetime_seconds=record.token_lifetime_seconds,
                        created_at=record.created_at,
                        updated_at=record.updated_at,
                    )
                )
                Store.record_change(
                    conn, kind="api", customer_id=record.customer_id, entity_id=record.id
                )
                Store.write_audit(conn, audit)
        except IntegrityError as exc:
            raise Conflict(f"an API with identifier {record.identifier} exists") from exc

    def update_api(
        self,
        *,
        customer_id: str,
        api_id: str,
        values: dict[str, Any],
        audit: AuditEvent | None = None,
    ) -> ApiRecord:
        """Set ``values`` (column name to value; scopes as :class:`ApiScope`) on one API.

        Scopes taken away are taken out of every grant on the API too (and cut its clients'
        tokens off, as narrowing the grants themselves would)."""
        if "\x00" in api_id:
            raise NotFound(api_id)
        columns = dict(values)
        if "scopes" in columns:
            columns["scopes"] = encode_scopes(columns["scopes"])
        columns["updated_at"] = time.time()
        c = t.apis.c
        where = (c.id == api_id) & (c.customer_id == customer_id)
        with self.engine.begin() as conn:
            if conn.execute(update(t.apis).where(where).values(**columns)).rowcount != 1:
                raise NotFound(api_id)
            Store.record_change(conn, kind="api", customer_id=customer_id, entity_id=api_id)
            if "scopes" in values:
                kept = {s.value for s in values["scopes"]}
                self._narrow_grants(conn, customer_id, api_id, kept)
            row = conn.execute(select(t.apis).where(where)).one()
            Store.write_audit(conn, audit)
        return _api_from_row(row)

    def delete_api(self, *, customer_id: str, api_id: str, audit: AuditEvent | None = None) -> None:
        """Delete a registered API and its grants (the built-in API is refused by the caller)."""
        if "\x00" in api_id:
            raise NotFound(api_id)
        c = t.apis.c
        where = (c.id == api_id) & (c.customer_id == customer_id)
        with self.engine.begin() as conn:
            self._narrow_grants(conn, customer_id, api_id, None)
            if conn.execute(delete(t.apis).where(where)).rowcount != 1:
                raise NotFound(api_id)
            Store.record_change(conn, kind="api", customer_id=customer_id, entity_id=api_id)
            Store.write_audit(conn, audit)

    @staticmethod
    def _narrow_grants(
        conn: Connection, customer_id: str, api_id: str, kept: set[str] | None
    ) -> None:
        """Keep only ``kept`` scopes in every grant on the API (None: remove the grants)."""
        g = t.api_grants.c
        rows = conn.execute(
            select(t.api_grants, t.app_clients.c.client_id)
            .join(t.app_clients, t.app_clients.c.id == g.app_id)
            .where(g.api_id == api_id)
        ).all()
        for row in rows:
            scopes = orjson.loads(row.scopes)
            remaining = scopes if kept is None else [s for s in scopes if s in kept]
            if kept is not None and remaining == scopes:
                continue
            where = (g.app_id == row.app_id) & (g.api_id == api_id)
            if kept is None or not remaining:
                conn.execute(delete(t.api_grants).where(where))
            else:
                conn.execute(
                    update(t.api_grants)
                    .where(where)
                    .values(scopes=orjson.dumps(remaining).decode(), updated_at=time.time())
                )
            _record_grant_change(conn, customer_id, row.app_id, row.client_id, reduced=True)

    # -- grants --------------------------------------------------------------------------------

    def list_grants(self, *, app_id: str | None = None) -> list[GrantRecord]:
        """One client's grants (every grant without ``app_id``), oldest first."""
        g = t.api_grants.c
        query = select(t.api_grants).order_by(g.app_id, g.created_at, g.api_id)
        if app_id is not None:
            if "\x00" in app_id:
                return []
            query = query.where(g.app_id == app_id)
        with self.engine.connect() as conn:
            return [_grant_from_row(row) for row in conn.execute(query)]

    def put_grant(
        self,
        *,
        customer_id: str,
        app_id: str,
        api_id: str,
        scopes: Sequence[str],
        audit: AuditEvent | None = None,
    ) -> GrantRecord:
        """Create or replace the client's grant on the API (both of ``customer_id``)."""
        now = time.time()
        g = t.api_grants.c
        where = (g.app_id == app_id) & (g.api_id == api_id)
        encoded = orjson.dumps(list(scopes)).decode()
        with self.engine.begin() as conn:
            client_id = self._client_id(conn, customer_id, app_id)
            before = conn.execute(select(t.api_grants).where(where)).first()
            if before is None:
                conn.execute(
                    insert(t.api_grants).values(
                        app_id=app_id, api_id=api_id, scopes=encoded, created_at=now, updated_at=now
                    )
                )
                created_at = now
            else:
                conn.execute(
                    update(t.api_grants).where(where).values(scopes=encoded, updated_at=now)
                )
                created_at = before.created_at
            reduced = before is not None and not set(orjson.loads(before.scopes)) <= set(scopes)
            _record_grant_change(conn, customer_id, app_id, client_id, reduced=reduced)
            Store.write_audit(conn, audit)
        return GrantRecord(app_id, api_id, tuple(scopes), created_at, now)

    def delete_grant(
        self, *, customer_id: str, app_id: str, api_id: str, audit: AuditEvent | None = None
    ) -> None:
        g = t.api_grants.c
        where = (g.app_id == app_id) & (g.api_id == api_id)
        with self.engine.begin() as conn:
            client_id = self._client_id(conn, customer_id, app_id)
            if conn.execute(delete(t.api_grants).where(where)).rowcount != 1:
                raise NotFound(api_id)
            _record_grant_change(conn, customer_id, app_id, client_id, reduced=True)
            Store.write_audit(conn, audit)

    @staticmethod
    def _client_id(conn: Connection, customer_id: str, app_id: str) -> str:
        c = t.app_clients.c
        client_id = conn.execute(
            select(c.client_id).where((c.id == app_id) & (c.customer_id == customer_id))
        ).scalar()
        if client_id is None:
            raise NotFound(app_id)
        return str(client_id)


def _record_grant_change(
    conn: Connection, customer_id: str, app_id: str, client_id: str, *, reduced: bool
) -> None:
    Store.record_change(conn, kind="client", customer_id=customer_id, entity_id=app_id)
    if reduced:
        # Scopes were taken away: the revocation feed reports a cut-off for the client.
        Store.record_change(
            conn, kind="roles_reduced", customer_id=customer_id, entity_id=client_id
        )
