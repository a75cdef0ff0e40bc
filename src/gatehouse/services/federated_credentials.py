"""Federated credentials of app clients (docs/secretless.md): add, change, remove.

The v2 API, the console and the CLI call these. Each checks the whole credential
(:func:`gatehouse.federation.validate`), writes it and its audit row through one store verb in
one transaction (the write records a ``client`` change, so every replica re-reads the client's
credentials), then tells the notifier once (:mod:`gatehouse.services.notify`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gatehouse.appclients import Actor
from gatehouse.errors import InvalidInput
from gatehouse.federation import MAX_PER_CLIENT, validate, view
from gatehouse.services.app_clients import authorize
from gatehouse.services.notify import Notifier
from gatehouse.store import federated
from gatehouse.store.models import AuditEvent, FederatedCredentialRecord
from gatehouse.store.store import Store


@dataclass(frozen=True, slots=True)
class CredentialChanges:
    """What a change of a credential sets; ``None`` leaves a field as it is."""

    name: str | None = None
    issuer: str | None = None
    audience: str | None = None
    subject: str | None = None
    claims: Mapping[str, str] | None = None
    single_use: bool | None = None
    allow_any_subject: bool | None = None

    def values(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}


def _event(actor: Actor, record: FederatedCredentialRecord, action: str) -> AuditEvent:
    return actor.event(
        record.customer_id,
        action,
        record.app_id,
        credential_id=record.id,
        issuer=record.issuer,
        subject=record.subject,
    )


def add_credential(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    fields: Mapping[str, Any],
    allow_insecure: bool,
    actor: Actor,
    notify: Notifier,
) -> FederatedCredentialRecord:
    """A new credential of the client (``NotFound`` when the client is not the customer's)."""
    client = store.get_client(app_id=app_id, customer_id=customer_id)  # NotFound: not theirs
    actor.require_may_change(client.api_roles)
    values = validate(fields, allow_insecure=allow_insecure)
    if federated.count_credentials(store, app_id=app_id) >= MAX_PER_CLIENT:
        raise InvalidInput({"federated_credentials": f"at most {MAX_PER_CLIENT} per app client"})
    now = time.time()
    record = FederatedCredentialRecord(
        id="fc_" + secrets.token_hex(10),
        app_id=app_id,
        customer_id=customer_id,
        created_at=now,
        updated_at=now,
        **values,
    )
    federated.insert_credential(
        store, record=record, audit=_event(actor, record, "federated_credential.create")
    )
    notify.changed()
    return record


def change_credential(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    credential_id: str,
    changes: CredentialChanges,
    allow_insecure: bool,
    actor: Actor,
    notify: Notifier,
) -> FederatedCredentialRecord:
    """Change some fields; the credential they make is checked whole, as a new one is."""
    authorize(store, customer_id, app_id, actor)
    current = federated.get_credential(
        store, customer_id=customer_id, app_id=app_id, credential_id=credential_id
    )
    values = validate({**view(current), **changes.values()}, allow_insecure=allow_insecure)
    record = FederatedCredentialRecord(
        id=current.id,
        app_id=app_id,
        customer_id=customer_id,
        created_at=current.created_at,
        updated_at=time.time(),
        **values,
    )
    federated.replace_credential(
        store, record=record, audit=_event(actor, record, "federated_credential.update")
    )
    notify.changed()
    return record


def remove_credential(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    credential_id: str,
    actor: Actor,
    notify: Notifier,
) -> None:
    """Stop trusting one credential (``NotFound`` when the client has no such credential)."""
    authorize(store, customer_id, app_id, actor)
    record = federated.get_credential(
        store, customer_id=customer_id, app_id=app_id, credential_id=credential_id
    )
    federated.delete_credential(
        store,
        customer_id=customer_id,
        app_id=app_id,
        credential_id=credential_id,
        audit=_event(actor, record, "federated_credential.delete"),
    )
    notify.changed()
