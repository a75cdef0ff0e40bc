"""The store: keyword-only verbs over customers, app clients, signing keys, the change feed and
the audit log. Every write that others must learn of records a change in the same transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Label,
    Row,
    Select,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from gatehouse.store import tables as t
from gatehouse.store.models import (
    AppClientRecord,
    AuditEvent,
    Change,
    ClientColumns,
    CorpusRole,
    Customer,
    KeyChange,
    SigningKeyRecord,
)

_AUDIT_INSERT = (
    "INSERT INTO audit_events (customer_id, at, actor, action, target, source, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_AUDIT_INSERT_QMARK = _AUDIT_INSERT.replace("%s", "?")
CLIENTS_IMPORTED = "clients_imported"  # the change kind of one bulk import (one per file)
# (customer_id, at, actor, action, target, source, detail JSON)
AuditRow = tuple[str, float, str, str, str | None, str | None, str]


class NotFound(LookupError):
    """The addressed row does not exist (or belongs to another customer)."""


class Conflict(ValueError):
    """A unique key is taken."""


def _client_from_row(row: Row[Any]) -> AppClientRecord:
    m = row._mapping
    return AppClientRecord(
        id=m["id"],
        customer_id=m["customer_id"],
        type=m["type"],
        name=m["name"],
        description=m["description"],
        client_id=m["client_id"],
        secret_hash=bytes(m["secret_hash"]),
        secret_sealed=bytes(m["secret_sealed"]) if m["secret_sealed"] is not None else None,
        previous_secret_hash=(
            bytes(m["previous_secret_hash"]) if m["previous_secret_hash"] is not None else None
        ),
        previous_secret_expires_at=m["previous_secret_expires_at"],
        api_roles=tuple(orjson.loads(m["api_roles"])),
        corpus_roles=_roles_of(m["corpus_roles"]),
        enabled=bool(m["enabled"]),
        token_lifetime_seconds=m["token_lifetime_seconds"],
        token_quota_per_hour=m["token_quota_per_hour"],
        tokens_revoked_before=m["tokens_revoked_before"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        last_used_at=m["last_used_at"],
        token_endpoint_auth_method=m["token_endpoint_auth_method"],
        jwks=orjson.loads(m["jwks"]) if m["jwks"] is not None else None,
        jwks_uri=m["jwks_uri"],
        tls_client_auth_subject_dn=m["tls_client_auth_subject_dn"],
        tls_client_auth_san_dns=m["tls_client_auth_san_dns"],
        tls_client_auth_san_uri=m["tls_client_auth_san_uri"],
        tls_client_auth_san_ip=m["tls_client_auth_san_ip"],
        tls_client_auth_san_email=m["tls_client_auth_san_email"],
        dpop_bound_access_tokens=bool(m["dpop_bound_access_tokens"]),
        tls_client_certificate_bound_access_tokens=bool(
            m["tls_client_certificate_bound_access_tokens"]
        ),
    )


def _key_from_row(row: Row[Any]) -> SigningKeyRecord:
    m = row._mapping
    return SigningKeyRecord(
        kid=m["kid"],
        customer_id=m["customer_id"],
        alg=m["alg"],
        state=m["state"],
        private_key_sealed=bytes(m["private_key_sealed"]),
        public_jwk=orjson.loads(m["public_jwk"]),
        created_at=m["created_at"],
        activated_at=m["activated_at"],
        retired_at=m["retired_at"],
        remove_after=m["remove_after"],
    )


def _client_values(record: AppClientRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "customer_id": record.customer_id,
        "type": record.type,
        "name": record.name,
        "description": record.description,
        "client_id": record.client_id,
        "secret_hash": record.secret_hash,
        "secret_sealed": record.secret_sealed,
        "previous_secret_hash": record.previous_secret_hash,
        "previous_secret_expires_at": record.previous_secret_expires_at,
        "api_roles": orjson.dumps(list(record.api_roles)).decode(),
        "enabled": record.enabled,
        "token_lifetime_seconds": record.token_lifetime_seconds,
        "token_quota_per_hour": record.token_quota_per_hour,
        "tokens_revoked_before": record.tokens_revoked_before,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "last_used_at": record.last_used_at,
        "token_endpoint_auth_method": record.token_endpoint_auth_method,
        "jwks": encode_jwks(record.jwks),
        "jwks_uri": record.jwks_uri,
        "tls_client_auth_subject_dn": record.tls_client_auth_subject_dn,
        "tls_client_auth_san_dns": record.tls_client_auth_san_dns,
        "tls_client_auth_san_uri": record.tls_client_auth_san_uri,
        "tls_client_auth_san_ip": record.tls_client_auth_san_ip,
        "tls_client_auth_san_email": record.tls_client_auth_san_email,
        "dpop_bound_access_tokens": record.dpop_bound_access_tokens,
        "tls_client_certificate_bound_access_tokens": (
            record.tls_client_certificate_bound_access_tokens
        ),
    }


def encode_jwks(jwks: dict[str, Any] | None) -> str | None:
    return orjson.dumps(jwks).decode() if jwks is not None else None


def audit_values(e: AuditEvent) -> dict[str, Any]:
    return {
        "customer_id": e.customer_id,
        "at": e.at,
        "actor": e.actor,
        "action": e.action,
        "target": e.target,
        "source": e.source,
        "detail": orjson.dumps(e.detail).decode(),
    }


def _client_insert(conn: Connection, columns: list[str]) -> str:
    """The driver's INSERT of one app client row (bulk import: no per-row SQLAlchemy work)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO app_clients ({', '.join(columns)}) "  # noqa: S608 - our column names
        f"VALUES ({', '.join([mark] * len(columns))})"
    )


# A client's corpus roles and grants are read with the client, in the same statement, as one
# aggregated text each: "key:role,key:role" and "api_id scopes-json\n..." (a corpus key, a role,
# an api id and a scope hold no ',', ':', ' ' or newline: appclients.CORPUS_KEY, RFC 6749 §3.3).
ClientGrants = dict[str, tuple[str, ...]]  # api id -> scopes


def _joined(dialect: str, value: ColumnElement[Any], separator: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.string_agg(value, literal(separator))
    return func.group_concat(value, literal(separator))


def _roles_column(dialect: str) -> Label[Any]:
    r = t.app_client_corpus_roles.c
    pair = r.corpus_key + literal(":") + r.role
    return (
        select(_joined(dialect, pair, ","))
        .where(r.app_id == t.app_clients.c.id)
        .scalar_subquery()
        .label("corpus_roles")
    )


def _grants_column(dialect: str) -> Label[Any]:
    g = t.api_grants.c
    line = g.api_id + literal(" ") + g.scopes
    return (
        select(_joined(dialect, line, "\n"))
        .where(g.app_id == t.app_clients.c.id)
        .scalar_subquery()
        .label("grants")
    )


def _roles_of(joined: str | None) -> tuple[CorpusRole, ...]:
    if not joined:
        return ()
    pairs = sorted(item.split(":", 1) for item in joined.split(","))
    return tuple(CorpusRole(corpus_key=key, role=role) for key, role in pairs)


def _grants_of(joined: str | None) -> ClientGrants:
    grants: ClientGrants = {}
    for line in joined.split("\n") if joined else ():
        api_id, _, scopes = line.partition(" ")
        grants[api_id] = tuple(orjson.loads(scopes))
    return grants


def _insert_roles(conn: Connection, app_id: str, roles: Iterable[CorpusRole]) -> None:
    rows = [{"app_id": app_id, "corpus_key": r.corpus_key, "role": r.role} for r in roles]
    if rows:
        conn.execute(insert(t.app_client_corpus_roles), rows)


class Store:
    """Typed access to the database. Construct with an engine whose schema is migrated."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        # Every read of a client: its row and its corpus roles, one statement.
        self._clients: Select[Any] = select(t.app_clients, _roles_column(dialect))
        # The read-through of the token path: also its grants, still one statement.
        self._entries: Select[Any] = self._clients.add_columns(_grants_column(dialect))

    # -- change feed ---------------------------------------------------------------------------

    @staticmethod
    def _record_change(conn: Connection, *, kind: str, customer_id: str, entity_id: str) -> None:
        conn.execute(
            insert(t.changes).values(
                kind=kind, customer_id=customer_id, entity_id=entity_id, at=time.time()
            )
        )
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("NOTIFY gatehouse_changes")

    # Public for the modules that keep their own tables on the change feed (revocations).
    record_change = _record_change

    def latest_change_id(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.coalesce(func.max(t.changes.c.id), 0))).scalar_one()
            )

    def changes_after(self, change_id: int, *, limit: int = 1000) -> list[Change]:
        query = select(t.changes).where(t.changes.c.id > change_id).order_by(t.changes.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [Change(**row._mapping) for row in rows]

    def changes_by_id(self, ids: Sequence[int]) -> list[Change]:
        if not ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.changes).where(t.changes.c.id.in_(ids))).all()
        return [Change(**row._mapping) for row in rows]

    def report_applied(self, *, reader_id: str, applied: int) -> None:
        """A serving process has applied every change up to ``applied`` (its heartbeat)."""
        r = t.change_readers.c
        values = {"applied": applied, "seen_at": time.time()}
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    update(t.change_readers).where(r.id == reader_id).values(**values)
                ).rowcount
                == 0
            ):
                conn.execute(insert(t.change_readers).values(id=reader_id, **values))

    def forget_reader(self, *, reader_id: str, older_than: float | None = None) -> None:
        """A process stops reading the feed; also drops readers silent since ``older_than``."""
        r = t.change_readers.c
        where = r.id == reader_id
        if older_than is not None:
            where = where | (r.seen_at < older_than)
        with self.engine.begin() as conn:
            conn.execute(delete(t.change_readers).where(where))

    def readers_behind(
        self, *, change_id: int, seen_since: float, except_reader: str | None = None
    ) -> int:
        """How many readers heard from since ``seen_since`` have not applied ``change_id``."""
        r = t.change_readers.c
        where = (r.seen_at >= seen_since) & (r.applied < change_id)
        if except_reader is not None:
            where = where & (r.id != except_reader)
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(where)).scalar_one())

    # -- customers -----------------------------------------------------------------------------

    def create_customer(self, *, customer_id: str, name: str) -> Customer:
        """A new customer with its built-in API (``gatehouse.store.customers``)."""
        from gatehouse.store.customers import insert_customer

        return insert_customer(self, customer_id=customer_id, name=name)

    def get_customer(self, *, customer_id: str) -> Customer:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.customers).where(t.customers.c.id == customer_id)).first()
        if row is None:
            raise NotFound(customer_id)
        return Customer(**row._mapping)

    def list_customers(self) -> list[Customer]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.customers).order_by(t.customers.c.id)).all()
        return [Customer(**row._mapping) for row in rows]

    # -- app clients ---------------------------------------------------------------------------

    def insert_client(self, *, record: AppClientRecord, audit: AuditEvent | None = None) -> None:
        with self.engine.begin() as conn:
            self.insert_client_in(conn, record)
            self._audit_in(conn, audit)

    @classmethod
    def insert_client_in(cls, conn: Connection, record: AppClientRecord) -> None:
        """Insert one client in the caller's transaction (registration writes more with it)."""
        conn.execute(insert(t.app_clients).values(**_client_values(record)))
        _insert_roles(conn, record.id, record.corpus_roles)
        cls._record_change(conn, kind="client", customer_id=record.customer_id, entity_id=record.id)

    def import_clients(
        self, *, customer_id: str, batches: Iterable[Sequence[AppClientRecord]], kind: str
    ) -> int:
        """Insert every batch in one transaction, all or nothing; one change of ``kind`` for the
        lot. A ``client_id`` already taken raises :class:`Conflict` naming it (nothing is kept)."""
        count = 0
        c = t.app_clients.c
        with self.engine.begin() as conn:
            for batch in batches:
                if not batch:
                    continue
                ids = [record.client_id for record in batch]
                taken = conn.execute(select(c.client_id).where(c.client_id.in_(ids))).first()
                if taken is not None:
                    raise Conflict(taken.client_id)
                values = [_client_values(r) for r in batch]
                rows = [tuple(v.values()) for v in values]
                conn.exec_driver_sql(_client_insert(conn, list(values[0])), rows)
                roles = [
                    {"app_id": r.id, "corpus_key": role.corpus_key, "role": role.role}
                    for r in batch
                    for role in r.corpus_roles
                ]
                if roles:
                    conn.execute(insert(t.app_client_corpus_roles), roles)
                count += len(batch)
            self._record_change(conn, kind=kind, customer_id=customer_id, entity_id=customer_id)
        return count

    def update_client(
        self,
        *,
        customer_id: str,
        app_id: str,
        changes: ClientColumns,
        audit: Callable[[AppClientRecord], AuditEvent] | None = None,
    ) -> AppClientRecord:
        """Set the columns ``changes`` names on one client; ``audit`` makes the audit row of
        the changed client, in the same transaction."""
        if "\x00" in app_id:  # PostgreSQL cannot hold NUL; no such id can exist
            raise NotFound(app_id)
        values = changes.values()
        columns = dict(values)
        if "api_roles" in columns:
            columns["api_roles"] = orjson.dumps(list(columns["api_roles"])).decode()
        roles: tuple[CorpusRole, ...] | None = columns.pop("corpus_roles", None)
        if "jwks" in columns:
            columns["jwks"] = encode_jwks(columns["jwks"])
        columns["updated_at"] = time.time()
        where = (t.app_clients.c.id == app_id) & (t.app_clients.c.customer_id == customer_id)
        with self.engine.begin() as conn:
            before = conn.execute(
                select(t.app_clients.c.client_id, t.app_clients.c.api_roles).where(where)
            ).first()
            if conn.execute(update(t.app_clients).where(where).values(**columns)).rowcount != 1:
                raise NotFound(app_id)
            if roles is not None:  # the whole list, as given: replaced
                r = t.app_client_corpus_roles.c
                conn.execute(delete(t.app_client_corpus_roles).where(r.app_id == app_id))
                _insert_roles(conn, app_id, roles)
            self._record_change(conn, kind="client", customer_id=customer_id, entity_id=app_id)
            if (
                before is not None
                and "api_roles" in values
                and not set(orjson.loads(before.api_roles)) <= set(values["api_roles"])
            ):
                # A role was taken away: the revocation feed reports a cut-off for the client.
                self._record_change(
                    conn, kind="roles_reduced", customer_id=customer_id, entity_id=before.client_id
                )
            row = conn.execute(self._clients.where(where)).one()
            record = _client_from_row(row)
            self._audit_in(conn, audit(record) if audit is not None else None)
        return record

    def delete_client(
        self, *, customer_id: str, app_id: str, audit: AuditEvent | None = None
    ) -> None:
        if "\x00" in app_id:
            raise NotFound(app_id)
        where = (t.app_clients.c.id == app_id) & (t.app_clients.c.customer_id == customer_id)
        with self.engine.begin() as conn:
            client_id = conn.execute(select(t.app_clients.c.client_id).where(where)).scalar()
            if conn.execute(delete(t.app_clients).where(where)).rowcount != 1:
                raise NotFound(app_id)
            self._record_change(conn, kind="client", customer_id=customer_id, entity_id=app_id)
            # The revocation feed names the deleted client by its client_id (the row is gone).
            self._record_change(
                conn, kind="client_deleted", customer_id=customer_id, entity_id=str(client_id)
            )
            self._audit_in(conn, audit)

    def get_client(self, *, app_id: str, customer_id: str | None = None) -> AppClientRecord:
        if "\x00" in app_id:
            raise NotFound(app_id)
        query = self._clients.where(t.app_clients.c.id == app_id)
        if customer_id is not None:
            query = query.where(t.app_clients.c.customer_id == customer_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(app_id)
        return _client_from_row(row)

    def find_client(self, *, client_id: str) -> AppClientRecord | None:
        if "\x00" in client_id:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(self._clients.where(t.app_clients.c.client_id == client_id)).first()
        return _client_from_row(row) if row is not None else None

    def read_client_entry(
        self, *, client_id: str | None = None, app_id: str | None = None
    ) -> tuple[AppClientRecord, ClientGrants] | None:
        """One client by ``client_id`` (the unique index) or ``app_id`` (the primary key), with
        its corpus roles and its grants on registered APIs: one statement (the token path's
        read-through, docs/scale.md)."""
        c = t.app_clients.c
        key = client_id if client_id is not None else app_id
        if key is None or "\x00" in key:
            return None
        where = c.client_id == client_id if client_id is not None else c.id == app_id
        with self.engine.connect() as conn:
            row = conn.execute(self._entries.where(where)).first()
        if row is None:
            return None
        return _client_from_row(row), _grants_of(row._mapping["grants"])

    def list_clients(
        self,
        *,
        customer_id: str | None = None,
        limit: int | None = None,
        after: tuple[float, str] | None = None,
        name_contains: str | None = None,
    ) -> list[AppClientRecord]:
        """Clients ordered by (created_at, id); ``after`` is the last (created_at, id) seen."""
        c = t.app_clients.c
        query = self._clients.order_by(c.created_at, c.id)
        if customer_id is not None:
            query = query.where(c.customer_id == customer_id)
        if after is not None:
            query = query.where(
                (c.created_at > after[0]) | ((c.created_at == after[0]) & (c.id > after[1]))
            )
        if name_contains:
            query = query.where(func.lower(c.name).contains(name_contains.lower(), autoescape=True))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_client_from_row(row) for row in conn.execute(query)]

    def clients_with_auth_method(self, *, method: str) -> list[AppClientRecord]:
        """Every client (of any customer) that authenticates with ``method``."""
        c = t.app_clients.c
        query = self._clients.where(c.token_endpoint_auth_method == method)
        with self.engine.connect() as conn:
            return [_client_from_row(row) for row in conn.execute(query)]

    def touch_clients(self, *, last_used: dict[str, float]) -> None:
        """Record when clients last got a token (batched; no change event: not cached state)."""
        if not last_used:
            return
        with self.engine.begin() as conn:
            for app_id, at in sorted(last_used.items()):
                conn.execute(
                    update(t.app_clients)
                    .where(t.app_clients.c.id == app_id)
                    .values(last_used_at=at)
                )

    # -- corpus roles --------------------------------------------------------------------------

    def _client_in(self, conn: Connection, customer_id: str, app_id: str) -> None:
        c = t.app_clients.c
        where = (c.id == app_id) & (c.customer_id == customer_id)
        if "\x00" in app_id or conn.execute(select(c.id).where(where)).first() is None:
            raise NotFound(app_id)

    def grant_corpus_role(
        self,
        *,
        customer_id: str,
        app_id: str,
        corpus_key: str,
        role: str,
        audit: AuditEvent | None = None,
    ) -> bool:
        """Give one client one role on one corpus: one row, whatever the client holds already.
        False (nothing written) if it had that role."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        row = {"app_id": app_id, "corpus_key": corpus_key, "role": role}
        with self.engine.begin() as conn:
            self._client_in(conn, customer_id, app_id)
            statement = dialect.insert(t.app_client_corpus_roles).values(**row)
            added = statement.on_conflict_do_nothing().returning(t.app_client_corpus_roles.c.role)
            if conn.execute(added).first() is None:
                return False
            self._record_change(conn, kind="client", customer_id=customer_id, entity_id=app_id)
            self._audit_in(conn, audit)
        return True

    def revoke_corpus_role(
        self,
        *,
        customer_id: str,
        app_id: str,
        corpus_key: str,
        role: str,
        audit: AuditEvent | None = None,
    ) -> bool:
        """Take one role on one corpus from one client; False if it did not have it."""
        r = t.app_client_corpus_roles.c
        where = (r.app_id == app_id) & (r.corpus_key == corpus_key) & (r.role == role)
        with self.engine.begin() as conn:
            self._client_in(conn, customer_id, app_id)
            if conn.execute(delete(t.app_client_corpus_roles).where(where)).rowcount != 1:
                return False
            self._record_change(conn, kind="client", customer_id=customer_id, entity_id=app_id)
            self._audit_in(conn, audit)
        return True

    def drop_corpus_roles(
        self,
        *,
        customer_id: str,
        corpus_key: str,
        audit: Callable[[str], AuditEvent] | None = None,
    ) -> list[str]:
        """Take every client's roles on ``corpus_key`` (a corpus deleted) away; the app ids of
        the clients that had some, each with its change and (``audit(app_id)``) audit row."""
        r = t.app_client_corpus_roles.c
        of_customer = select(t.app_clients.c.id).where(t.app_clients.c.customer_id == customer_id)
        where = (r.corpus_key == corpus_key) & r.app_id.in_(of_customer)
        with self.engine.begin() as conn:
            app_ids = sorted(
                set(conn.execute(select(r.app_id).where(where)).scalars()),
            )
            if not app_ids:
                return []
            conn.execute(delete(t.app_client_corpus_roles).where(where))
            for app_id in app_ids:
                self._record_change(conn, kind="client", customer_id=customer_id, entity_id=app_id)
                self._audit_in(conn, audit(app_id) if audit is not None else None)
        return app_ids

    # -- signing keys --------------------------------------------------------------------------

    def insert_key(self, *, record: SigningKeyRecord, audit: AuditEvent | None = None) -> None:
        with self.engine.begin() as conn:
            self._insert_key(conn, record)
            self._record_change(
                conn, kind="keys", customer_id=record.customer_id, entity_id=record.kid
            )
            self._audit_in(conn, audit)

    @staticmethod
    def _insert_key(conn: Connection, record: SigningKeyRecord) -> None:
        conn.execute(
            insert(t.signing_keys).values(
                kid=record.kid,
                customer_id=record.customer_id,
                alg=record.alg,
                state=record.state,
                private_key_sealed=record.private_key_sealed,
                public_jwk=orjson.dumps(record.public_jwk).decode(),
                created_at=record.created_at,
                activated_at=record.activated_at,
                retired_at=record.retired_at,
                remove_after=record.remove_after,
            )
        )

    # Public for the store modules that write a key in a transaction of their own (customers).
    insert_key_row = _insert_key

    def set_key_states(
        self,
        *,
        customer_id: str,
        states: dict[str, KeyChange],
        insert_first: SigningKeyRecord | None = None,
        audit: AuditEvent | None = None,
    ) -> None:
        """Apply column updates to several keys of one customer in one transaction, after
        inserting ``insert_first`` in the same transaction (a rotation is seen whole or not)."""
        with self.engine.begin() as conn:
            if insert_first is not None:
                self._insert_key(conn, insert_first)
            for kid, values in states.items():
                conn.execute(
                    update(t.signing_keys)
                    .where(
                        (t.signing_keys.c.kid == kid)
                        & (t.signing_keys.c.customer_id == customer_id)
                    )
                    .values(**values)
                )
            self._record_change(conn, kind="keys", customer_id=customer_id, entity_id="*")
            self._audit_in(conn, audit)

    def list_keys(self, *, customer_id: str | None = None) -> list[SigningKeyRecord]:
        query = select(t.signing_keys).order_by(t.signing_keys.c.created_at)
        if customer_id is not None:
            query = query.where(t.signing_keys.c.customer_id == customer_id)
        with self.engine.connect() as conn:
            return [_key_from_row(row) for row in conn.execute(query)]

    # -- audit log -----------------------------------------------------------------------------

    @staticmethod
    def _audit_in(conn: Connection, event: AuditEvent | None) -> None:
        """The audit row of an admin action, in the transaction of the change it records."""
        if event is not None:
            conn.execute(insert(t.audit_events).values(**audit_values(event)))

    # Public for the store modules that write an audit row in their own transactions.
    write_audit = _audit_in

    def append_audit(self, *, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        rows = [
            {
                "customer_id": e.customer_id,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "source": e.source,
                "detail": orjson.dumps(e.detail).decode(),
            }
            for e in events
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(t.audit_events), rows)

    def append_audit_rows(self, *, rows: Sequence[AuditRow]) -> None:
        """Insert many audit rows at once through the driver (the token path's batches)."""
        if not rows:
            return
        sql = _AUDIT_INSERT_QMARK if self.engine.dialect.paramstyle == "qmark" else _AUDIT_INSERT
        with self.engine.begin() as conn:
            conn.exec_driver_sql(sql, list(rows))

    def list_audit(
        self,
        *,
        customer_id: str,
        limit: int = 100,
        before_id: int | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> list[AuditEvent]:
        c = t.audit_events.c
        query = (
            select(t.audit_events)
            .where(c.customer_id == customer_id)
            .order_by(c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(c.id < before_id)
        if action is not None:
            query = query.where(c.action == action)
        if target is not None:
            query = query.where(c.target == target)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEvent(**{**row._mapping, "detail": orjson.loads(row._mapping["detail"])})
            for row in rows
        ]
