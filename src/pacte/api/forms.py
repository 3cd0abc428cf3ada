"""``multipart/form-data`` bodies (RFC 7578), parsed by python-multipart through Starlette's parser.

The body has already been read under the size limit by :func:`pacte.edge.bodies.read_body`; this
module turns it into parts (name, file name, media type, bytes) and malformed bodies into
``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

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


async def parse_form(body: bytes, content_type: str) -> list[Part]:
    """Return the parts of a ``multipart/form-data`` body; InvalidInput when it is malformed."""
    if "boundary=" not in content_type:
        raise InvalidInput("multipart body without a boundary", [Detail(
            reason="Content-Type needs a boundary", field="Content-Type")])

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(Headers({"content-type": content_type}), stream(), max_files=_MAX_PARTS,
                             max_fields=_MAX_PARTS, max_part_size=len(body) + 1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput("malformed multipart body", [Detail(reason=exc.message)]) from None
    parts: list[Part] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            media = value.content_type.split(";", 1)[0].strip().lower() if value.content_type else None
            parts.append(Part(name, data, value.filename, media or None))
            await value.close()
        else:
            parts.append(Part(name, value.encode("utf-8")))
    if not parts and body.strip():
        raise InvalidInput("malformed multipart body", [Detail(reason="no form field could be read")])
    return parts
