"""A token is accepted in one spelling only: base64url with spare bits set in a segment's last
character (RFC 4648 §3.5) is refused by the server's bearer check and by gatehouse.verify."""

from __future__ import annotations

import base64

import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.verify import TokenVerifier
from gatehouse.verify.errors import InvalidToken
from gatehouse.verify.jws import b64url_decode
from tests.factories import add_customer
from tests.lifecycle.conftest import Lifecycle

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def with_spare_bit(segment: str) -> str:
    """The same bytes spelled with the lowest spare bit of the last character set."""
    assert len(segment) % 4 in (2, 3)
    last = ALPHABET.index(segment[-1])
    assert last & 1 == 0
    twin = segment[:-1] + ALPHABET[last | 1]
    assert b64url_decode(segment) == twin_bytes(twin)
    return twin


def twin_bytes(segment: str) -> bytes:
    """What a lenient decoder makes of ``segment`` (the standard library ignores spare bits)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def respelled(token: str, index: int) -> str:
    parts = token.split(".")
    parts[index] = with_spare_bit(parts[index])
    return ".".join(parts)


@pytest.mark.parametrize("segment", ["QR", "QUJ", "QUJDRF"])
def test_the_decoder_refuses_spare_bits(segment: str) -> None:
    with pytest.raises(ValueError, match="non-canonical base64url"):
        b64url_decode(segment)


def test_a_respelled_token_is_refused_by_the_api_and_the_verifier(
    client: TestClient, runtime: Runtime
) -> None:
    add_customer(runtime, "acme")
    lc = Lifecycle(client, runtime)
    token = lc.token(lc.app())
    verifier = TokenVerifier(runtime.settings.issuer("acme"), runtime.settings.default_audience)
    jwks = runtime.replica.jwks_json("acme")
    assert jwks is not None
    verifier.keyset.load(orjson.loads(jwks))
    assert verifier.verify(token)["customer_id"] == "acme"
    assert lc.api_status(token) == 200
    # The ES256 signature is 64 bytes: 86 characters, 4 spare bits in the last one.
    variants = [respelled(token, 2)]
    for index in (0, 1):
        if len(token.split(".")[index]) % 4 in (2, 3):
            variants.append(respelled(token, index))
    for variant in variants:
        assert variant != token
        assert lc.api_status(variant) == 401
        with pytest.raises(InvalidToken):
            verifier.verify(variant)
