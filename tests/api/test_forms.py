"""The multipart/form-data parser: names, file names, media types and bytes exactly as sent; malformed bodies refused."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from pacte.api.forms import Part
from pacte.api.forms import parse_form as parse_form_async
from pacte.errors import InvalidInput


def parse_form(body: bytes, content_type: str) -> list[Part]:
    return asyncio.run(parse_form_async(body, content_type))


def _encoded(files: dict[str, tuple[str | None, bytes | str, str | None]]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x/", files=files)
    return request.read(), request.headers["content-type"]


def test_fields_and_binary_files_round_trip() -> None:
    binary = bytes(range(256)) * 4 + b"\r\n--not-the-boundary\r\n" + b"\r\n\r\n"
    body, ctype = _encoded({"file": ("rapport été.pdf", binary, "application/pdf"), "lang": (None, "fr", None)})
    parts = {p.name: p for p in parse_form(body, ctype)}
    assert parts["file"].data == binary
    assert parts["file"].filename == "rapport été.pdf" and parts["file"].media_type == "application/pdf"
    assert parts["lang"].text() == "fr" and parts["lang"].filename is None


def test_preamble_is_refused_with_a_clear_error() -> None:
    # python-multipart does not accept a preamble (no HTTP client sends one): a clear 400, not a crash
    body, ctype = _encoded({"text": (None, "hello", None)})
    with pytest.raises(InvalidInput, match="malformed multipart body"):
        parse_form(b"preamble text\r\n" + body, ctype)


@pytest.mark.parametrize("body", [
    b"no boundary here",
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",  # never closed
    b"--B\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--B--\r\n",  # no Content-Disposition
    b"--B\r\nContent-Disposition: form-data; name=\"a\"value\r\n--B--\r\n",  # no blank line
])
def test_malformed_bodies_are_invalid_input(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_form(body, "multipart/form-data; boundary=B")


def test_missing_boundary_names_the_header() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_form(b"", "multipart/form-data")
    assert exc.value.details[0].field == "Content-Type"
