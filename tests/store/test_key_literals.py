"""The store's key algorithms are the protocol core's (the store imports nothing of
``gatehouse.oauth``, so the two ``Literal`` types are spelled twice and held equal here)."""

from __future__ import annotations

from typing import get_args

from gatehouse.oauth.keys import ALGORITHMS, Alg
from gatehouse.store import models


def test_the_store_and_the_core_name_the_same_algorithms() -> None:
    assert set(get_args(models.Algorithm)) == set(get_args(Alg))
    assert models.ALGORITHMS == ALGORITHMS


def test_the_key_states_tuple_lists_the_literal() -> None:
    assert get_args(models.KeyState) == models.KEY_STATES
