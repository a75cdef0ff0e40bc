"""APIs (resource servers) and grants: the rules their fields follow, their views and how an
API is found. The use-cases that write them are :mod:`gatehouse.services.apis`.

The built-in API is every customer's first API: its identifier is the configured
``GATEHOUSE_AUDIENCE`` (its row stores NULL), its scopes are the account roles, and a client's
grant on it is the client's ``api_roles``. It can be renamed, never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gatehouse.appclients import iso_time, validate_lifetime
from gatehouse.errors import InvalidInput
from gatehouse.oauth.metadata import API_ROLES
from gatehouse.oauth.target import identifier_problem, match_key
from gatehouse.store.apis import ApiRecord, ApiScope, ApiStore
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
