"""Corpora: create, get, update, delete, ListCorpora paging and filters, v1 ListCorpora, and
bad input as 400 with ``field_errors`` (never a 500)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest import Api, Caller, error_body

CREATED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_create_returns_201_corpus_with_name_defaulting_to_key(api: Api, owner: Caller) -> None:
    response = api.client.post("/v2/corpora", json={"key": "docs_1"}, headers=owner.headers)
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"crp_\d+", body["id"])
    assert CREATED_AT.fullmatch(body["created_at"])
    assert body == {
        "id": body["id"],
        "key": "docs_1",
        "name": "docs_1",
        "description": "",
        "enabled": True,
        "created_at": body["created_at"],
    }


def test_get_update_delete_round_trip(api: Api, owner: Caller) -> None:
    created = api.create_corpus(owner, "k=1-x", name="Name", description="About")
    got = api.client.get("/v2/corpora/k=1-x", headers=owner.headers)
    assert got.json() == created
    patch = api.client.patch(
        "/v2/corpora/k=1-x",
        json={"name": "New", "description": None, "enabled": False, "save_history": True},
        headers=owner.headers,
    )
    assert patch.status_code == 200
    assert patch.json() == {**created, "name": "New", "enabled": False}
    deleted = api.client.delete("/v2/corpora/k=1-x", headers=owner.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    missing = api.client.get("/v2/corpora/k=1-x", headers=owner.headers)
    assert missing.status_code == 404
    error_body(missing, "corpus k=1-x not found", id="k=1-x")
    assert api.client.delete("/v2/corpora/k=1-x", headers=owner.headers).status_code == 404


def test_duplicate_key_is_409(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "docs")
    response = api.client.post("/v2/corpora", json={"key": "docs"}, headers=owner.headers)
    assert response.status_code == 409
    error_body(response, "A corpus with key docs already exists")


def test_list_pages_through_with_limit_and_page_key(api: Api, owner: Caller) -> None:
    for i in range(7):
        api.create_corpus(owner, f"c{i}")
    seen: list[str] = []
    page_key: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if page_key:
            params["page_key"] = page_key
        body = api.client.get("/v2/corpora", params=params, headers=owner.headers).json()
        seen += [c["key"] for c in body["corpora"]]
        page_key = body["metadata"]["page_key"]
        pages += 1
        if page_key is None:
            break
    assert seen == [f"c{i}" for i in range(7)]
    assert pages == 3


def test_list_default_limit_is_10(api: Api, owner: Caller) -> None:
    for i in range(11):
        api.create_corpus(owner, f"c{i:02}")
    body = api.client.get("/v2/corpora", headers=owner.headers).json()
    assert len(body["corpora"]) == 10
    assert body["metadata"]["page_key"]


def test_exact_page_has_no_next_key(api: Api, owner: Caller) -> None:
    for i in range(3):
        api.create_corpus(owner, f"c{i}")
    body = api.client.get("/v2/corpora", params={"limit": 3}, headers=owner.headers).json()
    assert len(body["corpora"]) == 3
    assert body["metadata"] == {"page_key": None}


def test_filter_is_a_regex_on_key_or_name(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "sales-2023", name="Sales")
    api.create_corpus(owner, "sales-2024", name="Sales")
    api.create_corpus(owner, "hr", name="People team")
    api.create_corpus(owner, "legal", name="Contracts")

    def keys(pattern: str, **params: Any) -> list[str]:
        response = api.client.get(
            "/v2/corpora", params={"filter": pattern, **params}, headers=owner.headers
        )
        assert response.status_code == 200
        return [c["key"] for c in response.json()["corpora"]]

    assert keys("^sales-20(23|24)$") == ["sales-2023", "sales-2024"]
    assert keys("People") == ["hr"]
    assert keys("^Contr") == ["legal"]
    assert keys("nothing-matches") == []
    # Paging through filtered results.
    first = api.client.get(
        "/v2/corpora", params={"filter": "sales", "limit": 1}, headers=owner.headers
    ).json()
    assert [c["key"] for c in first["corpora"]] == ["sales-2023"]
    assert keys("sales", limit=1, page_key=first["metadata"]["page_key"]) == ["sales-2024"]


def test_catastrophic_regex_finishes_quickly(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "a" * 50, name="a" * 200)
    response = api.client.get("/v2/corpora", params={"filter": "(a+)+$b"}, headers=owner.headers)
    assert response.status_code == 200
    assert response.json()["corpora"] == []


@pytest.mark.parametrize(
    ("body", "field_errors"),
    [
        ({}, {"key": "Field required"}),
        ({"key": ""}, {"key": "String should match pattern '^[a-zA-Z0-9_=-]{1,50}$'"}),
        ({"key": "has space"}, {"key": "String should match pattern '^[a-zA-Z0-9_=-]{1,50}$'"}),
        ({"key": "x" * 51}, {"key": "String should match pattern '^[a-zA-Z0-9_=-]{1,50}$'"}),
        ({"key": 5}, {"key": "Input should be a valid string"}),
        ({"key": "ok", "name": ""}, {"name": "String should have at least 1 character"}),
        (
            {"key": "ok", "description": "d" * 2001},
            {"description": "String should have at most 2000 characters"},
        ),
        ([1, 2], {"body": "Input should be a valid dictionary or object to extract fields from"}),
        (
            "just a string",
            {"body": "Input should be a valid dictionary or object to extract fields from"},
        ),
    ],
)
def test_bad_create_body_is_400_with_field_errors(
    api: Api, owner: Caller, body: Any, field_errors: dict[str, str]
) -> None:
    response = api.client.post("/v2/corpora", json=body, headers=owner.headers)
    assert response.status_code == 400
    error_body(response, "The request is invalid", field_errors=field_errors)


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"\xff\xfe", b'{"key": "a"', b"null", b"[", b'{"key": "\\ud800"}'],
)
def test_unparsable_body_is_400_never_500(api: Api, owner: Caller, content: bytes) -> None:
    response = api.client.post(
        "/v2/corpora",
        content=content,
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["field_errors"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page_key": "not base64 !"}, "page_key"),
        ({"page_key": "WyJ4Il0"}, "page_key"),  # a well-formed key of the wrong shape
        ({"filter": "("}, "filter"),
        ({"filter": "x" * 201}, "filter"),
    ],
)
def test_bad_list_parameters_are_400_with_field_errors(
    api: Api, owner: Caller, params: dict[str, Any], field: str
) -> None:
    response = api.client.get("/v2/corpora", params=params, headers=owner.headers)
    assert response.status_code == 400
    assert list(response.json()["field_errors"]) == [field]


def test_bad_update_body_is_400(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "docs")
    response = api.client.patch(
        "/v2/corpora/docs", json={"enabled": "maybe"}, headers=owner.headers
    )
    assert response.status_code == 400
    error_body(
        response,
        "The request is invalid",
        field_errors={"enabled": "Input should be a valid boolean, unable to interpret input"},
    )


def test_unknown_path_and_method_get_vectara_error_bodies(api: Api, owner: Caller) -> None:
    missing = api.client.get("/v2/nothing-here", headers=owner.headers)
    assert missing.status_code == 404
    error_body(missing, "Not found", id="/v2/nothing-here")
    wrong = api.client.put("/v2/corpora", headers=owner.headers)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"
    error_body(wrong, "Method not allowed")


# -- v1 ListCorpora --------------------------------------------------------------------------------


def test_v1_list_corpora_with_customer_id_header(api: Api, owner: Caller) -> None:
    for key in ("one", "two", "three"):
        api.create_corpus(owner, key, description=f"the {key}")
    headers = {**owner.headers, "customer-id": "acme"}
    first = api.client.post("/v1/list-corpora", json={"numResults": 2}, headers=headers)
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == {"code": "OK"}
    assert [c["key"] for c in body["corpus"]] == ["one", "two"]
    corpus = body["corpus"][0]
    assert corpus == {
        "id": corpus["id"],
        "key": "one",
        "name": "one",
        "description": "the one",
        "enabled": True,
        "dtProvision": corpus["dtProvision"],
    }
    assert isinstance(corpus["id"], int)
    assert corpus["dtProvision"].isdigit()
    second = api.client.post(
        "/v1/list-corpora", json={"numResults": 2, "pageKey": body["pageKey"]}, headers=headers
    ).json()
    assert [c["key"] for c in second["corpus"]] == ["three"]
    assert second["pageKey"] == ""
    filtered = api.client.post(
        "/v1/list-corpora", json={"numResults": 0, "filter": "^t"}, headers=headers
    ).json()
    assert [c["key"] for c in filtered["corpus"]] == ["two", "three"]


def test_v1_wrong_customer_id_header_is_401(api: Api, owner: Caller) -> None:
    response = api.client.post(
        "/v1/list-corpora",
        json={"numResults": 10},
        headers={**owner.headers, "customer-id": "1234567890"},
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_v1_bad_body_is_400(api: Api, owner: Caller) -> None:
    response = api.client.post(
        "/v1/list-corpora", json={"numResults": -1, "pageKey": "%%%"}, headers=owner.headers
    )
    assert response.status_code == 400
    assert list(response.json()["field_errors"]) == ["numResults"]
    response = api.client.post("/v1/list-corpora", json={"pageKey": "%%%"}, headers=owner.headers)
    assert response.status_code == 400
    assert list(response.json()["field_errors"]) == ["pageKey"]
