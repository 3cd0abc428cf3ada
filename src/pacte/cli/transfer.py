"""Bulk import and export of STIX bundles."""

from __future__ import annotations

import gc
import multiprocessing
import os
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import click
import orjson

from pacte.errors import Detail, InvalidJSON
from pacte.hub import Hub
from pacte.hub.members import require_org
from pacte.hub.sharing import Checked, Outcome, check_objects, share_checked
from pacte.stix.bundle import float_path, inexact_integers, objects_of
from pacte.stix.spans import parse_split
from pacte.stix.validate import Prepared
from pacte.store.base import Org

# Objects of the bundle being imported, inherited by forked validation workers (never pickled).
_OBJECTS: Sequence[Any] = ()


def _check_range(start: int, stop: int, max_depth: int) -> list[Checked]:
    return check_objects(_OBJECTS[start:stop], max_depth, offset=0)


def _checked_batches(objects: Sequence[Any], batch: int, max_depth: int) -> Iterator[list[Checked]]:
    """Yield validated batches in order; validation runs in forked workers while the caller writes."""
    global _OBJECTS
    # Batches grow from 500 up to ``batch``: writing starts while the workers validate what follows.
    ranges: list[tuple[int, int]] = []
    start, size = 0, min(batch, 500)
    while start < len(objects):
        ranges.append((start, min(start + size, len(objects))))
        start, size = start + size, min(batch, size * 2)
    workers = min(2, os.cpu_count() or 1)
    if len(ranges) < 3 or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for start, stop in ranges:
            yield check_objects(objects[start:stop], max_depth)
        return
    _OBJECTS = objects
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_check_range, start, stop, max_depth) for start, stop in ranges]
            for fut in futures:
                yield fut.result()
    finally:
        _OBJECTS = ()


def _refuse_inexact(raw: bytes, objects: Sequence[Any], start: int, checked: list[Checked],
                    found: dict[str, set[float]]) -> list[Checked]:
    """Turn objects whose huge floats were integer literals beyond 64 bits into failures.

    Validation flags objects holding a float of 2^63 or more; only then is the file scanned for
    such literals (a scan of the whole file is too slow to run on every import).
    """
    if not any(isinstance(c, Prepared) and c.huge_float for c in checked):
        return checked
    if "values" not in found:
        found["values"] = inexact_integers(raw)
    out: list[Checked] = []
    for i, c in enumerate(checked):
        path = float_path(objects[start + i], found["values"]) if isinstance(c, Prepared) and c.huge_float else ""
        if isinstance(c, Prepared) and path:
            out.append(Outcome(i, c.id, c.modified or c.created, False,
                               "integers beyond 64 bits cannot be stored exactly; STIX integers are within"
                               " ±(2^53 - 1)", path, "invalid_stix"))
        else:
            out.append(c)
    return out


def _is_marking(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("type") == "marking-definition"


def import_bundle(hub: Hub, file: Path, org_name: str, collection: str, batch: int,
                  progress: bool = True) -> tuple[int, int]:
    """Share a bundle file's objects as a member, in batches; return (stored, refused)."""
    # A parsed bundle is a million acyclic containers: the cycle collector would walk them again and
    # again for nothing. Pause it for the import (reference counting still frees everything).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(hub, file, org_name, collection, batch, progress)
    finally:
        if was_enabled:
            gc.enable()


def _parse(raw: bytes, name: str, max_depth: int) -> Any:
    """Return the parsed bundle file; one too deep to parse whole is parsed object by object."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "recursion" in exc.msg or "depth" in exc.msg:  # objects too deep to parse are refused alone
            return parse_split(raw, max_depth)
        raise InvalidJSON(f"{name} is not valid JSON", [Detail(
            reason=f"{exc.msg} at line {exc.lineno} column {exc.colno}")]) from None
    return doc


def _import(hub: Hub, file: Path, org_name: str, collection: str, batch: int, progress: bool) -> tuple[int, int]:
    org = require_org(hub.store, org_name)
    coll = hub.collection_for(org, collection)
    if not hub.can_write_as(org, coll):
        hub.share_as(org, coll, [])  # raises the membership error
    raw = file.read_bytes()
    doc = _parse(raw, file.name, hub.settings.max_depth)
    objects = objects_of(doc, hub.settings.max_depth)
    del doc
    # marking definitions first, so the objects that reference them are levelled on arrival
    objects = [o for o in objects if _is_marking(o)] + [o for o in objects if not _is_marking(o)]
    ok = failed = shown = 0
    found: dict[str, set[float]] = {}  # the inexact integer literals of the file, once scanned
    with click.progressbar(length=len(objects), label=f"importing {file.name}", show_pos=True,
                           hidden=not progress) as bar:
        start = 0
        for checked in _checked_batches(objects, batch, hub.settings.max_depth):
            checked = _refuse_inexact(raw, objects, start, checked, found)
            report = share_checked(hub.store, org, coll, checked, hub.now_key)
            ok += report.successes
            failed += report.failures
            for o in report.outcomes:
                if not o.ok and shown < 20:
                    shown += 1
                    where = f" field {o.field}" if o.field else ""
                    click.echo(f"refused object {o.id or f'#{start + o.index}'}{where}: {o.reason}", err=True)
            start += len(checked)
            bar.update(len(checked))
    return ok, failed


def export_bundle(hub: Hub, org: Org, types: tuple[str, ...], all_versions: bool, out: BinaryIO) -> int:
    """Write a bundle of what ``org`` may read to ``out``; return the number of objects."""
    out.write(b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":[')
    n = 0
    producers: Counter[int] = Counter()  # counted for the reciprocity ledger (pacte.ledger.record)
    for item in hub.export(org, types, "all" if all_versions else "last"):
        if n:
            out.write(b",")
        out.write(item.doc.encode())
        producers[item.producer] += 1
        n += 1
    out.write(b"]}\n")
    hub.ledger.add(org.org_id, "export", producers)
    hub.ledger.flush(hub.store)
    return n
