"""STIX pieces: deterministic SCO ids as the spec defines them, valid patterns, reproducible draft ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import stix2
from stix2patterns.validator import run_validator

from pacte.analysis import stix


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("ipv4", "198.51.100.3", lambda v: stix2.IPv4Address(value=v).id),
        ("ipv6", "2001:db8::1", lambda v: stix2.IPv6Address(value=v).id),
        ("domain", "example.com", lambda v: stix2.DomainName(value=v).id),
        ("url", "https://example.com/é?q='x'", lambda v: stix2.URL(value=v).id),
        ("email", "a@example.com", lambda v: stix2.EmailAddress(value=v).id),
        ("sha256", "ab" * 32, lambda v: stix2.File(hashes={"SHA-256": v}).id),
        ("md5", "cd" * 16, lambda v: stix2.File(hashes={"MD5": v}).id),
    ],
)
def test_sco_ids_match_the_reference_implementation(kind: str, value: str, expected) -> None:  # type: ignore[no-untyped-def]
    sco = stix.observable_sco(kind, value)
    assert sco is not None
    assert sco["id"] == expected(value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("url", "http://evil.top/a'b\\c"), ("sha1", "ab" * 20), ("domain", "evil.top"), ("email", "x@evil.top")],
)
def test_patterns_are_valid_stix_patterns(kind: str, value: str) -> None:
    pattern = stix.pattern_for(kind, value)
    assert pattern is not None
    assert run_validator(pattern) == []


def test_wallets_use_the_pacte_new_sco_extension() -> None:
    sco = stix.wallet_sco("bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sy", "BTC")
    assert sco["type"] == "cryptocurrency-wallet" and sco["currency"] == "BTC"
    assert sco["extensions"] == {stix.WALLET_EXTENSION_ID: {"extension_type": "new-sco"}}
    assert sco["id"] == stix.wallet_sco("bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sy", None)["id"]
    pattern = stix.pattern_for("crypto_wallet", "bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sy")
    assert pattern is not None and run_validator(pattern) == []


def test_draft_ids_are_reproducible_uuid4_form() -> None:
    a = stix.draft_id("malware", "scope", "x")
    assert a == stix.draft_id("malware", "scope", "x")
    assert a != stix.draft_id("malware", "other", "x")
    assert a.split("--")[1][14] == "4"


def test_timestamps_are_utc_with_milliseconds() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    assert stix.timestamp(moment) == "2025-01-02T01:04:05.678Z"
    assert stix.timestamp(datetime(2025, 1, 2, tzinfo=UTC)) == "2025-01-02T00:00:00.000Z"
