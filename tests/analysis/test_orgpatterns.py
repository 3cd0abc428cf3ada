"""Organisations stated by the text: corporate suffixes, registrars and hosts, appositions (one test per rule)."""

from __future__ import annotations

from pacte.analysis.entities import find_entities
from pacte.analysis.ner import NamedEntity
from pacte.analysis.orgpatterns import (
    apposition_names,
    corporate_names,
    extend_over_preposition,
    find_stated_organizations,
    registrar_names,
)


def test_corporate_suffix_names_a_company() -> None:
    text = "hosted on 203.0.113[.]9 (Brightnode, Inc. NL) and Quillfeather GmbH; the Final Ltd. note"
    assert [e.text for e in corporate_names(text)] == ["Brightnode", "Quillfeather"]


def test_registrar_or_host_named_by_what_it_did() -> None:
    text = "evil-site[.]net registered through Namebright. Another was registered with Regzone.se in May."
    assert [e.text for e in registrar_names(text)] == ["Namebright"]
    assert registrar_names("The file was hosted on Cloud Drive.") == []


def test_name_in_apposition_to_an_organisation_noun() -> None:
    text = "a document from the US non-profit research organization ACME. The security firm Zentrix said"
    assert [e.text for e in apposition_names(text)] == ["ACME", "Zentrix"]
    assert apposition_names("the company The next day") == []


def test_name_extended_over_a_preposition_after_the() -> None:
    text = "impersonate the Stand with Freedonia Foundation and Help for Freedonia Foundation."
    start = text.index("Freedonia Foundation")
    cut = NamedEntity(start, start + 20, "Freedonia Foundation", "organization")
    assert extend_over_preposition(text, cut).text == "Stand with Freedonia Foundation"
    start = text.rindex("Freedonia Foundation")
    other = NamedEntity(start, start + 20, "Freedonia Foundation", "organization")
    assert extend_over_preposition(text, other) == other  # no "the": the model's span stays


def test_stated_organisations_reach_the_entities_without_ner() -> None:
    text = "adobe-login[.]net registered through Namebright. It beacons over the company API Gateway."
    assert [e.text for e in find_stated_organizations(text)] == ["Namebright", "API Gateway"]
    orgs = [(e.name, e.source) for e in find_entities(text, lang="en", knowledge=None, ner=False)
            if e.kind == "organization"]
    assert orgs == [("Namebright", "pattern")]  # "API Gateway" is a product
