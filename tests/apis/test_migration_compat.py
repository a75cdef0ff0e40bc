"""A database made by the code before APIs existed (schema 0001, a client written with raw
inserts, as that code wrote them) is migrated and keeps issuing the same tokens: the built-in
API is added for its customer, the client's grant on it is its roles, on SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import jwt
import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, text
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.keyring import new_key
from gatehouse.masterkey import load_master_key
from gatehouse.oauth.secrets import generate_client_id, generate_secret, hash_secret
from gatehouse.runtime import Runtime
from gatehouse.store import tables as t
from gatehouse.store.apis import ApiStore
from gatehouse.store.engine import MIGRATIONS, create_store_engine
from tests.conftest import make_settings


def test_a_0001_database_migrated_issues_the_same_tokens(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )
    master_key = load_master_key(settings)
    engine = create_store_engine(settings.sqlalchemy_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    now = time.time()
    secret = generate_secret()
    client_id = generate_client_id()
    key = new_key(master_key, customer_id="legacy", alg="ES256", state="active")
    with engine.begin() as conn:
        conn.execute(insert(t.customers).values(id="legacy", name="Legacy", created_at=now))
        conn.execute(
            insert(t.signing_keys).values(
                kid=key.kid,
                customer_id="legacy",
                alg="ES256",
                state="active",
                private_key_sealed=key.private_key_sealed,
                public_jwk=orjson.dumps(key.public_jwk).decode(),
                created_at=now,
                activated_at=now,
                retired_at=None,
                remove_after=None,
            )
        )
        legacy_client = dict(
            id="app_legacy0000000001",
            customer_id="legacy",
            type="client_credentials",
            name="old",
            description="",
            client_id=client_id,
            secret_hash=hash_secret(secret, key=master_key.secret_hmac_key),
            secret_sealed=None,
            previous_secret_hash=None,
            previous_secret_expires_at=None,
            api_roles='["corpus_developer","viewer"]',
            corpus_roles="[]",
            enabled=True,
            token_lifetime_seconds=900,
            token_quota_per_hour=None,
            tokens_revoked_before=None,
            created_at=now,
            updated_at=now,
            last_used_at=None,
        )
        # The 0001 row as that code wrote it: corpus_roles was a JSON column until 0010.
        columns = ", ".join(legacy_client)
        marks = ", ".join(f":{name}" for name in legacy_client)
        conn.execute(text(f"INSERT INTO app_clients ({columns}) VALUES ({marks})"), legacy_client)  # noqa: S608
    engine.dispose()

    runtime = Runtime.open(settings)  # migrates to the newest schema
    try:
        [builtin] = ApiStore(runtime.store.engine).list_apis(customer_id="legacy")
        assert builtin.builtin
        with TestClient(create_app(runtime=runtime), base_url="http://testserver") as http:
            for params in ({}, {"scope": "viewer"}, {"resource": "http://testserver"}):
                response = http.post(
                    "/customers/legacy/oauth2/token",
                    data={"grant_type": "client_credentials", **params},
                    auth=(client_id, secret),
                )
                assert response.status_code == 200, response.text
                body = response.json()
                assert body["expires_in"] == 900
                assert body["scope"] == params.get("scope", "corpus_developer viewer")
                token = body["access_token"]
                jwks = http.get("/customers/legacy/.well-known/jwks.json").json()
                claims = jwt.decode(
                    token,
                    jwt.PyJWKSet.from_dict(jwks)[key.kid].key,
                    algorithms=["ES256"],
                    audience="http://testserver",
                    issuer="http://testserver/customers/legacy",
                )
                assert set(claims) == {
                    "iss",
                    "sub",
                    "client_id",
                    "aud",
                    "iat",
                    "nbf",
                    "exp",
                    "jti",
                    "scope",
                    "customer_id",
                    "token_use",
                }
                assert claims["sub"] == claims["client_id"] == client_id
                assert claims["exp"] - claims["iat"] == 900
                listed = http.get("/v2/corpora", headers={"authorization": f"Bearer {token}"})
                assert listed.status_code == 200
    finally:
        runtime.close()
