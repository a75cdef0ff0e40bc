"""The bounded client cache on its own (src/gatehouse/clientcache.py): least recently used out,
the negative cache bounded too, and the per-second budget of fruitless reads."""

from __future__ import annotations

import dataclasses

from gatehouse.clientcache import ClientCache
from gatehouse.oauth.directory import ClientEntry


def entry(n: int) -> ClientEntry:
    return ClientEntry(
        id=f"app_{n}",
        customer_id="acme",
        client_id=f"client-{n:020d}",
        secret_hash=b"h" * 32,
        previous_secret_hash=None,
        previous_secret_expires_at=None,
        api_roles=("viewer",),
        enabled=True,
        token_lifetime_seconds=1800,
        token_quota_per_hour=None,
        tokens_revoked_before=None,
    )


def test_the_least_recently_used_client_leaves_first() -> None:
    cache = ClientCache(size=3, reads_per_second=10)
    for n in range(3):
        cache.put(entry(n), ())
    assert cache.get(entry(0).client_id) == entry(0)  # 0 is now the most recent
    cache.put(entry(3), ())
    assert len(cache) == 3
    assert cache.get(entry(1).client_id) is None
    assert cache.by_app_id("app_1") is None
    assert [cache.get(entry(n).client_id) for n in (0, 2, 3)] == [entry(0), entry(2), entry(3)]


def test_a_changed_client_id_replaces_the_old_one_and_forget_drops_it() -> None:
    cache = ClientCache(size=10, reads_per_second=10)
    cache.put(entry(1), ())
    moved = dataclasses.replace(entry(1), client_id="client-renamed-000000000")
    cache.put(moved, ())
    assert cache.get(entry(1).client_id) is None
    assert cache.get("client-renamed-000000000") == moved
    cache.forget("app_1")
    assert len(cache) == 0


def test_unknown_ids_are_remembered_within_the_bound() -> None:
    cache = ClientCache(size=10, reads_per_second=10)
    for n in range(25):
        cache.remember_unknown(f"unknown-{n}")
    assert not cache.is_known_unknown("unknown-0")  # pushed out by newer ones
    assert cache.is_known_unknown("unknown-24")
    cache.forget_unknown()
    assert not cache.is_known_unknown("unknown-24")


def test_the_budget_counts_fruitless_reads_only() -> None:
    cache = ClientCache(size=10, reads_per_second=3)
    allowed = 0
    while cache.may_read() and allowed < 100:
        allowed += 1
        cache.spend()
    # Within one second (or two, if it turned meanwhile): 3 reads each.
    assert 3 <= allowed <= 6
    assert cache.refused == 1
