"""The seed's journey in a real browser against a real server: sign in, "Create app client",
copy the secret, get a token over plain HTTP, ListCorpora in the API Playground, rotate, delete.
No request may leave the machine."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.factories import LiveServer, start_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/console/login")
    page.get_by_label("Email", exact=True).fill(server.demo["console_email"])
    page.get_by_label("Password", exact=True).fill(server.demo["console_password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.base_url}/console/apiAccess/appClients")


def token_status(server: LiveServer, client_id: str, secret: str) -> int:
    response = httpx.post(
        f"{server.base_url}/customers/demo/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    return response.status_code


def row_menu(page: Page, name: str) -> Page:
    page.get_by_label(f"Actions for {name}", exact=True).click()
    return page


def test_from_create_app_client_to_list_corpora_in_the_playground(
    chromium: Browser, demo_server: LiveServer, screenshots: Path
) -> None:
    server = demo_server
    context = chromium.new_context(
        viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server.base_url}/console/login")
        page.screenshot(path=screenshots / "login.png")
        sign_in(page, server)
        expect(page.get_by_label("OAuth 2.0 authentication URL", exact=True)).to_have_value(
            server.demo["token_url"]
        )

        # A corpus, so that ListCorpora has something to list.
        page.get_by_role("link", name="Corpora").click()
        page.get_by_label("Key", exact=True).fill("product-manuals")
        page.get_by_label("Name (optional)", exact=True).fill("Product manuals")
        page.get_by_role("button", name="Create corpus").click()
        expect(page.get_by_role("status").first).to_have_text(
            "Created the corpus “product-manuals”."
        )
        page.screenshot(path=screenshots / "corpora.png", full_page=True)

        # "Create app client": Name, Description, roles; then the client and its secret.
        page.get_by_role("link", name="API access").click()
        page.get_by_role("link", name="Create app client").first.click()
        page.get_by_label("Name", exact=True).fill("Reporting job")
        page.get_by_label("Description (optional)", exact=True).fill("Nightly corpus report")
        expect(page.get_by_label("viewer", exact=True)).to_be_checked()
        page.get_by_label("corpus_developer", exact=True).check()
        page.screenshot(path=screenshots / "create-app-client.png", full_page=True)
        page.get_by_role("button", name="Create app client").click()
        expect(
            page.get_by_role("heading", name="Created the app client “Reporting job”.")
        ).to_be_visible()
        client_id = page.get_by_label("Client ID", exact=True).input_value()
        # The secret is masked: a password field until "Show" is pressed; copying needs no reveal.
        secret_box = page.get_by_label("Client secret", exact=True)
        expect(secret_box).to_have_attribute("type", "password")
        secret = secret_box.input_value()
        assert secret.startswith("gths_")
        page.screenshot(path=screenshots / "app-client-created.png", full_page=True)

        # The table row, and "Copy secret" from its menu onto the clipboard.
        page.get_by_role("link", name="Back to app clients").click()
        row = page.locator("tr", has_text="Reporting job")
        expect(row.locator("td[data-label=Description]")).to_have_text("Nightly corpus report")
        expect(row.locator("code.client-id")).to_have_text(client_id)
        expect(row.locator("td[data-label=Roles]")).to_contain_text("viewer")
        expect(row.locator("td[data-label='Last used']")).to_have_text("Never")
        row_menu(page, "Reporting job")
        page.screenshot(path=screenshots / "app-clients.png", full_page=True)
        row.get_by_role("button", name="Copy secret").click()
        expect(page.locator("#toast")).to_have_text("Client secret copied to the clipboard.")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        row.get_by_label("Copy client ID of Reporting job", exact=True).click()
        expect(page.locator("#toast")).to_have_text(
            "Copied client ID of Reporting job to the clipboard."
        )
        assert page.evaluate("navigator.clipboard.readText()") == client_id

        # The secret gets a token over plain HTTP, as any program would.
        assert token_status(server, client_id, secret) == 200

        # The playground: a token from the client id and secret, then ListCorpora first.
        page.get_by_role("link", name="API Playground").click()
        page.get_by_label("Client ID", exact=True).fill(client_id)
        page.get_by_label("Client secret", exact=True).fill(secret)
        page.get_by_role("button", name="Generate token").click()
        expect(page.locator("#token-status")).to_contain_text("Token generated")
        assert page.get_by_label("Bearer Token", exact=True).input_value().count(".") == 2
        endpoint = page.get_by_label("Endpoint", exact=True)
        expect(endpoint.locator("option").first).to_have_text("listCorpora — GET /v2/corpora")
        expect(endpoint).to_have_value("0")
        page.get_by_role("textbox", name="limit", exact=True).fill("10")
        page.get_by_role("button", name="Send API Request").click()
        expect(page.locator("#pg-status")).to_have_text("200 OK")
        expect(page.locator("#pg-body")).to_contain_text('"key": "product-manuals"')
        expect(page.locator("#pg-headers")).to_contain_text("content-type: application/json")
        curl = page.locator("#pg-curl").inner_text()
        assert curl.startswith(f"curl -X GET '{server.base_url}/v2/corpora?limit=10'")
        assert "-H 'Authorization: Bearer ey" in curl
        page.screenshot(path=screenshots / "playground.png", full_page=True)

        # Rotate secret, confirmed in the dialog: a new secret, the old one stops.
        page.get_by_role("link", name="API access").click()
        row_menu(page, "Reporting job")
        page.locator("tr", has_text="Reporting job").get_by_role(
            "button", name="Rotate secret"
        ).click()
        dialog = page.locator("#confirm-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_role("heading")).to_have_text("Rotate the secret of “Reporting job”?")
        page.screenshot(path=screenshots / "rotate-confirmation.png")
        dialog.get_by_role("button", name="Rotate secret").click()
        expect(
            page.get_by_role("heading", name="Rotated the secret of “Reporting job”.", exact=False)
        ).to_be_visible()
        new_secret = page.get_by_label("Client secret", exact=True).input_value()
        assert new_secret != secret
        assert token_status(server, client_id, secret) == 401
        assert token_status(server, client_id, new_secret) == 200

        # Delete, confirmed in the dialog (Cancel first: nothing happens).
        page.get_by_role("link", name="Back to app clients").click()
        row_menu(page, "Reporting job")
        page.locator("tr", has_text="Reporting job").get_by_role("button", name="Delete").click()
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("tr", has_text="Reporting job")).to_have_count(1)
        row_menu(page, "Reporting job")
        page.locator("tr", has_text="Reporting job").get_by_role("button", name="Delete").click()
        dialog.get_by_role("button", name="Delete app client").click()
        expect(page.get_by_role("status").first).to_have_text(
            "Deleted the app client “Reporting job”. Its tokens stop working at once."
        )
        expect(page.locator("tr", has_text="Reporting job")).to_have_count(0)
        assert token_status(server, client_id, new_secret) == 401

        page.get_by_role("link", name="Signing keys").click()
        expect(page.locator(".state-active")).to_have_count(1)
        page.screenshot(path=screenshots / "signing-keys.png", full_page=True)
    finally:
        context.close()
    assert errors == []
    assert requested, "the browser made no request"
    assert [url for url in requested if not url.startswith(server.base_url + "/")] == []


def test_the_playground_works_without_signing_in_with_a_pasted_token(
    chromium: Browser, demo_server: LiveServer
) -> None:
    server = demo_server
    token = httpx.post(
        server.demo["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(server.demo["client_id"], server.demo["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    context = chromium.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/playground")
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        page.get_by_label("Bearer Token", exact=True).fill(token)
        expect(page.locator("#pg-bearer-help")).to_contain_text("customer demo; roles: owner")
        page.get_by_role("button", name="Send API Request").click()
        expect(page.locator("#pg-status")).to_have_text("200 OK")
        expect(page.locator("#pg-body")).to_contain_text('"corpora": [')
        # Without a token the API's own answer is shown, not a page error.
        page.get_by_label("Bearer Token", exact=True).fill("")
        page.get_by_role("button", name="Send API Request").click()
        expect(page.locator("#pg-status")).to_have_text("401 Unauthorized")
        expect(page.locator("#pg-headers")).to_contain_text(
            'www-authenticate: Bearer realm="gatehouse"'
        )
    finally:
        context.close()


def test_the_main_forms_work_without_javascript_in_show_once_mode(
    chromium: Browser, tmp_path: Path
) -> None:
    server = start_server(tmp_path, GATEHOUSE_SECRET_RETRIEVAL="false")
    context = chromium.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server)
        expect(page.get_by_text("Show-once mode")).to_be_visible()
        page.get_by_role("link", name="Create app client").first.click()
        page.get_by_label("Name", exact=True).fill("No script")
        page.get_by_role("button", name="Create app client").click()
        expect(page.get_by_text("This is the only time it is shown")).to_be_visible()
        client_id = page.get_by_label("Client ID", exact=True).input_value()
        # Without script the secret is masked behind a details/summary "Show".
        expect(page.get_by_label("Client secret", exact=True)).to_be_hidden()
        page.locator("details.reveal > summary").click()
        expect(page.get_by_label("Client secret", exact=True)).to_be_visible()
        secret = page.get_by_label("Client secret", exact=True).input_value()
        assert token_status(server, client_id, secret) == 200
        page.get_by_role("link", name="Back to app clients").click()
        row_menu(page, "No script")  # <details>: opens without script
        row = page.locator("tr", has_text="No script")
        expect(row.get_by_role("button", name="Copy secret")).to_have_count(0)
        row.get_by_role("button", name="Delete").click()
        # Without script the server asks on its own page.
        expect(page.get_by_role("heading", name="Delete “No script”?")).to_be_visible()
        page.get_by_role("button", name="Delete app client").click()
        expect(page.get_by_role("status").first).to_have_text(
            "Deleted the app client “No script”. Its tokens stop working at once."
        )
        assert token_status(server, client_id, secret) == 401
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status").first).to_have_text("You are signed out.")
        page.goto(f"{server.base_url}/console/apiAccess/appClients")
        expect(page).to_have_url(
            f"{server.base_url}/console/login?next=/console/apiAccess/appClients"
        )
    finally:
        context.close()
        server.stop()


def test_a_phone_user_can_do_everything_with_the_keyboard_and_nothing_overflows(
    chromium: Browser, demo_server: LiveServer, screenshots: Path
) -> None:
    server = demo_server
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/console/login")
        # The email field has focus; type, Tab, type, Enter. (Wait for the focus: keys typed
        # before the page has focused the field would be lost.)
        expect(page.get_by_label("Email", exact=True)).to_be_focused()
        page.keyboard.type(server.demo["console_email"])
        page.keyboard.press("Tab")
        page.keyboard.type(server.demo["console_password"])
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{server.base_url}/console/apiAccess/appClients")
        page.screenshot(path=screenshots / "app-clients-phone.png", full_page=True)
        # The row menu opens with Enter, its first item takes focus, Escape closes it.
        page.get_by_label("Actions for Demo owner client", exact=True).focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("link", name="Edit", exact=True)).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_role("button", name="Copy secret")).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_role("button", name="Rotate secret")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.get_by_label("Actions for Demo owner client", exact=True)).to_be_focused()
        expect(page.get_by_role("button", name="Rotate secret")).to_be_hidden()
        for path in (
            "/console/apiAccess/appClients",
            "/console/apiAccess/appClients/new",
            "/console/apiAccess/keys",
            "/console/corpora",
            "/playground",
        ):
            page.goto(server.base_url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        context.close()
