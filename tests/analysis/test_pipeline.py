"""The whole pipeline: valid bundles, links to known objects, evidence, determinism, and the dev reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_instance

from analysis.labelled import NOW, corpus_reports, dev_reports, labels
from pacte.analysis import Knowledge, analyse
from pacte.analysis.observables import IOC_KINDS
from pacte.errors import InvalidInput

FR_ARTICLE = """Accueil | Actualités | Cybersécurité
[Publicité]
Par Jeanne Martin
Le groupe APT28 cible les ministères européens

Le groupe APT28 a utilisé le maliciel CHOPSTICK contre le ministère des Affaires étrangères à Paris en mars 2024.
Les serveurs de commande étaient hébergés sur update-check[.]top et 45.77.55[.]145.
La vulnérabilité CVE-2023-23397 a été exploitée, selon l'ANSSI. Technique observée : T1566.
Chargement...
À lire aussi : Les rançongiciels visent les hôpitaux
"""


def _validate(bundle: dict[str, object]) -> list[str]:
    # Strict mode: the validator's best-practice warnings count as errors too.
    result = validate_instance(bundle, ValidationOptions(strict=True))
    return [str(e) for e in result.errors]


def test_french_article_gives_a_valid_draft(small_knowledge: Knowledge) -> None:
    draft = analyse(FR_ARTICLE, knowledge=small_knowledge, now=NOW)
    assert _validate(draft.bundle) == []
    assert draft.lang == "fr"
    assert "Publicité" not in draft.text and "Chargement" not in draft.text and "Jeanne Martin" not in draft.text
    assert "Le groupe APT28 a utilisé le maliciel CHOPSTICK" in draft.text
    report = draft.bundle["objects"][0]
    assert report["type"] == "report" and report["lang"] == "fr" and report["description"] == draft.text
    assert report["published"] == "2025-03-01T12:00:00.000Z"
    kinds = {i.kind: i for i in draft.items}
    assert kinds["threat_actor"].stix_id == "intrusion-set--11111111-1111-4111-8111-111111111111"
    assert kinds["threat_actor"].known
    assert kinds["attack_technique"].stix_id == "attack-pattern--55555555-5555-4555-8555-555555555555"
    assert ("Paris", "FR") in {(i.name, i.detail.get("code")) for i in draft.items_of("location")}
    assert "2024-03" in {i.value for i in draft.items_of("date")}
    assert {"update-check.top", "45.77.55.145", "CVE-2023-23397"} <= {i.value for i in draft.items}


def test_known_objects_are_referenced_not_duplicated(small_knowledge: Knowledge) -> None:
    draft = analyse(FR_ARTICLE, knowledge=small_knowledge, now=NOW)
    ids = {o["id"] for o in draft.bundle["objects"]}
    refs = set(draft.bundle["objects"][0]["object_refs"])
    assert "intrusion-set--11111111-1111-4111-8111-111111111111" in refs
    assert "intrusion-set--11111111-1111-4111-8111-111111111111" not in ids
    assert not [o for o in draft.bundle["objects"] if o.get("name") == "APT28" and o["type"] == "intrusion-set"]


def test_stated_relationship_is_drafted(small_knowledge: Knowledge) -> None:
    draft = analyse(FR_ARTICLE, knowledge=small_knowledge, now=NOW)
    rels = {(o["source_ref"], o["relationship_type"], o["target_ref"])
            for o in draft.bundle["objects"] if o["type"] == "relationship"}
    assert ("intrusion-set--11111111-1111-4111-8111-111111111111", "uses",
            "malware--22222222-2222-4222-8222-222222222222") in rels


def test_evidence_offsets_point_into_the_cleaned_text(small_knowledge: Knowledge) -> None:
    draft = analyse(FR_ARTICLE, knowledge=small_knowledge, now=NOW)
    for item in draft.items:
        assert item.evidence and 0 <= item.confidence <= 100 and item.accepted is None
        for start, end, snippet in item.evidence:
            assert draft.text[start:end] in snippet.replace("  ", " ") or " " in draft.text[start:end]


def test_same_input_gives_the_same_bundle(small_knowledge: Knowledge) -> None:
    a = analyse(FR_ARTICLE, knowledge=small_knowledge, now=NOW, ner=False)
    b = analyse(FR_ARTICLE.encode(), knowledge=small_knowledge, now=NOW, ner=False)
    assert json.dumps(a.bundle, sort_keys=True) == json.dumps(b.bundle, sort_keys=True)


def test_language_can_be_given() -> None:
    draft = analyse("Some short English words about nothing in particular.", lang="en", ner=False, now=NOW)
    assert draft.bundle["objects"][0]["lang"] == "en"
    with pytest.raises(InvalidInput):
        analyse("text", lang="not a code", now=NOW)


def test_report_with_nothing_extracted_is_still_valid() -> None:
    draft = analyse("A calm day with nothing to report at all.", ner=False, now=NOW)
    assert draft.items == []
    assert _validate(draft.bundle) == []


def test_all_boilerplate_is_refused() -> None:
    with pytest.raises(InvalidInput):
        analyse("Loading...\n[Advertisement]\n", now=NOW)


REPORTS = dev_reports()


@pytest.mark.skipif(not REPORTS, reason="shared/data/reports-dev is not beside the clone")
@pytest.mark.parametrize("report", REPORTS, ids=[p.stem[:2] for p in REPORTS])
def test_dev_report(report: Path, attack_knowledge: Knowledge) -> None:
    expected = labels(report)
    draft = analyse(report.read_bytes(), filename=report.name, knowledge=attack_knowledge, now=NOW, ner=False)
    assert _validate(draft.bundle) == []
    assert draft.lang == expected["language"]
    iocs = expected["iocs"]
    optional = expected.get("optional_iocs") or {}
    assert isinstance(iocs, dict) and isinstance(optional, dict)
    values = {(i.kind, i.value) for i in draft.items}
    for kind in IOC_KINDS:
        want = set(iocs.get(kind, []))
        got = {v for k, v in values if k == kind}
        # Recall on the labelled indicators; no value outside the labels (definite or optional).
        assert want <= got, f"{kind} missed {sorted(want - got)}"
        assert got <= want | set(optional.get(kind, [])), f"{kind} wrongly took {sorted(got - want)}"
    non = set(expected.get("non_indicators") or [])
    assert not non & {v for _, v in values}
    for sample in expected.get("boilerplate_samples") or []:
        assert sample not in draft.text


@pytest.mark.skipif(not REPORTS, reason="shared/data/reports-dev is not beside the clone")
def test_dev_reports_without_knowledge_validate_strictly() -> None:
    for report in REPORTS:
        draft = analyse(report.read_bytes(), filename=report.name, now=NOW, ner=False)
        assert _validate(draft.bundle) == [], report.name
        assert all(not i.known for i in draft.items)  # nothing can link to hub objects without knowledge


HTML_PAGE = """<!DOCTYPE html><html><head><title>Sandworm hits grid again</title>
<link rel="canonical" href="https://www.security-news.example.org/sandworm-grid"></head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/about">About us</a></nav>
<article><h1>Sandworm hits grid again</h1>
<p>The Sandworm group deployed the Industroyer2 malware against a Ukrainian energy company in April 2022.</p>
<p>Its loader was fetched from hxxp://grid-update[.]top/ind2.exe, researchers at ESET said on Tuesday.</p>
<p>More analysis is available at https://www.security-news.example.org/archive/ for subscribers.</p>
<p>Loading...</p></article>
<div class="comments"><h3>Leave a comment</h3></div>
<footer>© 2022 Security News. All rights reserved.</footer></body></html>"""


def test_saved_web_page_gives_a_clean_valid_draft() -> None:
    draft = analyse(HTML_PAGE.encode(), filename="page.html", now=NOW, ner=False)
    assert _validate(draft.bundle) == []
    assert draft.title == "Sandworm hits grid again"
    assert "deployed the Industroyer2 malware against a Ukrainian energy company" in draft.text
    for clutter in ("All rights reserved", "Leave a comment", "Loading...", "About us"):
        assert clutter not in draft.text
    urls = {i.value for i in draft.items_of("url")}
    assert urls == {"http://grid-update.top/ind2.exe"}
    assert "https://www.security-news.example.org/archive/" in draft.references  # the publisher's own link
    assert "Industroyer2" in {i.value for i in draft.items_of("malware")}


def test_draft_serialises_to_json(small_knowledge: Knowledge) -> None:
    draft = analyse(FR_ARTICLE, knowledge=small_knowledge, now=NOW, ner=False)
    data = json.loads(json.dumps(draft.as_dict()))
    assert data["lang"] == "fr" and data["bundle"]["type"] == "bundle"
    first = data["items"][0]
    assert {"kind", "value", "stix_id", "confidence", "accepted", "evidence"} <= set(first)
    assert {"rule": "loading", "line": "Chargement..."} in data["removed"]


def test_nothing_is_fetched_from_the_network(monkeypatch: pytest.MonkeyPatch, small_knowledge: Knowledge) -> None:
    import socket

    from pacte.analysis import observables
    from pacte.analysis.language import _detector
    from pacte.analysis.ner import load_model

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the analysis tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    observables._psl.cache_clear()  # build the public-suffix list again, now with the network refused
    _detector.cache_clear()
    load_model.cache_clear()
    draft = analyse(FR_ARTICLE, knowledge=small_knowledge, now=NOW, ner=True)
    assert "update-check.top" in {i.value for i in draft.items}


CORPUS = corpus_reports()


@pytest.mark.parametrize("report", CORPUS, ids=[p.stem[:2] for p in CORPUS])
def test_corpus_report(report: Path) -> None:
    expected = labels(report)
    draft = analyse(report.read_bytes(), filename=report.name, now=NOW, ner=False)
    assert _validate(draft.bundle) == []
    assert draft.lang == expected["language"]
    iocs = expected["iocs"]
    optional = expected.get("optional_iocs") or {}
    assert isinstance(iocs, dict) and isinstance(optional, dict)
    for kind in IOC_KINDS:
        want = set(iocs.get(kind, []))
        got = {i.value for i in draft.items_of(kind)}
        assert want <= got, f"{kind} missed {sorted(want - got)}"
        assert got <= want | set(optional.get(kind, [])), f"{kind} wrongly took {sorted(got - want)}"
    for sample in expected.get("boilerplate_samples") or []:
        assert sample not in draft.text.split("\n"), sample


def test_attribution_and_targeting_are_drafted(small_knowledge: Knowledge) -> None:
    text = ("Operation Ghost Relay\n\nOperation Ghost Relay was attributed to APT28 by several vendors.\n"
            "APT28 targeted ministries in Germany with CHOPSTICK.\n")
    draft = analyse(text, knowledge=small_knowledge, now=NOW, ner=False)
    by_id = {o["id"]: o for o in draft.bundle["objects"]}
    rels = {(by_id.get(o["source_ref"], {}).get("name", o["source_ref"]), o["relationship_type"],
             by_id.get(o["target_ref"], {}).get("name", o["target_ref"]))
            for o in draft.bundle["objects"] if o["type"] == "relationship"}
    apt28 = "intrusion-set--11111111-1111-4111-8111-111111111111"
    assert ("Operation Ghost Relay", "attributed-to", apt28) in rels
    assert (apt28, "targets", "Germany") in rels
    assert _validate(draft.bundle) == []


def test_wallets_become_indicators_with_the_extension_in_the_bundle() -> None:
    draft = analyse("Send BTC to bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sy or ETH to "
                    "0xc54e1f4E1aD38D892b28Acfb56e83951b61671D9.", now=NOW, ner=False)
    assert _validate(draft.bundle) == []
    types = [o["type"] for o in draft.bundle["objects"]]
    assert types.count("cryptocurrency-wallet") == 2 and types.count("extension-definition") == 1
    wallets = draft.items_of("crypto_wallet")
    assert {w.detail["note"] for w in wallets} == {"BTC", "ETH"}
    assert all(w.stix_id and w.stix_id.startswith("indicator--") for w in wallets)
    report = draft.bundle["objects"][0]
    assert not any(r.startswith("extension-definition--") for r in report["object_refs"])


def test_title_is_not_a_boilerplate_line() -> None:
    draft = analyse("Aller au contenu\n\nRançongiciel\n\nUn rançongiciel chiffre les données des victimes.\n",
                    now=NOW, ner=False)
    assert draft.title == "Rançongiciel"
