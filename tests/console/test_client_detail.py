"""An app client's page: every setting edited through its form and checked where it takes
effect (the token endpoint, the API), disable/enable, rotation with a grace period."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from gatehouse.console.appclient_sections import SUB_PAGES
from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusStore
from gatehouse.store.models import CorpusRole
from tests.console.conftest import sign_in
from tests.console.forms import submit
from tests.factories import add_client

BASE = "/console/apiAccess/appClients"


def token(client: TestClient, client_id: str, secret: str) -> tuple[int, dict[str, object]]:
    response = client.post(
        "/customers/acme/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    return response.status_code, response.json()


def test_the_page_shows_the_client_with_its_sections_and_sub_pages(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, _secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = client.get(f"{BASE}/{record.id}")
    assert page.status_code == 200
    assert f'value="{record.client_id}" readonly' in page.text
    assert f"<code>{record.id}</code>" in page.text
    for anchor in ("settings", "secret", "tokens", "status", "delete"):
        assert f'<li><a href="#{anchor}">' in page.text
        assert f'id="{anchor}"' in page.text
    assert "<h3>More settings</h3>" in page.text
    for sub in SUB_PAGES:
        assert f'<a href="{sub.href(record.id)}">{sub.title}</a>' in page.text
    assert f'<a href="/console/audit?client={record.id}">Audit log</a>' in page.text


def test_editing_every_setting_takes_effect(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    CorpusStore(runtime.store.engine).insert_corpus(
        customer_id="acme", key="manuals", name="Manuals", description=""
    )
    record, secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = f"{BASE}/{record.id}"
    saved = submit(
        client,
        page,
        page,
        {"corpus_role.manuals": "editor"},
        name="ingest v2",
        description="Nightly import",
        api_roles=["corpus_developer"],
        token_lifetime_seconds="600",
        token_quota_per_hour="5",
    )
    assert saved.status_code == 303
    after = client.get(saved.headers["location"])
    assert "Saved the changes to “ingest v2”." in after.text
    changed = runtime.store.get_client(app_id=record.id)
    assert changed.name == "ingest v2"
    assert changed.description == "Nightly import"
    assert changed.api_roles == ("corpus_developer",)
    assert changed.corpus_roles == (CorpusRole(corpus_key="manuals", role="editor"),)
    assert changed.token_lifetime_seconds == 600
    assert changed.token_quota_per_hour == 5
    status, body = token(client, record.client_id, secret)
    assert status == 200
    assert body["expires_in"] == 600
    assert body["scope"] == "corpus_developer"
    events = runtime.store.list_audit(customer_id="acme", action="app_client.update")
    assert events[0].actor == "console:owner@acme.test"
    cleared = submit(client, page, page, token_quota_per_hour="")
    assert cleared.status_code == 303
    assert runtime.store.get_client(app_id=record.id).token_quota_per_hour is None


def test_bad_values_are_explained_next_to_their_fields_and_kept(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, _secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = f"{BASE}/{record.id}"
    refused = submit(
        client, page, page, name="", token_lifetime_seconds="99", token_quota_per_hour="many"
    )
    assert refused.status_code == 400
    assert (
        '<p class="field-error" id="token_lifetime_seconds-error">'
        "Enter a lifetime of 300 to 86400 seconds.</p>" in refused.text
    )
    assert (
        '<p class="field-error" id="token_quota_per_hour-error">Enter a whole number.</p>'
        in refused.text
    )
    assert "Enter a name of 1 to 200 characters." in refused.text
    assert 'value="99"' in refused.text
    assert 'value="many"' in refused.text
    assert runtime.store.get_client(app_id=record.id).name == "ingest"


def test_disable_stops_tokens_and_enable_lets_the_client_get_new_ones(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = f"{BASE}/{record.id}"
    _status, body = token(client, record.client_id, secret)
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    asked = submit(client, page, f"{page}/disable", follow=True)
    assert "Disable “ingest”?" in asked.text
    disabled = submit(client, asked, f"{page}/disable")
    assert disabled.status_code == 303
    shown = client.get(disabled.headers["location"])
    assert "Disabled “ingest”. Its tokens are rejected from now on." in shown.text
    assert '<span class="badge badge-muted">disabled</span>' in shown.text
    assert client.get("/v2/corpora", headers=bearer).status_code == 401
    assert token(client, record.client_id, secret)[0] == 401
    enabled = submit(client, shown, f"{page}/enable", follow=True)
    assert "Enabled “ingest”: it can get tokens again." in enabled.text
    assert token(client, record.client_id, secret)[0] == 200
    assert client.get("/v2/corpora", headers=bearer).status_code == 401  # old tokens stay dead


def test_rotation_with_a_grace_period_keeps_the_old_secret_working(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, old_secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = f"{BASE}/{record.id}"
    rotated = submit(
        client, page, f"{page}/rotate", follow=True, confirm="yes", grace_period_seconds="3600"
    )
    assert (
        "Rotated the secret of “ingest”. The previous secret keeps working for 1 hour."
        in rotated.text
    )
    assert token(client, record.client_id, old_secret)[0] == 200
    detail = client.get(page)
    assert "The previous secret still works until" in detail.text
    refused = submit(client, page, f"{page}/rotate", confirm="yes", grace_period_seconds="999999")
    assert refused.status_code == 400
    assert "Choose a grace period of at most 7 days." in refused.text


def test_rotation_from_the_confirmation_page_offers_the_grace_period(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, old_secret = add_client(runtime, roles=("viewer",), name="ingest")
    question = client.get(f"{BASE}/{record.id}/rotate")
    assert '<select id="grace" name="grace_period_seconds"' in question.text
    done = submit(
        client, question, f"{BASE}/{record.id}/rotate", follow=True, grace_period_seconds="86400"
    )
    assert "keeps working for 1 day" in done.text
    assert token(client, record.client_id, old_secret)[0] == 200


def test_an_administrator_may_edit_but_not_grant_owner(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime
) -> None:
    sign_in(client, make_user("admin@acme.test", role="administrator"))
    record, _secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = f"{BASE}/{record.id}"
    refused = submit(client, page, page, api_roles=["owner"])
    assert refused.status_code == 400
    assert "Only an owner may grant the owner role." in refused.text
    assert runtime.store.get_client(app_id=record.id).api_roles == ("viewer",)
    allowed = submit(client, page, page, api_roles=["administrator"])
    assert allowed.status_code == 303
    assert runtime.store.get_client(app_id=record.id).api_roles == ("administrator",)


def test_without_script_the_grace_period_chosen_is_kept_on_the_confirmation_page(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, old_secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = f"{BASE}/{record.id}"
    asked = submit(client, page, f"{page}/rotate", grace_period_seconds="604800")
    assert asked.status_code == 303
    assert asked.headers["location"] == f"{page}/rotate?grace=604800"
    question = client.get(asked.headers["location"])
    assert '<option value="604800" selected>7 days</option>' in question.text
    done = submit(client, question, f"{page}/rotate", follow=True)
    assert "The previous secret keeps working for 7 days." in done.text
    assert token(client, record.client_id, old_secret)[0] == 200
