"""Language of a report, detected offline with lingua (n-gram models shipped in the package)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Languages the detector chooses between; the issue requires the first six.
LANGUAGES = ("en", "fr", "es", "de", "ru", "ar", "it", "pt", "nl", "uk", "pl", "tr", "fa", "zh", "ja", "ko")
_SAMPLE = 1500
_LETTERS = re.compile(r"[^\W\d_]")
_NOISE = re.compile(r"\S*(?:[/\\@:_]|\[\.\]|\d{3,}|[0-9a-f]{16,})\S*", re.IGNORECASE)


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    # Low-accuracy mode uses trigram models only: ~35 MB instead of ~400 MB resident, and the same answers on
    # report-length texts (lingua documents it as reliable above ~120 characters).
    return (LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models()
            .with_low_accuracy_mode().build())


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of the text's language, or None if it cannot be told."""
    sample = _NOISE.sub(" ", text[: _SAMPLE * 2])
    sample = " ".join(sample.split())[:_SAMPLE]
    if len(_LETTERS.findall(sample)) < 12:
        return None
    language = _detector().detect_language_of(sample)
    if language is None:
        return None
    return str(language.iso_code_639_1.name).lower()
