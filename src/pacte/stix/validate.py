"""Fast structural validation of STIX 2.1 objects into the form the store keeps.

This is the ingest path's gatekeeper, written to check tens of thousands of objects per
second. ``stix2-validator`` remains the reference oracle in the test suite; the checks here
are the subset that decides whether the hub may store an object (identity, versioning,
timestamps, references, required properties) and each failure names the field and reason.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from pacte.errors import Detail
from pacte.stix import timestamps
from pacte.stix.extension import (
    DEFAULT_GRADING,
    EXTENSION_ID,
    ExtensionInvalid,
    SightingFacts,
    grading_of,
    identity_form,
    sighting_facts,
    without_score,
)
from pacte.stix.markings import marking_definition_level
from pacte.stix.observables import observable_problem
from pacte.stix.patterns import pattern_problem
from pacte.stix.values import keys_of

_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")
# RFC 4122: hex digits are case-insensitive on input (the OASIS examples include an uppercase one).
_ID = re.compile(r"^([a-z0-9][a-z0-9-]{1,248}[a-z0-9])--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PROP = re.compile(r"^[a-z0-9_]{1,250}$")

SCO_TYPES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
})

TIMESTAMP_PROPS = (
    "created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "published",
    "start_time", "stop_time", "first_observed", "last_observed",
)

REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "domain-name": ("value",),
    "url": ("value",),
    "email-addr": ("value",),
    "mac-addr": ("value",),
    "mutex": ("name",),
    "autonomous-system": ("number",),
}

_PLAIN, _TIMESTAMP, _REF, _REFS, _NESTED, _STRING, _SCALAR = 0, 1, 2, 3, 4, 5, 6
# _PLAIN keys are checked before the loop; _SCALAR keys after it (revoked, confidence, is_family), and any
# container under them is scanned for depth first; _STRING keys must be strings (STIX 2.1 says so for each).
_KEY_KIND: dict[str, int] = {
    **dict.fromkeys(("type", "id", "spec_version"), _PLAIN),
    **dict.fromkeys(("revoked", "confidence", "is_family"), _SCALAR),
    **dict.fromkeys(("name", "description", "lang", "pattern", "pattern_type", "pattern_version",
                     "relationship_type", "identity_class", "definition_type", "context", "opinion",
                     "content", "abstract", "product", "result"), _STRING),
}


def _classify(obj_id: str, key: str) -> int:
    """Return how a property is checked, remembering the answer for later objects."""
    if _PROP.match(key) is None:
        raise _fail(obj_id, key, "property names are 1-250 lowercase letters, digits or underscores")
    if key in TIMESTAMP_PROPS:
        kind = _TIMESTAMP
    elif key.startswith("x_"):
        kind = _NESTED
    elif key.endswith("_ref"):
        kind = _REF
    elif key.endswith("_refs"):
        kind = _REFS
    else:
        kind = _NESTED
    if len(_KEY_KIND) < 4096:
        _KEY_KIND[key] = kind
    return kind

# Nesting allowed inside one object; a bundle adds two levels above it.
DEFAULT_MAX_DEPTH = 32
# Deepest nesting ever accepted, whatever the setting: orjson writes at most 255 levels, and the depth scans
# recurse (Python's own limit is about 1,000).
MAX_SERIALISABLE_DEPTH = 250
# Largest object kept (its compact JSON); a body may be larger, holding many objects.
MAX_OBJECT_BYTES = 16 * 1024 * 1024
# created and modified are precise to the millisecond at least (STIX 2.1 section 3.2).
_MILLIS_PROPS = ("created", "modified")


@dataclass(slots=True)  # not frozen: built per object, and pickled back from validation workers
class Prepared:
    """A validated object version ready to be stored."""

    id: str  # lower-cased: the key the hub files the object under (the JSON keeps what was sent)
    type: str
    spec_version: str
    created: str | None
    modified: str | None  # as sent
    version_key: str  # sortable, "" for objects that are not versioned
    created_by_ref: str | None
    markings: tuple[str, ...]
    revoked: bool
    doc: bytes  # compact JSON of the object
    sha: str
    marking_level: int | None  # for marking definitions: the TLP level they declare
    is_sco: bool  # a cyber-observable (predefined or a new-sco extension): shared facts, no owner
    huge_float: bool  # holds a float of 2^63 or more: perhaps an integer literal the parser could not keep
    keys: tuple[str, ...] = ()  # correlation keys (pacte.stix.values)
    sighting: SightingFacts | None = None  # what a sighting says (pacte.stix.extension)
    has_extensions: bool = False  # the object has an ``extensions`` property
    grading: tuple[str | None, int | None, str | None] | None = None  # the parts of a grading the object sets itself


class ObjectInvalid(Exception):
    """Raised by :func:`prepare` with the detail of the first problem found."""

    def __init__(self, detail: Detail) -> None:
        super().__init__(detail.reason)
        self.detail = detail


class Refused(dict[str, Any]):
    """Stands in for an object of a bundle that could not even be parsed (too deep): validation refuses it."""

    def __init__(self, obj_id: str | None, field: str, reason: str) -> None:
        super().__init__({"id": obj_id} if obj_id is not None else {})
        self.field = field
        self.reason = reason


def _fail(obj_id: str | None, field: str, reason: str) -> ObjectInvalid:
    return ObjectInvalid(Detail(reason=reason, field=field, object_id=obj_id))


def depth_exceeds(value: Any, limit: int) -> bool:
    """Return True if the JSON value nests deeper than ``limit`` containers."""
    if limit <= 0:
        return True
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        if (type(child) is dict or type(child) is list) and depth_exceeds(child, limit - 1):
            return True
    return False


_HUGE = float(2**63)  # orjson reads integer literals beyond 64 bits as floats at least this large
_DEEP, _HUGE_FLOAT = 1, 2


def _scan(value: Any, limit: int) -> int:
    """Return flags for a JSON container: nests deeper than ``limit`` (1), holds a huge float (2)."""
    if limit <= 0:
        return _DEEP
    flags = 0
    children = value.values() if type(value) is dict else value
    for child in children:
        kind = type(child)
        if kind is dict or kind is list:
            flags |= _scan(child, limit - 1)
            if flags & _DEEP:
                return flags
        elif kind is float and abs(child) >= _HUGE:
            flags |= _HUGE_FLOAT
    return flags


def _declares_new_sco(obj: dict[str, Any]) -> bool:
    """Return True for a custom observable: an object whose extension says ``new-sco``."""
    extensions = obj.get("extensions")
    return isinstance(extensions, dict) and any(
        isinstance(e, dict) and e.get("extension_type") == "new-sco" for e in extensions.values())


def is_stix_id(value: str, expected_type: str | None = None) -> bool:
    """Return True if the value is a STIX identifier (of the expected type, if given)."""
    m = _ID.match(value)
    return m is not None and (expected_type is None or m.group(1) == expected_type)


def _check_ref(obj_id: str, field: str, value: Any) -> None:
    if not isinstance(value, str) or _ID.match(value) is None:
        raise _fail(obj_id, field, "must be a STIX identifier of the form type--uuid")


def _check_pattern(obj_id: str, obj: dict[str, Any]) -> None:
    """Refuse an indicator whose STIX pattern does not parse (every reader's stix2 library would fail on it)."""
    version = obj.get("pattern_version")
    if version is not None and version != "2.1":
        raise _fail(obj_id, "pattern_version", 'must be "2.1" (or absent) for a pattern of pattern_type "stix"')
    reason = pattern_problem(obj["pattern"])
    if reason is not None:
        raise _fail(obj_id, "pattern", f"not a valid STIX 2.1 pattern: {reason}")


def prepare(obj: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> Prepared:
    """Validate one STIX 2.1 object and return its stored form; raise ObjectInvalid."""
    max_depth = min(max_depth, MAX_SERIALISABLE_DEPTH)
    if type(obj) is Refused:
        raise _fail(obj.get("id"), obj.field, obj.reason)
    if not isinstance(obj, dict):
        raise _fail(None, "", "an object must be a JSON object")
    raw_id = obj.get("id")
    obj_id = raw_id if isinstance(raw_id, str) else None
    otype = obj.get("type")
    if not isinstance(otype, str) or _TYPE.match(otype) is None:
        raise _fail(obj_id, "type", "required; 3-250 lowercase letters, digits or hyphens")
    if obj_id is None:
        raise _fail(None, "id", "required")
    m = _ID.match(obj_id)
    if m is None or m.group(1) != otype:
        raise _fail(obj_id, "id", f"must be '{otype}--' followed by a UUID")
    is_sco = otype in SCO_TYPES or _declares_new_sco(obj)
    spec = obj.get("spec_version")
    if spec is None and is_sco:
        spec = "2.1"
    if spec != "2.1":
        raise _fail(obj_id, "spec_version", "must be \"2.1\"" if spec is not None else "required, must be \"2.1\"")
    huge = False
    keys: dict[str, str] = {}  # normalised created / modified, kept from the loop
    for key, value in obj.items():
        kind = _KEY_KIND.get(key)
        if kind is None:
            kind = _classify(obj_id, key)
        if kind == _PLAIN:
            continue
        if kind == _STRING:
            if type(value) is not str:
                raise _fail(obj_id, key, "must be a string")
            continue
        if kind == _TIMESTAMP:
            normal = timestamps.normalize(value)
            if normal is None:
                raise _fail(obj_id, key, "must be an RFC 3339 UTC timestamp such as 2024-01-31T12:00:00.000Z")
            if key in _MILLIS_PROPS and not 0 < value.rfind(".") <= len(value) - 5:
                raise _fail(obj_id, key, "must be precise to the millisecond at least, such as 2024-01-31T12:00:00.000Z")
            keys[key] = normal
        elif kind == _REF:
            if type(value) is not str or _ID.match(value) is None:
                raise _fail(obj_id, key, "must be a STIX identifier of the form type--uuid")
        elif kind == _REFS:
            if type(value) is not list:
                raise _fail(obj_id, key, "must be a list of STIX identifiers")
            for i, ref in enumerate(value):
                if type(ref) is not str or _ID.match(ref) is None:
                    raise _fail(obj_id, f"{key}[{i}]", "must be a STIX identifier of the form type--uuid")
        vtype = type(value)
        if vtype is dict or vtype is list:
            flags = _scan(value, max_depth - 1)
            if flags & _DEEP:
                raise _fail(obj_id, key, f"nests deeper than {max_depth} levels")
            huge = huge or bool(flags & _HUGE_FLOAT)
        elif vtype is float and abs(value) >= _HUGE:
            huge = True
    created = obj.get("created")
    modified = obj.get("modified")
    version_key = ""
    if not is_sco:
        if created is None:
            raise _fail(obj_id, "created", "required")
        if otype != "marking-definition":
            if modified is None:
                raise _fail(obj_id, "modified", "required")
            version_key = keys.get("modified", "")
            if version_key < keys.get("created", ""):
                raise _fail(obj_id, "modified", "must not be earlier than created")
        else:
            version_key = keys.get("created", "")
    for prop in REQUIRED.get(otype, ()):
        if obj.get(prop) is None:  # absent, or JSON null (STIX has no null values)
            raise _fail(obj_id, prop, f"required for {otype}")
    if otype == "marking-definition" and "definition" in obj and type(obj["definition"]) is not dict:
        raise _fail(obj_id, "definition", "must be a JSON object")
    if otype == "malware" and obj.get("is_family") is True and "name" not in obj:
        raise _fail(obj_id, "name", "required for a malware family")
    is_family = obj.get("is_family")
    if is_family is not None and type(is_family) is not bool:
        raise _fail(obj_id, "is_family", "must be a boolean")
    if otype == "indicator" and obj.get("pattern_type") == "stix":
        _check_pattern(obj_id, obj)
    if is_sco and otype in SCO_TYPES:
        problem = observable_problem(otype, obj)
        if problem is not None:
            raise _fail(obj_id, problem[0], problem[1])
    created_by = obj.get("created_by_ref")
    if created_by is not None and not created_by.startswith("identity--"):
        raise _fail(obj_id, "created_by_ref", "must refer to an identity")
    revoked = obj.get("revoked", False)
    if not isinstance(revoked, bool):
        raise _fail(obj_id, "revoked", "must be a boolean")
    confidence = obj.get("confidence")
    if confidence is not None and (not isinstance(confidence, int) or isinstance(confidence, bool)
                                   or not 0 <= confidence <= 100):
        raise _fail(obj_id, "confidence", "must be an integer from 0 to 100")
    for key in ("labels", "aliases"):
        value = obj.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(x, str) for x in value)):
            raise _fail(obj_id, key, "must be a list of strings")
    markings = list(obj.get("object_marking_refs", ()))
    granular = obj.get("granular_markings")
    if granular is not None:
        if not isinstance(granular, list):
            raise _fail(obj_id, "granular_markings", "must be a list")
        for i, gm in enumerate(granular):
            ref = gm.get("marking_ref") if isinstance(gm, dict) else None
            if ref is None:
                if isinstance(gm, dict) and "lang" in gm:
                    continue
                raise _fail(obj_id, f"granular_markings[{i}].marking_ref", "required")
            _check_ref(obj_id, f"granular_markings[{i}].marking_ref", ref)
            markings.append(ref)
    for i, ref in enumerate(markings):
        if not ref.startswith("marking-definition--"):
            raise _fail(obj_id, f"object_marking_refs[{i}]", "must refer to a marking-definition")
    has_extensions = "extensions" in obj
    if has_extensions:
        obj = without_score(obj)
    try:
        sighting = sighting_facts(obj) if otype == "sighting" else None
        grading = _grading_parts(obj) if has_extensions else None
    except ExtensionInvalid as exc:
        raise _fail(obj_id, exc.field, exc.reason) from None
    try:
        doc = orjson.dumps(obj)
    except orjson.JSONEncodeError:  # nesting beyond the serialiser's own limit (a max_depth set above it)
        raise _fail(obj_id, "", "cannot be serialised: it nests too deeply") from None
    if len(doc) > MAX_OBJECT_BYTES:
        raise _fail(obj_id, "", f"is {len(doc)} bytes of JSON; an object may be at most {MAX_OBJECT_BYTES} bytes")
    return Prepared(
        id=obj_id.lower(),  # identity of the object: UUID hex is case-insensitive
        type=otype,
        spec_version="2.1",
        created=created if isinstance(created, str) else None,
        modified=modified if isinstance(modified, str) else None,
        version_key=version_key,
        created_by_ref=created_by.lower() if created_by is not None else None,
        markings=tuple(dict.fromkeys(m.lower() for m in markings)),
        revoked=revoked,
        doc=doc,
        sha=hashlib.blake2b(orjson.dumps(identity_form(obj) if has_extensions else obj, option=orjson.OPT_SORT_KEYS),
                            digest_size=16).hexdigest(),
        marking_level=marking_definition_level(obj) if otype == "marking-definition" else None,
        is_sco=is_sco,
        huge_float=huge,
        keys=keys_of(obj),
        sighting=sighting,
        has_extensions=has_extensions,
        grading=grading,
    )


def _grading_parts(obj: dict[str, Any]) -> tuple[str | None, int | None, str | None] | None:
    """Return the grading parts the object's Pacte extension sets (None: it sets none); raise ExtensionInvalid."""
    if grading_of(obj, DEFAULT_GRADING) is None:  # checks the extension's properties
        return None
    body = obj["extensions"][EXTENSION_ID]
    return body.get("reliability"), body.get("credibility"), body.get("handling")
