"""Bulk import and export of app clients as JSON Lines (docs/scale.md, "Bulk import and export").

One client a line: ``{"name", "description"?, "client_id"?, "client_secret"?, "api_roles"?,
"corpus_roles"?, "token_lifetime_seconds"?, "enabled"?}``. A given ``client_id`` and
``client_secret`` are kept as they are, so clients move from another issuer (Cognito, Keycloak,
Hydra) without new credentials; what is missing is generated. A file is all or nothing: it is
read, checked and inserted in batches inside one transaction, and the first bad line rolls the
whole file back, naming its number. Secrets are hashed with HMAC-SHA256 only (and sealed with
AES-GCM only where secret retrieval is on), so a million clients import in well under a minute.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from gatehouse.appclients import (
    CLIENT_TYPE,
    Actor,
    client_view,
    validate_api_roles,
    validate_corpus_roles,
    validate_description,
    validate_lifetime,
    validate_name,
)
from gatehouse.errors import InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.secrets import (
    BASE62,
    SecretHasher,
    generate_client_id,
    generate_secret,
)
from gatehouse.store.models import AppClientRecord, AuditEvent
from gatehouse.store.store import CLIENTS_IMPORTED, Conflict, Store

CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{20,64}")
CLIENT_SECRET = re.compile(r"[\x20-\x7e]{24,200}")
FIELDS = frozenset(
    {
        "name",
        "description",
        "client_id",
        "client_secret",
        "api_roles",
        "corpus_roles",
        "token_lifetime_seconds",
        "enabled",
    }
)
BATCH = 5000  # lines checked and inserted together
EXPORT_PAGE = 1000


def fast_app_id() -> str:
    """``app_`` + 16 base62 characters from 96 random bits (the shape of
    :func:`gatehouse.oauth.secrets.generate_app_id`, at a tenth of its cost: one urandom read
    instead of sixteen ``secrets.choice`` calls). An id is public; only uniqueness matters."""
    number = int.from_bytes(secrets.token_bytes(12))
    digits = []
    for _ in range(16):
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "app_" + "".join(digits)


class BadLine(ValueError):
    """A line of an import file that cannot be imported; nothing of the file is written."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class ImportOptions:
    customer_id: str
    keep_secret: bool  # GATEHOUSE_SECRET_RETRIEVAL: seal a copy of each secret
    default_lifetime: int


def _string(document: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = document.get(name, default)
    if value is not None and not isinstance(value, str):
        raise InvalidInput({name: "must be a string"})
    return value


def parse_line(raw: bytes) -> dict[str, Any]:
    """The JSON object of one line, its fields checked for type and shape (not yet stored)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput({"line": "is not valid JSON"}) from None
    if not isinstance(document, dict):
        raise InvalidInput({"line": "must be a JSON object"})
    unknown = sorted(set(document) - FIELDS)
    if unknown:
        raise InvalidInput({unknown[0]: "is not a field of an app client"})
    name = _string(document, "name")
    if name is None:
        raise InvalidInput({"name": "is required"})
    client_id = _string(document, "client_id")
    if client_id is not None and CLIENT_ID.fullmatch(client_id) is None:
        raise InvalidInput({"client_id": "must be 20 to 64 characters of A-Z a-z 0-9 . _ ~ -"})
    secret = _string(document, "client_secret")
    if secret is not None and CLIENT_SECRET.fullmatch(secret) is None:
        raise InvalidInput({"client_secret": "must be 24 to 200 printable ASCII characters"})
    roles = document.get("api_roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidInput({"api_roles": "must be a list of role names"})
    corpus_roles = document.get("corpus_roles", [])
    if not isinstance(corpus_roles, list) or not all(isinstance(r, dict) for r in corpus_roles):
        raise InvalidInput({"corpus_roles": "must be a list of {corpus_key, role} objects"})
    lifetime = document.get("token_lifetime_seconds")
    if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, int)):
        raise InvalidInput({"token_lifetime_seconds": "must be an integer"})
    enabled = document.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput({"enabled": "must be true or false"})
    return {
        "name": validate_name(name),
        "description": validate_description(_string(document, "description", "") or ""),
        "client_id": client_id,
        "client_secret": secret,
        "api_roles": validate_api_roles(roles),
        "corpus_roles": validate_corpus_roles(corpus_roles),
        "token_lifetime_seconds": lifetime,
        "enabled": enabled,
    }


class _Batches:
    """Turns numbered lines into batches of records; remembers each batch's line numbers."""

    def __init__(
        self, lines: Iterable[bytes], options: ImportOptions, master_key: MasterKey
    ) -> None:
        self.lines = lines
        self.options = options
        self.master_key = master_key
        self.hasher = SecretHasher(master_key.secret_hmac_key)
        self.line_of: dict[str, int] = {}  # client_id -> line number, for the current batch

    def __iter__(self) -> Iterator[list[AppClientRecord]]:
        batch: list[AppClientRecord] = []
        self.line_of = {}
        now = time.time()
        for number, raw in enumerate(self.lines, start=1):
            if not raw.strip():
                continue  # blank lines (a trailing newline) are not clients
            try:
                # Each line a microsecond later than the one before: an export keeps file order.
                record = self._record(parse_line(raw), now + number * 1e-6)
            except InvalidInput as exc:
                raise BadLine(number, str(exc)) from None
            if record.client_id in self.line_of:
                first = self.line_of[record.client_id]
                raise BadLine(number, f"client_id repeats the one of line {first}")
            self.line_of[record.client_id] = number
            batch.append(record)
            if len(batch) >= BATCH:
                yield batch
                batch, self.line_of = [], {}
        yield batch

    def _record(self, fields: dict[str, Any], now: float) -> AppClientRecord:
        app_id = fast_app_id()
        secret: str = fields["client_secret"] or generate_secret()
        lifetime = fields["token_lifetime_seconds"]
        if lifetime is None:
            lifetime = self.options.default_lifetime
        sealed = (
            self.master_key.seal(secret.encode(), context=app_id)
            if self.options.keep_secret
            else None
        )
        return AppClientRecord(
            id=app_id,
            customer_id=self.options.customer_id,
            type=CLIENT_TYPE,
            name=fields["name"],
            description=fields["description"],
            client_id=fields["client_id"] or generate_client_id(),
            secret_hash=self.hasher(secret),
            secret_sealed=sealed,
            previous_secret_hash=None,
            previous_secret_expires_at=None,
            api_roles=fields["api_roles"],
            corpus_roles=fields["corpus_roles"],
            enabled=fields["enabled"],
            token_lifetime_seconds=validate_lifetime(lifetime),
            token_quota_per_hour=None,
            tokens_revoked_before=None,
            created_at=now,
            updated_at=now,
            last_used_at=None,
        )


def import_clients(
    store: Store,
    master_key: MasterKey,
    *,
    lines: Iterable[bytes],
    options: ImportOptions,
    actor: Actor,
) -> int:
    """Import every line or none; :class:`BadLine` names the first line that fails."""
    batches = _Batches(lines, options, master_key)
    try:
        count = store.import_clients(
            customer_id=options.customer_id, batches=batches, kind=CLIENTS_IMPORTED
        )
    except Conflict as exc:
        client_id = str(exc.args[0])
        line = batches.line_of.get(client_id, 0)
        raise BadLine(line, f"client_id {client_id} exists already") from None
    store.append_audit(
        events=[
            AuditEvent(
                customer_id=options.customer_id,
                at=time.time(),
                actor=actor.name,
                action="app_client.import",
                target=None,
                source=actor.source,
                detail={"imported": count},
            )
        ]
    )
    return count


def export_line(record: AppClientRecord, secret: str | None) -> dict[str, Any]:
    """One client in the import format (the secret only when given)."""
    view = client_view(record)
    line: dict[str, Any] = {
        "name": view["name"],
        "description": view["description"],
        "client_id": view["client_id"],
        "api_roles": view["api_roles"],
        "corpus_roles": view["corpus_roles"],
        "token_lifetime_seconds": view["token_lifetime_seconds"],
        "enabled": view["enabled"],
    }
    if secret is not None:
        line["client_secret"] = secret
    return line


def export_clients(
    store: Store, master_key: MasterKey, *, customer_id: str, with_secrets: bool
) -> Iterator[bytes]:
    """The customer's clients as JSON Lines, page by page (memory does not grow with them).

    With ``with_secrets``, each client's stored secret (none for one made in show-once mode)."""
    after: tuple[float, str] | None = None
    while True:
        page = store.list_clients(customer_id=customer_id, limit=EXPORT_PAGE, after=after)
        for record in page:
            secret = None
            if with_secrets and record.secret_sealed is not None:
                secret = master_key.unseal(record.secret_sealed, context=record.id).decode()
            yield orjson.dumps(export_line(record, secret)) + b"\n"
        if len(page) < EXPORT_PAGE:
            return
        after = (page[-1].created_at, page[-1].id)
