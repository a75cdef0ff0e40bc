"""APIs (resource servers) and grants: register, change, delete, grant, ungrant — with
validation and audit. The v2 API, the console and the CLI all go through these functions.

The built-in API is every customer's first API: its identifier is the configured
``GATEHOUSE_AUDIENCE`` (its row stores NULL), its scopes are the account roles, and a client's
grant on it is the client's ``api_roles``. It can be renamed, never deleted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gatehouse import appclients
from gatehouse.appclients import Actor, iso_time, validate_description, validate_lifetime
from gatehouse.errors import InvalidInput
from gatehouse.oauth.metadata import API_ROLES
from gatehouse.oauth.target import identifier_problem, match_key
from gatehouse.store.apis import ApiRecord, ApiScope, ApiStore, GrantRecord, new_api_id
from gatehouse.store.models import AppClientRecord
from gatehouse.store.store import NotFound, Store

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_VALUE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")
MAX_SCOPES = 100
ROLE_DESCRIPTIONS = {
    "owner": "Everything, including granting owner",
    "administrator": "Manage app clients, keys and corpora",
    "billing_administrator": "Billing",
    "corpus_administrator": "Create, change and delete any corpus",
    "corpus_developer": "Create corpora",
    "viewer": "Read corpora",
}


@dataclass(frozen=True)
class Apis:
    """What the API operations need: both stores and the built-in API's identifier."""

    store: Store
    apis: ApiStore
    builtin_identifier: str

    @classmethod
    def of(cls, store: Store, builtin_identifier: str) -> Apis:
        return cls(store, ApiStore(store.engine), builtin_identifier)


# -- validation ---------------------------------------------------------------------------------


def validate_identifier(identifier: str, builtin_identifier: str) -> str:
    problem = identifier_problem(identifier)
    if problem is not None:
        raise InvalidInput({"identifier": problem})
    if match_key(identifier) == match_key(builtin_identifier):
        raise InvalidInput({"identifier": "is the built-in API's identifier"})
    return identifier


def validate_api_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput({"name": "must be 1 to 200 characters"})
    return name


def validate_scopes(scopes: Iterable[ApiScope | dict[str, Any] | str]) -> tuple[ApiScope, ...]:
    result: dict[str, ApiScope] = {}
    for item in scopes:
        if isinstance(item, str):
            scope = ApiScope(item)
        elif isinstance(item, ApiScope):
            scope = item
        else:
            scope = ApiScope(str(item.get("value", "")), str(item.get("description") or ""))
        if SCOPE_VALUE.fullmatch(scope.value) is None:
            raise InvalidInput(
                {"scopes": f"bad scope {scope.value!r}: 1 to 100 characters RFC 6749 §3.3 allows"}
            )
        if len(scope.description) > 500:
            raise InvalidInput({"scopes": "a description has at most 500 characters"})
        result.setdefault(scope.value, scope)
    if len(result) > MAX_SCOPES:
        raise InvalidInput({"scopes": f"at most {MAX_SCOPES} scopes"})
    return tuple(result.values())


def validate_cap(seconds: int | None) -> int | None:
    return None if seconds is None else validate_lifetime(seconds)


# -- views --------------------------------------------------------------------------------------


def builtin_scopes() -> tuple[ApiScope, ...]:
    return tuple(ApiScope(role, ROLE_DESCRIPTIONS[role]) for role in API_ROLES)


def api_identifier(ctx: Apis, record: ApiRecord) -> str:
    return record.identifier if record.identifier is not None else ctx.builtin_identifier


def api_view(ctx: Apis, record: ApiRecord) -> dict[str, Any]:
    """The public API shape of the v2 API and the CLI."""
    scopes = builtin_scopes() if record.builtin else record.scopes
    return {
        "id": record.id,
        "identifier": api_identifier(ctx, record),
        "name": record.name,
        "description": record.description,
        "scopes": [{"value": s.value, "description": s.description} for s in scopes],
        "token_lifetime_seconds": record.token_lifetime_seconds,
        "builtin": record.builtin,
        "created_at": iso_time(record.created_at),
        "updated_at": iso_time(record.updated_at),
    }


def grant_views(ctx: Apis, client: AppClientRecord) -> list[dict[str, Any]]:
    """The client's grants, the built-in API's (its roles) first."""
    apis = {a.id: a for a in ctx.apis.list_apis(customer_id=client.customer_id)}
    builtin = next(a for a in apis.values() if a.builtin)
    views = [
        {
            "api_id": builtin.id,
            "api_identifier": ctx.builtin_identifier,
            "scopes": list(client.api_roles),
        }
    ]
    for grant in ctx.apis.list_grants(app_id=client.id):
        api = apis.get(grant.api_id)
        if api is not None:
            views.append(
                {
                    "api_id": api.id,
                    "api_identifier": api_identifier(ctx, api),
                    "scopes": list(grant.scopes),
                }
            )
    return views


# -- lookups ------------------------------------------------------------------------------------


def find_api(ctx: Apis, *, customer_id: str, reference: str) -> ApiRecord:
    """An API by id (``api_...``) or identifier; :class:`NotFound` otherwise."""
    if reference.startswith("api_"):
        try:
            return ctx.apis.get_api(customer_id=customer_id, api_id=reference)
        except NotFound:
            pass
    if match_key(reference) == match_key(ctx.builtin_identifier):
        return ctx.apis.builtin_api(customer_id=customer_id)
    found = ctx.apis.find_api(customer_id=customer_id, match_key=match_key(reference))
    if found is None:
        raise NotFound(reference)
    return found


# -- operations ---------------------------------------------------------------------------------


def _audit(
    ctx: Apis, actor: Actor, customer_id: str, action: str, target: str, **detail: Any
) -> None:
    ctx.store.append_audit(events=[actor.event(customer_id, action, target, **detail)])


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
    ctx.apis.insert_api(record=record)
    _audit(
        ctx,
        actor,
        customer_id,
        "api.create",
        record.id,
        identifier=record.identifier,
        scopes=[s.value for s in record.scopes],
    )
    return record


def update_api(
    ctx: Apis, *, customer_id: str, api_id: str, changes: dict[str, Any], actor: Actor
) -> ApiRecord:
    """Change name, description, scopes or the lifetime cap (the built-in API: name and
    description only). Scopes taken away leave every grant on the API too."""
    current = ctx.apis.get_api(customer_id=customer_id, api_id=api_id)
    values: dict[str, Any] = {}
    for field, value in changes.items():
        if current.builtin and field not in ("name", "description"):
            raise InvalidInput({field: "cannot be changed on the built-in API"})
        if field == "name":
            values[field] = validate_api_name(value)
        elif field == "description":
            values[field] = validate_description(value)
        elif field == "scopes":
            values[field] = validate_scopes(value)
        elif field == "token_lifetime_seconds":
            values[field] = validate_cap(value)
        else:
            raise InvalidInput({field: "cannot be changed"})
    if not values:
        return current
    record = ctx.apis.update_api(customer_id=customer_id, api_id=api_id, values=values)
    _audit(ctx, actor, customer_id, "api.update", api_id, fields=sorted(values))
    return record


def delete_api(ctx: Apis, *, customer_id: str, api_id: str, actor: Actor) -> None:
    current = ctx.apis.get_api(customer_id=customer_id, api_id=api_id)
    if current.builtin:
        raise InvalidInput({"api_id": "the built-in API cannot be deleted"})
    ctx.apis.delete_api(customer_id=customer_id, api_id=api_id)
    _audit(ctx, actor, customer_id, "api.delete", api_id, identifier=current.identifier)


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
) -> tuple[str, ...]:
    """Create or replace the client's grant on ``api``; on the built-in API, set its roles."""
    wanted = _grant_scopes(api, scopes)
    if api.builtin:
        appclients.update_client(
            ctx.store,
            customer_id=client.customer_id,
            app_id=client.id,
            changes={"api_roles": wanted},
            actor=actor,
        )
        return wanted
    grant: GrantRecord = ctx.apis.put_grant(
        customer_id=client.customer_id, app_id=client.id, api_id=api.id, scopes=wanted
    )
    _audit(
        ctx,
        actor,
        client.customer_id,
        "grant.put",
        client.id,
        client_id=client.client_id,
        api_id=api.id,
        api=api.identifier,
        scopes=list(grant.scopes),
    )
    return grant.scopes


def delete_grant(ctx: Apis, *, client: AppClientRecord, api: ApiRecord, actor: Actor) -> None:
    if api.builtin:
        raise InvalidInput({"api_id": "the built-in API's grant is the client's api_roles"})
    ctx.apis.delete_grant(customer_id=client.customer_id, app_id=client.id, api_id=api.id)
    _audit(
        ctx,
        actor,
        client.customer_id,
        "grant.delete",
        client.id,
        client_id=client.client_id,
        api_id=api.id,
        api=api.identifier,
    )
