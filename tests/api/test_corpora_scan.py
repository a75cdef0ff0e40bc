"""A filtered ListCorpora over many corpora examines a bounded number of rows per request and
runs off the event loop: another tenant's request is answered while one tenant pages through
a scan of thousands of corpora that match nothing."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
from sqlalchemy import insert

from gatehouse.api.corpora import MAX_SCANNED
from gatehouse.store import tables as t
from tests.api.conftest import Api, Caller
from tests.api.test_bearer_memory import api_context

MANY = 5 * MAX_SCANNED + 7


def add_corpora(api: Api, customer_id: str, count: int) -> None:
    now = time.time()
    rows = [
        {
            "customer_id": customer_id,
            "key": f"corpus-{i:05d}",
            "name": f"Corpus {i}",
            "description": "",
            "enabled": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with api.runtime.store.engine.begin() as conn:
        conn.execute(insert(t.corpora), rows)


def test_a_filtered_scan_examines_at_most_max_scanned_rows_per_request(
    api: Api, owner: Caller
) -> None:
    add_corpora(api, "acme", MANY)
    pages = 0
    found: list[str] = []
    params: dict[str, str] = {"filter": "^corpus-0[0-9]{3}9$|nothing", "limit": "100"}
    while True:
        response = api.client.get("/v2/corpora", params=params, headers=owner.headers)
        assert response.status_code == 200
        body = response.json()
        pages += 1
        found += [corpus["key"] for corpus in body["corpora"]]
        if body["metadata"]["page_key"] is None:
            break
        params["page_key"] = body["metadata"]["page_key"]
    # Every request stopped after MAX_SCANNED rows: the whole scan took one request per bound.
    assert pages == MANY // MAX_SCANNED + 1
    assert found == [f"corpus-{i:05d}" for i in range(9, 10000, 10) if i < MANY]


def test_an_unfiltered_page_is_full_and_pages_cover_everything(api: Api, owner: Caller) -> None:
    add_corpora(api, "acme", 250)
    keys: list[str] = []
    params: dict[str, str] = {"limit": "100"}
    while True:
        body = api.client.get("/v2/corpora", params=params, headers=owner.headers).json()
        keys += [corpus["key"] for corpus in body["corpora"]]
        if body["metadata"]["page_key"] is None:
            break
        assert len(body["corpora"]) == 100
        params["page_key"] = body["metadata"]["page_key"]
    assert keys == [f"corpus-{i:05d}" for i in range(250)]


def test_another_tenant_is_answered_while_a_big_filtered_scan_runs(api: Api, owner: Caller) -> None:
    add_corpora(api, "acme", MANY)
    api.customer("globex")
    other = api.caller("owner", customer_id="globex")
    order: list[str] = []
    under_way = asyncio.Event()

    async def scan(http: httpx.AsyncClient) -> None:
        params = {"filter": "matches-nothing"}
        while True:
            response = await http.get("/v2/corpora", params=params, headers=owner.headers)
            order.append("scan page")
            under_way.set()
            page_key = response.json()["metadata"]["page_key"]
            if page_key is None:
                order.append("scan done")
                return
            params["page_key"] = page_key

    async def other_tenant(http: httpx.AsyncClient) -> None:
        await under_way.wait()
        response = await http.get("/v2/corpora", headers=other.headers)
        assert response.json() == {"corpora": [], "metadata": {"page_key": None}}
        order.append("other tenant")

    async def both() -> None:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await asyncio.gather(scan(http), other_tenant(http))

    asyncio.run(both())
    assert order.index("other tenant") < order.index("scan done")


def test_store_reads_never_run_on_the_event_loop(api: Api) -> None:
    context = api_context(api)

    async def threads() -> tuple[int, int, int]:
        loop_thread = threading.get_ident()
        single = await context.read(lambda _reader: threading.get_ident(), single=True)
        several = await context.read(lambda _reader: threading.get_ident())
        return loop_thread, single, several

    loop_thread, single, several = asyncio.run(threads())
    assert loop_thread not in (single, several)


def test_filtered_scans_run_one_at_a_time_and_other_reads_do_not_wait(api: Api) -> None:
    context = api_context(api)
    running = {"scans": 0, "most": 0}
    lock = threading.Lock()
    started, plain_done = threading.Event(), threading.Event()
    seen_by_plain: list[int] = []

    def scanning(_reader: object) -> None:
        with lock:
            running["scans"] += 1
            running["most"] = max(running["most"], running["scans"])
        started.set()
        # Each scan holds on until the ordinary read is done: were the scans not kept apart,
        # all four would be running together now.
        assert plain_done.wait(10)
        with lock:
            running["scans"] -= 1

    def plain(_reader: object) -> None:
        with lock:
            seen_by_plain.append(running["scans"])
        plain_done.set()

    async def all_at_once() -> None:
        scans = [asyncio.ensure_future(context.read(scanning, scan=True)) for _ in range(4)]
        assert await asyncio.to_thread(started.wait, 10)
        await context.read(plain)  # goes ahead of the three queued scans
        await asyncio.gather(*scans)

    asyncio.run(all_at_once())
    assert running["most"] == 1
    assert seen_by_plain == [1]
