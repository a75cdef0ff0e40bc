"""The OpenAPI document describes the new routes and /v2/audit, and declares how to get a token
as an OAuth 2.0 clientCredentials flow; responses match the documented schemas."""

from __future__ import annotations

from typing import Any

from tests.api.test_openapi import check
from tests.apis.conftest import PAYMENTS, Api, Caller, Registry


def test_clientcredentials_scheme_names_the_token_url_and_the_roles(api: Api) -> None:
    document = api.client.get("/v2/openapi.json").json()
    oauth2 = document["components"]["securitySchemes"]["oauth2"]
    assert oauth2["type"] == "oauth2"
    flow = oauth2["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "http://testserver/oauth2/token"
    assert list(flow["scopes"]) == [
        "owner",
        "administrator",
        "billing_administrator",
        "corpus_administrator",
        "corpus_developer",
        "viewer",
    ]
    assert document["security"] == [{"bearerAuth": []}, {"oauth2": []}]
    # The documented token URL works with the client credentials grant.
    owner = api.caller("owner", "viewer")
    response = api.client.post(
        flow["tokenUrl"],
        data={
            "grant_type": "client_credentials",
            "scope": "viewer",
            "client_id": owner.record.client_id,
            "client_secret": owner.secret,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "viewer"


def test_new_routes_and_audit_answer_as_documented(
    api: Api, registry: Registry, owner: Caller
) -> None:
    document: dict[str, Any] = api.client.get("/v2/openapi.json").json()
    created = registry.register()
    client = api.caller("viewer")
    viewer = client.headers
    grants = f"/v2/app_clients/{client.record.id}/grants"
    h = owner.headers
    calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("get", "/v2/apis", {}, h),
        ("get", "/v2/apis", {}, viewer),  # 403
        ("post", "/v2/apis", {"json": {"identifier": "https://b.example", "name": "b"}}, h),
        ("post", "/v2/apis", {"json": {"identifier": PAYMENTS, "name": "again"}}, h),  # 409
        ("post", "/v2/apis", {"json": {"identifier": "nope", "name": "x"}}, h),  # 400
        ("get", f"/v2/apis/{created['id']}", {}, h),
        ("get", "/v2/apis/api_none", {}, h),  # 404
        ("patch", f"/v2/apis/{created['id']}", {"json": {"name": "P"}}, h),
        ("put", f"{grants}/{created['id']}", {"json": {"scopes": ["payments:read"]}}, h),
        ("get", grants, {}, h),
        ("delete", f"{grants}/{created['id']}", {}, h),
        ("delete", f"/v2/apis/{created['id']}", {}, h),
        ("get", "/v2/audit", {"params": {"limit": 2}}, h),
        ("get", "/v2/audit", {"params": {"limit": 0}}, h),  # 400
        ("get", "/v2/audit", {}, viewer),  # 403
        ("get", "/v2/audit", {}, {}),  # 401
    ]
    checked = 0
    for method, path, kwargs, headers in calls:
        response = api.client.request(method, path, headers=headers, **kwargs)
        checked += check(document, method, path, response)
    assert checked == len(calls)
