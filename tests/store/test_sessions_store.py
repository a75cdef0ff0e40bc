"""Contract of ``gatehouse.store.sessions`` (console sessions and one-time results), on SQLite
and PostgreSQL."""

from __future__ import annotations

import pytest

from gatehouse.store import sessions as rows
from gatehouse.store import users
from gatehouse.store.store import Store

DIGEST = "a" * 64


@pytest.fixture
def acme(store: Store) -> Store:
    store.create_customer(customer_id="acme", name="Acme")
    users.insert_user(
        store, user_id="usr_a", customer_id="acme", email="a@x", password_hash="h", role="owner"
    )
    return store


def _claim(store: Store, result_id: str, token_hash: str, *, at: float = 10.0) -> bool:
    return rows.insert_claim(
        store,
        result_id=result_id,
        form_token_hash=token_hash,
        session_hash=DIGEST,
        created_at=at,
        expires_at=at + 100,
    )


def test_a_session_is_found_with_its_user_and_ended_with_its_results(acme: Store) -> None:
    rows.insert_session(
        acme, id_hash=DIGEST, user_id="usr_a", csrf_token="csrf", created_at=1.0, expires_at=9.0
    )
    found = rows.find_session(acme, id_hash=DIGEST)
    assert found is not None
    assert (found.user.email, found.user.role, found.csrf_token, found.expires_at) == (
        "a@x",
        "owner",
        "csrf",
        9.0,
    )
    assert rows.find_session(acme, id_hash="b" * 64) is None
    assert _claim(acme, "res_1", "f" * 64)
    rows.delete_session(acme, id_hash=DIGEST)
    assert rows.find_session(acme, id_hash=DIGEST) is None
    assert rows.find_claim(acme, form_token_hash="f" * 64) is None


def test_a_new_session_drops_expired_sessions_and_results(acme: Store) -> None:
    rows.insert_session(
        acme, id_hash=DIGEST, user_id="usr_a", csrf_token="c", created_at=1.0, expires_at=5.0
    )
    _claim(acme, "res_old", "f" * 64, at=0.0)  # expires at 100
    rows.insert_session(
        acme, id_hash="b" * 64, user_id="usr_a", csrf_token="c", created_at=50.0, expires_at=90.0
    )
    assert rows.find_session(acme, id_hash=DIGEST) is None
    assert rows.find_claim(acme, form_token_hash="f" * 64) is not None
    rows.insert_session(
        acme, id_hash="c" * 64, user_id="usr_a", csrf_token="c", created_at=101.0, expires_at=200
    )
    assert rows.find_claim(acme, form_token_hash="f" * 64) is None


def test_a_form_token_is_claimed_once_and_its_result_recorded(acme: Store) -> None:
    assert _claim(acme, "res_1", "f" * 64)
    assert not _claim(acme, "res_2", "f" * 64)
    assert rows.find_claim(acme, form_token_hash="f" * 64) == rows.ResultClaim(
        "res_1", DIGEST, None
    )
    assert rows.result_location(acme, result_id="res_1") == (True, None)
    rows.finish_result(acme, result_id="res_1", location="/x", notice="done", flash_sealed=b"s")
    assert rows.result_location(acme, result_id="res_1") == (True, "/x")
    assert rows.result_notice(acme, result_id="res_1", session_hash=DIGEST) == "done"
    assert rows.result_notice(acme, result_id="res_1", session_hash="b" * 64) is None
    rows.delete_result(acme, result_id="res_1")
    assert rows.result_location(acme, result_id="res_1") == (False, None)


def test_a_flash_is_taken_once_on_its_own_page(acme: Store) -> None:
    _claim(acme, "res_1", "f" * 64)
    rows.finish_result(acme, result_id="res_1", location="/x", notice="n", flash_sealed=b"s")
    assert rows.take_flash(acme, result_id="res_1", session_hash=DIGEST, location="/y") is None
    assert rows.take_flash(acme, result_id="res_1", session_hash="b" * 64, location="/x") is None
    taken = rows.take_flash(acme, result_id="res_1", session_hash=DIGEST, location="/x")
    assert taken == rows.Flash(sealed=b"s", created_at=10.0)
    assert rows.take_flash(acme, result_id="res_1", session_hash=DIGEST, location="/x") is None
