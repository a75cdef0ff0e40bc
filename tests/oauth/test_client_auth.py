"""Client authentication at the token endpoint (RFC 6749 §2.3.1, SPEC §2), on both lanes."""

from __future__ import annotations

import base64

from tests.factories import basic_auth
from tests.oauth.conftest import Lane, assert_error

from gatehouse.oauth.secrets import generate_secret

FAILED = "client authentication failed"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_client_secret_basic_gets_a_token(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    response = lane.http.post(
        lane.token_url(customer),
        content=b"grant_type=client_credentials",
        headers={**FORM, "authorization": basic_auth(creds.client_id, creds.secret)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def test_basic_credentials_are_form_urlencoded_before_base64(lane: Lane) -> None:
    # RFC 6749 §2.3.1: id and secret are encoded with application/x-www-form-urlencoded first.
    customer = lane.add_customer()
    creds = lane.add_client(customer, client_id="svc+a%b:c d/é", secret="s+e%c:r&e=t é")
    raw = "svc%2Ba%25b%3Ac+d%2F%C3%A9:s%2Be%25c%3Ar%26e%3Dt+%C3%A9"
    header = "Basic " + base64.b64encode(raw.encode()).decode()
    assert header == basic_auth(creds.client_id, creds.secret)
    response = lane.http.post(
        lane.token_url(customer),
        content=b"grant_type=client_credentials",
        headers={**FORM, "authorization": header},
    )
    assert response.status_code == 200, response.text


def test_basic_credentials_sent_without_urlencoding_are_refused(lane: Lane) -> None:
    # A literal "+" decodes to a space, so the unencoded secret no longer matches.
    customer = lane.add_customer()
    creds = lane.add_client(customer, secret="plus+secret")
    header = "Basic " + base64.b64encode(f"{creds.client_id}:plus+secret".encode()).decode()
    response = lane.http.post(
        lane.token_url(customer),
        content=b"grant_type=client_credentials",
        headers={**FORM, "authorization": header},
    )
    assert_error(response, 401, "invalid_client", FAILED)


def test_client_secret_post_with_special_characters_gets_a_token(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer, client_id="svc+a%b:c", secret="s+e%c:r&e=t")
    response = lane.post_token(creds)
    assert response.status_code == 200, response.text


def test_basic_and_post_together_are_invalid_request(lane: Lane) -> None:
    # RFC 6749 §2.3: a client must not use more than one authentication method per request.
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    response = lane.http.post(
        lane.token_url(customer),
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.secret,
        },
        headers={"authorization": basic_auth(creds.client_id, creds.secret)},
    )
    assert_error(
        response,
        400,
        "invalid_request",
        "use either HTTP Basic or client_secret in the body, not both",
    )


def test_no_client_authentication_is_invalid_client_with_basic_challenge(lane: Lane) -> None:
    customer = lane.add_customer()
    response = lane.http.post(lane.token_url(customer), data={"grant_type": "client_credentials"})
    assert_error(response, 401, "invalid_client", FAILED)
    assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"'


def test_unknown_client_wrong_secret_disabled_and_foreign_client_get_one_answer(lane: Lane) -> None:
    customer = lane.add_customer()
    other_customer = lane.add_customer()
    good = lane.add_client(customer)
    disabled = lane.add_client(customer)
    lane.disable_client(disabled)
    foreign = lane.add_client(other_customer)
    attempts = {
        "unknown client": {"client_id": "no-such-client-id-000000", "client_secret": good.secret},
        "wrong secret": {"client_id": good.client_id, "client_secret": generate_secret()},
        "mistyped secret": {"client_id": good.client_id, "client_secret": good.secret + "x"},
        "disabled": {"client_id": disabled.client_id, "client_secret": disabled.secret},
        "other customer": {"client_id": foreign.client_id, "client_secret": foreign.secret},
    }
    bodies = []
    for name, params in attempts.items():
        response = lane.http.post(
            lane.token_url(customer), data={"grant_type": "client_credentials", **params}
        )
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"', name
        bodies.append(assert_error(response, 401, "invalid_client", FAILED))
    assert all(body == bodies[0] for body in bodies)


def test_client_of_customer_a_at_customer_b_token_url_is_invalid_client(lane: Lane) -> None:
    customer_a = lane.add_customer()
    customer_b = lane.add_customer()
    creds = lane.add_client(customer_a)
    response = lane.post_token(creds, url=lane.token_url(customer_b))
    assert_error(response, 401, "invalid_client", FAILED)
    assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"'
    assert lane.post_token(creds).status_code == 200


def test_bad_base64_in_basic_header_is_invalid_request(lane: Lane) -> None:
    customer = lane.add_customer()
    response = lane.http.post(
        lane.token_url(customer),
        content=b"grant_type=client_credentials",
        headers={**FORM, "authorization": "Basic !!!not-base64!!!"},
    )
    assert_error(
        response, 400, "invalid_request", "the Basic authorization header is not valid base64"
    )


def test_basic_header_without_colon_is_invalid_request(lane: Lane) -> None:
    customer = lane.add_customer()
    response = lane.http.post(
        lane.token_url(customer),
        content=b"grant_type=client_credentials",
        headers={**FORM, "authorization": "Basic " + base64.b64encode(b"only-an-id").decode()},
    )
    assert_error(
        response,
        400,
        "invalid_request",
        "the Basic authorization header must hold client_id:client_secret",
    )


def test_other_authorization_scheme_is_invalid_client(lane: Lane) -> None:
    customer = lane.add_customer()
    response = lane.http.post(
        lane.token_url(customer),
        content=b"grant_type=client_credentials",
        headers={**FORM, "authorization": "Bearer abc"},
    )
    assert_error(response, 401, "invalid_client", FAILED)
    assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"'


def test_basic_with_a_different_body_client_id_is_invalid_request(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    response = lane.http.post(
        lane.token_url(customer),
        data={"grant_type": "client_credentials", "client_id": "someone-else"},
        headers={"authorization": basic_auth(creds.client_id, creds.secret)},
    )
    assert_error(
        response,
        400,
        "invalid_request",
        "client_id in the body does not match the authorization header",
    )


def test_basic_with_the_same_body_client_id_gets_a_token(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    response = lane.http.post(
        lane.token_url(customer),
        data={"grant_type": "client_credentials", "client_id": creds.client_id},
        headers={"authorization": basic_auth(creds.client_id, creds.secret)},
    )
    assert response.status_code == 200, response.text


def test_two_authorization_headers_are_invalid_request(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    header = basic_auth(creds.client_id, creds.secret)
    response = lane.http.post(
        lane.token_url(customer),
        content=b"grant_type=client_credentials",
        headers=[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", header),
            ("authorization", header),
        ],
    )
    assert_error(response, 400, "invalid_request", "send one Authorization header")


def test_client_id_without_secret_is_invalid_client(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    response = lane.http.post(
        lane.token_url(customer),
        data={"grant_type": "client_credentials", "client_id": creds.client_id},
    )
    assert_error(response, 401, "invalid_client", FAILED)
    assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"'
