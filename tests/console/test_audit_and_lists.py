"""The audit log page (filters, paging) and search and paging on the app clients and corpora
lists."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusStore
from gatehouse.store.models import AuditEvent
from tests.factories import add_client, add_customer

BASE = "/console/apiAccess/appClients"
NAME_CELL = re.compile(r'data-label="Name"><a href="[^"]+">([^<]+)</a>')
KEY_CELL = re.compile(r'data-label="Key"><code>([^<]+)</code>')
ACTION_CELL = re.compile(r'data-label="Action"><code>([^<]+)</code>')
NEXT = re.compile(r'<a class="btn btn-small" href="([^"]+)" rel="next">Next page »</a>')


def events(runtime: Runtime, customer: str, count: int, action: str, target: str) -> None:
    now = time.time()
    runtime.store.append_audit(
        events=[
            AuditEvent(
                customer_id=customer,
                at=now,
                actor="t",
                action=action,
                target=target,
                detail={"n": i},
            )
            for i in range(count)
        ]
    )


def test_the_audit_log_filters_by_action_and_client_and_pages(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    ingest, secret = add_client(runtime, roles=("viewer",), name="ingest")
    other, _ = add_client(runtime, roles=("viewer",), name="other")
    events(runtime, "acme", 60, "token.issue", ingest.id)
    events(runtime, "acme", 3, "token.issue", other.id)
    add_customer(runtime, "elsewhere")
    events(runtime, "elsewhere", 5, "token.issue", "app_elsewhere")
    page = client.get("/console/audit")
    assert page.status_code == 200
    assert len(ACTION_CELL.findall(page.text)) == 50
    assert "app_elsewhere" not in page.text
    by_client = client.get("/console/audit", params={"client": ingest.id, "action": "token.issue"})
    assert ACTION_CELL.findall(by_client.text) == ["token.issue"] * 50
    assert f'<a href="{BASE}/{ingest.id}">ingest</a>' in by_client.text
    assert f'<option value="{ingest.id}" selected>ingest</option>' in by_client.text
    older = NEXT.search(by_client.text)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert ACTION_CELL.findall(second.text) == ["token.issue"] * 10
    assert NEXT.search(second.text) is None
    assert "« First page" in second.text
    by_client_id = client.get("/console/audit", params={"client": other.client_id})
    assert ACTION_CELL.findall(by_client_id.text) == ["token.issue"] * 3 + ["app_client.create"]
    creates = client.get("/console/audit", params={"action": "app_client.create"})
    assert ACTION_CELL.findall(creates.text) == ["app_client.create"] * 2
    assert "<kv" not in creates.text
    assert secret not in page.text
    nonsense = client.get("/console/audit", params={"action": "<b>", "before": "x"})
    assert nonsense.status_code == 200
    none = client.get("/console/audit", params={"action": "no.such"})
    assert "No events match these filters" in none.text


def test_app_clients_are_searched_by_name_or_client_id_and_paged(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    records = [add_client(runtime, roles=("viewer",), name=f"job {i:02d}")[0] for i in range(30)]
    add_client(runtime, roles=("viewer",), name="Nightly Report")
    first = client.get(BASE)
    assert len(NAME_CELL.findall(first.text)) == 25
    more = NEXT.search(first.text)
    assert more is not None
    second = client.get(more.group(1))
    assert len(NAME_CELL.findall(second.text)) == 6
    assert set(NAME_CELL.findall(first.text)).isdisjoint(NAME_CELL.findall(second.text))
    assert NEXT.search(second.text) is None
    found = client.get(BASE, params={"q": "nightly"})
    assert NAME_CELL.findall(found.text) == ["Nightly Report"]
    assert 'value="nightly"' in found.text
    by_id = client.get(BASE, params={"q": records[7].client_id})
    assert NAME_CELL.findall(by_id.text) == ["job 07"]
    by_app_id = client.get(BASE, params={"q": records[8].id})
    assert NAME_CELL.findall(by_app_id.text) == ["job 08"]
    nothing = client.get(BASE, params={"q": "zzz"})
    assert "No app client matches “zzz”" in nothing.text
    add_customer(runtime, "other")
    theirs, _ = add_client(runtime, "other", roles=("viewer",), name="theirs")
    assert "theirs" not in client.get(BASE, params={"q": theirs.client_id}).text


def test_corpora_are_searched_by_key_or_name_and_paged(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    corpora = CorpusStore(runtime.store.engine)
    for i in range(27):
        corpora.insert_corpus(
            customer_id="acme", key=f"docs-{i:02d}", name=f"Docs {i}", description=""
        )
    corpora.insert_corpus(customer_id="acme", key="faq", name="Frequently asked", description="")
    first = client.get("/console/corpora")
    assert len(KEY_CELL.findall(first.text)) == 25
    more = NEXT.search(first.text)
    assert more is not None
    assert KEY_CELL.findall(client.get(more.group(1)).text) == ["docs-25", "docs-26", "faq"]
    assert KEY_CELL.findall(client.get("/console/corpora", params={"q": "ASKED"}).text) == ["faq"]
    assert KEY_CELL.findall(client.get("/console/corpora", params={"q": "docs-1"}).text) == [
        f"docs-1{i}" for i in range(10)
    ]
    literal = client.get("/console/corpora", params={"q": "%"})
    assert "No corpus matches “%”" in literal.text
