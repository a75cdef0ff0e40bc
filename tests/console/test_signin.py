"""Signing in and out: argon2id check, one answer for every bad credential, rate limit, cookies,
server-side sessions and CSRF."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.console.sessions import COOKIE, HOST_COOKIE, load_session
from gatehouse.runtime import Runtime
from gatehouse.store import tables as t
from tests.conftest import make_settings
from tests.console.conftest import PASSWORD, csrf_of, sign_in


def test_login_page_has_labelled_fields_and_sets_a_login_csrf_cookie(client: TestClient) -> None:
    page = client.get("/console/login")
    assert page.status_code == 200
    assert '<label for="email">Email</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert 'autocomplete="current-password"' in page.text
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"gatehouse_login_csrf={csrf_of(page.text)};")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/console/login" in cookie


def test_signing_in_sets_an_httponly_samesite_lax_session_cookie(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime
) -> None:
    email = make_user()
    page = client.get("/console/login?next=/console/corpora")
    response = client.post(
        "/console/login",
        data={
            "email": email.upper(),
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/console/corpora",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/corpora"
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")
    )
    session_id = session_cookie.split(";", 1)[0].split("=", 1)[1]
    assert len(session_id) >= 40
    parts = [p.strip() for p in session_cookie.split(";")]
    assert "HttpOnly" in parts
    assert "SameSite=lax" in parts
    assert "Path=/" in parts
    assert "Max-Age=28800" in parts
    assert "Secure" not in parts  # plain http: a Secure cookie would never come back
    # The database keeps only a digest of the session id.
    with runtime.store.engine.connect() as conn:
        stored = conn.execute(select(t.console_sessions.c.id_hash)).scalars().all()
    assert len(stored) == 1
    assert session_id not in stored[0]
    principal = load_session(runtime.store, session_id=session_id)
    assert principal is not None
    assert principal.user.email == email
    [event] = runtime.store.list_audit(customer_id="acme", action="console.sign_in")
    assert (event.actor, event.target, event.source) == (
        "console:owner@acme.test",
        principal.user.id,
        "testclient",
    )


def test_the_session_cookie_is_secure_when_the_public_url_is_https(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_url="https://auth.example.com")
    runtime = Runtime.open(settings)
    from gatehouse.services.console_users import create_user
    from tests.factories import add_customer

    add_customer(runtime, "acme")
    create_user(
        runtime.store,
        customer_id="acme",
        email="owner@acme.test",
        role="owner",
        password=PASSWORD,
        actor="test",
    )
    with TestClient(create_app(runtime=runtime), base_url="https://testserver") as client:
        page = client.get("/console/login")
        assert "Secure" in page.headers["set-cookie"]
        response = client.post(
            "/console/login",
            data={
                "email": "owner@acme.test",
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )
        # The __Host- prefix: Secure, Path=/, no Domain; the console reads it under that name.
        listing = client.get("/console/apiAccess/appClients", follow_redirects=False)
        assert listing.status_code == 200
    assert response.status_code == 303
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{HOST_COOKIE}=")
    )
    parts = [p.strip() for p in session_cookie.split(";")]
    assert "Secure" in parts
    assert "Path=/" in parts
    assert not any(p.lower().startswith("domain=") for p in parts)


def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    email = make_user()

    def attempt(address: str, password: str) -> tuple[int, str]:
        page = client.get("/console/login")
        token = csrf_of(page.text)
        response = client.post(
            "/console/login",
            data={"email": address, "password": password, "csrf_token": token},
        )
        return response.status_code, response.text.replace(token, "TOKEN").replace(address, "EMAIL")

    wrong_password = attempt(email, "not the password at all")
    unknown_email = attempt("nobody@acme.test", "not the password at all")
    assert wrong_password == unknown_email
    assert wrong_password[0] == 400
    assert "The email or password is incorrect." in wrong_password[1]
    assert COOKIE not in client.cookies


def test_a_sign_in_without_the_form_csrf_token_is_refused(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    email = make_user()
    client.get("/console/login")
    response = client.post(
        "/console/login", data={"email": email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "The sign-in form expired. Please sign in again." in response.text
    assert COOKIE not in client.cookies


def test_repeated_failures_block_sign_in_with_429_and_retry_after(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    email = make_user()
    token = csrf_of(client.get("/console/login").text)
    for _ in range(5):
        failed = client.post(
            "/console/login",
            data={"email": email, "password": "wrong password!", "csrf_token": token},
        )
        assert failed.status_code == 400
    # Even the right password is not checked while the address is blocked for this email.
    blocked = client.post(
        "/console/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 901
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in blocked.text
    assert COOKIE not in client.cookies
    # An unknown email is blocked the same way, so the block reveals nothing either.
    for _ in range(5):
        client.post(
            "/console/login",
            data={"email": "ghost@acme.test", "password": "wrong password!", "csrf_token": token},
        )
    ghost = client.post(
        "/console/login",
        data={"email": "ghost@acme.test", "password": "wrong password!", "csrf_token": token},
    )
    assert ghost.status_code == 429


def test_signing_out_ends_the_session_on_the_server(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime
) -> None:
    csrf = sign_in(client, make_user())
    session_id = client.cookies[COOKIE]
    response = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?notice=signed_out"
    assert load_session(runtime.store, session_id=session_id) is None
    # Replaying the old cookie gets the sign-in page, not the console.
    client.cookies.set(COOKIE, session_id)
    again = client.get("/console/apiAccess/appClients", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/console/login")


def test_a_forged_sign_out_without_the_csrf_token_keeps_the_session(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime
) -> None:
    sign_in(client, make_user())
    session_id = client.cookies[COOKIE]
    response = client.post("/console/logout", data={})
    assert response.status_code == 403
    assert load_session(runtime.store, session_id=session_id) is not None


def test_signed_out_visitors_are_sent_to_sign_in_and_back(client: TestClient) -> None:
    response = client.get("/console/apiAccess/keys", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/apiAccess/keys"
    page = client.get(response.headers["location"])
    assert '<input type="hidden" name="next" value="/console/apiAccess/keys">' in page.text


def test_the_next_parameter_never_leads_off_the_console(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    email = make_user()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/v2/corpora"):
        page = client.get("/console/login")
        response = client.post(
            "/console/login",
            data={
                "email": email,
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/console/apiAccess/appClients"
        client.cookies.clear()


def test_an_expired_session_is_refused(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime
) -> None:
    sign_in(client, make_user())
    with runtime.store.engine.begin() as conn:
        conn.execute(update(t.console_sessions).values(expires_at=time.time() - 1))
    response = client.get("/console/corpora", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/corpora"
