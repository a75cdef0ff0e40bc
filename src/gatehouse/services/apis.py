"""APIs (resource servers) and grants: register, change, delete, grant, ungrant.

The v2 API, the console and the CLI call these. Each validates (:mod:`gatehouse.apis`), writes
the change and its audit row through one store verb in one transaction, then tells the
notifier once (:mod:`gatehouse.services.notify`). The built-in API's grant is the client's
``api_roles``: granting on it is the app client service's update.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gatehouse.apis import (
    Apis,
    builtin_scopes,
    validate_api_name,
    validate_cap,
    validate_identifier,
    validate_scopes,
)
from gatehouse.appclients import Actor, validate_description
from gatehouse.errors import InvalidInput
from gatehouse.oauth.target import match_key
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import Notifier
from gatehouse.store.apis import ApiRecord, ApiScope, GrantRecord, new_api_id
from gatehouse.store.models import AppClientRecord, AuditEvent


@dataclass(frozen=True, slots=True)
class ApiChanges:
    """What an update of an API changes; ``None`` leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    scopes: Sequence[ApiScope | dict[str, Any] | str] | None = None
    token_lifetime_seconds: int | None = None

    def values(self, current: ApiRecord) -> dict[str, Any]:
        """The validated columns (the built-in API: name and description only), checked in
        the order the API's request body names them."""
        values: dict[str, Any] = {}
        if self.name is not None:
            values["name"] = validate_api_name(self.name)
        if self.description is not None:
            values["description"] = validate_description(self.description)
        for name in ("token_lifetime_seconds", "scopes"):
            if getattr(self, name) is not None and current.builtin:
                raise InvalidInput({name: "cannot be changed on the built-in API"})
        if self.token_lifetime_seconds is not None:
            values["token_lifetime_seconds"] = validate_cap(self.token_lifetime_seconds)
        if self.scopes is not None:
            values["scopes"] = validate_scopes(self.scopes)
        return values


def create_api(
    ctx: Apis,
    *,
    customer_id: str,
    identifier: str,
    name: str,
    description: str = "",
    scopes: Sequence[ApiScope | dict[str, Any] | str] = (),
    token_lifetime_seconds: int | None = None,
    actor: Actor,
    notify: Notifier,
) -> ApiRecord:
    """Register an API; :class:`gatehouse.store.store.Conflict` if its identifier is taken."""
    now = time.time()
    record = ApiRecord(
        id=new_api_id(),
        customer_id=customer_id,
        identifier=validate_identifier(identifier, ctx.builtin_identifier),
        match_key=match_key(identifier),
        name=validate_api_name(name),
        description=validate_description(description),
        scopes=validate_scopes(scopes),
        token_lifetime_seconds=validate_cap(token_lifetime_seconds),
        created_at=now,
        updated_at=now,
    )
    event = actor.event(
        customer_id,
        "api.create",
        record.id,
        identifier=record.identifier,
        scopes=[s.value for s in record.scopes],
    )
    ctx.apis.insert_api(record=record, audit=event)
    notify.changed()
    return record


def update_api(
    ctx: Apis,
    *,
    customer_id: str,
    api_id: str,
    changes: ApiChanges,
    actor: Actor,
    notify: Notifier,
) -> ApiRecord:
    """Change name, description, scopes or the lifetime cap (the built-in API: name and
    description only). Scopes taken away leave every grant on the API too."""
    current = ctx.apis.get_api(customer_id=customer_id, api_id=api_id)
    values = changes.values(current)
    if not values:
        return current
    event = actor.event(customer_id, "api.update", api_id, fields=sorted(values))
    record = ctx.apis.update_api(customer_id=customer_id, api_id=api_id, values=values, audit=event)
    notify.changed()
    return record


def delete_api(ctx: Apis, *, customer_id: str, api_id: str, actor: Actor, notify: Notifier) -> None:
    """Delete a registered API and every grant on it (the built-in API: ``InvalidInput``)."""
    current = ctx.apis.get_api(customer_id=customer_id, api_id=api_id)
    if current.builtin:
        raise InvalidInput({"api_id": "the built-in API cannot be deleted"})
    event = actor.event(customer_id, "api.delete", api_id, identifier=current.identifier)
    ctx.apis.delete_api(customer_id=customer_id, api_id=api_id, audit=event)
    notify.changed()


def _grant_scopes(api: ApiRecord, scopes: Iterable[str]) -> tuple[str, ...]:
    offered = {s.value for s in (builtin_scopes() if api.builtin else api.scopes)}
    result: list[str] = []
    for scope in scopes:
        if scope not in offered:
            raise InvalidInput({"scopes": f"{scope!r} is not a scope of {api.name}"})
        if scope not in result:
            result.append(scope)
    if not result and not api.builtin:
        raise InvalidInput({"scopes": "grant at least one scope (or delete the grant)"})
    return tuple(result)


def put_grant(
    ctx: Apis,
    *,
    client: AppClientRecord,
    api: ApiRecord,
    scopes: Iterable[str],
    actor: Actor,
    notify: Notifier,
) -> tuple[str, ...]:
    """Create or replace the client's grant on ``api``; on the built-in API, set its roles."""
    actor.require_may_change(client.api_roles)
    wanted = _grant_scopes(api, scopes)
    if api.builtin:
        app_clients.update_client(
            ctx.store,
            customer_id=client.customer_id,
            app_id=client.id,
            changes=ClientChanges(api_roles=wanted),
            actor=actor,
            notify=notify,
        )
        return wanted
    event = _grant_event(actor, client, api, "grant.put", scopes=list(wanted))
    grant: GrantRecord = ctx.apis.put_grant(
        customer_id=client.customer_id,
        app_id=client.id,
        api_id=api.id,
        scopes=wanted,
        audit=event,
    )
    notify.changed()
    return grant.scopes


def delete_grant(
    ctx: Apis, *, client: AppClientRecord, api: ApiRecord, actor: Actor, notify: Notifier
) -> None:
    """Remove the client's grant on ``api`` (``NotFound`` when it has none)."""
    actor.require_may_change(client.api_roles)
    if api.builtin:
        raise InvalidInput({"api_id": "the built-in API's grant is the client's api_roles"})
    ctx.apis.delete_grant(
        customer_id=client.customer_id,
        app_id=client.id,
        api_id=api.id,
        audit=_grant_event(actor, client, api, "grant.delete"),
    )
    notify.changed()


def _grant_event(
    actor: Actor, client: AppClientRecord, api: ApiRecord, action: str, **detail: Any
) -> AuditEvent:
    return actor.event(
        client.customer_id,
        action,
        client.id,
        client_id=client.client_id,
        api_id=api.id,
        api=api.identifier,
        **detail,
    )
