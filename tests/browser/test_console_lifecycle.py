"""An operator's day in a real browser against a real server: result pages that do nothing new
when reloaded, an app client edited, rotated with grace, disabled and enabled, console users,
the audit log, search — with and without script, on a desktop and on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_console_flow import DESKTOP, PHONE, sign_in, token_status
from tests.factories import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BASE = "/console/apiAccess/appClients"


@pytest.fixture
def desktop(chromium: Browser) -> Iterator[BrowserContext]:
    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


def new_client(server: LiveServer, name: str, *roles: str) -> dict[str, str]:
    args = ["clients", "create", "--customer", "demo", "--name", name]
    for role in roles or ("viewer",):
        args += ["--role", role]
    created: dict[str, str] = server.cli(*args)
    return created


def token(server: LiveServer, client_id: str, secret: str) -> dict[str, object]:
    response = httpx.post(
        f"{server.base_url}/customers/demo/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def no_sideways_scroll(page: Page) -> int:
    overflow: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def test_reloading_result_pages_creates_and_rotates_nothing(
    desktop: BrowserContext, demo_server: LiveServer
) -> None:
    server = demo_server
    page = desktop.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Create app client").first.click()
    page.get_by_label("Name", exact=True).fill("Reload job")
    page.get_by_role("button", name="Create app client").click()
    heading = page.get_by_role("heading", name="Created the app client “Reload job”.")
    expect(heading).to_be_visible()
    assert "gths_" not in page.url
    client_id = page.get_by_label("Client ID", exact=True).input_value()
    secret = page.get_by_label("Client secret", exact=True).input_value()
    page.reload()  # F5
    expect(heading).to_be_visible()
    expect(page.locator("#secret-gone")).to_be_visible()
    expect(page.get_by_label("Client secret", exact=True)).to_have_count(0)
    page.goto(f"{server.base_url}{BASE}?q=Reload+job")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert token_status(server, client_id, secret) == 200

    # Rotation from the client's page, grace "None": the old secret stops; F5 rotates nothing.
    page.get_by_role("link", name="Reload job", exact=True).click()
    page.locator("#secret").get_by_label("Grace period").select_option("0")
    page.locator("#secret").get_by_role("button", name="Rotate secret").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Rotate secret").click()
    expect(
        page.get_by_role("heading", name="Rotated the secret of “Reload job”. The previous")
    ).to_be_visible()
    rotated = page.get_by_label("Client secret", exact=True).input_value()
    page.reload()
    expect(page.locator("#secret-gone")).to_be_visible()
    assert token_status(server, client_id, secret) == 401
    assert token_status(server, client_id, rotated) == 200  # still the one shown: not rotated again


def test_a_double_click_on_create_makes_one_client(
    desktop: BrowserContext, demo_server: LiveServer
) -> None:
    server = demo_server
    page = desktop.new_page()
    sign_in(page, server)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{server.base_url}{BASE}/new")
    page.get_by_label("Name", exact=True).fill("Double click")
    page.get_by_role("button", name="Create app client").dblclick()
    expect(
        page.get_by_role("heading", name="Created the app client “Double click”.")
    ).to_be_visible()
    page.goto(f"{server.base_url}{BASE}?q=Double+click")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert posts, "the form was not posted"
    # The same form sent twice at once from the page (what a resent POST is on the wire).
    page.goto(f"{server.base_url}{BASE}/new")
    page.get_by_label("Name", exact=True).fill("Sent twice")
    urls = page.evaluate(
        """async () => {
            const form = document.querySelector("form[action='/console/apiAccess/appClients']");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form)});
            const answers = await Promise.all([send(), send()]);
            return answers.map(a => a.url);
        }"""
    )
    assert len(set(urls)) == 1, urls  # both led to the one result
    page.goto(f"{server.base_url}{BASE}?q=Sent+twice")
    expect(page.locator("tbody tr")).to_have_count(1)


def test_an_app_client_is_edited_rotated_with_grace_disabled_and_enabled(
    desktop: BrowserContext, demo_server: LiveServer, screenshots: Path
) -> None:
    server = demo_server
    created = new_client(server, "Ingest")
    client_id, secret = created["client_id"], created["client_secret"]
    page = desktop.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Ingest", exact=True).click()
    expect(page).to_have_url(f"{server.base_url}{BASE}/{created['id']}")
    expect(page.get_by_role("navigation", name="Sections of this app client")).to_contain_text(
        "Audit log"
    )
    page.screenshot(path=screenshots / "app-client-detail.png", full_page=True)

    page.get_by_label("Name", exact=True).fill("Ingest v2")
    page.get_by_label("corpus_developer", exact=True).check()
    page.get_by_label("Token lifetime (seconds)", exact=True).fill("600")
    page.get_by_label("Token quota (tokens an hour)", exact=True).fill("100")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").first).to_have_text("Saved the changes to “Ingest v2”.")
    expect(page.get_by_role("heading", name="Ingest v2")).to_be_visible()
    issued = token(server, client_id, secret)
    assert issued["expires_in"] == 600
    assert set(str(issued["scope"]).split()) == {"viewer", "corpus_developer"}

    # Rotate with the default grace period (1 hour): both secrets work.
    page.locator("#secret").get_by_role("button", name="Rotate secret").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("heading", name="keeps working for 1 hour")).to_be_visible()
    new_secret = page.get_by_label("Client secret", exact=True).input_value()
    assert token_status(server, client_id, secret) == 200
    assert token_status(server, client_id, new_secret) == 200
    page.get_by_role("link", name="Open “Ingest v2”").click()
    expect(page.get_by_text("The previous secret still works until")).to_be_visible()

    # Disable (asked first), then enable.
    page.get_by_role("button", name="Disable app client").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Disable app client").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Disabled “Ingest v2”. Its tokens are rejected from now on."
    )
    assert token_status(server, client_id, new_secret) == 401
    page.get_by_role("button", name="Enable app client").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Enabled “Ingest v2”: it can get tokens again."
    )
    assert token_status(server, client_id, new_secret) == 200


def test_console_users_are_added_changed_reset_and_removed(
    chromium: Browser, desktop: BrowserContext, demo_server: LiveServer, screenshots: Path
) -> None:
    server = demo_server
    page = desktop.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_label("Email", exact=True).fill("ops@demo.local")
    page.get_by_role("button", name="Add user").click()
    expect(
        page.get_by_role("heading", name="Added ops@demo.local as administrator.")
    ).to_be_visible()
    password_box = page.get_by_label("Password", exact=True)
    expect(password_box).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show Password").click()
    expect(password_box).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide Password")).to_have_attribute(
        "aria-pressed", "true"
    )
    password = password_box.input_value()
    page.reload()
    expect(page.locator("#secret-gone")).to_be_visible()

    other = chromium.new_context(viewport=DESKTOP)
    try:
        theirs = other.new_page()
        theirs.goto(f"{server.base_url}/console/login")
        theirs.get_by_label("Email", exact=True).fill("ops@demo.local")
        theirs.get_by_label("Password", exact=True).fill(password)
        theirs.get_by_role("button", name="Sign in").click()
        expect(theirs.get_by_text("ops@demo.local").first).to_be_visible()
    finally:
        other.close()

    page.get_by_role("link", name="Back to users").click()
    row = page.locator("tr[data-user='ops@demo.local']")
    row.get_by_label("Role of ops@demo.local").select_option("owner")
    row.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Changed the role of ops@demo.local to owner."
    )
    page.screenshot(path=screenshots / "users.png", full_page=True)
    page.get_by_label("Actions for ops@demo.local", exact=True).click()
    row.get_by_role("button", name="Reset password").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Reset password").click()
    expect(
        page.get_by_role("heading", name="Reset the password of ops@demo.local.")
    ).to_be_visible()
    assert page.get_by_label("Password", exact=True).input_value() != password
    page.get_by_role("link", name="Back to users").click()
    page.get_by_label("Actions for ops@demo.local", exact=True).click()
    page.locator("tr[data-user='ops@demo.local']").get_by_role("button", name="Remove user").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Remove user").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Removed ops@demo.local. Their sessions have ended."
    )
    expect(page.locator("tr[data-user='ops@demo.local']")).to_have_count(0)


def test_the_audit_log_is_filtered_by_action_and_client(
    desktop: BrowserContext, demo_server: LiveServer, screenshots: Path
) -> None:
    server = demo_server
    new_client(server, "Audited")
    page = desktop.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("App client", exact=True).select_option(label="Audited")
    page.get_by_role("button", name="Filter").click()
    actions = page.locator("tbody th[data-label=Action]")
    expect(actions).to_have_text(["app_client.create"])
    expect(page.get_by_label("App client", exact=True)).to_have_value(
        page.locator("#client option:checked").get_attribute("value") or ""
    )
    page.get_by_role("link", name="Clear").click()
    expect(actions.first).to_be_visible()
    page.get_by_label("Action", exact=True).fill("app_client.create")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{server.base_url}/console/audit?action=app_client.create&client=")
    assert set(actions.all_inner_texts()) == {"app_client.create"}
    expect(page.locator("tbody td[data-label=Target]", has_text="Audited")).to_have_count(1)
    page.get_by_role("link", name="Clear").click()
    page.screenshot(path=screenshots / "audit.png", full_page=True)


def test_ids_and_secrets_are_monospaced_and_a_signed_in_404_keeps_the_header(
    desktop: BrowserContext, demo_server: LiveServer
) -> None:
    server = demo_server
    page = desktop.new_page()
    sign_in(page, server)
    font = page.get_by_label("OAuth 2.0 authentication URL", exact=True).evaluate(
        "el => getComputedStyle(el).fontFamily"
    )
    assert "monospace" in font
    page.goto(f"{server.base_url}/console/no/such/page")
    expect(page.get_by_text("There is no such page in the console.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("link", name="Users", exact=True)).to_be_visible()


def test_without_script_a_client_is_edited_and_disabled_and_a_user_added(
    chromium: Browser, demo_server: LiveServer
) -> None:
    server = demo_server
    created = new_client(server, "No JS")
    context = chromium.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server)
        page.goto(f"{server.base_url}{BASE}/{created['id']}")
        page.get_by_label("Description (optional)", exact=True).fill("edited without script")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_role("status").first).to_have_text("Saved the changes to “No JS”.")
        page.get_by_role("button", name="Disable app client").click()
        expect(page.get_by_role("heading", name="Disable “No JS”?")).to_be_visible()
        page.get_by_role("button", name="Disable app client").click()
        expect(page.get_by_role("status").first).to_have_text(
            "Disabled “No JS”. Its tokens are rejected from now on."
        )
        assert token_status(server, created["client_id"], created["client_secret"]) == 401
        page.goto(f"{server.base_url}/console/users")
        page.get_by_label("Email", exact=True).fill("noscript@demo.local")
        page.get_by_role("button", name="Add user").click()
        expect(page.get_by_label("Password", exact=True)).to_be_hidden()
        page.locator("details.reveal > summary").click()
        expect(page.get_by_label("Password", exact=True)).to_be_visible()
    finally:
        context.close()


def test_on_a_phone_the_new_pages_fit_and_badges_and_dates_stay_compact(
    chromium: Browser, demo_server: LiveServer, screenshots: Path
) -> None:
    server = demo_server
    owner = token(server, server.demo["client_id"], server.demo["client_secret"])
    for i in range(5):  # the owner client becomes corpus owner of each: badges to collapse
        response = httpx.post(
            f"{server.base_url}/v2/corpora",
            json={"key": f"phone-{i}"},
            headers={"Authorization": f"Bearer {owner['access_token']}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
    created = new_client(server, "Phone job")
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        sign_in(page, server)
        row = page.locator("tr", has_text="Demo owner client")
        expect(row.get_by_text("corpus roles")).to_be_visible()
        expect(row.locator(".badge-corpus", has_text="phone-0")).to_be_hidden()
        heights = page.locator("time.when").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().height"
            " / parseFloat(getComputedStyle(e).lineHeight))"
        )
        assert heights
        assert max(heights) < 1.5, heights  # one line each
        for path, shot in (
            (f"{BASE}/{created['id']}", "app-client-detail-phone.png"),
            ("/console/users", None),
            ("/console/audit", None),
            (f"{BASE}?q=Phone", None),
            ("/console/corpora?q=phone", None),
        ):
            page.goto(server.base_url + path)
            assert no_sideways_scroll(page) <= 0, f"{path} scrolls sideways on a phone"
            if shot:
                page.screenshot(path=screenshots / shot, full_page=True)
    finally:
        context.close()
