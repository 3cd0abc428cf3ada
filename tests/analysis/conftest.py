"""Fixtures for the analysis tests: a knowledge base built from ATT&CK and a small hand-made one."""

from __future__ import annotations

import pytest

from analysis.labelled import SHARED_DATA
from pacte.analysis.knowledge import Knowledge


@pytest.fixture(scope="session")
def attack_knowledge() -> Knowledge:
    """Knowledge built from the shared ATT&CK Enterprise bundle (skips when shared/ is absent)."""
    path = SHARED_DATA / "attack-enterprise.json"
    if not path.is_file():
        pytest.skip("shared/data/attack-enterprise.json is not beside the clone")
    return Knowledge.from_bundle_file(path)


@pytest.fixture()
def small_knowledge() -> Knowledge:
    """A tiny hand-made knowledge base with one actor, one malware, one tool and one technique."""
    return Knowledge.from_objects([
        {"type": "intrusion-set", "id": "intrusion-set--11111111-1111-4111-8111-111111111111",
         "name": "APT28", "aliases": ["Fancy Bear", "Sofacy", "Sednit"]},
        {"type": "malware", "id": "malware--22222222-2222-4222-8222-222222222222", "name": "X-Agent",
         "is_family": True, "x_mitre_aliases": ["CHOPSTICK"]},
        {"type": "malware", "id": "malware--33333333-3333-4333-8333-333333333333", "name": "Silence",
         "is_family": True},
        {"type": "tool", "id": "tool--44444444-4444-4444-8444-444444444444", "name": "Mimikatz"},
        {"type": "attack-pattern", "id": "attack-pattern--55555555-5555-4555-8555-555555555555",
         "name": "Phishing", "external_references": [{"source_name": "mitre-attack", "external_id": "T1566"}]},
        {"type": "malware", "id": "malware--66666666-6666-4666-8666-666666666666", "name": "Old",
         "is_family": True, "revoked": True},
    ])
