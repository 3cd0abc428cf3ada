"""The list of well-known persons: languages, case endings, clitics, whole words."""

from __future__ import annotations

from pacte.analysis.entities import find_entities
from pacte.analysis.persons import find_persons


def test_persons_in_several_scripts_with_case_endings_and_clitics() -> None:
    found = [(m.surface, m.name) for m in find_persons("Putin y Merkel; встреча с Путиным; قال وبايدن")]
    assert found == [("Putin", "Vladimir Putin"), ("Merkel", "Angela Merkel"), ("Путиным", "Vladimir Putin"),
                     ("بايدن", "Joe Biden")]


def test_whole_words_only_and_no_ordinary_word_surnames() -> None:
    assert find_persons("Putinism and the trump card, a Garland of flowers") == []


def test_listed_persons_are_person_entities_without_ner() -> None:
    ents = find_entities("El presidente Putin habló con Merkel.", lang="es", knowledge=None, ner=False)
    assert {("person", "Vladimir Putin"), ("person", "Angela Merkel")} <= {(e.kind, e.name) for e in ents}
