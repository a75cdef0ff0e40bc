"""The audit API route ``GET /v2/audit``: who did what, when, from where; never a secret."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.services import app_clients
from gatehouse.services.notify import UNHEARD
from tests.factories import TEST_ACTOR, builtin_metadata_url, claims_of, no_credentials_challenge
from tests.lifecycle.conftest import App, Lifecycle

# RFC 9449 §7.1: without credentials the API names both schemes it accepts.
NO_CREDENTIALS = no_credentials_challenge(builtin_metadata_url())

REQUEST_ID_LENGTH = 16


def audit(lc: Lifecycle, token: str | None, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return lc.client.get("/v2/audit", params=params, headers=headers)


def owner_token(lc: Lifecycle) -> tuple[App, str]:
    app = lc.app()
    return app, lc.token(app)


def test_an_owner_reads_admin_actions_and_issued_tokens_newest_first(lc: Lifecycle) -> None:
    app, token = owner_token(lc)
    second = lc.token(app)
    lc.runtime.audit.flush()  # issued tokens are written in batches; a revocation at once
    lc.revoke(app, second)
    response = audit(lc, token)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    events = body["audit_events"]
    assert body["metadata"] == {"page_key": None}
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    actions = [e["action"] for e in events]
    assert actions[:3] == ["token.revoke", "token.issue", "token.issue"]
    issued = events[2]
    assert issued == {
        "id": issued["id"],
        "at": issued["at"],
        "actor": app.record.client_id,
        "action": "token.issue",
        "target": app.record.id,
        "source": "testclient",
        "detail": {"jti": claims_of(token)["jti"], "scope": "owner", "aud": "http://testserver"},
    }
    assert issued["at"].endswith("Z")
    assert "app_client.create" in actions
    assert "customer.create" in actions


def test_events_of_another_customer_never_show(lc: Lifecycle) -> None:
    globex = lc.app("globex")
    lc.token(globex)
    _app, token = owner_token(lc)
    lc.runtime.audit.flush()
    events = audit(lc, token).json()["audit_events"]
    assert events
    assert all(globex.record.client_id not in str(e) for e in events)


def test_pages_follow_the_page_key_and_action_filters(lc: Lifecycle) -> None:
    app, token = owner_token(lc)
    for _ in range(3):
        lc.token(app)
    lc.runtime.audit.flush()
    first = audit(lc, token, limit="2", action="token.issue").json()
    assert [e["action"] for e in first["audit_events"]] == ["token.issue"] * 2
    second = audit(
        lc, token, limit="2", action="token.issue", page_key=first["metadata"]["page_key"]
    ).json()
    assert [e["action"] for e in second["audit_events"]] == ["token.issue"] * 2
    assert second["metadata"] == {"page_key": None}
    ids = [e["id"] for e in first["audit_events"] + second["audit_events"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 4


def test_a_secret_is_never_in_the_audit_log(lc: Lifecycle) -> None:
    app, token = owner_token(lc)
    _record, new_secret = app_clients.rotate_secret(
        lc.runtime.store,
        lc.runtime.master_key,
        customer_id="acme",
        app_id=app.record.id,
        grace_period_seconds=60,
        keep_secret=True,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    lc.runtime.changed()
    lc.runtime.audit.flush()
    text = audit(lc, token, limit="1000").text
    assert "app_client.rotate_secret" in text
    assert app.secret not in text
    assert new_secret not in text
    assert token.split(".")[2] not in text


def test_a_viewer_gets_403_insufficient_scope(lc: Lifecycle) -> None:
    viewer = lc.app(roles=("viewer",))
    response = audit(lc, lc.token(viewer))
    assert response.status_code == 403
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="gatehouse", error="insufficient_scope"'
    )
    body = response.json()
    assert body["messages"] == ["app clients requires one of the roles: administrator owner"]
    assert len(body["request_id"]) == REQUEST_ID_LENGTH


def test_no_token_gets_401_with_a_bare_challenge(lc: Lifecycle) -> None:
    response = audit(lc, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == NO_CREDENTIALS


def test_a_revoked_token_gets_401(lc: Lifecycle) -> None:
    app, token = owner_token(lc)
    lc.revoke(app, token)
    response = audit(lc, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page_key": "!!"}, "page_key"),
        ({"page_key": "WyJ4Il0"}, "page_key"),  # ["x"]
        ({"action": "a" * 61}, "action"),
    ],
)
def test_bad_parameters_get_400_with_field_errors(
    lc: Lifecycle, params: dict[str, str], field: str
) -> None:
    _app, token = owner_token(lc)
    response = audit(lc, token, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["messages"] == ["The request is invalid"]
    assert list(body["field_errors"]) == [field]


def test_post_is_405(lc: Lifecycle) -> None:
    _app, token = owner_token(lc)
    response = lc.client.post("/v2/audit", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.headers["allow"]) == (405, "GET")
