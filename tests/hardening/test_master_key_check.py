"""Fail closed on the master key: a CLI command or a server with a wrong or missing key stops
with one line naming the setting (exit 2) and writes nothing; a store that holds sealed data never
gets a development key file beside it."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gatehouse.keycheck import MasterKeyError, open_master_key
from gatehouse.runtime import Runtime
from gatehouse.store import tables as t
from gatehouse.store.engine import create_store_engine
from tests.cli.runner import Cli, run_all
from tests.conftest import make_settings

MISMATCH = (
    "error: GATEHOUSE_MASTER_KEY is not the master key this database was sealed with; "
    "set it to that key (nothing was changed)\n"
)


def snapshot(url: str) -> dict[str, int]:
    """Rows per table: what a command that must write nothing leaves unchanged."""
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in t.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def seeded(tmp_path: Path, database_url: str) -> Cli:
    """A store with customer ``acme`` (its signing key sealed) and one client."""
    cli = Cli(tmp_path / "var", database_url=database_url)
    cli.json("customers", "create", "acme")
    cli.json("clients", "create", "--customer", "acme", "--name", "first")
    return cli


def test_commands_with_a_wrong_master_key_exit_2_and_write_nothing(
    seeded: Cli, database_url: str
) -> None:
    before = snapshot(database_url)
    wrong = seeded.with_settings(master_key=base64.b64encode(os.urandom(32)).decode())
    rotate, create, listed = run_all(
        wrong.start("keys", "rotate", "--customer", "acme", "--json"),
        wrong.start("clients", "create", "--customer", "acme", "--name", "n", "--json"),
        wrong.start("clients", "list", "--customer", "acme", "--json"),
    )
    for result in (rotate, create, listed):
        assert (result.code, result.stdout, result.stderr) == (2, "", MISMATCH)
    assert snapshot(database_url) == before
    # The right key still works: nothing was half-written.
    assert seeded.json("keys", "rotate", "--customer", "acme")["customer_id"] == "acme"


def test_a_command_without_any_key_creates_no_key_file_beside_sealed_data(
    seeded: Cli, database_url: str, tmp_path: Path
) -> None:
    before = snapshot(database_url)
    elsewhere = tmp_path / "other"
    keyless = Cli.from_env({k: v for k, v in seeded.env.items() if k != "GATEHOUSE_MASTER_KEY"})
    keyless.env["GATEHOUSE_DATA_DIR"] = str(elsewhere)
    result = keyless.run("keys", "rotate", "--customer", "acme", "--json")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: GATEHOUSE_MASTER_KEY is not set and {elsewhere / 'master.key'} does not exist, "
        "but the database holds data sealed with a master key: set GATEHOUSE_MASTER_KEY to that "
        "key (nothing was changed)\n"
    )
    assert not (elsewhere / "master.key").exists()
    assert snapshot(database_url) == before


def test_a_server_with_a_wrong_key_stops_before_it_starts(
    tmp_path: Path, database_url: str
) -> None:
    right = make_settings(tmp_path, database_url=database_url)
    Runtime.open(right).store.engine.dispose()
    wrong = make_settings(tmp_path, database_url=database_url)
    with pytest.raises(MasterKeyError) as raised:
        Runtime.open(wrong)
    assert str(raised.value) == MISMATCH.removeprefix("error: ").rstrip("\n")


def test_a_store_sealed_before_key_checks_is_proven_by_unsealing_a_key(
    tmp_path: Path, database_url: str
) -> None:
    """A store written before the check existed: the first process proves its key by unsealing
    a signing key, and only then writes the check value."""
    cli = Cli(tmp_path / "var", database_url=database_url)
    cli.json("customers", "create", "acme")
    engine = create_store_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(t.key_check.delete())
        wrong = make_settings(tmp_path, database_url=database_url)
        with pytest.raises(MasterKeyError, match="cannot unseal the signing keys"):
            open_master_key(wrong, engine)
        assert snapshot(database_url)["key_check"] == 0
        right = make_settings(
            tmp_path, database_url=database_url, master_key=cli.env["GATEHOUSE_MASTER_KEY"]
        )
        key = open_master_key(right, engine)
        with engine.connect() as conn:
            stored = conn.execute(select(t.key_check.c.value)).scalar_one()
        assert bytes(stored) == key.check_value
    finally:
        engine.dispose()
