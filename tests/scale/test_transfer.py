"""``gatehouse clients import`` and ``export`` (docs/scale.md): JSON Lines, a given client_id and
client_secret kept as they are (and usable at once on a running server), what is missing
generated, all or nothing per file with the bad line's number, and the same format back out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from gatehouse.oauth.secrets import is_well_formed
from tests.factories import LiveServer

GIVEN_ID = "us-east-1_cognito.client~01"
GIVEN_SECRET = "1a2b3c4d5e6f7g8h9i0jCognitoStyle/+="


def run(
    server: LiveServer, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        env=server.env,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def jsonl(*documents: object) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in documents)


def test_import_keeps_given_credentials_generates_the_rest_and_export_gives_them_back(
    server: LiveServer, tmp_path: Path
) -> None:
    server.cli("customers", "create", "moved")
    source = tmp_path / "clients.jsonl"
    source.write_bytes(
        jsonl(
            {
                "name": "from cognito",
                "description": "kept as is",
                "client_id": GIVEN_ID,
                "client_secret": GIVEN_SECRET,
                "api_roles": ["viewer"],
                "token_lifetime_seconds": 600,
            },
            {"name": "id only", "client_id": "keycloak-client-000000001", "enabled": False},
            {"name": "nothing given", "corpus_roles": [{"corpus_key": "docs", "role": "editor"}]},
        )
        + b"\n"  # a blank line is not a client
    )
    assert server.cli("clients", "import", "--customer", "moved", str(source)) == {"imported": 3}

    with httpx.Client(timeout=5) as http:  # a running server uses an imported secret at once
        form = {"grant_type": "client_credentials", "client_id": GIVEN_ID}
        response = http.post(
            f"{server.base_url}/oauth2/token", data={**form, "client_secret": GIVEN_SECRET}
        )
    assert response.status_code == 200, response.text
    assert (response.json()["scope"], response.json()["expires_in"]) == ("viewer", 600)

    exported = run(server, "clients", "export", "--customer", "moved", "--with-secrets")
    assert exported.returncode == 0, exported.stderr
    lines = [orjson.loads(line) for line in exported.stdout.splitlines()]
    assert [line["name"] for line in lines] == ["from cognito", "id only", "nothing given"]
    assert lines[0] == {
        "name": "from cognito",
        "description": "kept as is",
        "client_id": GIVEN_ID,
        "client_secret": GIVEN_SECRET,
        "api_roles": ["viewer"],
        "corpus_roles": [],
        "token_lifetime_seconds": 600,
        "enabled": True,
    }
    assert (lines[1]["client_id"], lines[1]["enabled"]) == ("keycloak-client-000000001", False)
    assert is_well_formed(lines[1]["client_secret"])
    assert is_well_formed(lines[2]["client_secret"])
    assert lines[2]["corpus_roles"] == [{"corpus_key": "docs", "role": "editor"}]
    assert len(lines[2]["client_id"]) >= 20

    plain = run(server, "clients", "export", "--customer", "moved")
    assert plain.returncode == 0
    assert all("client_secret" not in orjson.loads(line) for line in plain.stdout.splitlines())


def test_a_bad_line_exits_2_naming_it_and_nothing_is_written(
    server: LiveServer, tmp_path: Path
) -> None:
    server.cli("customers", "create", "moved")
    good = {"name": "fine", "client_id": "a-perfectly-fine-client-id"}
    cases = {
        "not json": (b'{"name": "x"}\n{"name": \n', 2, "is not valid JSON"),
        "short id": (
            jsonl(good, {"name": "y"}, {"name": "z", "client_id": "short"}),
            3,
            "client_id",
        ),
        "short secret": (jsonl({"name": "s", "client_secret": "tiny"}), 1, "client_secret"),
        "bad role": (jsonl(good, {"name": "r", "api_roles": ["emperor"]}), 2, "api_roles"),
        "unknown field": (jsonl({"name": "u", "colour": "red"}), 1, "colour"),
        "no name": (jsonl({"client_id": "a-client-id-without-name"}), 1, "name"),
        "repeated id": (
            jsonl(good, {"name": "again", "client_id": good["client_id"]}),
            2,
            "line 1",
        ),
    }
    for label, (content, line, words) in cases.items():
        path = tmp_path / f"{label}.jsonl"
        path.write_bytes(content)
        result = run(server, "clients", "import", "--customer", "moved", str(path))
        message = result.stderr.decode()
        assert result.returncode == 2, (label, message)
        assert f"line {line}:" in message, (label, message)
        assert words in message, (label, message)
        assert "nothing was imported" in message
    listed = server.cli("clients", "list", "--customer", "moved")
    assert listed == {"app_clients": []}

    # A client_id already in the store: the line that repeats it is named, nothing written.
    first = tmp_path / "first.jsonl"
    first.write_bytes(jsonl(good))
    assert server.cli("clients", "import", "--customer", "moved", str(first)) == {"imported": 1}
    second = tmp_path / "second.jsonl"
    second.write_bytes(jsonl({"name": "new", "client_id": "another-fine-client-id"}, good))
    result = run(server, "clients", "import", "--customer", "moved", str(second))
    assert result.returncode == 2
    assert "line 2: client_id a-perfectly-fine-client-id exists already" in result.stderr.decode()
    listed = server.cli("clients", "list", "--customer", "moved")
    assert [c["client_id"] for c in listed["app_clients"]] == [good["client_id"]]


def test_export_with_secrets_is_refused_where_retrieval_is_off(server: LiveServer) -> None:
    env = {**server.env, "GATEHOUSE_SECRET_RETRIEVAL": "false"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatehouse",
            "clients",
            "export",
            "--customer",
            "demo",
            "--with-secrets",
        ],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert b"keeps no copy of secrets" in result.stderr
