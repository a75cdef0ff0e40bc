"""The "Authentication" part of the console's create-app-client form: the method and the
client's public keys (a JWK Set pasted as JSON, or a JWKS URL)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import FormData

from gatehouse.console.render import field
from gatehouse.errors import InvalidInput


def auth_form_values(form: FormData | None) -> dict[str, str]:
    """What the form sent, as typed (to show it again next to an error)."""
    return {
        "token_endpoint_auth_method": field(form, "token_endpoint_auth_method")
        or "client_secret_basic",
        "jwks": field(form, "jwks"),
        "jwks_uri": field(form, "jwks_uri"),
    }


def auth_fields_of(values: dict[str, str]) -> dict[str, Any]:
    """The ``auth_fields`` of :func:`gatehouse.appclients.create_client`."""
    fields: dict[str, Any] = {"token_endpoint_auth_method": values["token_endpoint_auth_method"]}
    if values["jwks"].strip():
        try:
            fields["jwks"] = orjson.loads(values["jwks"])
        except orjson.JSONDecodeError:
            raise InvalidInput(
                {"jwks": 'is not JSON; paste a JWK Set such as {"keys": [...]}'}
            ) from None
    if values["jwks_uri"].strip():
        fields["jwks_uri"] = values["jwks_uri"].strip()
    return fields
