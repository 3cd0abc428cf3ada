"""Inputs: HTML, PDF, Markdown and text read into text, with the format told from type, name or content."""

from __future__ import annotations

import pytest

from pacte.analysis.inputs import decode, detect_kind, read_document
from pacte.errors import InvalidInput, TooLarge, UnsupportedMediaType

HTML = """<!DOCTYPE html><html><head><title>APT28 targets ministries</title>
<meta property="og:url" content="https://news.example-media.org/apt28"></head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/about">About</a></nav>
<div class="ad">[Advertisement]</div>
<article><h1>APT28 targets ministries</h1>
<p>The group APT28 sent phishing emails to several foreign ministries in Europe during March 2024.</p>
<p>The attackers hosted their payload at hxxp://update-check[.]top/a.exe and used 45.77.55[.]145 for C2.</p>
<p>Investigators said the campaign relied on a new loader that had not been documented before.</p>
</article><footer>© 2024 Example Media. All rights reserved.</footer></body></html>"""


def _pdf_with_text(line: str) -> bytes:
    """Build a minimal one-page PDF that shows one line of text."""
    stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_kind_from_media_type_name_and_content() -> None:
    assert detect_kind(b"x", None, "text/html; charset=utf-8") == "html"
    assert detect_kind(b"x", "report.md", None) == "markdown"
    assert detect_kind(b"%PDF-1.7 ...", None, None) == "pdf"
    assert detect_kind(b"<!doctype html><p>x</p>", None, None) == "html"
    assert detect_kind(b"plain words", None, None) == "text"


def test_unsupported_media_type_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        detect_kind(b"x", None, "image/png")


def test_html_main_text_is_extracted_without_page_furniture() -> None:
    doc = read_document(HTML.encode(), filename="page.html")
    assert doc.title == "APT28 targets ministries"
    assert "sent phishing emails to several foreign ministries" in doc.text
    assert "new loader that had not been documented before" in doc.text
    assert "All rights reserved" not in doc.text
    assert "Home | News" not in doc.text
    assert doc.publisher_host == "news.example-media.org"


def test_pdf_text_is_extracted() -> None:
    doc = read_document(_pdf_with_text("Exploitation of CVE-2024-3400 observed"), filename="advisory.pdf")
    assert doc.kind == "pdf"
    assert "CVE-2024-3400" in doc.text


def test_unreadable_pdf_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        read_document(b"%PDF-1.4 garbage", filename="x.pdf")


def test_markdown_syntax_is_removed_and_link_targets_kept() -> None:
    md = "# Lazarus update\n\nThe **group** used [this site](hxxp://evil[.]top/x) again.\n"
    doc = read_document(md, filename="note.md")
    assert doc.title == "Lazarus update"
    assert "The group used this site (hxxp://evil[.]top/x) again." in doc.text


def test_text_line_endings_are_normalised() -> None:
    doc = read_document(b"Title\r\n\r\nBody line\r\n")
    assert doc.text == "Title\n\nBody line"
    assert doc.title == "Title"


def test_decode_falls_back_to_windows_1252() -> None:
    assert decode("café".encode("cp1252")) == "café"
    assert decode("\ufeffhé".encode()) == "hé"


def test_empty_and_oversized_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput):
        read_document(b"")
    with pytest.raises(TooLarge):
        read_document(b"x" * (21 * 1024 * 1024))


def test_asciidoc_attributes_are_not_titles() -> None:
    doc = read_document(":toc:\n:icons: font\n\n= Winter Vivern -- Indicators\n\nBody.\n", filename="r.adoc")
    assert doc.title == "Winter Vivern -- Indicators"
