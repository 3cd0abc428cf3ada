"""Integer literals beyond 64 bits are refused by path; digits inside strings and exact integers pass."""

from __future__ import annotations

import orjson
import pytest

from pacte.errors import InvalidSTIX
from pacte.stix.bundle import refuse_inexact_integers


def _check(text: str) -> None:
    raw = text.encode()
    refuse_inexact_integers(raw, orjson.loads(raw))


@pytest.mark.parametrize("text", [
    '{"objects": [{"n": 9223372036854775807}]}',  # 19 digits
    '{"objects": [{"n": 18446744073709551615}]}',  # 2^64 - 1: 20 digits, kept exactly
    '{"objects": [{"n": -9223372036854775808}]}',
    '{"objects": [{"s": "12345678901234567890123456789"}]}',  # digits inside a string
    '{"objects": [{"x": 12345678901234567890.5}]}',  # a float literal, not an integer
    '{"objects": [{"x": 0.' + "3" * 5000 + '}]}',  # fraction digits: once a 500 (int() of 5000 digits)
    '{"objects": [{"x": 1e-' + "0" * 5000 + '1}]}',  # exponent digits
    '{"objects": [{"x": 123456789012345678901.0, "y": 0.123456789012345678901}]}',  # was refused as inexact
])
def test_exact_values_pass(text: str) -> None:
    _check(text)


@pytest.mark.parametrize(("text", "field"), [
    ('{"objects": [{"id": "x--1", "n": 18446744073709551616}]}', "n"),  # 2^64
    ('{"objects": [{"id": "x--1", "a": [1, {"b": -123456789012345678901234}]}]}', "a[1].b"),
])
def test_integers_beyond_64_bits_are_refused_by_path(text: str, field: str) -> None:
    with pytest.raises(InvalidSTIX) as exc:
        _check(text)
    assert exc.value.details[0].field == field
