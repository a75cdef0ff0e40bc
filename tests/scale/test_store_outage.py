"""While the store is unreachable, cached clients keep getting tokens and any other token request
gets ``503 temporarily_unavailable`` with ``Retry-After`` within 2 s; ``/readyz`` says the store
is down (docs/scale.md). PostgreSQL is made unreachable by stopping a TCP proxy of the test's own
in front of it; SQLite by replacing its file with one that is not a database."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.appclients import Actor
from gatehouse.clientimport import ImportOptions, import_clients
from gatehouse.masterkey import MasterKey
from gatehouse.runtime import Runtime
from gatehouse.store.engine import create_store_engine
from gatehouse.store.store import Store
from tests.conftest import make_settings
from tests.factories import add_client, add_customer, basic_auth, start_server
from tests.replica.helpers import get_token, seconds_until
from tests.scale.conftest import master_key_of
from tests.scale.tcpproxy import TcpProxy

COLD_ID = "cold-client-imported-0001"
COLD_SECRET = "cold-client-secret-0123456789"
UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "the client store is unreachable; retry shortly",
}


def import_cold(store: Store, master_key: MasterKey, customer: str) -> None:
    line = orjson.dumps({"name": "cold", "client_id": COLD_ID, "client_secret": COLD_SECRET})
    options = ImportOptions(customer_id=customer, keep_secret=True, default_lifetime=1800)
    import_clients(store, master_key, lines=[line], options=options, actor=Actor("test"))


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_postgresql_unreachable_cached_clients_keep_going_others_get_503(
    tmp_path: Path, postgres_url: str
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxy.start()
    name = postgres_url.rsplit("/", 1)[1]
    through_proxy = f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}"
    server = start_server(tmp_path, GATEHOUSE_DATABASE_URL=through_proxy)
    engine = create_store_engine(postgres_url)
    try:
        demo = server.demo
        with httpx.Client(timeout=10) as http:
            get_token(http, server, demo["client_id"], demo["client_secret"])  # now cached
            import_cold(Store(engine), master_key_of(server), "demo")
            proxy.stop()
            tokens = [get_token(http, server, demo["client_id"], demo["client_secret"])]
            started = time.monotonic()
            cold = http.post(
                f"{server.base_url}/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(COLD_ID, COLD_SECRET),
            )
            took = time.monotonic() - started
            tokens += [
                get_token(http, server, demo["client_id"], demo["client_secret"]) for _ in range(20)
            ]
            started = time.monotonic()
            ready = http.get(f"{server.base_url}/readyz")
            ready_took = time.monotonic() - started
            proxy.start()

            def cold_works() -> bool:
                return (
                    http.post(
                        f"{server.base_url}/oauth2/token",
                        data={"grant_type": "client_credentials"},
                        auth=(COLD_ID, COLD_SECRET),
                    ).status_code
                    == 200
                )

            seconds_until(cold_works, timeout=15)
        assert len({t["access_token"] for t in tokens}) == 21
        assert (cold.status_code, cold.json()) == (503, UNAVAILABLE)
        assert cold.headers["retry-after"] == "1"
        assert cold.headers["cache-control"] == "no-store"
        assert took < 2.0
        assert (ready.status_code, ready.json()) == (
            503,
            {"status": "unavailable", "database": False, "change_feed": {"ok": True, "skipped": 0}},
        )
        assert ready_took < 3.0
    finally:
        proxy.stop()
        server.stop()
        engine.dispose()


def test_sqlite_file_unreadable_cached_clients_keep_going_others_get_503(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    runtime = Runtime.open(settings)
    add_customer(runtime)
    warm, warm_secret = add_client(runtime)
    import_cold(runtime.store, runtime.master_key, "acme")  # not applied: no poller runs here
    path = tmp_path / "gatehouse.db"
    form = {"grant_type": "client_credentials"}
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
        headers = {"Authorization": basic_auth(warm.client_id, warm_secret)}
        assert client.post("/oauth2/token", data=form, headers=headers).status_code == 200
        runtime.replica.stop()  # the poller would mark the store down too; keep the test exact
        runtime.store.engine.dispose()
        path.rename(tmp_path / "saved.db")
        path.write_bytes(b"not a database " * 512)
        try:
            assert client.post("/oauth2/token", data=form, headers=headers).status_code == 200
            cold = client.post(
                "/oauth2/token",
                data=form,
                headers={"Authorization": basic_auth(COLD_ID, COLD_SECRET)},
            )
            ready = client.get("/readyz")
        finally:
            runtime.store.engine.dispose()
            (tmp_path / "saved.db").replace(path)
    runtime.store.engine.dispose()
    assert (cold.status_code, cold.json()) == (503, UNAVAILABLE)
    assert cold.headers["retry-after"] == "1"
    assert ready.status_code == 503
