"""The client secret's documented format (SPEC §1): prefix ``gths_``, one scanner regex, at least
256 bits of randomness, a checksum that rejects any single-character typo; and public client ids
of at least 20 characters."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest

from gatehouse.oauth.secrets import (
    BASE62,
    SECRET_PATTERN,
    SECRET_PREFIX,
    generate_app_id,
    generate_client_id,
    generate_secret,
    is_well_formed,
)

# The regex a secret scanner is told to use (documented in gatehouse.oauth.secrets).
SCANNER_REGEX = re.compile(r"gths_[0-9A-Za-z]{49}")
BODY_CHARS = 43  # random base62 characters after the prefix, before the 6-character checksum


def test_secret_has_the_documented_prefix_shape_and_length() -> None:
    secret = generate_secret()
    assert SECRET_PREFIX == "gths_"
    assert secret.startswith("gths_")
    assert len(secret) == 54
    assert SCANNER_REGEX.fullmatch(secret) is not None
    assert SECRET_PATTERN.pattern == SCANNER_REGEX.pattern
    assert is_well_formed(secret)


def test_secret_is_url_and_shell_safe() -> None:
    for secret in (generate_secret() for _ in range(50)):
        assert re.fullmatch(r"[A-Za-z0-9_]+", secret) is not None


def test_secret_carries_at_least_256_bits_of_randomness() -> None:
    assert BODY_CHARS * math.log2(62) >= 256
    secrets = {generate_secret() for _ in range(300)}
    assert len(secrets) == 300
    # Every base62 symbol shows up in every random position range: the body uses the whole
    # alphabet, not a smaller one that would give fewer bits per character.
    bodies = [s[len(SECRET_PREFIX) : len(SECRET_PREFIX) + BODY_CHARS] for s in secrets]
    assert set("".join(bodies)) == set(BASE62)
    assert all(len(body) == BODY_CHARS for body in bodies)


def test_secret_found_by_the_scanner_regex_inside_text() -> None:
    secret = generate_secret()
    text = f"export GATEHOUSE_SECRET={secret}\ncurl -u id:{secret} https://x"
    assert SCANNER_REGEX.findall(text) == [secret, secret]


def test_every_single_character_typo_is_rejected_by_the_checksum() -> None:
    secret = generate_secret()
    typos = 0
    for position in range(len(secret)):
        for replacement in BASE62 + "_-":
            if replacement == secret[position]:
                continue
            typo = secret[:position] + replacement + secret[position + 1 :]
            assert not is_well_formed(typo), (position, replacement)
            typos += 1
    assert typos == len(secret) * 63


def transpose_first_unequal_pair(secret: str) -> str:
    """Swap the first two neighbouring characters of the body that differ."""
    i = next(i for i in range(5, len(secret) - 1) if secret[i] != secret[i + 1])
    return secret[:i] + secret[i + 1] + secret[i] + secret[i + 2 :]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1],  # dropped character
        lambda s: s + "A",  # extra character
        lambda s: s[1:],  # prefix cut
        lambda s: s.replace("gths_", "GTHS_"),
        lambda s: transpose_first_unequal_pair(s),
        lambda s: " " + s,
        lambda s: s.lower(),
        lambda s: "",
    ],
)
def test_mangled_secret_is_not_well_formed(mangle: Callable[[str], str]) -> None:
    secret = generate_secret()
    mangled = mangle(secret)
    assert mangled != secret
    assert not is_well_formed(mangled)


def test_client_id_is_at_least_20_lowercase_characters_and_unique() -> None:
    ids = {generate_client_id() for _ in range(300)}
    assert len(ids) == 300
    for client_id in ids:
        assert len(client_id) >= 20
        assert re.fullmatch(r"[a-z0-9]+", client_id) is not None


def test_app_id_is_app_prefixed_and_unique() -> None:
    ids = {generate_app_id() for _ in range(300)}
    assert len(ids) == 300
    assert all(re.fullmatch(r"app_[0-9A-Za-z]{16}", app_id) for app_id in ids)
