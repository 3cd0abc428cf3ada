"""Boilerplate removal: each line rule, in several languages, and body text kept whole."""

from __future__ import annotations

import pytest

from pacte.analysis.clean import clean_text, line_rule

BODY = [
    "The group used spear-phishing emails with malicious attachments to reach the ministry.",
    "Le groupe a utilisé des courriels piégés pour atteindre le ministère.",
    "Los atacantes desplegaron un cargador en la red de la víctima.",
    "Die Angreifer nutzten eine Schwachstelle im VPN-Gateway.",
    "Злоумышленники использовали уязвимость в почтовом сервере.",
    "استخدم المهاجمون ثغرة في خادم البريد الإلكتروني.",
    "Comments in the script were written in Russian.",
    "By exploiting CVE-2023-48788, the attackers installed remote access tools.",
    "Read the full report for the list of indicators below.",
]


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Loading...", "loading"),
        ("Chargement…", "loading"),
        ("Загрузка...", "loading"),
        ("[Advertisement]", "ad-placeholder"),
        ("[Publicité]", "ad-placeholder"),
        ("(Anuncio)", "ad-placeholder"),
        ("[Werbung]", "ad-placeholder"),
        ("[Реклама]", "ad-placeholder"),
        ("[إعلان]", "ad-placeholder"),
        ("Home | News | Security | About us", "navigation"),
        ("Accueil › Actualités › Cybersécurité", "navigation"),
        ("Skip to main content", "navigation"),
        ("Read also: Ransomware hits hospital", "read-also"),
        ("À lire aussi : les rançongiciels en hausse", "read-also"),
        ("Lea también: Ataque a bancos", "read-also"),
        ("Lesen Sie auch: Hacker greifen Banken an", "read-also"),
        ("Читайте также: Хакеры атаковали банк", "read-also"),
        ("اقرأ أيضا: هجوم على البنوك", "read-also"),
        ("Sign up for our weekly newsletter", "newsletter"),
        ("Abonnez-vous à notre newsletter", "newsletter"),
        ("Leave a comment", "comments"),
        ("12 comments", "comments"),
        ("Commentaires", "comments"),
        ("Комментарии", "comments"),
        ("By Jane Doe", "byline"),
        ("Par Jean Dupont | 12 mars 2024", "byline"),
        ("Por María García", "byline"),
        ("Von Hans Müller", "byline"),
        ("Автор: Иван Петров", "byline"),
        ("بقلم أحمد علي", "byline"),
        ("© 2024 Example Media. All rights reserved.", "copyright"),
        ("We use cookies to improve your experience. Accept all", "cookies"),
        ("5 min read", "reading-time"),
        ("Share this article", "share"),
        ("Tags: ransomware, phishing", "tags"),
        ("/", "separator"),
        ("»", "separator"),
    ],
)
def test_boilerplate_line_rules(line: str, rule: str) -> None:
    assert line_rule(line) == rule


@pytest.mark.parametrize("line", BODY)
def test_body_sentences_are_kept(line: str) -> None:
    assert line_rule(line) is None


def test_read_also_list_items_are_removed_until_the_body_resumes() -> None:
    text = "\n".join([
        BODY[0], "", "Read also", "Hackers hit a hospital", "New stealer on sale",
        "", "The second stage then contacted its server and downloaded a loader.",
    ])
    cleaned = clean_text(text)
    assert "Hackers hit a hospital" not in cleaned.text
    assert "New stealer on sale" not in cleaned.text
    assert BODY[0] in cleaned.text
    assert "The second stage then contacted its server and downloaded a loader." in cleaned.text


def test_inline_ad_placeholder_is_cut_from_a_body_line() -> None:
    cleaned = clean_text("The actor [Advertisement] used a loader.")
    assert "Advertisement" not in cleaned.text
    assert "The actor" in cleaned.text and "used a loader." in cleaned.text


def test_clean_keeps_every_body_line() -> None:
    clutter = ["Home | News | About", "Loading...", "[Ad]", "By John Smith", "Leave a comment"]
    text = "\n".join(x for pair in zip(clutter, BODY, strict=False) for x in pair)
    cleaned = clean_text(text)
    for line in BODY[: len(clutter)]:
        assert line in cleaned.text
    for line in clutter:
        assert line not in cleaned.text.split("\n")
    assert len(cleaned.removed) == len(clutter)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Un article de Wikipédia, l'encyclopédie libre.", "wiki"),
        ("From Wikipedia, the free encyclopedia", "wiki"),
        ("[modifier | modifier le code]", "wiki"),
        ("[Bearbeiten | Quelltext bearbeiten]", "wiki"),
        ("(Redirigé depuis Ransomware)", "wiki"),
        ("Search This Blog", "blog-widget"),
        ("Powered by Blogger.", "blog-widget"),
        ("Showing posts with label Malware. Show all posts", "blog-widget"),
        (">>> Microsoft: Russland mobilisiert Akteure", "teaser"),
        ("AMP18+", "age-rating"),
        ("Fuente: versión resumida del artículo original de AP", "source-credit"),
        ("Скандалы и происшествия", "rubric"),
        ("image", "image-credit"),
        ("Фото: Pixabay", "image-credit"),
        ("Hacker greifen Stromnetze an. (Symbolbild) - Keystone", "image-credit"),
        ("Electric power pillars at the plant (c) IMAGO/SNA", "image-credit"),
    ],
)
def test_page_furniture_rules(line: str, rule: str) -> None:
    assert line_rule(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "Source: https://example-vendor.com/report (original advisory)",
        "Labels on the archive were written in Russian, according to the researchers.",
        "The photo was taken at the plant, officials said, and shared with reporters.",
    ],
)
def test_furniture_rules_leave_sentences_alone(line: str) -> None:
    assert line_rule(line) is None
