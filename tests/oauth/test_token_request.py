"""The token request (RFC 6749 §3.2, §4.4, RFC 8707) and the three token paths, on both lanes."""

from __future__ import annotations

import orjson
import pytest
from tests.factories import TEST_ACTOR, basic_auth
from tests.oauth.conftest import ALL_ROLES, Creds, HttpResponse, Lane, assert_error, verify_token

from gatehouse.apis import Apis
from gatehouse.services.apis import create_api, put_grant
from gatehouse.services.notify import UNHEARD

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _form(lane: Lane, creds: Creds, body: bytes) -> HttpResponse:
    return lane.http.post(
        lane.token_url(creds.customer_id),
        content=body,
        headers={**FORM, "authorization": basic_auth(creds.client_id, creds.secret)},
    )


@pytest.fixture
def creds(lane: Lane) -> Creds:
    return lane.add_client(lane.add_customer())


# -- RFC 6749 §3.2 ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_token_endpoint_takes_post_only(lane: Lane, creds: Creds, method: str) -> None:
    # RFC 6749 §3.2: the client must use POST at the token endpoint.
    response = lane.http.request(method, lane.token_url(creds.customer_id))
    assert_error(response, 405, "invalid_request", "the token endpoint takes POST")
    assert response.headers["allow"] == "POST"


def test_repeated_parameter_is_invalid_request(lane: Lane, creds: Creds) -> None:
    response = _form(lane, creds, b"grant_type=client_credentials&scope=owner&scope=viewer")
    assert_error(response, 400, "invalid_request", "parameter scope is repeated")


def test_parameters_without_value_are_treated_as_omitted(lane: Lane, creds: Creds) -> None:
    # RFC 6749 §3.1: parameters sent without a value are treated as if omitted.
    response = _form(lane, creds, b"grant_type=client_credentials&scope=&resource=&audience")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == " ".join(ALL_ROLES)


# -- RFC 6749 §4.4 ------------------------------------------------------------------------------


def test_missing_grant_type_is_invalid_request(lane: Lane, creds: Creds) -> None:
    response = _form(lane, creds, b"scope=owner")
    assert_error(response, 400, "invalid_request", "grant_type is required")


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ],
)
def test_other_grant_type_is_unsupported_grant_type(
    lane: Lane, creds: Creds, grant_type: str
) -> None:
    response = _form(lane, creds, f"grant_type={grant_type}".encode())
    assert_error(
        response, 400, "unsupported_grant_type", "only grant_type=client_credentials is supported"
    )


def test_default_scope_is_every_role_of_the_client(lane: Lane, creds: Creds) -> None:
    response = _form(lane, creds, b"grant_type=client_credentials")
    assert response.status_code == 200
    assert response.json()["scope"] == "owner administrator viewer"
    claims = verify_token(lane, response.json()["access_token"], creds.customer_id)
    assert claims["scope"] == "owner administrator viewer"


def test_requested_subset_of_roles_is_granted(lane: Lane, creds: Creds) -> None:
    response = _form(lane, creds, b"grant_type=client_credentials&scope=viewer+administrator")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "viewer administrator"
    claims = verify_token(lane, response.json()["access_token"], creds.customer_id)
    assert claims["scope"] == "viewer administrator"


def test_repeated_and_extra_spaces_in_scope_are_collapsed(lane: Lane, creds: Creds) -> None:
    response = _form(lane, creds, b"grant_type=client_credentials&scope=+viewer++viewer+")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "viewer"


def test_scope_with_a_role_the_client_lacks_is_invalid_scope(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer, roles=("viewer",))
    response = _form(lane, creds, b"grant_type=client_credentials&scope=viewer+owner")
    assert_error(response, 400, "invalid_scope", "scope owner is not granted to this client")


@pytest.mark.parametrize("scope", ['"owner"', "own\\er", "owner\tviewer", "ownér", "\x7f"])
def test_scope_with_characters_outside_rfc_6749_is_invalid_scope(
    lane: Lane, creds: Creds, scope: str
) -> None:
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"authorization": basic_auth(creds.client_id, creds.secret)},
    )
    assert_error(
        response, 400, "invalid_scope", "scope holds characters RFC 6749 section 3.3 does not allow"
    )


# -- RFC 8707 resource, and audience ------------------------------------------------------------


def _granted_api(lane: Lane, creds: Creds, identifier: str) -> None:
    """Register ``identifier`` as an API of the client's customer and grant the client on it."""
    ctx = Apis.of(lane.runtime.store, lane.runtime.settings.default_audience)
    api = create_api(
        ctx,
        customer_id=creds.customer_id,
        identifier=identifier,
        name="other",
        scopes=["read"],
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    client = lane.runtime.store.get_client(app_id=creds.app_id)
    put_grant(ctx, client=client, api=api, scopes=["read"], actor=TEST_ACTOR, notify=UNHEARD)
    lane.runtime.changed()
    lane._wait(lambda: lane.post_token(creds, extra={"resource": identifier}))


def test_resource_becomes_the_audience(lane: Lane, creds: Creds) -> None:
    resource = "https://api.example.com/v2?x=1"
    _granted_api(lane, creds, resource)
    response = lane.post_token(creds, extra={"resource": resource})
    assert response.status_code == 200, response.text
    claims = verify_token(
        lane, response.json()["access_token"], creds.customer_id, audience=resource
    )
    assert claims["aud"] == resource
    assert claims["scope"] == "read"


@pytest.mark.parametrize(
    "resource",
    ["api.example.com", "/v2/corpora", "https://api.example.com/#frag", "https://a b"],
)
def test_resource_that_is_not_an_absolute_uri_without_fragment_is_invalid_target(
    lane: Lane, creds: Creds, resource: str
) -> None:
    response = lane.post_token(creds, extra={"resource": resource})
    body = assert_error(response, 400, "invalid_target")
    assert body["error_description"] in {
        "resource must be an absolute URI without a fragment",
        "resource must be 1 to 255 printable characters without spaces",
    }


def test_unregistered_resource_is_invalid_target(lane: Lane, creds: Creds) -> None:
    response = lane.post_token(creds, extra={"resource": "https://payments.example"})
    assert_error(
        response, 400, "invalid_target", "https://payments.example is not a registered API"
    )


def test_audience_names_a_registered_api_too(lane: Lane, creds: Creds) -> None:
    _granted_api(lane, creds, "urn:my-api")
    response = lane.post_token(creds, extra={"audience": "urn:my-api"})
    assert response.status_code == 200, response.text
    claims = verify_token(
        lane, response.json()["access_token"], creds.customer_id, audience="urn:my-api"
    )
    assert claims["aud"] == "urn:my-api"
    response = lane.post_token(creds, extra={"audience": "my-api"})
    assert_error(response, 400, "invalid_target", "my-api is not a registered API")


def test_audience_with_spaces_is_invalid_target(lane: Lane, creds: Creds) -> None:
    response = lane.post_token(creds, extra={"audience": "my api"})
    assert_error(
        response,
        400,
        "invalid_target",
        "audience must be 1 to 255 printable characters without spaces",
    )


def test_resource_and_audience_together_are_invalid_request(lane: Lane, creds: Creds) -> None:
    response = lane.post_token(creds, extra={"audience": "urn:a", "resource": "https://a.example"})
    assert_error(response, 400, "invalid_request", "send resource or audience, not both")


def test_default_audience_is_the_public_url(lane: Lane, creds: Creds) -> None:
    response = lane.post_token(creds)
    claims = verify_token(lane, response.json()["access_token"], creds.customer_id)
    assert claims["aud"] == lane.base_url


# -- the three token paths ----------------------------------------------------------------------


def test_shared_token_path_finds_the_customer_from_the_client(lane: Lane, creds: Creds) -> None:
    response = lane.post_token(creds, url=f"{lane.base_url}/oauth2/token")
    assert response.status_code == 200, response.text
    claims = verify_token(lane, response.json()["access_token"], creds.customer_id)
    assert claims["customer_id"] == creds.customer_id
    assert claims["iss"] == lane.issuer(creds.customer_id)


def test_oauth_token_path_takes_the_json_body_of_the_vectara_sdk(lane: Lane, creds: Creds) -> None:
    body = {
        "client_id": creds.client_id,
        "client_secret": creds.secret,
        "grant_type": "client_credentials",
    }
    response = lane.http.post(
        f"{lane.base_url}/oauth/token",
        content=orjson.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "scope"}
    verify_token(lane, response.json()["access_token"], creds.customer_id)


def test_oauth_token_path_takes_a_form_body(lane: Lane, creds: Creds) -> None:
    response = lane.post_token(creds, url=f"{lane.base_url}/oauth/token")
    assert response.status_code == 200, response.text
    verify_token(lane, response.json()["access_token"], creds.customer_id)


def test_json_body_at_oauth2_token_is_invalid_request(lane: Lane, creds: Creds) -> None:
    body = {
        "client_id": creds.client_id,
        "client_secret": creds.secret,
        "grant_type": "client_credentials",
    }
    response = lane.http.post(
        lane.token_url(creds.customer_id),
        content=orjson.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert_error(
        response,
        400,
        "invalid_request",
        "the content type must be application/x-www-form-urlencoded",
    )


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (b"[1, 2]", "the request body must be a JSON object"),
        (b"42", "the request body must be a JSON object"),
        (b'{"grant_type": ["client_credentials"]}', "parameter grant_type must be a string"),
        (b'{"scope": {"a": 1}}', "parameter scope must be a string"),
        (b"{not json", "the request body is not valid JSON"),
    ],
)
def test_json_body_that_is_not_an_object_of_strings_is_invalid_request(
    lane: Lane, body: bytes, description: str
) -> None:
    response = lane.http.post(
        f"{lane.base_url}/oauth/token", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request", description)


def test_json_null_and_empty_values_are_treated_as_omitted(lane: Lane, creds: Creds) -> None:
    body = {
        "client_id": creds.client_id,
        "client_secret": creds.secret,
        "grant_type": "client_credentials",
        "scope": None,
        "audience": "",
    }
    response = lane.http.post(
        f"{lane.base_url}/oauth/token",
        content=orjson.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == " ".join(ALL_ROLES)


def test_json_member_sent_twice_is_a_repeated_parameter(lane: Lane, creds: Creds) -> None:
    # RFC 6749 §3.2: parameters must not be included more than once, in JSON as in a form.
    body = (
        f'{{"grant_type": "client_credentials", "client_id": "{creds.client_id}", '
        f'"client_secret": "wrong", "client_secret": "{creds.secret}"}}'
    ).encode()
    response = lane.http.post(
        f"{lane.base_url}/oauth/token", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request", "parameter client_secret is repeated")


@pytest.mark.parametrize("depth", [10, 999, 1020])
def test_deep_json_value_behind_a_repeated_member_is_invalid_request(
    lane: Lane, depth: int
) -> None:
    deep = b"[" * depth + b"]" * depth
    body = b'{"scope": ' + deep + b', "scope": "owner", "grant_type": "client_credentials"}'
    response = lane.http.post(
        f"{lane.base_url}/oauth/token", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")
    assert response.json()["error_description"] in {
        "parameter scope is repeated",
        "the request body is nested too deeply",
    }
