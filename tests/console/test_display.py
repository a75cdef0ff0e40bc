"""What makes the console readable: monospaced IDs and secrets, masked secrets with a reveal
that needs no script, times that do not wrap, corpus-role badges that collapse, and the
signed-in header on the 404 page."""

from __future__ import annotations

from starlette.testclient import TestClient

from gatehouse.console.render import STATIC_DIR
from gatehouse.console.timefmt import exact_time, relative_time
from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusStore
from tests.console.forms import submit
from tests.factories import add_client

BASE = "/console/apiAccess/appClients"
NOW = 1_800_000_000.0


def test_times_read_relative_with_the_exact_time_beside() -> None:
    assert relative_time(NOW - 20, NOW) == "just now"
    assert relative_time(NOW - 125, NOW) == "2 min ago"
    assert relative_time(NOW - 3 * 3600, NOW) == "3 h ago"
    assert relative_time(NOW - 86400 - 5, NOW) == "1 day ago"
    assert relative_time(NOW - 9 * 86400, NOW) == "9 days ago"
    assert relative_time(NOW + 3599, NOW) == "in 59 min"
    assert relative_time(NOW - 40 * 86400, NOW) == "2026-12-06"
    assert exact_time(NOW) == "2027-01-15 08:00:00 UTC"


def test_dates_are_time_elements_that_do_not_wrap(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    record, _secret = add_client(runtime, roles=("viewer",), name="ingest")
    page = client.get(BASE)
    iso = page.text.split('<time class="when" datetime="', 1)[1].split('"', 1)[0]
    assert iso.endswith("+00:00")
    assert f'title="{exact_time(record.created_at)}">just now</time>' in page.text
    css = (STATIC_DIR / "console.css").read_text()
    assert "time.when { white-space: nowrap; }" in css


def test_ids_and_secrets_are_monospaced_and_the_secret_is_masked_until_shown(
    client: TestClient, owner: str
) -> None:
    css = (STATIC_DIR / "console.css").read_text()
    # The input rule sets `font: inherit`; this later, more specific rule wins for inputs.
    assert "input.mono, textarea.mono, select.mono, .mono { font-family: var(--mono);" in css
    shown = submit(client, f"{BASE}/new", BASE, follow=True, name="ingest")
    text = shown.text
    assert 'id="client-id" type="text" value="' in text
    assert 'class="mono"' in text
    masked = text.split('<details class="reveal" data-reveal>', 1)[1].split("</details>", 1)[0]
    assert '<span class="mask mono" aria-hidden="true">gths_••••' in masked
    assert '<span class="reveal-word">Show<span class="visually-hidden"> Client secret</span>' in (
        masked
    )
    assert 'id="client-secret" type="text" value="gths_' in masked
    assert 'class="mono secret"' in masked
    assert "$CLIENT_SECRET" in text  # the curl example never spells the secret out


def test_many_corpus_roles_collapse_to_a_count(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    corpora = CorpusStore(runtime.store.engine)
    for i in range(5):
        corpora.insert_corpus(customer_id="acme", key=f"c{i}", name=f"C{i}", description="")
    add_client(
        runtime,
        roles=("owner",),
        name="root",
        corpus_roles=tuple({"corpus_key": f"c{i}", "role": "owner"} for i in range(5)),
    )
    add_client(
        runtime,
        roles=(),
        name="reader",
        corpus_roles=({"corpus_key": "c0", "role": "viewer"},),
    )
    page = client.get(BASE)
    assert '<summary><span class="badge badge-corpus">5 corpus roles</span></summary>' in page.text
    assert page.text.count('<details class="badge-more">') == 1
    assert '<span class="badge badge-corpus">c0: viewer</span>' in page.text


def test_the_404_page_shows_the_signed_in_header_to_a_signed_in_user(
    client: TestClient, owner: str
) -> None:
    page = client.get("/console/no/such/page")
    assert page.status_code == 404
    assert "There is no such page in the console." in page.text
    assert '<span class="email">owner@acme.test</span>' in page.text
    assert ">Sign out</button>" in page.text
    assert 'href="/console/users"' in page.text
    client.cookies.clear()
    signed_out = client.get("/console/no/such/page")
    assert signed_out.status_code == 404
    assert ">Sign out</button>" not in signed_out.text
    assert '<a class="btn btn-quiet" href="/console/login">Sign in</a>' in signed_out.text
