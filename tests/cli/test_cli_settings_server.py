"""The CLI against its settings and a live server (SPEC §6): invalid settings exit 2 naming the
variable, ``token`` gets a token from a running server, ``demo`` is idempotent."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.runner import Cli, run_all
from tests.factories import LiveServer, wrong_secret

INVALID_CLIENT = '{"error":"invalid_client","error_description":"client authentication failed"}\n'


def test_invalid_settings_exit_2_naming_the_variable_without_a_traceback(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    bad_key_file = tmp_path / "bad.key"
    bad_key_file.write_text("changeme\n")
    cases = {
        "GATEHOUSE_TOKEN_LIFETIME: Input should be greater than or equal to 300": {
            "token_lifetime": "5"
        },
        "GATEHOUSE_PUBLIC_URL: Value error, must be an absolute http(s) URL such as "
        "https://auth.example.com": {"public_url": "notaurl"},
        "GATEHOUSE_SIGNING_ALG: Input should be 'ES256', 'RS256', 'PS256' or 'EdDSA'": {
            "signing_alg": "HS256"
        },
        "GATEHOUSE_MASTER_KEY: Value error, is a placeholder; generate one with: "
        "openssl rand -base64 32": {"master_key": "changeme"},
        "GATEHOUSE_DATABASE_URL: Value error, must start with sqlite:/// or postgresql://": {
            "database_url": "mysql://db/gatehouse"
        },
    }
    pending = [
        cli.with_settings(**settings).start("customers", "create", "acme", "--json")
        for settings in cases.values()
    ]
    serve = cli.with_settings(token_lifetime="5").start("serve", "--port", "1")
    without_key = {k: v for k, v in cli.env.items() if k != "GATEHOUSE_MASTER_KEY"}
    key_file = (
        Cli.from_env(without_key)
        .with_settings(master_key_file=str(bad_key_file))
        .start("keys", "list", "--customer", "acme", "--json")
    )
    *results, served, keyed = run_all(*pending, serve, key_file)
    for message, result in zip(cases, results, strict=True):
        assert (result.code, result.stdout) == (2, ""), result.stderr
        assert result.stderr == f"error: invalid settings: {message}\n"
    assert "changeme" not in results[3].stderr.replace("placeholder", "")
    assert (served.code, served.stdout) == (2, "")
    assert served.stderr == f"error: invalid settings: {next(iter(cases))}\n"
    assert (keyed.code, keyed.stdout) == (2, "")
    assert keyed.stderr == (
        f"error: invalid master key: the master key file {bad_key_file} must hold 32 bytes, "
        "base64-encoded (openssl rand -base64 32)\n"
    )
    assert not (tmp_path / "var" / "gatehouse.db").exists()


def test_token_command_gets_a_token_from_a_live_server(live_server: LiveServer) -> None:
    cli = Cli.from_env(live_server.env)
    demo = live_server.demo
    token = ("token", "--token-url", demo["token_url"], "--client-id", demo["client_id"])
    ok, wrong, unreachable = run_all(
        cli.start(*token, "--client-secret", demo["client_secret"], "--scope", "owner"),
        cli.start(*token, "--client-secret", wrong_secret(demo["client_secret"])),
        cli.start(
            "token",
            "--token-url",
            "http://127.0.0.1:1/oauth2/token",
            "--client-id",
            "x",
            "--client-secret",
            "y",
        ),
    )
    body = ok.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "scope"]
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 1800, "owner")
    assert body["access_token"].count(".") == 2
    assert (wrong.code, wrong.stdout) == (1, INVALID_CLIENT)
    assert unreachable.code == 1
    assert unreachable.stdout == ""
    assert unreachable.stderr.startswith("error: cannot reach http://127.0.0.1:1/oauth2/token")
    assert "Traceback" not in unreachable.stderr


def test_demo_is_idempotent(live_server: LiveServer) -> None:
    cli = Cli.from_env(live_server.env)
    again = cli.json("demo")
    # The console password is printed once, when the user is created, and kept nowhere.
    assert again == {**live_server.demo, "console_password": None}
    assert isinstance(live_server.demo["console_password"], str)
    assert list(again) == [
        "customer_id",
        "token_url",
        "issuer",
        "client_id",
        "client_secret",
        "console_url",
        "console_email",
        "console_password",
    ]
    assert again["customer_id"] == "demo"
    listed = cli.json("clients", "list", "--customer", "demo")
    assert [c["client_id"] for c in listed["app_clients"]] == [again["client_id"]]
    response = httpx.post(
        again["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(again["client_id"], again["client_secret"]),
    )
    assert response.status_code == 200


def test_demo_in_show_once_mode_keeps_the_client_and_issues_a_new_secret(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var", secret_retrieval="false")
    first = cli.json("demo")
    second = cli.json("demo")
    assert second["client_id"] == first["client_id"]
    assert second["client_secret"] != first["client_secret"]
    assert second["console_password"] is None
    listed = cli.json("clients", "list", "--customer", "demo")
    assert [c["client_id"] for c in listed["app_clients"]] == [first["client_id"]]
