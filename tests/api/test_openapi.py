"""The served OpenAPI document stays true: every route served is in it and nothing else, and
every response of a session touching each operation matches the documented status and schema."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import compile_path

from gatehouse.api import create_api
from tests.api.conftest import Api, Caller

Schema = dict[str, Any]


def resolve(document: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def problems(document: Schema, schema: Schema, value: Any, where: str = "$") -> list[str]:
    """A small JSON Schema check (the subset pydantic emits): type, const, enum, pattern,
    properties, required, additionalProperties, items, anyOf, min/max."""
    schema = resolve(document, schema)
    if "anyOf" in schema:
        if any(not problems(document, option, value, where) for option in schema["anyOf"]):
            return []
        return [f"{where}: matches no anyOf option"]
    found: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        is_bool = isinstance(value, bool)
        ok = isinstance(value, _TYPES[kind]) and (kind == "boolean" or not is_bool)
        if not ok:
            return [f"{where}: {value!r} is not {kind}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: {value} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}: missing {name}")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found += problems(document, properties[name], item, f"{where}.{name}")
            elif extra is False:
                found.append(f"{where}: undocumented member {name}")
            elif isinstance(extra, dict):
                found += problems(document, extra, item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += problems(document, schema["items"], item, f"{where}[{index}]")
    return found


def operation_for(document: Schema, method: str, path: str) -> Schema:
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            operation: Schema = operations[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def test_document_is_served_at_both_paths(api: Api) -> None:
    v2 = api.client.get("/v2/openapi.json")
    root = api.client.get("/openapi.json")
    assert v2.status_code == root.status_code == 200
    assert v2.json() == root.json()
    document = v2.json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert "422" not in str(document)


def test_every_served_route_is_documented_and_nothing_else(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    documented = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "patch", "put", "delete"}
    }
    assert documented == {
        ("get", "/v2/corpora"),
        ("post", "/v2/corpora"),
        ("get", "/v2/corpora/{corpus_key}"),
        ("patch", "/v2/corpora/{corpus_key}"),
        ("delete", "/v2/corpora/{corpus_key}"),
        ("get", "/v2/app_clients"),
        ("post", "/v2/app_clients"),
        ("get", "/v2/app_clients/{app_client_id}"),
        ("patch", "/v2/app_clients/{app_client_id}"),
        ("delete", "/v2/app_clients/{app_client_id}"),
        ("post", "/v2/app_clients/{app_client_id}/rotate_secret"),
        ("post", "/v2/app_clients/{app_client_id}/revoke_tokens"),
        ("get", "/v2/app_clients/{app_client_id}/federated_credentials"),
        ("post", "/v2/app_clients/{app_client_id}/federated_credentials"),
        ("post", "/v2/app_clients/{app_client_id}/federated_credentials/test"),
        ("get", "/v2/app_clients/{app_client_id}/federated_credentials/{credential_id}"),
        ("patch", "/v2/app_clients/{app_client_id}/federated_credentials/{credential_id}"),
        ("delete", "/v2/app_clients/{app_client_id}/federated_credentials/{credential_id}"),
        ("post", "/v1/list-corpora"),
    }
    # What the app's routers serve (the table its 405 handler uses) is exactly that.
    app = create_api(api.runtime)
    served = {
        (method.lower(), regex.pattern)
        for regex, methods in app.state.methods
        for method in methods
    }
    assert served == {(method, compile_path(path)[0].pattern) for method, path in documented}
    # Each documented operation reaches its handler (a router miss is a 404 naming the path).
    owner = api.caller("owner")
    for method, path in sorted(documented):
        concrete = path.replace("{corpus_key}", "x").replace("{app_client_id}", "x")
        response = api.client.request(method, concrete, headers=owner.headers)
        assert response.status_code != 405
        assert response.status_code != 404 or response.json()["id"] == "x", (method, path)
    # And an undocumented path is not served.
    assert api.client.get("/v2/corpora/x/query", headers=owner.headers).status_code == 404


def test_responses_match_the_documented_schemas(api: Api, owner: Caller) -> None:
    document = api.client.get("/openapi.json").json()
    viewer = api.caller("viewer")
    calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("post", "/v2/corpora", {"json": {"key": "docs", "description": "d"}}, owner.headers),
        ("post", "/v2/corpora", {"json": {"key": "more"}}, owner.headers),
        ("post", "/v2/corpora", {"json": {"key": "docs"}}, owner.headers),  # 409
        ("post", "/v2/corpora", {"json": {"key": "bad key"}}, owner.headers),  # 400
        ("post", "/v2/corpora", {"json": {"key": "v"}}, viewer.headers),  # 403
        ("get", "/v2/corpora", {"params": {"limit": 1}}, owner.headers),
        ("get", "/v2/corpora", {}, {}),  # 401
        ("get", "/v2/corpora/docs", {}, owner.headers),
        ("get", "/v2/corpora/nope", {}, owner.headers),  # 404
        ("patch", "/v2/corpora/docs", {"json": {"name": "Docs"}}, owner.headers),
        ("post", "/v1/list-corpora", {"json": {"numResults": 1}}, owner.headers),
        ("post", "/v1/list-corpora", {"json": {"numResults": "x"}}, owner.headers),  # 400
        ("get", "/v2/app_clients", {"params": {"limit": 1}}, owner.headers),
        (
            "post",
            "/v2/app_clients",
            {"json": {"name": "svc", "api_roles": ["viewer"]}},
            owner.headers,
        ),
        ("get", "/v2/app_clients/nope", {}, owner.headers),  # 404
        ("get", "/v2/app_clients", {}, viewer.headers),  # 403
        ("delete", "/v2/corpora/more", {}, owner.headers),
    ]
    checked = 0
    app_id = None
    for method, path, kwargs, headers in calls:
        response = api.client.request(method, path, headers=headers, **kwargs)
        checked += check(document, method, path, response)
        if path == "/v2/app_clients" and method == "post":
            app_id = response.json()["id"]
    assert app_id is not None
    follow_ups: list[tuple[str, str, dict[str, Any]]] = [
        ("get", f"/v2/app_clients/{app_id}", {}),
        ("patch", f"/v2/app_clients/{app_id}", {"json": {"description": "x"}}),
        ("post", f"/v2/app_clients/{app_id}/rotate_secret", {"json": {"grace_period_seconds": 60}}),
        ("post", f"/v2/app_clients/{app_id}/revoke_tokens", {}),
        ("delete", f"/v2/app_clients/{app_id}", {}),
    ]
    for method, path, kwargs in follow_ups:
        response = api.client.request(method, path, headers=owner.headers, **kwargs)
        checked += check(document, method, path, response)
    assert checked == len(calls) + 5


def check(document: Schema, method: str, path: str, response: Any) -> int:
    operation = operation_for(document, method, path)
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path}: {status} is not documented"
    documented = operation["responses"][status]
    content = documented.get("content")
    if content is None:
        assert response.content == b"", f"{method} {path}: {status} documents no body"
        return 1
    schema = content["application/json"]["schema"]
    found = problems(document, schema, response.json())
    assert not found, f"{method} {path} {status}: {found}"
    return 1


def test_schema_check_catches_drift(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    corpus = {"$ref": "#/components/schemas/Corpus"}
    good = {
        "id": "crp_1",
        "key": "k",
        "name": "k",
        "description": "",
        "enabled": True,
        "created_at": "2025-01-01T00:00:00.000Z",
    }
    assert problems(document, corpus, good) == []
    assert problems(document, corpus, {**good, "secret": 1}) == ["$: undocumented member secret"]
    assert problems(document, corpus, {**good, "enabled": 1}) == ["$.enabled: 1 is not boolean"]
    missing = {k: v for k, v in good.items() if k != "key"}
    assert problems(document, corpus, missing) == ["$: missing key"]
