"""Opaque positions: sealed per reader and surface, fresh each time, refused when altered or misdirected."""

from __future__ import annotations

import base64
import os
import time

import pytest

from pacte.hub import Hub
from pacte.hub.positions import Positions, Surface

KEY = bytes(range(32))


def test_round_trip_on_every_surface() -> None:
    p = Positions(KEY)
    for surface in Surface:
        for position in (0, 1, 41, 2**40 + 7, 2**63 - 1):
            token = p.seal(surface, 7, position)
            assert len(token) == 48 and token.isascii()
            assert p.open(surface, 7, token) == position


def test_tokens_are_fresh_and_per_reader() -> None:
    p = Positions(KEY)
    tokens = {p.seal(Surface.STREAM, 1, 5) for _ in range(100)}
    assert len(tokens) == 100  # the same position, the same reader: never the same string
    a, b = p.seal(Surface.OBJECTS, 1, 5), p.seal(Surface.OBJECTS, 2, 5)
    assert a != b
    assert p.open(Surface.OBJECTS, 2, a) is None and p.open(Surface.OBJECTS, 1, b) is None


def test_a_token_of_another_surface_or_key_is_refused() -> None:
    p = Positions(KEY)
    token = p.seal(Surface.TAXII, 3, 9)
    assert p.open(Surface.OBJECTS, 3, token) is None
    assert p.open(Surface.STREAM, 3, token) is None
    assert Positions(bytes(32)).open(Surface.TAXII, 3, token) is None


def test_every_alteration_is_refused() -> None:
    p = Positions(KEY)
    token = p.seal(Surface.STREAM, 4, 123)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(token):
        other = alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
        assert p.open(Surface.STREAM, 4, token[:i] + other + token[i + 1:]) is None
    for bad in ("", "0", "123", token[:-1], token + "A", token[:-2] + "==", "é" * 48, "+" * 48, "v1:5",
                base64.urlsafe_b64encode(b"s:123").decode()):
        assert p.open(Surface.STREAM, 4, bad) is None


def test_positions_past_the_databases_range_are_refused() -> None:
    p = Positions(KEY)
    assert p.open(Surface.OBJECTS, 1, p.seal(Surface.OBJECTS, 1, 2**63)) is None


def test_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError):
        Positions(os.urandom(16))


def test_delivery_digest_is_keyed_and_stable() -> None:
    assert Positions(KEY).delivery_digest(b"x:1") == Positions(KEY).delivery_digest(b"x:1")
    assert Positions(KEY).delivery_digest(b"x:1") != Positions(bytes(32)).delivery_digest(b"x:1")


def test_the_hub_seals_under_its_database_key(hub: Hub) -> None:
    token = hub.positions.seal(Surface.STREAM, 1, 77)
    assert Positions(hub.store.hub_key()).open(Surface.STREAM, 1, token) == 77


def test_sealing_is_cheap() -> None:
    p = Positions(KEY)
    n = 20_000
    start = time.perf_counter()
    for i in range(n):
        p.seal(Surface.STREAM, 3, i)
    per_token = (time.perf_counter() - start) / n
    assert per_token < 100e-6  # a few microseconds in practice; generous for a loaded test machine


def test_seal_many_is_seal_in_bulk() -> None:
    p = Positions(KEY)
    tokens = p.seal_many(Surface.STREAM, 5, [3, 3, 9, 2**62])
    assert len(set(tokens)) == 4 and all(len(t) == 48 for t in tokens)
    assert [p.open(Surface.STREAM, 5, t.decode()) for t in tokens] == [3, 3, 9, 2**62]
    assert p.open(Surface.STREAM, 6, tokens[0].decode()) is None
    assert p.seal_many(Surface.STREAM, 5, []) == []
