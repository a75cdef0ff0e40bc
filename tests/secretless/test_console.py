"""The console: creating a private_key_jwt client (no secret, no Copy/Rotate secret), and the
federated credentials page with its form and test box."""

from __future__ import annotations

import re

import orjson
from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.services.console_users import create_user
from tests.console.conftest import PASSWORD, csrf_of, sign_in
from tests.console.forms import submit
from tests.factories import add_customer
from tests.secretless.issuer import Issuer
from tests.secretless.keys import ec_key, public_jwks

BASE = "/console/apiAccess/appClients"


def signed_in(client: TestClient, runtime: Runtime) -> str:
    add_customer(runtime, "acme")
    create_user(
        runtime.store,
        customer_id="acme",
        email="owner@acme.test",
        role="owner",
        password=PASSWORD,
        actor="test",
    )
    return sign_in(client, "owner@acme.test")


def test_a_private_key_jwt_client_from_the_form_has_no_secret(
    client: TestClient, runtime: Runtime
) -> None:
    signed_in(client, runtime)
    form = client.get(f"{BASE}/new")
    assert 'name="token_endpoint_auth_method"' in form.text
    created = submit(
        client,
        form,
        BASE,
        name="ci signer",
        api_roles="viewer",
        token_endpoint_auth_method="private_key_jwt",
        jwks=orjson.dumps(public_jwks(ec_key())).decode(),
        follow=True,
    )
    assert created.status_code == 200, created.text
    assert 'id="client-secret"' not in created.text
    assert "This app client has no secret" in created.text
    [record] = runtime.store.list_clients(customer_id="acme")
    assert record.token_endpoint_auth_method == "private_key_jwt"
    listing = client.get(BASE).text
    row = listing[listing.index(f'data-client-id="{record.client_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Copy secret" not in row
    assert "Rotate secret" not in row
    assert f"{BASE}/{record.id}/federated" in row
    bad = submit(
        client,
        f"{BASE}/new",
        BASE,
        name="bad",
        token_endpoint_auth_method="private_key_jwt",
        jwks="{not json",
    )
    assert bad.status_code == 400
    assert "Is not JSON" in bad.text


def test_the_federated_page_adds_tests_and_removes(
    client: TestClient, runtime: Runtime, issuer: Issuer
) -> None:
    csrf = signed_in(client, runtime)
    submit(
        client, f"{BASE}/new", BASE, name="deployer", token_endpoint_auth_method="private_key_jwt"
    )
    [record] = runtime.store.list_clients(customer_id="acme")
    page_url = f"{BASE}/{record.id}/federated"
    page = client.get(page_url)
    assert page.status_code == 200
    assert "No federated credentials" in page.text
    refused = client.post(
        page_url,
        data={"csrf_token": csrf, "name": "all", "issuer": issuer.url, "subject": "**"},
    )
    assert refused.status_code == 400
    assert "Pins nothing but the issuer" in refused.text
    added = client.post(
        page_url,
        data={
            "csrf_token": csrf,
            "name": "main branch",
            "issuer": issuer.url,
            "subject": "repo:acme/api:ref:refs/heads/main",
            "claims": "repository_owner_id=4242\n",
        },
    )
    assert added.status_code == 200
    assert "<code>repo:acme/api:ref:refs/heads/main</code>" in added.text
    tested = client.post(
        f"{page_url}/test",
        data={
            "csrf_token": csrf,
            "token": issuer.github("http://testserver/customers/acme", repository_owner_id=1),
        },
    )
    assert tested.status_code == 200
    assert re.search(
        r"main branch</strong>: .*no match.* claim \(repository_owner_id\)", tested.text
    )
    credential_id = re.search(r'data-credential-id="(fc_[0-9a-f]+)"', tested.text)
    assert credential_id is not None
    removed = client.post(
        f"{page_url}/{credential_id.group(1)}/delete",
        data={"csrf_token": csrf_of(tested.text), "confirm": "yes"},
    )
    assert removed.status_code == 200
    assert "No federated credentials" in removed.text
