"""Report inputs: saved HTML, PDF, Markdown and plain text turned into plain text, a title and a publisher."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pacte.errors import Detail, InvalidInput, TooLarge, UnsupportedMediaType

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
class InputLimits:
    """Bounds on what one report may cost to read, each named by the setting that changes it."""

    max_pages: int = 500  # PACTE_ANALYSIS_MAX_PAGES
    max_decompressed_bytes: int = 16 * 1024 * 1024  # PACTE_ANALYSIS_MAX_DECOMPRESSED_BYTES: PDF page contents
    max_text_bytes: int = 2 * 1024 * 1024  # PACTE_ANALYSIS_MAX_TEXT_BYTES: the text the pipeline reads


def _over(what: str, size: int, limit: int, setting: str, unit: str = "bytes") -> TooLarge:
    """Return the 413 for a report over one bound, naming the bound, its value and its setting."""
    return TooLarge(f"the report's {what} is over the limit of {limit} {unit}",
                    [Detail(reason=f"{size if size >= 0 else 'more than ' + str(limit)} {unit}; at most {limit}",
                            field=setting)])


def check_text(text: str, limits: InputLimits | None) -> None:
    """Raise TooLarge if a report's text is over the text bound."""
    if limits is None or len(text) <= limits.max_text_bytes // 4:
        return  # at most 4 bytes a character: no need to encode
    size = len(text.encode("utf-8", "replace"))
    if size > limits.max_text_bytes:
        raise _over("text", size, limits.max_text_bytes, "PACTE_ANALYSIS_MAX_TEXT_BYTES")


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
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))  # a regex was quadratic on runs of tabs
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


def _pdf_configuration(limits: InputLimits) -> contextlib.AbstractContextManager[object]:
    """Return a context in which pypdf decompresses no stream beyond the decompressed bound (pypdf 6.4 and later)."""
    try:
        from pypdf import apply_configuration  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # older pypdf: its own fixed caps apply, and the page-content bound below
        return contextlib.nullcontext()
    cap = limits.max_decompressed_bytes
    ctx: contextlib.AbstractContextManager[object] = apply_configuration(
        zlib_maximum_output_length=cap, lzw_maximum_output_length=cap, run_length_maximum_output_length=cap,
        array_based_stream_maximum_output_length=cap, stream_decoding_work_maximum_length=cap)
    return ctx


def _pdf_pages(reader: Any, limits: InputLimits | None) -> list[str]:
    """Return the text of each page, checking pages, decompressed contents and text against the limits first."""
    if limits is None:
        return [page.extract_text() or "" for page in reader.pages]
    count = len(reader.pages)
    if count > limits.max_pages:
        raise _over("page count", count, limits.max_pages, "PACTE_ANALYSIS_MAX_PAGES", "pages")
    content = 0
    for page in reader.pages:  # decompressing is cheap; parsing what it yields is what costs (0.7 MB/s)
        stream = page.get_contents()
        content += len(stream.get_data()) if stream is not None else 0
        if content > limits.max_decompressed_bytes:
            raise _over("decompressed page content", -1, limits.max_decompressed_bytes,
                        "PACTE_ANALYSIS_MAX_DECOMPRESSED_BYTES")
    pages: list[str] = []
    size = 0
    for page in reader.pages:
        pages.append(page.extract_text() or "")
        size += len(pages[-1])
        if size > limits.max_text_bytes:
            raise _over("text", -1, limits.max_text_bytes, "PACTE_ANALYSIS_MAX_TEXT_BYTES")
    return pages


def read_pdf(data: bytes, limits: InputLimits | None = None) -> Document:
    """Extract the text and title of a PDF file with pypdf, within the limits if given."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    try:
        with _pdf_configuration(limits) if limits is not None else contextlib.nullcontext():
            reader = PdfReader(io.BytesIO(data))
            pages = _pdf_pages(reader, limits)
            title = reader.metadata.title if reader.metadata is not None else None
    except LimitReachedError as exc:
        cap = limits.max_decompressed_bytes if limits is not None else None
        raise TooLarge(f"the PDF is over a decoding limit: {exc}", [Detail(
            reason=f"streams decompress to at most {cap} bytes" if cap else "pypdf's own decoding limits",
            field="PACTE_ANALYSIS_MAX_DECOMPRESSED_BYTES")]) from exc
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


def read_document(source: bytes | str, *, filename: str | None = None, media_type: str | None = None,
                  limits: InputLimits | None = None) -> Document:
    """Read a report in any supported format and return its text and metadata, within the limits if given."""
    size = len(source.encode("utf-8")) if isinstance(source, str) else len(source)
    if size > MAX_INPUT_BYTES:
        raise TooLarge(f"report is {size} bytes, over the {MAX_INPUT_BYTES} byte limit")
    if size == 0:
        raise InvalidInput("report is empty")
    kind = detect_kind(source, filename, media_type)
    if kind == "pdf":
        if isinstance(source, str):
            raise InvalidInput("a PDF must be given as bytes")
        doc = read_pdf(source, limits)
    else:
        text = decode(source) if isinstance(source, bytes) else source
        if kind == "html":
            doc = read_html(text)
        elif kind == "markdown":
            check_text(text, limits)
            doc = read_markdown(text)
        else:
            check_text(text, limits)
            norm = normalise_text(text)
            doc = Document(norm, "text", _first_line_title(norm))
    check_text(doc.text, limits)
    return doc
