"""Bulk import and export of STIX bundles."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import BinaryIO

import click
import orjson

from pacte.api.bodies import objects_of
from pacte.errors import Detail, InvalidJSON
from pacte.hub import Hub
from pacte.hub.members import require_org
from pacte.store.base import Org


def import_bundle(hub: Hub, file: Path, org_name: str, collection: str, batch: int,
                  progress: bool = True) -> tuple[int, int]:
    """Share a bundle file's objects as a member, in batches; return (stored, refused)."""
    org = require_org(hub.store, org_name)
    coll = hub.collection_for(org, collection)
    try:
        doc = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"{file.name} is not valid JSON", [Detail(
            reason=f"{exc.msg} at line {exc.lineno} column {exc.colno}")]) from None
    objects = objects_of(doc, hub.settings.max_depth)
    del doc
    ok = failed = 0
    shown = 0
    with click.progressbar(length=len(objects), label=f"importing {file.name}", file=None if progress else _Null(),
                           show_pos=True) as bar:
        for start in range(0, len(objects), batch):
            chunk = objects[start:start + batch]
            report = hub.share_as(org, coll, chunk)
            ok += report.successes
            failed += report.failures
            for o in report.outcomes:
                if not o.ok and shown < 20:
                    shown += 1
                    where = f" field {o.field}" if o.field else ""
                    click.echo(f"refused object {o.id or f'#{start + o.index}'}{where}: {o.reason}", err=True)
            bar.update(len(chunk))
    return ok, failed


class _Null:
    """A sink for the progress bar when it is turned off."""

    def write(self, _: str) -> int:
        """Discard text."""
        return 0

    def flush(self) -> None:
        """Do nothing."""


def export_bundle(hub: Hub, org: Org, types: tuple[str, ...], all_versions: bool, out: BinaryIO) -> int:
    """Write a bundle of what ``org`` may read to ``out``; return the number of objects."""
    out.write(b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":[')
    n = 0
    for item in hub.export(org, types, "all" if all_versions else "last"):
        if n:
            out.write(b",")
        out.write(item.doc.encode())
        n += 1
    out.write(b"]}\n")
    return n
