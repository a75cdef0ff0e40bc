"""The signing keys page and the corpora page, and the API's console-session credential."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from gatehouse.console.sessions import COOKIE
from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusStore
from tests.console.conftest import sign_in
from tests.console.forms import submit
from tests.factories import add_client, add_customer, get_token


def test_the_keys_page_lists_the_published_keys_and_rotation_publishes_the_next_one(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    [first] = runtime.store.list_keys(customer_id="acme")
    page = client.get("/console/apiAccess/keys")
    assert page.status_code == 200
    assert 'value="http://testserver/customers/acme/.well-known/jwks.json"' in page.text
    assert f'<code class="kid">{first.kid}</code>' in page.text
    assert '<span class="badge state-active">active</span>' in page.text
    question = submit(client, page, "/console/apiAccess/keys/rotate", follow=True)
    assert "Rotate the signing key?" in question.text
    assert [k.state for k in runtime.store.list_keys(customer_id="acme")] == ["active"]
    done = submit(client, question, "/console/apiAccess/keys/rotate")
    assert done.status_code == 303
    # The new key is published first; the current one signs until verifiers have fetched it.
    states = {k.kid: k.state for k in runtime.store.list_keys(customer_id="acme")}
    assert states[first.kid] == "active"
    assert sorted(states.values()) == ["active", "next"]
    jwks = client.get("/customers/acme/.well-known/jwks.json").json()
    assert {k["kid"] for k in jwks["keys"]} == set(states)
    after = client.get(done.headers["location"])
    assert "A new signing key is published. It becomes active at the time shown" in after.text
    assert '<span class="badge state-next">next</span>' in after.text
    assert "starts signing in about 6 minutes" in question.text
    [event] = runtime.store.list_audit(customer_id="acme", action="keys.schedule")
    assert event.actor == "console:owner@acme.test"


def test_corpora_are_listed_created_and_deleted(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    empty = client.get("/console/corpora")
    assert "No corpora yet" in empty.text
    created = submit(
        client, empty, "/console/corpora", key="manuals", name="", description="Product manuals"
    )
    assert created.status_code == 303
    corpora = CorpusStore(runtime.store.engine)
    record = corpora.get_corpus(customer_id="acme", key="manuals")
    assert (record.name, record.description) == ("manuals", "Product manuals")
    page = client.get(created.headers["location"])
    assert "Created the corpus “manuals”." in page.text
    assert '<th scope="row" data-label="Key"><code>manuals</code></th>' in page.text
    duplicate = submit(client, page, "/console/corpora", key="manuals")
    assert duplicate.status_code == 400
    assert "A corpus with this key exists already." in duplicate.text
    bad = submit(client, page, "/console/corpora", key="no spaces")
    assert bad.status_code == 400
    assert "Enter a key of 1 to 50 letters, digits" in bad.text
    question = submit(client, page, "/console/corpora/manuals/delete", follow=True)
    assert "Delete the corpus “manuals”?" in question.text
    deleted = submit(client, question, "/console/corpora/manuals/delete")
    assert deleted.status_code == 303
    assert corpora.list_corpora(customer_id="acme", limit=10) == []
    assert "Deleted the corpus “manuals”." in client.get(deleted.headers["location"]).text


def test_corpus_keys_of_another_customer_are_invisible(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    add_customer(runtime, "other")
    CorpusStore(runtime.store.engine).insert_corpus(
        customer_id="other", key="secret-plans", name="x", description=""
    )
    assert "secret-plans" not in client.get("/console/corpora").text
    mine = submit(client, "/console/corpora", "/console/corpora", key="secret-plans")
    assert mine.status_code == 303  # keys are per customer: no conflict, nothing revealed
    gone = client.post(
        "/console/corpora/nothing-here/delete",
        data={"csrf_token": owner, "confirm": "yes", "form_token": "form-token-of-a-delete"},
    )
    assert gone.status_code == 404
    assert client.get("/console/corpora/nothing-here/delete").status_code == 404


def test_the_api_accepts_a_console_session_only_with_its_csrf_token(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    csrf = sign_in(client, make_user())
    assert COOKIE in client.cookies
    created = client.post(
        "/v2/corpora", json={"key": "from-console"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201, created.text
    listed = client.get("/v2/corpora", headers={"X-CSRF-Token": csrf})
    assert listed.status_code == 200
    assert [c["key"] for c in listed.json()["corpora"]] == ["from-console"]
    # The cookie alone, or with another token, is no credential (a cross-site request has no token).
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = client.get("/v2/corpora", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith('Bearer realm="gatehouse"')


def test_the_audit_api_accepts_a_console_session_with_its_csrf_token(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    csrf = sign_in(client, make_user())
    response = client.get("/v2/audit", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    actions = [e["action"] for e in response.json()["audit_events"]]
    assert "customer.create" in actions
    refused = client.get("/v2/audit", headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 401


def test_a_corpus_deleted_in_the_console_takes_its_corpus_roles_along(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    app, secret = add_client(
        runtime, roles=(), corpus_roles=({"corpus_key": "manuals", "role": "owner"},)
    )
    page = client.get("/console/corpora")
    assert submit(client, page, "/console/corpora", key="manuals").status_code == 303
    page = client.get("/console/corpora")
    question = submit(client, page, "/console/corpora/manuals/delete", follow=True)
    deleted = submit(client, question, "/console/corpora/manuals/delete")
    assert deleted.status_code == 303
    assert runtime.store.get_client(app_id=app.id).corpus_roles == ()
    # A corpus made later under the same key grants the old client nothing.
    page = client.get("/console/corpora")
    assert submit(client, page, "/console/corpora", key="manuals").status_code == 303
    token = get_token(client, app.client_id, secret)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/v2/corpora/manuals", headers=bearer).status_code == 404
    assert client.delete("/v2/corpora/manuals", headers=bearer).status_code == 404
