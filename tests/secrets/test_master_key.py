"""The master key (SPEC §1): ``GATEHOUSE_MASTER_KEY`` is validated with a clear message, and the
embedded default creates ``{DATA_DIR}/master.key`` with mode 0600 once and reuses it."""

from __future__ import annotations

import base64
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from gatehouse.masterkey import load_master_key
from gatehouse.settings import Settings


def settings_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(os.environ):
        if name.startswith("GATEHOUSE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(f"GATEHOUSE_{name}", value)
    return Settings()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("changeme", "is a placeholder; generate one with: openssl rand -base64 32"),
        ("CHANGEME", "is a placeholder; generate one with: openssl rand -base64 32"),
        ("not base64 at all!", "must be 32 bytes, base64-encoded"),
        (
            base64.b64encode(os.urandom(16)).decode(),
            "must be 32 bytes, base64-encoded (openssl rand -base64 32)",
        ),
        (
            base64.b64encode(os.urandom(33)).decode(),
            "must be 32 bytes, base64-encoded (openssl rand -base64 32)",
        ),
    ],
    ids=["changeme", "CHANGEME", "not-base64", "16-bytes", "33-bytes"],  # the same in every worker
)
def test_bad_master_key_in_environment_is_rejected_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        settings_from_env(monkeypatch, MASTER_KEY=value, DATA_DIR=str(tmp_path))
    errors = caught.value.errors()
    assert [(e["loc"], e["msg"]) for e in errors] == [(("master_key",), f"Value error, {message}")]
    assert value not in str(caught.value)  # the rejected value is not echoed


def test_valid_master_key_from_environment_is_used_and_no_file_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = os.urandom(32)
    encoded = base64.b64encode(raw).decode()
    settings = settings_from_env(monkeypatch, MASTER_KEY=encoded, DATA_DIR=str(tmp_path))
    first = load_master_key(settings)
    second = load_master_key(settings)
    assert first.secret_hmac_key == second.secret_hmac_key
    sealed = first.seal(b"x", context="c")
    assert second.unseal(sealed, context="c") == b"x"
    assert not (tmp_path / "master.key").exists()


def test_missing_key_file_is_created_with_mode_0600_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir)
    with caplog.at_level(logging.WARNING, logger="gatehouse.masterkey"):
        key = load_master_key(settings)
    path = data_dir / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip(), validate=True)) == 32
    assert [r.getMessage() for r in caplog.records] == [
        f"created a development master key at {path}; set GATEHOUSE_MASTER_KEY for production"
    ]
    assert key.seal(b"x", context="c") != b"x"


def test_present_key_file_is_reused_unchanged(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_master_key(settings)
    path = tmp_path / "master.key"
    content, mtime = path.read_bytes(), path.stat().st_mtime_ns
    second = load_master_key(settings)
    assert second.secret_hmac_key == first.secret_hmac_key
    assert second.unseal(first.seal(b"kept", context="c"), context="c") == b"kept"
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == mtime


def test_key_file_written_by_an_operator_is_used(tmp_path: Path) -> None:
    raw = os.urandom(32)
    key_file = tmp_path / "operator.key"
    key_file.write_text(base64.b64encode(raw).decode() + "\n")
    from_file = load_master_key(Settings(data_dir=tmp_path, master_key_file=key_file))
    from_env = load_master_key(
        Settings(data_dir=tmp_path, master_key=base64.b64encode(raw).decode())
    )
    assert from_file.secret_hmac_key == from_env.secret_hmac_key
    assert not (tmp_path / "master.key").exists()


def test_missing_configured_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.key"
    with pytest.raises(FileNotFoundError, match=r"GATEHOUSE_MASTER_KEY_FILE .*nowhere\.key"):
        load_master_key(Settings(data_dir=tmp_path, master_key_file=missing))
    assert not missing.exists()


@pytest.mark.parametrize("content", ["changeme\n", "short\n", base64.b64encode(b"x" * 16).decode()])
def test_unusable_key_file_is_rejected_naming_the_file(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / "bad.key"
    key_file.write_text(content)
    with pytest.raises(ValueError, match=r"bad\.key.*32 bytes, base64-encoded"):
        load_master_key(Settings(data_dir=tmp_path, master_key_file=key_file))


def test_production_without_a_master_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE"):
        Settings(data_dir=tmp_path, environment="production")


# A process that loads the default master key as soon as it is told "go".
LOADER = """
import sys
from gatehouse.masterkey import load_master_key
from gatehouse.settings import Settings
settings = Settings(data_dir=sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
print(load_master_key(settings).secret_hmac_key.hex(), flush=True)
"""


def test_processes_creating_the_key_file_at_once_all_end_up_with_one_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", LOADER, str(tmp_path / "var")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
    results = [process.communicate(b"go\n", timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err for _, err in results]
    keys = {out.strip() for out, _ in results}
    assert len(keys) == 1
    assert keys == {
        load_master_key(Settings(data_dir=tmp_path / "var")).secret_hmac_key.hex().encode()
    }
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["master.key"]
