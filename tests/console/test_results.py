"""POST/redirect/GET: every console action answers with a redirect, acts once per form token,
and shows a secret once, from the server, never in a URL."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.console.results import FLASH_SECONDS
from gatehouse.runtime import Runtime
from gatehouse.store import tables as t
from tests.console.conftest import csrf_of, sign_in
from tests.console.forms import form_fields, submit
from tests.factories import LiveServer, add_client, start_server

BASE = "/console/apiAccess/appClients"
SECRET_FIELD = re.compile(r'id="client-secret" type="text" value="([^"]+)"')
SHOWN_ONCE = "The client secret was shown once, when this page was first opened"


def test_reloading_the_created_page_creates_nothing_and_shows_the_secret_no_more(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    posted = submit(client, f"{BASE}/new", BASE, name="ingest")
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert "gths_" not in location
    [record] = runtime.store.list_clients(customer_id="acme")
    assert location.startswith(f"{BASE}/{record.id}/new-secret?done=res_")
    first = client.get(location)
    assert "Created the app client “ingest”." in first.text
    secret = SECRET_FIELD.search(first.text)
    assert secret is not None
    assert secret.group(1).startswith("gths_")
    reloaded = client.get(location)  # F5
    assert reloaded.status_code == 200
    assert "Created the app client “ingest”." in reloaded.text
    assert SHOWN_ONCE in reloaded.text
    assert "gths_" not in reloaded.text
    assert len(runtime.store.list_clients(customer_id="acme")) == 1


def test_the_same_form_posted_twice_acts_once_and_leads_to_the_first_result(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    form = client.get(f"{BASE}/new")
    data = {**form_fields(form.text, BASE), "name": "twice"}
    first = client.post(BASE, data=data, follow_redirects=False)
    second = client.post(BASE, data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    assert [r.name for r in runtime.store.list_clients(customer_id="acme")] == ["twice"]
    events = runtime.store.list_audit(customer_id="acme", action="app_client.create")
    assert len(events) == 1


def test_reloading_a_rotation_result_rotates_nothing(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, _secret = add_client(runtime, roles=("viewer",), name="ingest")
    detail = client.get(f"{BASE}/{record.id}")
    rotated = submit(client, detail, f"{BASE}/{record.id}/rotate", confirm="yes")
    assert rotated.status_code == 303
    location = rotated.headers["location"]
    shown = client.get(location)
    new_secret = SECRET_FIELD.search(shown.text)
    assert new_secret is not None
    assert "Rotated the secret of “ingest”." in shown.text
    after_rotation = runtime.store.get_client(app_id=record.id).secret_hash
    for _ in range(2):  # F5, twice
        again = client.get(location)
        assert SHOWN_ONCE in again.text
    resent = submit(client, detail, f"{BASE}/{record.id}/rotate", confirm="yes")
    assert resent.headers["location"] == location  # the same form (back button): no new secret
    assert runtime.store.get_client(app_id=record.id).secret_hash == after_rotation
    fresh = submit(client, f"{BASE}/{record.id}", f"{BASE}/{record.id}/rotate", confirm="yes")
    assert fresh.headers["location"] != location  # a new form: a second, deliberate rotation
    assert runtime.store.get_client(app_id=record.id).secret_hash != after_rotation
    events = runtime.store.list_audit(customer_id="acme", action="app_client.rotate_secret")
    assert len(events) == 2


def test_a_result_belongs_to_its_session(
    client: TestClient, owner: str, runtime: Runtime, make_user: Callable[..., str]
) -> None:
    posted = submit(client, f"{BASE}/new", BASE, name="mine")
    location = posted.headers["location"]
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as other:
        sign_in(other, make_user("second@acme.test"))
        page = other.get(location)
        assert page.status_code == 200
        assert "gths_" not in page.text
        assert "Created the app client" not in page.text  # not even the notice
    assert SECRET_FIELD.search(client.get(location).text) is not None  # still there for its owner


def test_a_form_with_errors_can_be_sent_again_once_fixed(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    data = {**form_fields(client.get(f"{BASE}/new").text, BASE), "name": ""}
    refused = client.post(BASE, data=data, follow_redirects=False)
    assert refused.status_code == 400
    fixed = client.post(BASE, data={**data, "name": "fixed"}, follow_redirects=False)
    assert fixed.status_code == 303
    assert [r.name for r in runtime.store.list_clients(customer_id="acme")] == ["fixed"]


def test_an_action_without_a_form_token_is_refused(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    response = client.post(BASE, data={"csrf_token": owner, "name": "no token"})
    assert response.status_code == 400
    assert "This form is out of date. Go back, reload the page and try again." in response.text
    assert runtime.store.list_clients(customer_id="acme") == []


def test_a_secret_not_shown_within_its_time_is_gone(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    location = submit(client, f"{BASE}/new", BASE, name="late").headers["location"]
    with runtime.store.engine.begin() as conn:
        conn.execute(
            update(t.console_results).values(
                created_at=t.console_results.c.created_at - FLASH_SECONDS - 1
            )
        )
    page = client.get(location)
    assert SHOWN_ONCE in page.text
    assert "gths_" not in page.text


def test_signing_out_deletes_the_sessions_results(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    submit(client, f"{BASE}/new", BASE, name="x")
    with runtime.store.engine.connect() as conn:
        assert conn.execute(select(t.console_results.c.id)).all() != []
    client.post("/console/logout", data={"csrf_token": owner})
    with runtime.store.engine.connect() as conn:
        assert conn.execute(select(t.console_results.c.id)).all() == []


@pytest.mark.parametrize(
    ("page", "action", "values"),
    [
        (f"{BASE}/new", BASE, {"name": "a"}),
        ("/console/corpora", "/console/corpora", {"key": "k"}),
        ("/console/apiAccess/keys", "/console/apiAccess/keys/rotate", {"confirm": "yes"}),
        ("/console/users", "/console/users", {"email": "new@acme.test"}),
    ],
)
def test_every_action_answers_with_a_redirect(
    client: TestClient, owner: str, page: str, action: str, values: dict[str, str]
) -> None:
    response = submit(client, page, action, dict(values))
    assert response.status_code == 303
    assert response.headers["cache-control"] == "no-store"
    target = client.get(response.headers["location"])
    assert target.status_code == 200


def test_two_concurrent_submissions_of_one_form_act_once(tmp_path: Path) -> None:
    """A real server, two connections posting the same form at the same moment."""
    server: LiveServer = start_server(tmp_path)
    try:
        demo = server.demo
        with httpx.Client(base_url=server.base_url) as http:
            login = http.get("/console/login")
            http.post(
                "/console/login",
                data={
                    "email": demo["console_email"],
                    "password": demo["console_password"],
                    "csrf_token": csrf_of(login.text),
                },
            )
            data = {**form_fields(http.get(f"{BASE}/new").text, BASE), "name": "raced"}
            cookies = dict(http.cookies)
            barrier = threading.Barrier(2)
            statuses: list[int] = []

            def post() -> None:
                with httpx.Client(base_url=server.base_url, cookies=cookies) as mine:
                    barrier.wait(timeout=30)
                    statuses.append(mine.post(BASE, data=data).status_code)

            threads = [threading.Thread(target=post) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            listing = http.get(BASE, params={"q": "raced"}).text
        assert statuses == [303, 303]  # the second waited for the first and was sent to its result
        assert listing.count('data-label="Name"><a href=') == 1
    finally:
        server.stop()


def test_a_secret_shows_only_on_the_page_it_was_made_for(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    other, _secret = add_client(runtime, roles=("viewer",), name="other")
    location = submit(client, f"{BASE}/new", BASE, name="mine").headers["location"]
    result_id = location.split("done=", 1)[1]
    elsewhere = client.get(f"{BASE}/{other.id}/new-secret?done={result_id}")
    assert "gths_" not in elsewhere.text
    assert SECRET_FIELD.search(client.get(location).text) is not None
