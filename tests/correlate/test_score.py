"""The score model of ``pacte.correlate.score``: its documented examples, orderings and bounds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pacte.correlate import score as model
from pacte.correlate.score import HALF_LIFE_DAYS, KINDS, ScoreInputs, kind_of_pattern, score
from pacte.stix.extension import DEFAULT_GRADING, Grading

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "extension.md"


def _inputs(**change: object) -> ScoreInputs:
    base = ScoreInputs(sources=2, false_positives=0, grading=Grading("B", 2), confidence=70, kind="domain",
                       last_activity=NOW - timedelta(days=10))
    return dataclasses.replace(base, **change)  # type: ignore[arg-type]


def test_documented_example_ip() -> None:
    inputs = ScoreInputs(sources=3, false_positives=0, grading=Grading("B", 2), confidence=80, kind="ip",
                         last_activity=NOW - timedelta(days=15))
    assert score(inputs, NOW) == 45


def test_documented_example_hash() -> None:
    inputs = ScoreInputs(sources=1, false_positives=1, grading=DEFAULT_GRADING, confidence=None, kind="hash",
                         last_activity=NOW - timedelta(days=365))
    assert score(inputs, NOW) == 3


def test_examples_are_the_documented_ones() -> None:
    text = DOCS.read_text()
    assert "**45**" in text and "**3**" in text
    assert "45.10... -> **45**" in (model.__doc__ or "")
    for kind, days in HALF_LIFE_DAYS.items():
        assert f"| `{kind}` |" in text and f"| {days:g} |" in text, kind


def test_fresh_certain_indicator_scores_by_corroboration_alone() -> None:
    best = _inputs(grading=Grading("A", 1), confidence=100, last_activity=NOW)
    assert score(dataclasses.replace(best, sources=1), NOW) == 50
    assert score(dataclasses.replace(best, sources=2), NOW) == 75
    assert score(dataclasses.replace(best, sources=40), NOW) == 100


def test_monotonic_in_sources() -> None:
    values = [score(_inputs(sources=n, grading=Grading("A", 1), confidence=100), NOW) for n in range(1, 12)]
    assert values == sorted(values)
    assert values[0] < values[1] < values[2] < values[3]


def test_decreases_with_age() -> None:
    for kind in KINDS:
        values = [score(_inputs(kind=kind, last_activity=NOW - timedelta(days=d)), NOW)
                  for d in (0, 10, 100, 400, 2000)]
        assert values == sorted(values, reverse=True) and values[0] > values[-1], kind


def test_half_life_halves() -> None:
    fresh = model.score(_inputs(sources=40, grading=Grading("A", 1), confidence=100, last_activity=NOW), NOW)
    for kind, days in HALF_LIFE_DAYS.items():
        aged = _inputs(sources=40, grading=Grading("A", 1), confidence=100, kind=kind,
                       last_activity=NOW - timedelta(days=days))
        assert score(aged, NOW) == fresh // 2, kind


def test_ip_decays_faster_than_hash() -> None:
    month = NOW - timedelta(days=60)
    assert score(_inputs(kind="ip", last_activity=month), NOW) < score(_inputs(kind="hash", last_activity=month), NOW)


def test_future_activity_counts_as_now() -> None:
    assert score(_inputs(last_activity=NOW + timedelta(days=3)), NOW) == score(_inputs(last_activity=NOW), NOW)


def test_decreases_with_false_positives() -> None:
    values = [score(_inputs(false_positives=n), NOW) for n in range(6)]
    assert values == sorted(values, reverse=True)
    assert values[0] > values[1] > values[2]
    assert score(_inputs(false_positives=1000), NOW) == 0


def test_grading_ordering() -> None:
    a1, f6, e5 = (score(_inputs(grading=g), NOW) for g in (Grading("A", 1), Grading("F", 6), Grading("E", 5)))
    assert a1 > f6 > e5
    by_reliability = [score(_inputs(grading=Grading(r, 1)), NOW) for r in "ABCDE"]
    assert by_reliability == sorted(by_reliability, reverse=True) and len(set(by_reliability)) == 5
    by_credibility = [score(_inputs(grading=Grading("A", c)), NOW) for c in (1, 2, 3, 4, 5)]
    assert by_credibility == sorted(by_credibility, reverse=True) and len(set(by_credibility)) == 5


def test_confidence_raises_score() -> None:
    values = [score(_inputs(confidence=c), NOW) for c in (0, 25, 50, 75, 100)]
    assert values == sorted(values) and values[0] < values[-1]
    assert score(_inputs(confidence=None), NOW) == score(_inputs(confidence=50), NOW)


@pytest.mark.parametrize("sources", [1, 2, 5, 1000])
@pytest.mark.parametrize("grading", [Grading("A", 1), Grading("C", 3), Grading("E", 5), DEFAULT_GRADING])
@pytest.mark.parametrize("confidence", [None, 0, 100])
def test_bounds(sources: int, grading: Grading, confidence: int | None) -> None:
    for days in (0, 1, 10_000):
        value = score(_inputs(sources=sources, grading=grading, confidence=confidence,
                              last_activity=NOW - timedelta(days=days)), NOW)
        assert isinstance(value, int) and 0 <= value <= 100


@pytest.mark.parametrize("change", [
    {"sources": 0}, {"false_positives": -1}, {"confidence": 101}, {"confidence": -1}, {"kind": "ipv4"},
])
def test_bad_inputs_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _inputs(**change)


@pytest.mark.parametrize(("pattern", "kind"), [
    ("[ipv4-addr:value = '198.51.100.1']", "ip"),
    ("[ipv6-addr:value ISSUBSET '2001:db8::/32']", "ip"),
    ("[domain-name:value = 'evil.example']", "domain"),
    ("[url:value = 'http://evil.example/a:b']", "url"),
    ("[email-addr:value = 'a@evil.example']", "email"),
    ("[email-message:from_ref.value = 'a@evil.example']", "email"),
    ("[file:hashes.'SHA-256' = 'aa']", "hash"),
    ("[file:hashes.MD5 = 'aa' AND file:name = 'x.exe']", "hash"),
    ("[file:name = 'x.exe' AND file:hashes.MD5 = 'aa']", "other"),
    ("[artifact:hashes.'SHA-256' = 'aa']", "hash"),
    ("[process:name = 'ipv4-addr:value']", "other"),
    ("([ (domain-name:value = 'a.example' OR ipv4-addr:value = '1.2.3.4')] AND [url:value = 'x'])", "domain"),
    ("[x-acme-thing:value = 'a']", "other"),
    ("[windows-registry-key:key = 'HKLM\\\\x']", "other"),
    ("not a pattern", "other"),
])
def test_kind_of_pattern(pattern: str, kind: str) -> None:
    assert kind_of_pattern(pattern) == kind
