"""Key pairs and JWK Sets for the tests (public JWKs built with joserfc, a third party)."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey


def ec_key(kid: str = "k1", crv: str = "P-256") -> ECKey:
    return ECKey.generate_key(crv, parameters={"kid": kid}, private=True)


def rsa_key(kid: str = "r1", bits: int = 2048) -> RSAKey:
    return RSAKey.generate_key(bits, parameters={"kid": kid}, private=True)


def ed_key(kid: str = "e1") -> OKPKey:
    return OKPKey.generate_key("Ed25519", parameters={"kid": kid}, private=True)


def public_jwks(*keys: ECKey | RSAKey | OKPKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}
