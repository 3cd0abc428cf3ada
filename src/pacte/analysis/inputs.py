"""Report inputs: saved HTML, PDF, Markdown and plain text turned into plain text, a title and a publisher."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pacte.errors import InvalidInput, TooLarge, UnsupportedMediaType

MAX_INPUT_BYTES = 20 * 1024 * 1024

_MEDIA_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/asciidoc": "text",
}
_EXTENSIONS = {
    ".html": "html", ".htm": "html", ".xhtml": "html", ".mhtml": "html",
    ".pdf": "pdf",
    ".md": "markdown", ".markdown": "markdown",
    ".txt": "text", ".text": "text", ".adoc": "text", ".asciidoc": "text", ".log": "text", ".csv": "text",
}


@dataclass(frozen=True)
class Document:
    """A report reduced to text, with what its container told about it."""

    text: str
    kind: str
    title: str | None = None
    publisher_host: str | None = None
    published: str | None = None
    cleaned_by_extractor: bool = False


def detect_kind(data: bytes | str, filename: str | None, media_type: str | None) -> str:
    """Return "html", "pdf", "markdown" or "text" from the media type, the file name or the content."""
    if media_type:
        base = media_type.split(";", 1)[0].strip().lower()
        if base in _MEDIA_TYPES:
            return _MEDIA_TYPES[base]
        if base not in ("application/octet-stream", ""):
            raise UnsupportedMediaType(f"cannot analyse media type {base!r}")
    if filename:
        for ext, kind in _EXTENSIONS.items():
            if filename.lower().endswith(ext):
                return kind
    head = data[:2048]
    if isinstance(head, bytes):
        if head.startswith(b"%PDF-"):
            return "pdf"
        head_text = head.decode("utf-8", "replace")
    else:
        head_text = head
    if re.search(r"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", head_text, re.IGNORECASE):
        return "html"
    return "text"


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, or else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def normalise_text(text: str) -> str:
    """Normalise line endings and invisible characters so that offsets are stable."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_NOT_TITLE = re.compile(r"^(?::[\w-]+:.*|\[.*\]|//.*|-{3,}|={3,}|\|===)$")


def _first_line_title(text: str) -> str | None:
    """Return the first line that reads as a title (AsciiDoc attributes and block markers skipped)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or _NOT_TITLE.match(line):
            continue
        line = line.strip("#=*").strip()
        if line:
            return line[:200]
    return None


def read_html(html: str) -> Document:
    """Extract the main text, title, publisher host and date of a saved web page with trafilatura."""
    import trafilatura

    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, include_links=False, favor_precision=True,
        deduplicate=False, with_metadata=False,
    )
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None else None
    host = None
    if meta is not None and meta.url:
        host = urlsplit(meta.url).hostname
    if host is None and meta is not None and meta.hostname:
        host = meta.hostname
    published = meta.date if meta is not None else None
    if not text:
        text = trafilatura.html2txt(html) or ""
    return Document(normalise_text(text), "html", title, host, published, cleaned_by_extractor=True)


def read_pdf(data: bytes) -> Document:
    """Extract the text and title of a PDF file with pypdf."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata is not None else None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise InvalidInput(f"unreadable PDF: {exc}") from exc
    text = normalise_text("\n\n".join(pages))
    return Document(text, "pdf", title or _first_line_title(text))


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def read_markdown(text: str) -> Document:
    """Turn Markdown into plain text: headings, emphasis and link syntax removed, link targets kept."""
    title = None
    out: list[str] = []
    for line in normalise_text(text).split("\n"):
        heading = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            line = heading.group(1)
            title = title or line
        if re.fullmatch(r"\s*(?:[-*_]\s*){3,}", line) or line.strip().startswith("```"):
            continue
        line = _MD_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(1) else m.group(2), line)
        line = _MD_EMPHASIS.sub(r"\2", line)
        line = re.sub(r"^\s{0,3}>\s?", "", line)
        out.append(line)
    body = "\n".join(out)
    return Document(normalise_text(body), "markdown", title or _first_line_title(body))


def read_document(source: bytes | str, *, filename: str | None = None, media_type: str | None = None) -> Document:
    """Read a report in any supported format and return its text and metadata."""
    size = len(source.encode("utf-8")) if isinstance(source, str) else len(source)
    if size > MAX_INPUT_BYTES:
        raise TooLarge(f"report is {size} bytes, over the {MAX_INPUT_BYTES} byte limit")
    if size == 0:
        raise InvalidInput("report is empty")
    kind = detect_kind(source, filename, media_type)
    if kind == "pdf":
        if isinstance(source, str):
            raise InvalidInput("a PDF must be given as bytes")
        return read_pdf(source)
    text = decode(source) if isinstance(source, bytes) else source
    if kind == "html":
        return read_html(text)
    if kind == "markdown":
        return read_markdown(text)
    norm = normalise_text(text)
    return Document(norm, "text", _first_line_title(norm))
