"""STIX bundles and TAXII envelopes: the container checks before objects are validated one by one."""

from __future__ import annotations

from typing import Any

from pacte.errors import Detail, InvalidSTIX, TooDeep
from pacte.stix.validate import depth_exceeds, is_stix_id


def objects_of(doc: Any, max_depth: int, *, envelope: bool = False) -> list[Any]:
    """Return the objects of a STIX bundle (or TAXII envelope); raise naming what is wrong.

    Each object's own depth is checked when it is validated, so that a deep object is refused
    alone, by id, while the rest of the batch is reported on as usual.
    """
    kind = "envelope" if envelope else "bundle"
    if not isinstance(doc, dict):
        raise InvalidSTIX(f"the body must be a STIX {kind} (a JSON object)", [Detail(reason="not a JSON object", field="")])
    if not envelope:
        if doc.get("type") != "bundle":
            raise InvalidSTIX("the body is not a STIX bundle", [Detail(reason='must be "bundle"', field="type")])
        bid = doc.get("id")
        if not isinstance(bid, str) or not is_stix_id(bid, "bundle"):
            raise InvalidSTIX("the bundle has no valid id", [Detail(reason="must be bundle--<uuid>", field="id")])
    objects = doc.get("objects", [])
    if not isinstance(objects, list):
        raise InvalidSTIX(f"the {kind}'s objects must be a list", [Detail(reason="must be a list", field="objects")])
    for key, value in doc.items():
        if key != "objects" and isinstance(value, dict | list) and depth_exceeds(value, max_depth):
            raise TooDeep(f"JSON nests deeper than {max_depth} levels", [Detail(
                reason=f"nests deeper than {max_depth} levels", field=key)])
    return objects
