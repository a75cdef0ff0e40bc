"""The console users page: add a user (password shown once), change a role, reset a password,
remove — and never lose the last owner."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from gatehouse.users import get_user, list_users
from tests.console.conftest import PASSWORD, csrf_of, sign_in
from tests.console.forms import submit
from tests.factories import add_customer

BASE = "/console/users"
PASSWORD_FIELD = re.compile(r'id="user-password" type="text" value="([^"]+)"')


def user_id(runtime: Runtime, email: str) -> str:
    [user] = [u for u in list_users(runtime.store, customer_id="acme") if u.email == email]
    return user.id


def can_sign_in(runtime: Runtime, email: str, password: str) -> bool:
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as other:
        page = other.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        response = other.post(
            "/console/login",
            data={"email": email, "password": password, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        return response.status_code == 303


def test_an_added_user_gets_a_password_shown_once_that_signs_in(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    added = submit(client, BASE, BASE, email="New@Acme.test", role="administrator")
    assert added.status_code == 303
    location = added.headers["location"]
    page = client.get(location)
    assert "Added new@acme.test as administrator." in page.text
    password = PASSWORD_FIELD.search(page.text)
    assert password is not None
    assert password.group(1) not in location
    assert "The password was shown once" in client.get(location).text
    assert can_sign_in(runtime, "new@acme.test", password.group(1))
    listing = client.get(BASE)
    assert '<tr data-user="new@acme.test">' in listing.text
    events = runtime.store.list_audit(customer_id="acme", action="user.create")
    assert events[0].target == "new@acme.test"
    assert events[0].actor == "console:owner@acme.test"


def test_a_duplicate_or_bad_email_is_explained(client: TestClient, owner: str) -> None:
    duplicate = submit(client, BASE, BASE, email="owner@acme.test")
    assert duplicate.status_code == 400
    assert "A console user with this email exists already." in duplicate.text
    bad = submit(client, BASE, BASE, email="not an email")
    assert bad.status_code == 400
    assert '<p class="field-error" id="email-error">Enter an email address.</p>' in bad.text


def test_owners_change_roles_and_an_administrator_may_not_touch_an_owner(
    client: TestClient, owner: str, runtime: Runtime, make_user: Callable[..., str]
) -> None:
    make_user("second@acme.test", role="owner")
    second = user_id(runtime, "second@acme.test")
    demoted = submit(client, BASE, f"{BASE}/{second}/role", role="administrator", follow=True)
    assert "Changed the role of second@acme.test to administrator." in demoted.text
    assert get_user(runtime.store, user_id=second).role == "administrator"  # type: ignore[union-attr]
    me = user_id(runtime, "owner@acme.test")
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as other:
        csrf = sign_in(other, "second@acme.test")
        page = other.get(BASE)
        assert f'action="{BASE}/{me}/delete"' not in page.text
        for action in ("delete", "reset-password", "role"):
            refused = other.post(
                f"{BASE}/{me}/{action}",
                data={
                    "csrf_token": csrf,
                    "confirm": "yes",
                    "role": "administrator",
                    "form_token": f"form-token-for-{action}",
                },
            )
            assert refused.status_code == 403, action
    assert [u.role for u in list_users(runtime.store, customer_id="acme")] == [
        "owner",
        "administrator",
    ]


def test_nobody_acts_on_their_own_account_here(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    me = user_id(runtime, "owner@acme.test")
    refused = client.post(
        f"{BASE}/{me}/role",
        data={"csrf_token": owner, "role": "administrator", "form_token": "form-token-demote-self"},
    )
    assert refused.status_code == 403
    assert "You cannot change your own role here; ask another owner." in refused.text
    removal = client.post(
        f"{BASE}/{me}/delete",
        data={"csrf_token": owner, "confirm": "yes", "form_token": "form-token-remove-self"},
    )
    assert removal.status_code == 403
    assert "You cannot do this to your own account here; ask another owner." in removal.text
    assert get_user(runtime.store, user_id=me) is not None
    page = client.get(BASE)
    assert "The last owner can be neither removed nor made an administrator" in page.text
    assert '<span class="badge badge-muted">you</span>' in page.text


def test_reset_password_ends_sessions_and_shows_the_new_password_once(
    client: TestClient, owner: str, runtime: Runtime, make_user: Callable[..., str]
) -> None:
    make_user("ops@acme.test", role="administrator")
    ops = user_id(runtime, "ops@acme.test")
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as theirs:
        sign_in(theirs, "ops@acme.test")
        question = submit(client, BASE, f"{BASE}/{ops}/reset-password", follow=True)
        assert "Reset the password of ops@acme.test?" in question.text
        done = submit(client, question, f"{BASE}/{ops}/reset-password", follow=True)
        assert "Reset the password of ops@acme.test." in done.text
        password = PASSWORD_FIELD.search(done.text)
        assert password is not None
        ended = theirs.get("/console/apiAccess/appClients", follow_redirects=False)
        assert ended.status_code == 303  # their session ended: back to sign-in
    assert not can_sign_in(runtime, "ops@acme.test", PASSWORD)
    assert can_sign_in(runtime, "ops@acme.test", password.group(1))
    events = runtime.store.list_audit(customer_id="acme", action="user.reset_password")
    assert [e.target for e in events] == ["ops@acme.test"]
    assert password.group(1) not in str(events[0].detail)


def test_a_removed_user_cannot_sign_in(
    client: TestClient, owner: str, runtime: Runtime, make_user: Callable[..., str]
) -> None:
    make_user("gone@acme.test", role="administrator")
    gone = user_id(runtime, "gone@acme.test")
    removed = submit(client, BASE, f"{BASE}/{gone}/delete", confirm="yes", follow=True)
    assert "Removed gone@acme.test. Their sessions have ended." in removed.text
    assert not can_sign_in(runtime, "gone@acme.test", PASSWORD)


def test_an_administrator_may_add_administrators_only(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime
) -> None:
    sign_in(client, make_user("admin@acme.test", role="administrator"))
    page = client.get(BASE)
    assert 'value="owner" disabled' in page.text
    refused = submit(client, page, BASE, email="boss@acme.test", role="owner")
    assert refused.status_code == 400
    assert "Only an owner may add an owner." in refused.text
    assert submit(client, page, BASE, email="peer@acme.test").status_code == 303
    peer = user_id(runtime, "peer@acme.test")
    refused_role = client.post(
        f"{BASE}/{peer}/role",
        data={
            "csrf_token": csrf_of(page.text),
            "role": "owner",
            "form_token": "form-token-promote-peer",
        },
    )
    assert refused_role.status_code == 403
    assert "Only an owner may change the role of a console user." in refused_role.text


def test_another_customers_users_are_invisible(
    client: TestClient, owner: str, runtime: Runtime, make_user: Callable[..., str]
) -> None:
    add_customer(runtime, "other")
    make_user("them@other.test", customer_id="other")
    assert "them@other.test" not in client.get(BASE).text
    [them] = list_users(runtime.store, customer_id="other")
    assert client.get(f"{BASE}/{them.id}/delete").status_code == 404
    assert submit(client, BASE, BASE, email="x@acme.test").status_code == 303
    response = client.post(
        f"{BASE}/{them.id}/delete",
        data={"csrf_token": owner, "confirm": "yes", "form_token": "form-token-other-customer"},
    )
    assert response.status_code == 404
    assert get_user(runtime.store, user_id=them.id) is not None
