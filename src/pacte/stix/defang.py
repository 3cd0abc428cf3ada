"""Defanged indicator notation (hxxp, [.], [at]...): regex fragments that tolerate it, and refanging.

Shared by report analysis (values written defanged in reports) and value search (values typed defanged).
"""

from __future__ import annotations

import re

# A dot, plain or defanged: "." "[.]" "(.)" "{.}" "[dot]" "(dot)" "[ . ]" "\.".
DOT = r"(?:\[\s?\.\s?\]|\(\s?\.\s?\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\\\.|\.)"
# An at sign, plain or defanged.
AT = r"(?:\s?\[at\]\s?|\(at\)|\{at\}|\[@\]|\(@\)|@)"
# A colon, plain or defanged.
COLON = r"(?:\[:\]|\(:\)|\{:\}|:)"
# The scheme of a URL, plain or defanged (hxxp, hXXp, h**p, fxp, ...).
SCHEME = r"(?:h(?:tt|xx|XX|\*\*|\[tt\]|XX)ps?|fxp|ftp|sftp|HTTPS?|HXXPS?)"
SCHEME_SEP = r"(?:\[:\]//|\[://\]|\[:/\]/|:\[//\]|://|\[:\]\\\\|\(:\)//)"

_DEFANG_TOKENS = re.compile(
    r"\[\s?\.\s?\]|\(\s?\.\s?\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\\\."
    r"|\[at\]|\(at\)|\{at\}|\[@\]|\(@\)"
    r"|\[:\]|\(:\)|\{:\}|\[://\]|\[:/\]|\[//\]"
    r"|^h(?:xx|XX|\*\*|\[tt\])p|^fxp",
    re.IGNORECASE,
)

_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:h(?:xx|\*\*|\[tt\])p)", re.IGNORECASE), "http"),
    (re.compile(r"^fxp", re.IGNORECASE), "ftp"),
    (re.compile(r"\[://\]|\[:/\]/|:\[//\]|\[:\]//|\(:\)//"), "://"),
    (re.compile(r"\[\s?\.\s?\]|\(\s?\.\s?\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\\\.", re.IGNORECASE), "."),
    (re.compile(r"\s?\[at\]\s?|\s?\(at\)\s?|\{at\}|\[@\]|\(@\)", re.IGNORECASE), "@"),
    (re.compile(r"\[:\]|\(:\)|\{:\}"), ":"),
)


def is_defanged(raw: str) -> bool:
    """Tell whether a raw indicator string uses any defanging notation."""
    return _DEFANG_TOKENS.search(raw) is not None


def refang(raw: str) -> str:
    """Return the indicator with every defanging notation undone."""
    out = raw
    for pattern, repl in _REPLACEMENTS:
        out = pattern.sub(repl, out)
    return out
