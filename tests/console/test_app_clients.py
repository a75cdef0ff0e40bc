"""The API access page: OAuth 2.0 authentication URL, the app clients table and its row menu,
and "Create app client" — each form with its CSRF token, each result checked at the token
endpoint or the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from tests.conftest import make_settings
from tests.console.conftest import sign_in
from tests.console.forms import submit
from tests.factories import add_client, add_customer

BASE = "/console/apiAccess/appClients"
SECRET_FIELD = re.compile(r'id="client-secret" type="text" value="([^"]+)"')
CLIENT_ID_FIELD = re.compile(r'id="client-id" type="text" value="([^"]+)"')


def token_status(client: TestClient, client_id: str, secret: str, customer: str = "acme") -> int:
    response = client.post(
        f"/customers/{customer}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    return response.status_code


def create(client: TestClient, csrf: str, **form: str | list[str]) -> tuple[str, str]:
    """Create through the form; the client ID and secret that the result page shows."""
    response = submit(client, f"{BASE}/new", BASE, form, follow=True)
    assert response.status_code == 200, response.text
    secret = SECRET_FIELD.search(response.text)
    client_id = CLIENT_ID_FIELD.search(response.text)
    assert secret is not None
    assert client_id is not None
    return client_id.group(1), secret.group(1)


def test_the_page_shows_the_authentication_url_and_an_empty_state(
    client: TestClient, owner: str
) -> None:
    page = client.get(BASE)
    assert page.status_code == 200
    assert '<label for="token-url">OAuth 2.0 authentication URL</label>' in page.text
    assert 'value="http://testserver/customers/acme/oauth2/token"' in page.text
    assert 'aria-label="Copy OAuth 2.0 authentication URL"' in page.text
    assert "No app clients yet" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_created_client_is_shown_with_its_secret_which_gets_a_token(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    client_id, secret = create(
        client,
        owner,
        name="Reporting job",
        description="Nightly report",
        api_roles=["viewer", "corpus_developer"],
    )
    assert secret.startswith("gths_")
    assert token_status(client, client_id, secret) == 200
    page = client.get(BASE)
    [record] = runtime.store.list_clients(customer_id="acme")
    assert (
        f'<th scope="row" data-label="Name"><a href="{BASE}/{record.id}">Reporting job</a></th>'
        in page.text
    )
    assert '<td data-label="Description">Nightly report</td>' in page.text
    assert f'<code class="client-id">{client_id}</code>' in page.text
    assert f'data-copy="{client_id}" aria-label="Copy client ID of Reporting job"' in page.text
    assert (
        '<span class="badge">viewer</span> <span class="badge">corpus_developer</span>' in page.text
    )
    for item in ("Copy secret", "Rotate secret", "Revoke tokens", "Delete"):
        assert f">{item}</button>" in page.text
    assert record.api_roles == ("viewer", "corpus_developer")
    events = runtime.store.list_audit(customer_id="acme", action="app_client.create")
    assert events[0].actor == "console:owner@acme.test"


def test_a_form_without_the_session_csrf_token_changes_nothing(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    response = client.post(BASE, data={"name": "sneaky", "api_roles": "owner"})
    assert response.status_code == 403
    assert "This form has expired or did not come from the console." in response.text
    forged = client.post(BASE, data={"name": "sneaky", "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert runtime.store.list_clients(customer_id="acme") == []


def test_a_missing_name_is_explained_next_to_the_field_and_the_input_is_kept(
    client: TestClient, owner: str
) -> None:
    response = submit(
        client, f"{BASE}/new", BASE, name="  ", description="kept", api_roles="viewer"
    )
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="name-error">Enter a name of 1 to 200 characters.</p>'
        in response.text
    )
    assert 'aria-invalid="true" aria-describedby="name-error"' in response.text
    assert ">kept</textarea>" in response.text
    assert 'value="viewer" aria-describedby="role-viewer-help" checked' in response.text


def test_copy_secret_returns_the_stored_secret_to_a_script_and_to_a_form(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    client_id, secret = create(client, owner, name="app")
    [record] = runtime.store.list_clients(customer_id="acme")
    script = client.post(
        f"{BASE}/{record.id}/secret",
        headers={"X-CSRF-Token": owner, "Accept": "application/json"},
    )
    assert script.status_code == 200
    assert script.json() == {"client_id": client_id, "client_secret": secret}
    assert script.headers["cache-control"] == "no-store"
    form = submit(client, BASE, f"{BASE}/{record.id}/secret")
    assert form.status_code == 303
    assert "gths_" not in form.headers["location"]
    shown = client.get(form.headers["location"])
    assert f'value="{secret}"' in shown.text
    assert f'value="{secret}"' not in client.get(form.headers["location"]).text
    without_token = client.post(
        f"{BASE}/{record.id}/secret", headers={"Accept": "application/json"}
    )
    assert without_token.status_code == 403
    assert "client_secret" not in without_token.text


def test_show_once_mode_offers_no_copy_secret(
    tmp_path: Path,
) -> None:
    runtime = Runtime.open(make_settings(tmp_path / "once", secret_retrieval=False))
    add_customer(runtime, "acme")
    from gatehouse.services.console_users import create_user
    from tests.console.conftest import PASSWORD

    create_user(
        runtime.store,
        customer_id="acme",
        email="o@acme.test",
        role="owner",
        password=PASSWORD,
        actor="t",
    )
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
        csrf = sign_in(client, "o@acme.test")
        created = submit(client, f"{BASE}/new", BASE, follow=True, name="once")
        assert "This is the only time it is shown" in created.text
        secret = SECRET_FIELD.search(created.text)
        assert secret is not None
        page = client.get(BASE)
        assert "Show-once mode" in page.text
        assert "Copy secret" not in page.text.replace("no “Copy secret”", "")
        assert ">Rotate secret</button>" in page.text
        [record] = runtime.store.list_clients(customer_id="acme")
        assert record.secret_sealed is None
        refused = client.post(
            f"{BASE}/{record.id}/secret",
            headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
        )
        assert refused.status_code == 409
        assert refused.json() == {
            "messages": [
                "This server keeps no copy of client secrets (show-once mode). "
                "Rotate the secret to get a new one."
            ]
        }


def test_rotate_asks_first_then_shows_a_new_secret_and_the_old_one_stops(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    client_id, old_secret = create(client, owner, name="app")
    [record] = runtime.store.list_clients(customer_id="acme")
    asked = submit(client, BASE, f"{BASE}/{record.id}/rotate")
    assert asked.status_code == 303
    assert asked.headers["location"] == f"{BASE}/{record.id}/rotate?from=list"
    question = client.get(asked.headers["location"])
    assert "Rotate the secret of “app”?" in question.text
    assert '<input type="hidden" name="confirm" value="yes">' in question.text
    assert token_status(client, client_id, old_secret) == 200
    rotated = submit(client, question, f"{BASE}/{record.id}/rotate", follow=True)
    assert rotated.status_code == 200
    assert "Rotated the secret of “app”. The previous secret no longer works." in rotated.text
    new_secret = SECRET_FIELD.search(rotated.text)
    assert new_secret is not None
    assert new_secret.group(1) != old_secret
    assert token_status(client, client_id, old_secret) == 401
    assert token_status(client, client_id, new_secret.group(1)) == 200


def test_revoke_tokens_rejects_tokens_issued_before(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, secret = add_client(runtime, "acme", roles=("viewer",))
    token = client.post(
        "/customers/acme/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(record.client_id, secret),
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/v2/corpora", headers=bearer).status_code == 200
    response = submit(client, BASE, f"{BASE}/{record.id}/revoke", confirm="yes")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{BASE}?done=res_")
    assert client.get("/v2/corpora", headers=bearer).status_code == 401
    notice = client.get(response.headers["location"])
    assert "Revoked every token issued to “test client” so far." in notice.text


def test_delete_asks_for_confirmation_then_deletes(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, secret = add_client(runtime, "acme", roles=("viewer",), name="doomed")
    question = submit(client, BASE, f"{BASE}/{record.id}/delete", follow=True)
    assert "Delete “doomed”?" in question.text
    assert runtime.store.list_clients(customer_id="acme") != []
    deleted = submit(client, question, f"{BASE}/{record.id}/delete")
    assert deleted.status_code == 303
    assert runtime.store.list_clients(customer_id="acme") == []
    assert token_status(client, record.client_id, secret) == 401
    listing = client.get(deleted.headers["location"])
    assert "Deleted the app client “doomed”. Its tokens stop working at once." in listing.text
    again = submit(client, question, f"{BASE}/{record.id}/delete")
    assert again.status_code == 303  # the same form again: its first result, nothing new


def test_another_customers_client_is_not_found(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    add_customer(runtime, "other")
    record, _secret = add_client(runtime, "other")
    for action in ("secret", "rotate", "revoke", "delete", "disable", "enable"):
        response = client.post(
            f"{BASE}/{record.id}/{action}",
            data={
                "csrf_token": owner,
                "confirm": "yes",
                "form_token": f"form-token-for-{action}-0123",
            },
        )
        assert response.status_code == 404, action
    assert client.get(f"{BASE}/{record.id}").status_code == 404
    assert record.client_id not in client.get(BASE).text
    assert runtime.store.get_client(app_id=record.id).client_id == record.client_id


def test_an_administrator_may_neither_grant_owner_nor_touch_an_owner_client(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime
) -> None:
    csrf = sign_in(client, make_user("admin@acme.test", role="administrator"))
    form = client.get(f"{BASE}/new")
    assert 'value="owner" aria-describedby="role-owner-help" disabled' in form.text
    refused = submit(client, form, BASE, name="x", api_roles="owner")
    assert refused.status_code == 400
    assert "Only an owner may grant the owner role." in refused.text
    owner_client, _secret = add_client(runtime, "acme", roles=("owner",), name="root")
    page = client.get(BASE)
    assert "owner only" in page.text
    for action in ("secret", "rotate", "revoke", "delete", "disable", ""):
        response = client.post(
            f"{BASE}/{owner_client.id}/{action}".rstrip("/"),
            data={
                "csrf_token": csrf,
                "confirm": "yes",
                "form_token": f"form-token-for-{action}-0123",
            },
        )
        assert response.status_code == 403, action
    detail = client.get(f"{BASE}/{owner_client.id}")
    assert "Only an owner may change an app client that holds the owner role." in detail.text
    assert f'action="{BASE}/{owner_client.id}/rotate"' not in detail.text
    assert runtime.store.get_client(app_id=owner_client.id).secret_hash == owner_client.secret_hash
