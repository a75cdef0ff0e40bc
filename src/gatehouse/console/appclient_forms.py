"""The app client forms of the console: reading the fields, the role choices, and field errors
in the console's words. Validation itself is :mod:`gatehouse.appclients`'s and the service's
(:mod:`gatehouse.services.app_clients`), as for the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.datastructures import FormData

from gatehouse import appclients
from gatehouse.console.render import field, fields
from gatehouse.errors import InvalidInput
from gatehouse.oauth.metadata import API_ROLES
from gatehouse.services.app_clients import ClientChanges
from gatehouse.store.models import AppClientRecord, CorpusRole

BASE = "/console/apiAccess/appClients"

ROLE_HELP = {
    "owner": "Everything, including granting owner.",
    "administrator": "Manage app clients, keys and every corpus.",
    "billing_administrator": "Billing only.",
    "corpus_administrator": "Create, change and delete any corpus.",
    "corpus_developer": "Create corpora and use the ones it is given.",
    "viewer": "Read every corpus.",
}
DEFAULT_ROLES = ("viewer",)
GRACE_CHOICES = (
    (0, "None: the current secret stops working at once"),
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
)


def role_choices(user_role: str) -> list[dict[str, Any]]:
    return [
        {
            "name": role,
            "help": ROLE_HELP[role],
            "allowed": role != "owner" or user_role == "owner",
        }
        for role in API_ROLES
    ]


def corpus_choice(form: FormData | None, keys: Iterable[str]) -> dict[str, str]:
    """The corpus role picked per corpus key (only keys offered on the form count)."""
    return {
        key: field(form, f"corpus_role.{key}") for key in keys if field(form, f"corpus_role.{key}")
    }


def corpus_roles_of(choice: dict[str, str]) -> list[CorpusRole]:
    return [CorpusRole(corpus_key=k, role=r) for k, r in choice.items()]


def whole_number(form: FormData | None, name: str, *, blank: int | None) -> int | None:
    """An integer field; ``blank`` when left empty; InvalidInput naming the field otherwise."""
    text = field(form, name).strip()
    if not text:
        return blank
    if not text.isdigit() or len(text) > 12:
        raise InvalidInput({name: "Enter a whole number."})
    return int(text)


def require_may_grant(user_role: str, api_roles: Iterable[str]) -> None:
    # Only an owner may grant owner (the same rule as the API's).
    if not appclients.may_grant({user_role}, api_roles):
        raise InvalidInput({"api_roles": "Only an owner may grant the owner role."})


def edit_values(record: AppClientRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "description": record.description,
        "api_roles": list(record.api_roles),
        "corpus": {r.corpus_key: r.role for r in record.corpus_roles},
        "token_lifetime_seconds": str(record.token_lifetime_seconds),
        "token_quota_per_hour": (
            str(record.token_quota_per_hour) if record.token_quota_per_hour else ""
        ),
    }


def submitted_values(form: FormData | None, corpus_keys: Iterable[str]) -> dict[str, Any]:
    return {
        "name": field(form, "name"),
        "description": field(form, "description"),
        "api_roles": fields(form, "api_roles"),
        "corpus": corpus_choice(form, corpus_keys),
        "token_lifetime_seconds": field(form, "token_lifetime_seconds").strip(),
        "token_quota_per_hour": field(form, "token_quota_per_hour").strip(),
    }


def changes_from(form: FormData | None, values: dict[str, Any], user_role: str) -> ClientChanges:
    """The update a submitted edit form asks for, checked field by field."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {
        "name": values["name"],
        "description": values["description"],
        "api_roles": values["api_roles"],
        "corpus_roles": corpus_roles_of(values["corpus"]),
    }
    try:
        require_may_grant(user_role, values["api_roles"])
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    for name, blank in (("token_lifetime_seconds", -1), ("token_quota_per_hour", None)):
        try:
            changes[name] = whole_number(form, name, blank=blank)
        except InvalidInput as exc:
            errors.update(exc.field_errors)
    if changes["token_lifetime_seconds"] == -1:
        errors["token_lifetime_seconds"] = "Enter the token lifetime in seconds."  # noqa: S105
    for name, check in (
        ("name", appclients.validate_name),
        ("description", appclients.validate_description),
        ("api_roles", appclients.validate_api_roles),
        ("token_lifetime_seconds", appclients.validate_lifetime),
        ("token_quota_per_hour", appclients.validate_quota),
    ):
        if name in errors:
            continue
        try:
            check(changes[name])
        except InvalidInput as exc:
            errors.update(exc.field_errors)
    if errors:
        raise InvalidInput(friendly(errors))
    return ClientChanges(
        name=changes["name"],
        description=changes["description"],
        api_roles=changes["api_roles"],
        corpus_roles=changes["corpus_roles"],
        token_lifetime_seconds=changes["token_lifetime_seconds"],
        token_quota_per_hour=changes["token_quota_per_hour"],  # None: no limit
    )


def friendly(field_errors: dict[str, str]) -> dict[str, str]:
    """Field errors in the console's words (the service speaks the API's)."""
    result: dict[str, str] = {}
    for name, message in field_errors.items():
        if name == "name":
            result[name] = "Enter a name of 1 to 200 characters."
        elif name == "description":
            result[name] = "The description can be at most 2000 characters."
        elif name == "token_lifetime_seconds" and message.startswith("must"):
            result[name] = (
                f"Enter a lifetime of {appclients.MIN_LIFETIME} to "
                f"{appclients.MAX_LIFETIME} seconds."
            )
        elif name == "token_quota_per_hour" and message.startswith("must"):
            result[name] = (
                f"Enter a quota of 1 to {appclients.MAX_QUOTA} tokens an hour, or leave it empty."
            )
        elif name == "grace_period_seconds":
            result[name] = "Choose a grace period of at most 7 days."
        else:
            result[name] = message[:1].upper() + message[1:]
    return result


ACTIONS = {
    "rotate": {
        "title": "Rotate the secret of “{name}”?",
        "message": "A new secret is made and shown to you once. Programs that use the current "
        "secret must be given the new one: the current one stops working at once, or when the "
        "grace period chosen ends.",
        "button": "Rotate secret",
        "done": "Rotated the secret of “{name}”.",
    },
    "revoke": {
        "title": "Revoke the tokens of “{name}”?",
        "message": "Every access token issued to this app client so far is rejected from now "
        "on. The app client itself keeps working and can get new tokens.",
        "button": "Revoke tokens",
        "done": "Revoked every token issued to “{name}” so far.",
    },
    "delete": {
        "title": "Delete “{name}”?",
        "message": "The app client and its secret are deleted and its tokens stop working at "
        "once. This cannot be undone.",
        "button": "Delete app client",
        "done": "Deleted the app client “{name}”. Its tokens stop working at once.",
    },
    "disable": {
        "title": "Disable “{name}”?",
        "message": "The app client cannot get tokens while it is disabled, and every token it "
        "holds is rejected at once (also after it is enabled again).",
        "button": "Disable app client",
        "done": "Disabled “{name}”. Its tokens are rejected from now on.",
    },
}
