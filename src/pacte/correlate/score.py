"""The indicator score: one documented, deterministic number from 0 to 100, computed per reader at read time.

The score is the product of five factors, scaled to 100, rounded half up and clamped to 0..100::

    score = 100 x corroboration x grading x confidence x false_positives x decay

* **corroboration** ``1 - CORROBORATION_BASE ** sources``: ``sources`` is the number of independent members that
  shared or sighted the indicator as the reader may see them (at least 1). With the base 0.5 each further
  source halves the remaining doubt: 1 source 0.5, 2 sources 0.75, 3 sources 0.875.
* **grading** ``RELIABILITY_FACTOR[r] x CREDIBILITY_FACTOR[c]`` of the Admiralty grading of the version the
  reader gets: A 1.0, B 0.9, C 0.75, D 0.55, E 0.35, F 0.6 and 1 1.0, 2 0.9, 3 0.75, 4 0.55, 5 0.35, 6 0.6.
  F and 6 ("cannot be judged") are neutral, above a source or an information judged doubtful (E, 5).
* **confidence** ``CONFIDENCE_FLOOR + CONFIDENCE_SPAN x confidence / 100`` from the STIX ``confidence``
  (0-100): 0.5 at 0, 1.0 at 100; ``UNKNOWN_CONFIDENCE_FACTOR`` 0.75 when absent.
* **false positives** ``FALSE_POSITIVE_FACTOR ** false_positives``: each false-positive sighting the reader may
  see halves the score.
* **decay** ``0.5 ** (age_days / HALF_LIFE_DAYS[kind])``: ``age_days`` runs from the latest share or sighting the
  reader may see (0 if it is in the future); the half-life depends on the main observable of the pattern:
  ip 30 days, url 60, domain 90, email 90, hash 365, other 180 (addresses change hands fast, file hashes never
  stop naming the same file).

Worked examples (held exactly in ``tests/correlate/test_score.py`` and ``docs/extension.md``):

1. An IP indicator shared by 3 members, graded B2, confidence 80, no false positive, last activity 15 days ago:
   100 x 0.875 x (0.9 x 0.9) x 0.9 x 1 x 0.5 ** 0.5 = 45.10... -> **45**.
2. A file-hash indicator from 1 member with the default grading F6, no confidence, 1 false positive, last
   activity 365 days ago: 100 x 0.5 x (0.6 x 0.6) x 0.75 x 0.5 x 0.5 = 3.375 -> **3**.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from pacte.stix.extension import Grading

SCALE = 100  # the score of a certain, fresh indicator
CORROBORATION_BASE = 0.5  # share of doubt each independent source leaves
RELIABILITY_FACTOR: dict[str, float] = {"A": 1.0, "B": 0.9, "C": 0.75, "D": 0.55, "E": 0.35, "F": 0.6}
CREDIBILITY_FACTOR: dict[int, float] = {1: 1.0, 2: 0.9, 3: 0.75, 4: 0.55, 5: 0.35, 6: 0.6}
CONFIDENCE_FLOOR = 0.5  # the factor of STIX confidence 0
CONFIDENCE_SPAN = 0.5  # added at STIX confidence 100
UNKNOWN_CONFIDENCE_FACTOR = 0.75  # no confidence given: as confidence 50
FALSE_POSITIVE_FACTOR = 0.5  # each false-positive sighting multiplies the score by this
SECONDS_PER_DAY = 86_400
KINDS = ("ip", "domain", "url", "email", "hash", "other")
HALF_LIFE_DAYS: dict[str, float] = {"ip": 30, "url": 60, "domain": 90, "email": 90, "hash": 365, "other": 180}

# The object type (and first path step) of the first comparison: after the first "[" only spaces and "(" come
# before it. Classification only: the pattern has been checked at ingest.
_FIRST_COMPARISON = re.compile(r"\[[\s(]*([a-z0-9][a-z0-9-]*[a-z0-9]):([a-z0-9_]*)")
_KIND_OF_TYPE = {
    "ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain", "url": "url",
    "email-addr": "email", "email-message": "email",
}
_HASHED_TYPES = frozenset({"file", "artifact", "x509-certificate"})  # observables named by their hashes


@dataclass(frozen=True, slots=True)
class ScoreInputs:
    """What the score of one indicator for one reader depends on."""

    sources: int  # independent members that shared or sighted it, as the reader may see them (>= 1)
    false_positives: int  # false-positive sightings the reader may see
    grading: Grading  # of the version the reader gets
    confidence: int | None  # STIX confidence 0-100 of that version
    kind: str  # main observable kind of its pattern, one of KINDS
    last_activity: datetime  # latest share or sighting the reader may see (timezone-aware)

    def __post_init__(self) -> None:
        if self.sources < 1:
            raise ValueError("sources must be at least 1")
        if self.false_positives < 0:
            raise ValueError("false_positives must not be negative")
        if self.confidence is not None and not 0 <= self.confidence <= 100:
            raise ValueError("confidence must be from 0 to 100")
        if self.kind not in HALF_LIFE_DAYS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")


def score(inputs: ScoreInputs, now: datetime) -> int:
    """Return the score 0-100 of an indicator for one reader at ``now`` (model in the module docstring)."""
    corroboration: float = 1.0 - CORROBORATION_BASE ** inputs.sources
    grading = RELIABILITY_FACTOR[inputs.grading.reliability] * CREDIBILITY_FACTOR[inputs.grading.credibility]
    confidence = (UNKNOWN_CONFIDENCE_FACTOR if inputs.confidence is None
                  else CONFIDENCE_FLOOR + CONFIDENCE_SPAN * inputs.confidence / 100)
    false_positives: float = FALSE_POSITIVE_FACTOR ** inputs.false_positives
    age_days = max(0.0, (now - inputs.last_activity).total_seconds() / SECONDS_PER_DAY)
    decay: float = 0.5 ** (age_days / HALF_LIFE_DAYS[inputs.kind])
    value: float = SCALE * corroboration * grading * confidence * false_positives * decay
    return min(SCALE, max(0, math.floor(value + 0.5)))


def kind_of_pattern(pattern: str) -> str:
    """Return the kind (one of KINDS) of the observable the first comparison of a STIX pattern tests."""
    m = _FIRST_COMPARISON.search(pattern)
    if m is None:
        return "other"
    otype, step = m.groups()
    if otype in _HASHED_TYPES:
        return "hash" if step == "hashes" else "other"
    return _KIND_OF_TYPE.get(otype, "other")
