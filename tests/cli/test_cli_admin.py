"""The admin commands of SPEC §6 as a user runs them: real ``python -m gatehouse ... --json``
processes on a data directory of their own, on SQLite and on a fresh PostgreSQL database.

Each command is a new Python process (about a second of CPU), so independent commands run
together and most tests share one data directory with customers ``acme`` and ``globex``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.runner import Cli, run_all

PUBLIC_URL = "https://auth.example.com"
BAD_CUSTOMER_ID = (
    "error: customer_id: must be 2-63 characters of a-z, 0-9 and '-', not starting with '-'\n"
)
VIEW_FIELDS = [
    "id",
    "type",
    "name",
    "description",
    "client_id",
    "api_roles",
    "corpus_roles",
    "enabled",
    "token_lifetime_seconds",
    "created_at",
    "last_used_at",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
    "dpop_bound_access_tokens",
    "tls_client_certificate_bound_access_tokens",
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One data directory for the module, with customers ``acme`` and ``globex``."""
    cli = Cli(tmp_path_factory.mktemp("cli") / "var", public_url=PUBLIC_URL)
    cli.json("customers", "create", "acme")
    cli.json("customers", "create", "globex")
    return cli


# -- customers ---------------------------------------------------------------------------------


def test_customers_create_prints_id_issuer_and_token_url(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var", public_url=PUBLIC_URL)
    acme, digits, text = run_all(
        cli.start("customers", "create", "acme", "--name", "Acme Inc.", "--json"),
        cli.start("customers", "create", "1234567890", "--json"),
        cli.start("customers", "create", "a1-b2"),
    )
    assert acme.json() == {
        "customer_id": "acme",
        "issuer": f"{PUBLIC_URL}/customers/acme",
        "token_url": f"{PUBLIC_URL}/customers/acme/oauth2/token",
    }
    assert digits.json() == {
        "customer_id": "1234567890",
        "issuer": f"{PUBLIC_URL}/customers/1234567890",
        "token_url": f"{PUBLIC_URL}/customers/1234567890/oauth2/token",
    }
    assert (text.code, text.stdout) == (
        0,
        "customer_id: a1-b2\n"
        f"issuer: {PUBLIC_URL}/customers/a1-b2\n"
        f"token_url: {PUBLIC_URL}/customers/a1-b2/oauth2/token\n",
    )
    duplicate = cli.run("customers", "create", "acme", "--json")
    assert (duplicate.code, duplicate.stdout) == (1, "")
    assert duplicate.stderr == "error: customer acme exists\n"


def test_bad_customer_ids_are_rejected_with_exit_code_2(shared: Cli) -> None:
    bad = ["Acme", "a_b", "x", "x" * 64, "-lead"]
    results = run_all(*(shared.start("customers", "create", "--json", "--", b) for b in bad))
    for bad_id, result in zip(bad, results, strict=True):
        assert (result.code, result.stdout, result.stderr) == (2, "", BAD_CUSTOMER_ID), bad_id


# -- app clients -------------------------------------------------------------------------------


def test_clients_create_list_show_rotate_revoke_delete_and_audit(
    tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path / "var", public_url=PUBLIC_URL, database_url=database_url)
    cli.json("customers", "create", "1234567890")
    created = cli.json(
        "clients",
        "create",
        "--customer",
        "1234567890",
        "--name",
        "Reporting bot",
        "--description",
        "Nightly reports",
        "--role",
        "viewer",
        "--role",
        "corpus_developer",
        "--lifetime",
        "600",
    )
    assert list(created) == ["id", "client_id", "client_secret", "token_url", "issuer", "api_roles"]
    assert created["token_url"] == f"{PUBLIC_URL}/customers/1234567890/oauth2/token"
    assert created["issuer"] == f"{PUBLIC_URL}/customers/1234567890"
    assert created["api_roles"] == ["viewer", "corpus_developer"]
    assert created["id"].startswith("app_")
    assert len(created["client_id"]) >= 20
    app_id, secret = created["id"], created["client_secret"]
    assert secret.startswith("gths_")

    listed, shown, with_secret = run_all(
        cli.start("clients", "list", "--customer", "1234567890", "--json"),
        cli.start("clients", "show", app_id, "--customer", "1234567890", "--json"),
        cli.start("clients", "show", app_id, "--customer", "1234567890", "--show-secret", "--json"),
    )
    assert list(listed.json()) == ["app_clients"]
    [view] = listed.json()["app_clients"]
    assert list(view) == VIEW_FIELDS
    assert (view["id"], view["client_id"]) == (app_id, created["client_id"])
    assert (view["type"], view["name"]) == ("client_credentials", "Reporting bot")
    assert view["description"] == "Nightly reports"
    assert view["api_roles"] == ["viewer", "corpus_developer"]
    assert (view["corpus_roles"], view["enabled"]) == ([], True)
    assert view["token_lifetime_seconds"] == 600
    assert view["created_at"].endswith("Z")
    assert view["last_used_at"] is None
    # Never a secret, a hash or a sealed copy in a listing.
    # (the auth method's name "client_secret_basic" is not a secret)
    listing = listed.stdout.replace('"client_secret_basic"', "")
    for word in ("secret", "hash", "sealed", secret[5:]):
        assert word not in listing
    assert shown.json() == view
    assert with_secret.json() == {**view, "client_secret": secret}

    rotated = cli.json("clients", "rotate-secret", app_id, "--customer", "1234567890")
    new_secret = rotated["client_secret"]
    assert new_secret.startswith("gths_")
    assert new_secret != secret
    assert rotated == {**view, "client_secret": new_secret}

    shown, revoked = run_all(
        cli.start("clients", "show", app_id, "--customer", "1234567890", "--show-secret", "--json"),
        cli.start("clients", "revoke-tokens", app_id, "--customer", "1234567890", "--json"),
    )
    assert shown.json()["client_secret"] == new_secret
    assert list(revoked.json()) == ["id", "tokens_revoked_before"]
    assert revoked.json()["id"] == app_id
    assert isinstance(revoked.json()["tokens_revoked_before"], float)

    deleted = cli.json("clients", "delete", app_id, "--customer", "1234567890")
    assert deleted == {"id": app_id, "deleted": True}

    listed, gone, audit = run_all(
        cli.start("clients", "list", "--customer", "1234567890", "--json"),
        cli.start("clients", "show", app_id, "--customer", "1234567890", "--json"),
        cli.start("audit", "--customer", "1234567890", "--json"),
    )
    assert listed.json() == {"app_clients": []}
    assert (gone.code, gone.stdout) == (1, "")
    assert gone.stderr == f"error: no app client {app_id} for customer 1234567890\n"
    events = audit.json()["events"]
    assert [e["action"] for e in events] == [
        "app_client.delete",
        "app_client.revoke_tokens",
        "app_client.rotate_secret",
        "app_client.create",
        "customer.create",
    ]
    assert all(e["target"] == app_id for e in events[:4])
    assert all(e["actor"] == "cli" for e in events)
    assert all(e["detail"]["client_id"] == created["client_id"] for e in events[:4])
    for text in (secret[5:], new_secret[5:]):
        assert text not in audit.stdout


def test_clients_create_with_bad_input_or_customer_is_refused(shared: Cli) -> None:
    create = ("clients", "create", "--json", "--name", "bad input")
    role, short, long, unknown = run_all(
        shared.start(*create, "--customer", "acme", "--role", "superuser"),
        shared.start(*create, "--customer", "acme", "--lifetime", "5"),
        shared.start(*create, "--customer", "acme", "--lifetime", "86401"),
        shared.start(*create, "--customer", "nobody"),
    )
    assert (role.code, role.stdout, role.stderr) == (
        2,
        "",
        "error: api_roles: unknown role 'superuser'; one of owner, administrator, "
        "billing_administrator, corpus_administrator, corpus_developer, viewer\n",
    )
    lifetime = "error: token_lifetime_seconds: must be between 300 and 86400\n"
    assert (short.code, short.stdout, short.stderr) == (2, "", lifetime)
    assert (long.code, long.stdout, long.stderr) == (2, "", lifetime)
    assert (unknown.code, unknown.stdout, unknown.stderr) == (
        1,
        "",
        "error: no customer nobody; create it with: gatehouse customers create nobody\n",
    )
    listed = shared.json("clients", "list", "--customer", "acme")
    assert [c for c in listed["app_clients"] if c["name"] == "bad input"] == []


def test_another_customers_client_is_not_shown_or_changed(shared: Cli) -> None:
    created = shared.json("clients", "create", "--customer", "acme", "--name", "kept")
    results = run_all(
        *(
            shared.start("clients", verb, created["id"], "--customer", "globex", "--json")
            for verb in ("show", "rotate-secret", "revoke-tokens", "delete")
        )
    )
    for result in results:
        assert (result.code, result.stdout) == (1, "")
        assert result.stderr == f"error: no app client {created['id']} for customer globex\n"
    shown = shared.json("clients", "show", created["id"], "--customer", "acme", "--show-secret")
    assert shown["client_secret"] == created["client_secret"]
    assert shown["enabled"] is True


def test_show_secret_in_show_once_mode_is_refused(shared: Cli) -> None:
    show_once = shared.with_settings(secret_retrieval="false")
    created = show_once.json("clients", "create", "--customer", "acme", "--name", "once")
    assert created["client_secret"].startswith("gths_")
    result = show_once.run("clients", "show", created["id"], "--customer", "acme", "--show-secret")
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: this server keeps no copy of secrets (GATEHOUSE_SECRET_RETRIEVAL=false)\n"
    )


# -- signing keys ------------------------------------------------------------------------------


def test_keys_list_and_rotate_keep_the_retired_key_listed(shared: Cli) -> None:
    shared.json("customers", "create", "keyco")
    listed, unknown = run_all(
        shared.start("keys", "list", "--customer", "keyco", "--json"),
        shared.start("keys", "list", "--customer", "nobody", "--json"),
    )
    assert list(listed.json()) == ["customer_id", "active_kid", "keys"]
    assert listed.json()["customer_id"] == "keyco"
    [first] = listed.json()["keys"]
    assert first == {"kid": listed.json()["active_kid"], "alg": "ES256", "state": "active"}
    assert (unknown.code, unknown.stdout) == (1, "")
    assert unknown.stderr.startswith("error: no customer nobody")

    rotated = shared.json("keys", "rotate", "--customer", "keyco")
    assert rotated["customer_id"] == "keyco"
    assert rotated["active_kid"] != first["kid"]
    assert rotated["keys"] == [
        {"kid": first["kid"], "alg": "ES256", "state": "retired"},
        {"kid": rotated["active_kid"], "alg": "ES256", "state": "active"},
    ]
    listed, audit = run_all(
        shared.start("keys", "list", "--customer", "keyco", "--json"),
        shared.start("audit", "--customer", "keyco", "--json"),
    )
    assert listed.json() == rotated
    events = audit.json()["events"]
    assert [(e["action"], e["target"]) for e in events] == [
        ("keys.rotate", rotated["active_kid"]),
        ("customer.create", "keyco"),
    ]


# -- console users -----------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin(shared: Cli) -> None:
    password = "correct horse battery staple"
    user = ("users", "create", "--customer", "globex", "--json")
    created = shared.run(
        *user,
        "--email",
        "Ops@Example.com",
        "--role",
        "owner",
        "--password-stdin",
        stdin=password + "\n",
    ).json()
    assert list(created) == ["id", "email", "role", "customer_id"]
    assert created["id"].startswith("usr_")
    assert (created["email"], created["role"], created["customer_id"]) == (
        "ops@example.com",
        "owner",
        "globex",
    )
    duplicate, short, role, email, no_stdin, audit = run_all(
        shared.start(*user, "--email", "ops@example.com", "--password-stdin", stdin=password),
        shared.start(*user, "--email", "b@example.com", "--password-stdin", stdin="short"),
        shared.start(
            *user,
            "--email",
            "c@example.com",
            "--role",
            "viewer",
            "--password-stdin",
            stdin=password,
        ),
        shared.start(*user, "--email", "not-an-email", "--password-stdin", stdin=password),
        shared.start(*user, "--email", "d@example.com"),
        shared.start("audit", "--customer", "globex", "--action", "user.create", "--json"),
    )
    assert (duplicate.code, duplicate.stdout) == (1, "")
    assert duplicate.stderr == "error: a console user ops@example.com exists\n"
    assert (short.code, short.stdout, short.stderr) == (
        2,
        "",
        "error: password: must be at least 12 characters\n",
    )
    assert (role.code, role.stdout, role.stderr) == (
        2,
        "",
        "error: role: must be one of owner, administrator\n",
    )
    assert (email.code, email.stdout, email.stderr) == (
        2,
        "",
        "error: email: is not an email address\n",
    )
    assert (no_stdin.code, no_stdin.stdout, no_stdin.stderr) == (
        2,
        "",
        "error: pass the password on standard input with --password-stdin\n",
    )
    events = audit.json()["events"]
    assert [(e["action"], e["target"]) for e in events] == [("user.create", "ops@example.com")]
    assert password not in audit.stdout
