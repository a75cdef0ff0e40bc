"""The client-authentication fields of an app client (RFC 7591 §2, RFC 8705, RFC 9449) over the
v2 API and the CLI: stored, returned, validated; a private_key_jwt client has no secret."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.api.conftest import Api, Caller, error_body
from tests.cli.runner import Cli
from tests.secretless.keys import ec_key, public_jwks, rsa_key


def create(api: Api, caller: Caller, **body: Any) -> Any:
    return api.client.post("/v2/app_clients", json={"name": "w", **body}, headers=caller.headers)


def test_private_key_jwt_client_has_no_secret_member_anywhere(api: Api, owner: Caller) -> None:
    jwks = public_jwks(ec_key("k1"))
    response = create(api, owner, token_endpoint_auth_method="private_key_jwt", jwks=jwks)
    assert response.status_code == 201, response.text
    body = response.json()
    assert "client_secret" not in body
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks"] == jwks
    assert (body["jwks_uri"], body["dpop_bound_access_tokens"]) == (None, False)
    got = api.client.get(f"/v2/app_clients/{body['id']}", headers=owner.headers)
    assert got.status_code == 200
    assert "client_secret" not in got.json()
    assert got.json() == body
    rotated = api.client.post(f"/v2/app_clients/{body['id']}/rotate_secret", headers=owner.headers)
    assert rotated.status_code == 400
    error_body(
        rotated,
        "The request is invalid",
        field_errors={
            "token_endpoint_auth_method": "a private_key_jwt client has no secret to rotate"
        },
    )


def test_a_secret_client_keeps_its_secret_and_reports_its_method(api: Api, owner: Caller) -> None:
    body = create(api, owner).json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret"].startswith("gths_")


def test_every_field_is_stored_and_returned(api: Api, owner: Caller) -> None:
    fields = {
        "token_endpoint_auth_method": "tls_client_auth",
        "tls_client_auth_subject_dn": "CN=worker,O=Acme",
        "dpop_bound_access_tokens": True,
        "tls_client_certificate_bound_access_tokens": True,
    }
    body = create(api, owner, **fields).json()
    assert {k: body[k] for k in fields} == fields
    assert "client_secret" not in body
    app_id = body["id"]
    patched = api.client.patch(
        f"/v2/app_clients/{app_id}",
        json={
            "tls_client_auth_subject_dn": None,
            "tls_client_auth_san_dns": "worker.acme.example",
            "dpop_bound_access_tokens": False,
        },
        headers=owner.headers,
    )
    # null leaves a field unchanged: the client would hold two subjects.
    assert patched.status_code == 400
    assert "exactly one of" in patched.json()["field_errors"]["token_endpoint_auth_method"]
    patched = api.client.patch(
        f"/v2/app_clients/{app_id}",
        json={
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": "https://keys.acme.example/jwks.json",
            "dpop_bound_access_tokens": False,
            "name": "renamed",
        },
        headers=owner.headers,
    )
    assert patched.status_code == 200, patched.text
    view = patched.json()
    assert view["token_endpoint_auth_method"] == "private_key_jwt"
    assert view["jwks_uri"] == "https://keys.acme.example/jwks.json"
    assert (view["dpop_bound_access_tokens"], view["name"]) == (False, "renamed")
    assert view["tls_client_certificate_bound_access_tokens"] is True


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "token_endpoint_auth_method", None),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}}, "jwks", "symmetric"),
        ({"jwks": "not a set"}, "jwks", None),
        ({"jwks_uri": "ftp://keys.example/jwks"}, "jwks_uri", "https"),
        ({"tls_client_auth_san_ip": "300.1.1.1"}, "tls_client_auth_san_ip", "well-formed"),
        ({"tls_client_auth_subject_dn": "not a dn"}, "tls_client_auth_subject_dn", None),
        ({"token_endpoint_auth_method": "self_signed_tls_client_auth"}, "jwks", "x5c"),
    ],
)
def test_bad_fields_are_refused_with_field_errors(
    api: Api, owner: Caller, body: dict[str, Any], field: str, message: str | None
) -> None:
    response = create(api, owner, **body)
    assert response.status_code in (400, 422), response.text
    if response.status_code == 400:
        errors = response.json()["field_errors"]
        assert field in errors
        if message is not None:
            assert message in errors[field]


def test_private_key_members_and_small_rsa_keys_are_refused(api: Api, owner: Caller) -> None:
    private = {"keys": [ec_key("k1").as_dict(private=True)]}
    response = create(api, owner, token_endpoint_auth_method="private_key_jwt", jwks=private)
    assert response.status_code == 400
    assert response.json()["field_errors"] == {"jwks": "key 0 holds private key members (d)"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns about the small key, rightly
        small = public_jwks(rsa_key("r1", bits=1024))
    response = create(api, owner, token_endpoint_auth_method="private_key_jwt", jwks=small)
    assert response.status_code == 400
    assert "under 2048 bits" in response.json()["field_errors"]["jwks"]
    both = create(
        api,
        owner,
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(ec_key()),
        jwks_uri="https://keys.example/jwks",
    )
    assert both.status_code == 400
    assert both.json()["field_errors"] == {"jwks": "send jwks or jwks_uri, not both"}


def test_a_key_without_kid_gets_its_thumbprint(api: Api, owner: Caller) -> None:
    jwk = public_jwks(ec_key())["keys"][0]
    del jwk["kid"]
    body = create(api, owner, token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]})
    assert body.status_code == 201
    [stored] = body.json()["jwks"]["keys"]
    assert len(stored["kid"]) == 43  # base64url of a SHA-256 (RFC 7638)


def test_cli_create_and_update_take_every_flag(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var", public_url="http://testserver")
    cli.json("customers", "create", "acme")
    jwks_file = tmp_path / "jwks.json"
    jwks = public_jwks(ec_key("k1"))
    jwks_file.write_bytes(orjson.dumps(jwks))
    created = cli.json(
        "clients", "create", "--customer", "acme", "--name", "ci",
        "--auth-method", "private_key_jwt", "--jwks", str(jwks_file), "--dpop-bound",
    )  # fmt: skip
    assert "client_secret" not in created
    assert created["token_endpoint_auth_method"] == "private_key_jwt"
    app_id = created["id"]
    updated = cli.json(
        "clients", "update", app_id, "--customer", "acme",
        "--auth-method", "tls_client_auth", "--tls-san-uri", "spiffe://acme/worker",
        "--no-dpop-bound", "--cert-bound", "--name", "ci-2", "--description", "nightly",
        "--role", "viewer", "--lifetime", "600", "--quota", "50",
    )  # fmt: skip
    assert updated["token_endpoint_auth_method"] == "tls_client_auth"
    assert updated["tls_client_auth_san_uri"] == "spiffe://acme/worker"
    assert updated["jwks"] == jwks
    assert (updated["dpop_bound_access_tokens"], updated["name"]) == (False, "ci-2")
    assert updated["tls_client_certificate_bound_access_tokens"] is True
    assert (updated["api_roles"], updated["token_lifetime_seconds"]) == (["viewer"], 600)
    bad = cli.run("clients", "update", app_id, "--customer", "acme", "--jwks-uri", "http://x/j")
    assert bad.code == 2
    assert "https" in bad.stderr
    rotate = cli.run("clients", "rotate-secret", app_id, "--customer", "acme")
    assert rotate.code == 2
    assert "has no secret to rotate" in rotate.stderr
