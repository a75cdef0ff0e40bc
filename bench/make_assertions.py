"""Write N token-request bodies, each with a fresh private_key_jwt client assertion (RFC 7523
§2.2: unique jti, ES256), one a line, for ``wrk-assertions.lua``; prints the client's id.

Run: .venv/bin/python bench/make_assertions.py KEY_PEM CLIENT_ID AUDIENCE N OUT
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

from gatehouse.client_secretless import ASSERTION_TYPE, PrivateKeyJWT


def main() -> None:
    pem, client_id, audience, count, out = sys.argv[1:6]
    signer = PrivateKeyJWT(
        audience + "/oauth2/token",
        client_id,
        Path(pem).read_bytes(),
        kid="bench",
        assertion_lifetime=3000,
    )
    prefix = f"grant_type=client_credentials&client_assertion_type={quote(ASSERTION_TYPE, safe='')}"
    with Path(out).open("w") as file:
        for _ in range(int(count)):
            file.write(f"{prefix}&client_assertion={signer.make_assertion()}\n")


if __name__ == "__main__":
    main()
