"""``multipart/form-data`` bodies (RFC 7578), parsed from bytes already read under the size limit.

Written here rather than pulled in as ``python-multipart``: the body is already in memory and
bounded by :func:`pacte.api.bodies.read_body`, and only names, file names, media types and bytes
are needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from pacte.errors import Detail, InvalidInput

_MAX_PARTS = 32


@dataclass(frozen=True)
class Part:
    """One field of a form: its name, file name and media type when it is a file, and its bytes."""

    name: str
    data: bytes
    filename: str | None = None
    media_type: str | None = None

    def text(self) -> str:
        """Return the field's value decoded as UTF-8."""
        return self.data.decode("utf-8", errors="replace")


def _params(header: str) -> tuple[str, dict[str, str]]:
    msg = Message()
    msg["content-type"] = header
    params = {k.lower(): v for k, v in msg.get_params(failobj=[], header="content-type")[1:]}
    return msg.get_content_type(), {k: str(v) for k, v in params.items()}


def boundary_of(content_type: str) -> str:
    """Return the boundary parameter of a multipart Content-Type; InvalidInput if it has none."""
    _, params = _params(content_type)
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise InvalidInput("multipart body without a boundary", [Detail(reason="Content-Type needs a boundary",
                                                                        field="Content-Type")])
    return boundary


def parse_form(body: bytes, content_type: str) -> list[Part]:
    """Return the parts of a ``multipart/form-data`` body; InvalidInput when it is malformed."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    _preamble, *chunks = (b"\r\n" + body).split(b"\r\n" + delimiter)  # the preamble, if any, is ignored
    if not chunks:
        raise InvalidInput("malformed multipart body", [Detail(reason="the boundary does not occur in the body")])
    parts: list[Part] = []
    closed = False
    for chunk in chunks:
        if chunk.startswith(b"--"):
            closed = True
            break
        if len(parts) >= _MAX_PARTS:
            raise InvalidInput(f"more than {_MAX_PARTS} form fields")
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise InvalidInput("malformed multipart body", [Detail(reason="a part has no blank line after its headers")])
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        kind, params = _params(disposition.replace("form-data", "x-form/data", 1)) if disposition else ("", {})
        if kind != "x-form/data" or "name" not in params:
            raise InvalidInput("malformed multipart body",
                               [Detail(reason="a part has no Content-Disposition: form-data with a name")])
        media = headers.get("content-type")
        parts.append(Part(params["name"], data, params.get("filename"),
                          _params(media)[0] if media and re.match(r"^[\w.+-]+/[\w.+-]+", media) else None))
    if not closed:
        raise InvalidInput("malformed multipart body", [Detail(reason="the closing boundary is missing")])
    return parts
