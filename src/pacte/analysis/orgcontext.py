"""Where an organisation's name is written decides whether the report speaks of it.

A listed vendor's name inside a file path names a folder, a capitalised phrase ending a certificate's field
label names the field, and a street address names a building; a name followed by a corporate suffix is written
out with it.
"""

from __future__ import annotations

import re

_PATH_SEPARATORS = "\\/"


def in_file_path(text: str, start: int, end: int) -> bool:
    """Tell whether a name is a folder or file of a path ("C:\\Program Files\\Contoso\\", "/opt/contoso/bin").

    Installed software leaves its maker's name in its folders; a path listed among the indicators names where
    the malware hides, not the company.
    """
    before = text[start - 1 : start] if start > 0 else " "
    after = text[end : end + 1] or " "
    return before in _PATH_SEPARATORS or after in _PATH_SEPARATORS


_FIELD_LABEL_END = re.compile(r"[ \t]*:[ \t]*(?:\n|$)")


def is_field_label(text: str, start: int, end: int) -> bool:
    """Tell whether a span is a field label of a dump: it opens its line and ends it with a colon.

    Certificate, header and registry dumps name their fields in capitalised words ("Authority Information
    Access:", "Subject Key Identifier:"); the model takes the label for an organisation.
    """
    line_start = text.rfind("\n", 0, start) + 1
    return not text[line_start:start].strip() and _FIELD_LABEL_END.match(text, end) is not None


_ADDRESS_FIELD = re.compile(r"(?i:\b(?:street|address)\w*\s*[=:]\s*(?:\"[^\"\n]*|[^\",=\n]*))$")


def in_address_field(text: str, start: int) -> bool:
    """Tell whether a span lies in the street field of a certificate or a registration ('street = "X Park"').

    Business parks, buildings and streets of a signer's or registrant's address are places of the record, not
    organisations that the report speaks of.
    """
    line_start = text.rfind("\n", 0, start) + 1
    return _ADDRESS_FIELD.search(text[line_start:start]) is not None


_CORPORATE_SUFFIX = re.compile(
    r",?[ \t]+(?:Inc\.?|Incorporated|LLC|L\.L\.C\.|Ltd\.?|Limited|LIMITED|GmbH|AG|S\.A\.|SA|S\.p\.A\.|B\.V\.|N\.V\.|"
    r"PLC|plc|Corp\.?|Corporation|Co\.,? Ltd\.?|Pty Ltd|Oy|A/S|K\.K\.|SARL|SAS|s\.r\.o\.|Sp\. z o\.o\.)"
    r"(?![\w])"
)


def corporate_suffix_end(text: str, end: int) -> int:
    """Return where a listed organisation's name ends when a corporate suffix follows it ("Contoso Limited").

    Registration records, certificates and hosting tables write a company's full legal name; the mention is
    that whole name, which a reader (and a label) quotes with its suffix.
    """
    m = _CORPORATE_SUFFIX.match(text, end)
    return end if m is None else m.end()
