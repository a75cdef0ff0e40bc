"""What every page owes its users: local assets only, security headers, a CSRF token in every
form, a label on every field, and a playground open to anyone."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gatehouse.console import render
from gatehouse.console.render import CONTENT_SECURITY_POLICY
from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusStore
from tests.factories import add_client

CONSOLE_DIR = Path(render.__file__).parent
SIGNED_IN_PAGES = [
    "/console/apiAccess/appClients",
    "/console/apiAccess/appClients/new",
    "/console/apiAccess/keys",
    "/console/corpora",
    "/playground",
]


class FormAudit(HTMLParser):
    """Collects forms, form controls, labels and external references of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []
        self.form_tokens: list[bool] = []
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.references: list[str] = []
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name in ("src", "href", "action"):
            value = a.get(name)
            if value:
                self.references.append(value)
        if tag == "form":
            self.forms.append(a)
            self.form_tokens.append(False)
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        elif tag in ("input", "select", "textarea"):
            if a.get("type") == "hidden":
                if a.get("name") == "csrf_token" and self.form_tokens:
                    self.form_tokens[-1] = True
                return
            self.controls.append({**a, "wrapped": "yes" if self._label_depth else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


def audit(html: str) -> FormAudit:
    parser = FormAudit()
    parser.feed(html)
    return parser


@pytest.fixture
def populated(runtime: Runtime, owner: str) -> str:
    add_client(runtime, "acme", roles=("viewer",), name="reader")
    CorpusStore(runtime.store.engine).insert_corpus(
        customer_id="acme", key="docs", name="Docs", description=""
    )
    return owner


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_every_page_has_labelled_fields_csrf_in_post_forms_and_only_local_references(
    client: TestClient, populated: str, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    found = audit(page.text)
    for form, has_token in zip(found.forms, found.form_tokens, strict=True):
        if (form.get("method") or "get").lower() == "post":
            assert has_token, f"{path}: form {form.get('action')} has no CSRF token"
    for control in found.controls:
        labelled = (
            control.get("id") in found.label_for
            or control.get("wrapped")
            or control.get("aria-label")
        )
        assert labelled, f"{path}: unlabelled control {control}"
    for reference in found.references:
        assert reference.startswith(("/", "#")), f"{path}: external reference {reference}"


def test_the_sign_in_page_is_usable_without_a_session(client: TestClient) -> None:
    found = audit(client.get("/console/login").text)
    posts = [
        t for f, t in zip(found.forms, found.form_tokens, strict=True) if f.get("method") == "post"
    ]
    assert posts == [True]
    assert all(c.get("id") in found.label_for for c in found.controls)


def test_the_playground_is_open_without_signing_in(client: TestClient) -> None:
    page = client.get("/playground")
    assert page.status_code == 200
    assert '<label for="pg-bearer">Bearer Token</label>' in page.text
    assert ">Send API Request</button>" in page.text
    assert 'data-openapi-urls="/v2/openapi.json /openapi.json"' in page.text
    # Signed out, the shared token endpoint (it finds the customer from the client) is offered.
    assert 'id="pg-token-url" type="url" value="http://testserver/oauth2/token"' in page.text
    assert "Sign out" not in page.text


def test_the_playground_offers_the_customers_token_url_when_signed_in(
    client: TestClient, owner: str
) -> None:
    page = client.get("/playground")
    assert 'value="http://testserver/customers/acme/oauth2/token"' in page.text


def test_the_openapi_document_lists_list_corpora_for_the_playground(client: TestClient) -> None:
    document = client.get("/v2/openapi.json").json()
    operation_ids = [
        op.get("operationId", "").lower()
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
    ]
    assert "listcorpora" in operation_ids


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("console.css", "text/css; charset=utf-8"),
        ("console.js", "text/javascript; charset=utf-8"),
        ("playground.js", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_static_assets_are_served_by_gatehouse(
    client: TestClient, name: str, content_type: str
) -> None:
    response = client.get(f"/console/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (CONSOLE_DIR / "static" / name).read_bytes()


def test_no_template_or_asset_loads_anything_from_another_origin() -> None:
    external = re.compile(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", re.IGNORECASE)
    for path in [*CONSOLE_DIR.glob("templates/*.html"), *CONSOLE_DIR.glob("static/*")]:
        text = path.read_text()
        assert external.search(text) is None, path.name
        assert "@import" not in text, path.name


def test_an_unknown_static_file_is_404(client: TestClient) -> None:
    assert client.get("/console/static/nope.js").status_code == 404


def test_an_unknown_console_page_is_an_html_404(client: TestClient) -> None:
    response = client.get("/console/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "There is no such page in the console." in response.text
