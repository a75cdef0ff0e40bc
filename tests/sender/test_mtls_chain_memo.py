"""``tls_client_auth``'s own RFC 5280 chain check (RFC 8705 §2.1) remembers a validated
certificate for a minute, never past its notAfter, and never remembers a refusal."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509

from gatehouse.oauth.mtls import CHAIN_MEMO_SECONDS, CertificateAuthenticator, load_ca_store
from tests.sender.certs import issue, make_ca


def authenticator(ca_path: Path, now: list[datetime.datetime]) -> CertificateAuthenticator:
    return CertificateAuthenticator(
        directory=None,  # type: ignore[arg-type] # the chain check reads no client
        guard=None,  # type: ignore[arg-type] # nor counts failures
        ca_store=load_ca_store(ca_path),
        clock=lambda: now[0],
    )


def test_a_validated_chain_is_remembered_for_a_minute_and_never_past_not_after(
    tmp_path: Path,
) -> None:
    ca = make_ca(tmp_path)
    leaf = issue(tmp_path, ca, "leaf", common_name="leaf")
    certificate = x509.load_der_x509_certificate(leaf.der)
    now = [datetime.datetime.now(datetime.UTC)]
    check = authenticator(ca.cert_path, now)
    assert check.chain_valid(leaf.der, certificate)
    assert check.chain_valid(leaf.der, certificate)  # remembered
    now[0] += datetime.timedelta(seconds=CHAIN_MEMO_SECONDS + 1)
    assert check.chain_valid(leaf.der, certificate)  # validated again, still good
    not_after = certificate.not_valid_after_utc
    now[0] = not_after - datetime.timedelta(seconds=10)
    assert check.chain_valid(leaf.der, certificate)  # remembered until notAfter only
    now[0] = not_after + datetime.timedelta(seconds=1)
    assert not check.chain_valid(leaf.der, certificate)  # expired: the memo does not outlive it


def test_a_refused_chain_is_not_remembered(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    ca, other = make_ca(tmp_path), make_ca(tmp_path / "other", "Other CA")
    stranger = issue(tmp_path, other, "stranger", common_name="stranger")
    certificate = x509.load_der_x509_certificate(stranger.der)
    check = authenticator(ca.cert_path, [datetime.datetime.now(datetime.UTC)])
    assert not check.chain_valid(stranger.der, certificate)
    assert not check.chain_valid(stranger.der, certificate)
    assert check._chained == {}
