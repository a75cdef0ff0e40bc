"""The operator's commands as a user runs them: console users (list, delete, set-role,
reset-password; the last owner stays), customers list/show, ``--version``, aligned tables,
``show`` by client_id, flags in ``--help``, and the warning when a command would start a new
database although another one was used before."""

from __future__ import annotations

import stat
from pathlib import Path

from gatehouse import __version__
from gatehouse.store.engine import create_store_engine
from gatehouse.store.store import Store
from gatehouse.users import authenticate
from tests.cli.runner import Cli, run_all

PASSWORD = "correct horse battery staple"


def _store(database_url: str) -> Store:
    return Store(
        create_store_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    )


def test_users_list_set_role_reset_password_and_delete_keep_the_last_owner(
    tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path / "var", database_url=database_url)
    cli.json("customers", "create", "acme")
    user = ("users", "create", "--customer", "acme", "--password-stdin")
    run_all(
        cli.start(*user, "--email", "Owner@acme.test", stdin=PASSWORD),
        cli.start(*user, "--email", "admin@acme.test", "--role", "administrator", stdin=PASSWORD),
    )
    listed = cli.json("users", "list", "--customer", "acme")["users"]
    assert [(u["email"], u["role"]) for u in listed] == [
        ("admin@acme.test", "administrator"),
        ("owner@acme.test", "owner"),
    ]
    table = cli.run("users", "list", "--customer", "acme")
    assert table.code == 0, table.stderr
    header, first, second = table.stdout.splitlines()
    assert header.split() == ["EMAIL", "ROLE", "ID"]
    assert first.split() == ["admin@acme.test", "administrator", listed[0]["id"]]
    assert first.index(listed[0]["id"]) == header.index("ID") == second.index(listed[1]["id"])

    # The only owner can be neither demoted nor removed.
    demote, remove, unknown, bad_role = run_all(
        cli.start(
            "users", "set-role", "--customer", "acme", "owner@acme.test", "--role", "administrator"
        ),
        cli.start("users", "delete", "--customer", "acme", "owner@acme.test"),
        cli.start("users", "delete", "--customer", "acme", "nobody@acme.test"),
        cli.start("users", "set-role", "--customer", "acme", "admin@acme.test", "--role", "viewer"),
    )
    last_owner = (
        "error: owner@acme.test is the last owner of customer acme; make another user owner "
        "first (gatehouse users set-role)\n"
    )
    assert (demote.code, demote.stdout, demote.stderr) == (1, "", last_owner)
    assert (remove.code, remove.stdout, remove.stderr) == (1, "", last_owner)
    assert (unknown.code, unknown.stderr) == (
        1,
        "error: no console user nobody@acme.test for customer acme\n",
    )
    assert (bad_role.code, bad_role.stderr) == (
        2,
        "error: role: must be one of owner, administrator\n",
    )

    promoted = cli.json(
        "users", "set-role", "--customer", "acme", "admin@acme.test", "--role", "owner"
    )
    assert promoted["role"] == "owner"
    demoted = cli.json(
        "users", "set-role", "--customer", "acme", "owner@acme.test", "--role", "administrator"
    )
    assert demoted["role"] == "administrator"

    # A forgotten password: a generated one, printed once; the old one stops working.
    reset = cli.json("users", "reset-password", "--customer", "acme", "owner@acme.test")
    assert len(reset["password"]) >= 16
    chosen = cli.json(
        "users",
        "reset-password",
        "--customer",
        "acme",
        "admin@acme.test",
        "--password-stdin",
        stdin="a brand new passphrase\n",
    )
    assert "password" not in chosen
    store = _store(database_url)
    try:
        assert authenticate(store, email="owner@acme.test", password=PASSWORD) is None
        assert authenticate(store, email="owner@acme.test", password=reset["password"])
        assert authenticate(store, email="admin@acme.test", password="a brand new passphrase")
    finally:
        store.engine.dispose()
    short = cli.run(
        "users",
        "reset-password",
        "--customer",
        "acme",
        "admin@acme.test",
        "--password-stdin",
        stdin="short\n",
    )
    assert (short.code, short.stderr) == (2, "error: password: must be at least 12 characters\n")

    deleted = cli.json("users", "delete", "--customer", "acme", "owner@acme.test")
    assert (deleted["email"], deleted["deleted"]) == ("owner@acme.test", True)
    assert [u["email"] for u in cli.json("users", "list", "--customer", "acme")["users"]] == [
        "admin@acme.test"
    ]
    table = cli.run("audit", "--customer", "acme", "--limit", "2")
    header, newest, _ = table.stdout.splitlines()
    assert header.split() == ["AT", "ACTION", "ACTOR", "TARGET", "SOURCE"]
    assert newest.split()[1:4] == ["user.delete", "cli", "owner@acme.test"]
    audit = cli.run("audit", "--customer", "acme", "--json")
    actions = [e["action"] for e in audit.json()["events"]]
    assert actions[:4] == [
        "user.delete",
        "user.reset_password",
        "user.reset_password",
        "user.set_role",
    ]
    assert reset["password"] not in audit.stdout


def test_customers_list_and_show(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var", public_url="https://auth.example.com")
    run_all(
        cli.start("customers", "create", "acme", "--name", "Acme Inc."),
        cli.start("customers", "create", "globex"),
    )
    listed = cli.json("customers", "list")["customers"]
    assert [(c["customer_id"], c["name"]) for c in listed] == [
        ("acme", "Acme Inc."),
        ("globex", "globex"),
    ]
    assert listed[0]["issuer"] == "https://auth.example.com/customers/acme"
    table, shown, missing = run_all(
        cli.start("customers", "list"),
        cli.start("customers", "show", "acme", "--json"),
        cli.start("customers", "show", "nobody"),
    )
    header, acme, globex = table.stdout.splitlines()
    assert header.split() == ["CUSTOMER_ID", "NAME", "CREATED_AT", "ISSUER"]
    assert acme.split()[:3] == ["acme", "Acme", "Inc."]
    assert acme.index("https://") == globex.index("https://") == header.index("ISSUER")
    document = shown.json()
    assert document["token_url"] == "https://auth.example.com/customers/acme/oauth2/token"
    assert document["jwks_uri"] == "https://auth.example.com/customers/acme/.well-known/jwks.json"
    assert (document["app_clients"], document["signing_keys"], document["console_users"]) == (
        0,
        1,
        0,
    )
    assert document["active_kid"]
    assert (missing.code, missing.stderr) == (1, "error: no customer nobody\n")


def test_show_by_client_id_tables_version_and_flags(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    cli.json("customers", "create", "acme")
    created = cli.json(
        "clients",
        "create",
        "--customer",
        "acme",
        "--name",
        "ingest",
        "--role",
        "viewer",
        "--role",
        "corpus_developer",
    )
    by_client_id, table, version, help_text, other = run_all(
        cli.start("clients", "show", created["client_id"], "--customer", "acme", "--json"),
        cli.start("clients", "list", "--customer", "acme"),
        cli.start("--version"),
        cli.start("clients", "show", "--help"),
        cli.start("clients", "show", created["client_id"], "--customer", "globex"),
    )
    assert by_client_id.json()["id"] == created["id"]
    header, row = table.stdout.splitlines()
    assert header.split() == ["ID", "CLIENT_ID", "NAME", "API_ROLES", "ENABLED", "CREATED_AT"]
    assert row.split()[:6] == [
        created["id"],
        created["client_id"],
        "ingest",
        "viewer",
        "corpus_developer",
        "yes",
    ]
    assert "[" not in table.stdout
    assert version.stdout == f"gatehouse {__version__}\n"
    assert "<bool>" not in help_text.stdout
    assert "  --show-secret " in help_text.stdout
    assert (other.code, other.stderr) == (
        1,
        f"error: no app client {created['client_id']} for customer globex\n",
    )
    rotated = cli.json("clients", "rotate-secret", created["client_id"], "--customer", "acme")
    assert rotated["id"] == created["id"]


def test_a_new_database_elsewhere_is_named_in_a_warning(tmp_path: Path) -> None:
    first = Cli(tmp_path / "here" / "var")
    created = first.run("demo")
    assert created.code == 0
    assert created.stderr == ""
    elsewhere = first.with_settings(data_dir=str(tmp_path / "elsewhere" / "var"))
    again = elsewhere.run("demo")
    assert again.code == 0
    new_db = tmp_path / "elsewhere" / "var" / "gatehouse.db"
    old_db = tmp_path / "here" / "var" / "gatehouse.db"
    assert again.stderr == (
        f"warning: no database at {new_db}; creating a new one (with its own master key unless "
        f"one is set). Gatehouse databases used before: {old_db}. To use one, run from its "
        "folder or set GATEHOUSE_DATA_DIR to its directory.\n"
    )
    # Once it exists, the new database is used without a word.
    assert elsewhere.run("customers", "list").stderr == ""


def test_the_demo_prints_the_console_password_once_and_files_are_private(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    first = cli.json("demo")
    second = cli.run("demo")
    assert isinstance(first["console_password"], str)
    assert first["console_password"] not in second.stdout
    assert (
        "console_password: (unchanged; a new one: gatehouse users reset-password --customer demo "
        "admin@demo.local)" in second.stdout.splitlines()
    )
    data_dir = tmp_path / "var"
    assert not (data_dir / "demo-console.json").exists()
    for path in data_dir.iterdir():
        assert first["console_password"].encode() not in path.read_bytes(), path
    db = data_dir / "gatehouse.db"
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_an_existing_world_readable_database_becomes_private(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    cli.json("customers", "create", "acme")
    db = tmp_path / "var" / "gatehouse.db"
    db.chmod(0o644)
    cli.json("customers", "list")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
