"""Shared fixtures: fresh settings and stores per test (SQLite and real PostgreSQL), a Starlette
TestClient over the app, and real server processes."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine, migrate
from tests.factories import LiveServer, start_server

POSTGRES_ADMIN_URL = os.environ.get(
    "GATEHOUSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


MAX_WORKERS = 6


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): two pytest-xdist workers per CPU, at most ``MAX_WORKERS``.
    Most of the suite's time is spent waiting for real processes to start and answer, so
    more workers than CPUs keep them busy; ``PYTEST_XDIST_AUTO_NUM_WORKERS`` overrides."""
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if chosen:
        return int(chosen)
    return max(2, min(MAX_WORKERS, 2 * len(os.sched_getaffinity(0))))


def _postgres_reason() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL at {POSTGRES_ADMIN_URL} ({exc.__class__.__name__})"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        pytest.skip(reason)
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"gh_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI remembers the databases it used under ``XDG_STATE_HOME``: tests keep theirs in
    a directory of the session (every command process inherits it), never in the real home."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if before is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = before


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "master_key": base64.b64encode(os.urandom(32)).decode(),
        "public_url": "http://testserver",
        "change_poll_interval": 0.05,
        "audit_flush_interval": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gatehouse.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the newest schema, migrated once per session: ``runtime``
    starts each test on a copy of it instead of running every migration again."""
    path = tmp_path_factory.mktemp("template") / "gatehouse.db"
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()  # the last connection out checkpoints the WAL into the file
    return path


def copy_migrated_sqlite(settings: Settings, template: Path) -> None:
    """Put a copy of ``template`` where ``settings`` keeps its SQLite database, if that is the
    default file and it does not exist yet; any other database is left to ``Runtime.open``."""
    target = settings.data_dir / "gatehouse.db"
    if settings.sqlalchemy_url != f"sqlite:///{target}" or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


@pytest.fixture
def runtime(settings: Settings, migrated_sqlite: Path) -> Iterator[Runtime]:
    """A runtime on a fresh database: a copy of the migrated template for the default SQLite
    file (``Runtime.open`` still migrates, finding nothing to do), else whatever
    ``settings`` names."""
    copy_migrated_sqlite(settings, migrated_sqlite)
    rt = Runtime.open(settings)
    yield rt
    rt.store.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The whole app in-process, lifespan included."""
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real ``gatehouse serve`` process on a free port, with the demo seeded."""
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()
