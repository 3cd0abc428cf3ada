"""Language detection for the six languages the issue names."""

from __future__ import annotations

import pytest

from pacte.analysis.language import detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The threat actor sent phishing emails to government agencies and deployed a backdoor.", "en"),
        ("Le groupe malveillant a envoyé des courriels piégés aux administrations et installé une porte dérobée.",
         "fr"),
        ("El grupo de amenazas envió correos de phishing a organismos públicos e instaló una puerta trasera.", "es"),
        ("Die Angreifer verschickten Phishing-Mails an Behörden und installierten eine Hintertür.", "de"),
        ("Группировка рассылала фишинговые письма госучреждениям и устанавливала бэкдор.", "ru"),
        ("أرسلت المجموعة رسائل تصيد إلى الجهات الحكومية وثبتت بابا خلفيا في الأنظمة.", "ar"),
    ],
)
def test_detects_the_six_languages(text: str, code: str) -> None:
    assert detect_language(text) == code


def test_indicators_do_not_sway_the_language() -> None:
    text = ("Les attaquants ont utilisé les serveurs suivants pour leurs opérations : "
            "hxxp://evil[.]top/a 45.77.55[.]145 f585732e25a73b4b7d3dff51edae1b30 https://x.com/a/b")
    assert detect_language(text) == "fr"


def test_too_little_text_gives_no_language() -> None:
    assert detect_language("45.77.55.145 f585732e25a73b4b7d3dff51edae1b30") is None
