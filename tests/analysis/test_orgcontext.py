"""Where an organisation's name is written decides whether the report speaks of it (made-up names)."""

from __future__ import annotations

from pacte.analysis.entities import find_entities
from pacte.analysis.knowledge import Knowledge
from pacte.analysis.malrules import is_legitimate_software
from pacte.analysis.orgcontext import corporate_suffix_end, in_address_field, in_file_path, is_field_label


def test_names_in_file_paths() -> None:
    text = "- `C:\\Program Files\\Fabrikam\\Tools\\` and /opt/fabrikam/bin; Fabrikam said"
    assert in_file_path(text, text.index("Fabrikam"), text.index("Fabrikam") + 8)
    last = text.rindex("Fabrikam")
    assert not in_file_path(text, last, last + 8)


def test_field_labels_of_a_dump() -> None:
    text = "            Marble Information Access:\n                CA Issuers - URI:http://x\nMarble Works said:"
    assert is_field_label(text, text.index("Marble"), text.index(" Access") + 7)
    assert not is_field_label(text, text.rindex("Marble"), text.rindex("Marble") + 12)


def test_street_field_of_an_address() -> None:
    text = 'Subject: C = GB, street = "Premier House, Lumen Business Park, Elm Way", O = LUMEN LIMITED'
    assert in_address_field(text, text.index("Lumen Business"))
    assert not in_address_field(text, text.index("LUMEN LIMITED"))


def test_corporate_suffix_extends_a_listed_name() -> None:
    text = "O = Contoso Limited, CN = x; hosted by Contoso, Inc. |"
    assert text[: corporate_suffix_end(text, text.index(" Limited"))].endswith("Contoso Limited")
    end = text.index(", Inc.")
    assert text[: corporate_suffix_end(text, end)].endswith("Contoso, Inc.")
    assert corporate_suffix_end(text, text.index(", CN")) == text.index(", CN")


def test_legitimate_software_known_as_a_tool_is_no_family() -> None:
    kb = Knowledge.from_objects([
        {"type": "tool", "id": "tool--00000000-0000-4000-8000-000000000001", "name": "AnyDesk"},
        {"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000002", "name": "QuillHarp"},
    ])
    text = "The attackers installed AnyDesk, then the QuillHarp backdoor."
    names = {e.name for e in find_entities(text, lang="en", knowledge=kb, ner=False)}
    assert "QuillHarp" in names and "AnyDesk" not in names
    assert is_legitimate_software("Quick Assist") and not is_legitimate_software("QuillHarp")
