"""The token response (RFC 6749 §5.1) and error responses (§5.2, SPEC §2), on both lanes."""

from __future__ import annotations

import pytest
from tests.factories import basic_auth
from tests.oauth.conftest import ALL_ROLES, Creds, Lane, assert_error, verify_token


@pytest.fixture
def creds(lane: Lane) -> Creds:
    return lane.add_client(lane.add_customer())


def test_success_body_is_exactly_the_four_members(lane: Lane, creds: Creds) -> None:
    response = lane.post_token(creds)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 1800,
        "scope": " ".join(ALL_ROLES),
    }
    assert isinstance(body["access_token"], str)
    assert body["access_token"].count(".") == 2


def test_success_headers_forbid_caching_and_name_json(lane: Lane, creds: Creds) -> None:
    # RFC 6749 §5.1: Cache-Control: no-store and Pragma: no-cache; the body is application/json.
    response = lane.post_token(creds)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert int(response.headers["content-length"]) == len(response.content)
    assert "www-authenticate" not in response.headers
    assert "set-cookie" not in response.headers


def test_scope_member_is_present_even_when_every_role_is_granted(lane: Lane, creds: Creds) -> None:
    body = lane.post_token(creds).json()
    assert body["scope"] == "owner administrator viewer"


def test_expires_in_is_the_client_lifetime(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer, lifetime=600)
    body = lane.post_token(creds).json()
    assert body["expires_in"] == 600
    claims = verify_token(lane, body["access_token"], customer)
    assert claims["exp"] - claims["iat"] == 600


def test_default_lifetime_is_1800_seconds(lane: Lane, creds: Creds) -> None:
    body = lane.post_token(creds).json()
    assert body["expires_in"] == 1800
    claims = verify_token(lane, body["access_token"], creds.customer_id)
    assert claims["exp"] - claims["iat"] == 1800


def test_every_success_has_a_new_jti(lane: Lane, creds: Creds) -> None:
    jtis = set()
    for _ in range(5):
        response = lane.post_token(creds)
        assert response.status_code == 200
        jtis.add(verify_token(lane, response.json()["access_token"], creds.customer_id)["jti"])
    assert len(jtis) == 5


def test_invalid_client_is_401_with_basic_challenge(lane: Lane, creds: Creds) -> None:
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        data={"grant_type": "client_credentials"},
        headers={"authorization": basic_auth(creds.client_id, "wrong")},
    )
    assert_error(response, 401, "invalid_client", "client authentication failed")
    assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"'


def test_body_over_16_kib_is_413(lane: Lane, creds: Creds) -> None:
    body = b"grant_type=client_credentials&pad=" + b"a" * (16 * 1024)
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": basic_auth(creds.client_id, creds.secret),
        },
    )
    assert_error(response, 413, "invalid_request", "the request body is larger than 16384 bytes")


def test_body_of_exactly_16_kib_is_accepted(lane: Lane, creds: Creds) -> None:
    prefix = b"grant_type=client_credentials&pad="
    body = prefix + b"a" * (16 * 1024 - len(prefix))
    assert len(body) == 16 * 1024
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": basic_auth(creds.client_id, creds.secret),
        },
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "multipart/form-data; boundary=x", "application/json", "application/xml"],
)
def test_wrong_content_type_is_invalid_request(
    lane: Lane, creds: Creds, content_type: str | None
) -> None:
    headers = {"authorization": basic_auth(creds.client_id, creds.secret)}
    if content_type is not None:
        headers["content-type"] = content_type
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        content=b"grant_type=client_credentials",
        headers=headers,
    )
    assert_error(
        response,
        400,
        "invalid_request",
        "the content type must be application/x-www-form-urlencoded",
    )


def test_content_type_parameters_and_case_are_accepted(lane: Lane, creds: Creds) -> None:
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        content=b"grant_type=client_credentials",
        headers={
            "content-type": "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            "authorization": basic_auth(creds.client_id, creds.secret),
        },
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"scope=owner", 400, "invalid_request"),
        (b"grant_type=password", 400, "unsupported_grant_type"),
        (b"grant_type=client_credentials&scope=billing_administrator", 400, "invalid_scope"),
        (b"grant_type=client_credentials&resource=nope", 400, "invalid_target"),
        (b"grant_type=client_credentials&grant_type=client_credentials", 400, "invalid_request"),
    ],
)
def test_each_error_code_has_its_status_and_no_store(
    lane: Lane, creds: Creds, body: bytes, status: int, error: str
) -> None:
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": basic_auth(creds.client_id, creds.secret),
        },
    )
    assert_error(response, status, error)
    assert "www-authenticate" not in response.headers
