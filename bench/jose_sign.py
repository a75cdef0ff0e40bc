"""Signing an RFC 9068 access token: PyJWT vs joserfc vs pyca/cryptography directly (ours).

Run: .venv/bin/python bench/jose_sign.py [--alg ES256] [--n 20000]
Each library signs the same claims with the same key; the figure is signatures per second on
one core (pin it with taskset -c 0 for a steadier number).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from gatehouse.oauth.keys import Alg, Signer, generate_private_key
from gatehouse.oauth.tokens import new_jti


def claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "http://127.0.0.1:8000/customers/demo",
        "sub": "ykr04ug1tcy3riju828y6zatrd",
        "client_id": "ykr04ug1tcy3riju828y6zatrd",
        "aud": "http://127.0.0.1:8000",
        "iat": now,
        "nbf": now,
        "exp": now + 1800,
        "jti": new_jti(),
        "scope": "owner",
        "customer_id": "demo",
        "token_use": "access",
    }


def rate(fn: Callable[[], object], n: int) -> float:
    for _ in range(n // 10):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg", default="ES256", choices=["ES256", "RS256", "PS256", "EdDSA"])
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    alg: Alg = args.alg
    key = generate_private_key(alg)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    header = {"kid": "k1", "typ": "at+jwt"}
    signer = Signer(kid="k1", alg=alg, key=key)
    jose_key: ECKey | RSAKey | OKPKey
    if alg == "ES256":
        jose_key = ECKey.import_key(pem)
    elif alg == "EdDSA":
        jose_key = OKPKey.import_key(pem)
    else:
        jose_key = RSAKey.import_key(pem)
    jose_header = {"alg": alg, **header}
    cases: list[tuple[str, Callable[[], object]]] = [
        ("pyca/cryptography, raw sign only", lambda: signer.sign(b"x" * 400)),
        ("gatehouse Signer (pyca direct)", lambda: signer.sign_jwt(claims())),
        ("PyJWT", lambda: jwt.encode(claims(), key, algorithm=alg, headers=header)),
        ("joserfc", lambda: jose_jwt.encode(jose_header, claims(), jose_key, algorithms=[alg])),
    ]
    print(f"{alg}, {args.n} tokens each")
    for name, fn in cases:
        print(f"  {name:<34} {rate(fn, args.n):>9,.0f} /s")


if __name__ == "__main__":
    main()
