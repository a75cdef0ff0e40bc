"""A verifier given its keys (``keys=``, a local key source) and an audience policy: the way an
issuer's own processes verify its tokens, composing ``TokenVerifier`` instead of subclassing."""

from __future__ import annotations

import orjson
import pytest
from tests.verify.fake_issuer import AUDIENCE, FakeIssuer, make_key

from gatehouse.verify import ANY_AUDIENCE, InvalidToken, KeySetUnavailable, TokenVerifier


class Source:
    """The issuer's JWKS as bytes in memory, a new object whenever the keys change."""

    def __init__(self, issuer: FakeIssuer) -> None:
        self.issuer = issuer
        self.asked: list[str | None] = []
        self.document: bytes | None = self.render()

    def render(self) -> bytes:
        return orjson.dumps({"keys": [key.jwk for key in self.issuer.keys]})

    def __call__(self, kid: str | None) -> bytes | None:
        self.asked.append(kid)
        return self.document


def test_a_verifier_with_a_key_source_never_fetches(issuer: FakeIssuer) -> None:
    source = Source(issuer)
    verifier = TokenVerifier(issuer.issuer, AUDIENCE, keys=source)
    verifier.sync_keys()
    assert verifier.verify(issuer.token())["iss"] == issuer.issuer
    assert (issuer.metadata_hits, issuer.jwks_hits) == (0, 0)


def test_an_unknown_kid_asks_the_source_for_it_once_per_token(issuer: FakeIssuer) -> None:
    source = Source(issuer)
    verifier = TokenVerifier(issuer.issuer, AUDIENCE, keys=source)
    verifier.sync_keys()
    newer = make_key("ES256")
    issuer.keys.append(newer)
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(issuer.token(newer))
    assert source.asked == [None, newer.kid]
    source.document = source.render()  # the source found the new key
    assert verifier.verify(issuer.token(newer))["sub"] == "client-abc"


def test_a_key_leaving_the_source_forgets_the_tokens_it_signed(issuer: FakeIssuer) -> None:
    source = Source(issuer)
    verifier = TokenVerifier(issuer.issuer, AUDIENCE, keys=source)
    verifier.sync_keys()
    old = issuer.keys[0]
    token = issuer.token(old)
    verifier.verify(token)
    issuer.keys[:] = [make_key("ES256")]
    source.document = source.render()
    verifier.sync_keys()
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(token)


def test_a_source_without_a_document_leaves_the_keys_unavailable(issuer: FakeIssuer) -> None:
    verifier = TokenVerifier(issuer.issuer, AUDIENCE, keys=lambda kid: None)
    with pytest.raises(KeySetUnavailable):
        verifier.verify(issuer.token())


def test_an_audience_policy_decides_on_each_aud_value(issuer: FakeIssuer) -> None:
    source = Source(issuer)
    anything = TokenVerifier(issuer.issuer, ANY_AUDIENCE, keys=source)
    anything.sync_keys()
    assert anything.verify(issuer.token(aud="https://other.test"))["aud"] == "https://other.test"
    only_b = TokenVerifier(issuer.issuer, lambda aud: aud.endswith("/b"), keys=source)
    only_b.sync_keys()
    assert only_b.verify(issuer.token(aud=["https://x.test/a", "https://x.test/b"]))
    with pytest.raises(InvalidToken, match="audience"):
        only_b.verify(issuer.token(aud="https://x.test/a"))


def test_verify_unbound_skips_only_the_sender_check(issuer: FakeIssuer) -> None:
    source = Source(issuer)
    verifier = TokenVerifier(issuer.issuer, AUDIENCE, keys=source)
    verifier.sync_keys()
    bound = issuer.token(cnf={"jkt": "thumbprint"})
    with pytest.raises(InvalidToken, match="DPoP-bound"):
        verifier.verify(bound)
    assert verifier.verify_unbound(bound)["cnf"] == {"jkt": "thumbprint"}
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify_unbound(issuer.token(exp=1, iat=0, nbf=0))
