"""The Pacte property-extension: Admiralty grading, handling code, score and sighting facts, in STIX 2.1.

Every object a member shares carries, in ``extensions[EXTENSION_ID]``, the grading of its sharer (source
reliability A-F, information credibility 1-6) and an optional handling code; indicators are served with a
``score`` computed by the hub per reader; sightings say whether the thing was seen or was a false positive and
whether the sighting is anonymous. ``docs/extension.md`` is the normative text (the definition's ``schema``).

This module parses and checks what a member sends (:func:`grading_of`, :func:`sighting_facts`, raising
:class:`ExtensionInvalid` with a field path and reason), writes the grading the hub settles on into the stored
JSON (:func:`with_grading`) and the per-reader score into the served JSON (:func:`with_score`), and reads the
grading back cheaply on read paths (:func:`grading_from_doc`). The two writers splice strings where they can:
they run once per object stored or served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import orjson

from pacte.errors import Detail
from pacte.stix import timestamps

EXTENSION_ID = "extension-definition--b04de1b4-9772-4973-97ae-2b7fc0efeea4"
PACTE_IDENTITY_ID = "identity--c5ecc37d-1c84-4540-846a-658148760660"
EXTENSION_VERSION = "1.0.0"
EXTENSION_TYPE = "property-extension"
# The definition's ``schema``: STIX 2.1 allows a URL or plain text; the hub has no fixed public address, so the
# text names the document shipped in every Pacte source distribution.
SCHEMA = (
    "Normative text: docs/extension.md of the Pacte source distribution (Apache-2.0), "
    f"'Pacte grading extension' version {EXTENSION_VERSION}. Properties: reliability (A-F), credibility (1-6), "
    "handling (optional code), score (0-100, set by the hub on indicators it serves), sighting_kind "
    "(seen | false-positive) and anonymous (boolean) on sightings."
)
_DEFINED = "2026-12-08T00:00:00.000Z"  # created and modified of both canonical objects (never change: bump version)

RELIABILITIES = ("A", "B", "C", "D", "E", "F")  # Admiralty source reliability, A reliable .. F cannot be judged
CREDIBILITIES = (1, 2, 3, 4, 5, 6)  # Admiralty information credibility, 1 confirmed .. 6 cannot be judged
# Handling codes: "1".."5" are those of the UK 5x5x5 system, "P" and "C" those of 3x5x2; any other code of up
# to 16 capitals, digits and + : _ - is a community's own. TLP is a marking (object_marking_refs), never a code.
HANDLING = re.compile(r"^[A-Z0-9][A-Z0-9+:_-]{0,15}$")
SIGHTING_KINDS = ("seen", "false-positive")
MAX_SIGHTING_COUNT = 999_999_999  # STIX 2.1 section 5.1: count is 0 to 999,999,999

# Properties of the extension body in the order the hub writes them (extension_type first, score second).
_ORDER = ("extension_type", "score", "reliability", "credibility", "handling", "sighting_kind", "anonymous")
_MEMBER_PROPS = frozenset(_ORDER) - {"score"}
_SIGHTING_PROPS = frozenset({"sighting_kind", "anonymous"})
_PATH = f"extensions.{EXTENSION_ID}"
_MARK_STR = f'"{EXTENSION_ID}":{{'  # the start of the extension body in compact JSON
_SCORE_MARK = f'"{EXTENSION_ID}":{{"extension_type":"{EXTENSION_TYPE}"'


class ExtensionInvalid(ValueError):
    """The extension (or a sighting property it governs) is malformed: ``field`` path and ``reason``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def detail(self, object_id: str | None) -> Detail:
        """Return the problem as the error tree's Detail for the given object."""
        return Detail(reason=self.reason, field=self.field, object_id=object_id)


@dataclass(frozen=True, slots=True)
class Grading:
    """An Admiralty grading (reliability A-F, credibility 1-6) with an optional handling code."""

    reliability: str
    credibility: int
    handling: str | None = None

    def __post_init__(self) -> None:
        if self.reliability not in RELIABILITIES:
            raise ExtensionInvalid(f"{_PATH}.reliability", "must be one of A, B, C, D, E, F")
        if type(self.credibility) is not int or self.credibility not in CREDIBILITIES:
            raise ExtensionInvalid(f"{_PATH}.credibility", "must be an integer from 1 to 6")
        if self.handling is not None:
            _check_handling(self.handling)

    @property
    def code(self) -> str:
        """Return the Admiralty code, e.g. ``B2``."""
        return f"{self.reliability}{self.credibility}"


DEFAULT_GRADING = Grading("F", 6, None)  # Admiralty: reliability and credibility cannot be judged


@dataclass(frozen=True, slots=True)
class SightingFacts:
    """What a sighting says: of what, seen or false positive, how often, anonymous or not, and when last."""

    target: str  # sighting_of_ref, lower-cased like the ids the store files
    kind: Literal["seen", "false-positive"]
    count: int
    anonymous: bool
    last_seen: str | None  # last_seen, else first_seen, as sent (a valid STIX timestamp), else None


def _check_handling(value: object) -> str:
    """Return a valid handling code or raise ExtensionInvalid."""
    if type(value) is not str or HANDLING.match(value) is None:
        raise ExtensionInvalid(f"{_PATH}.handling",
                               "must be 1-16 capitals, digits or + : _ - (e.g. 1-5 of 5x5x5, P or C of 3x5x2)")
    if value.startswith("TLP"):
        raise ExtensionInvalid(f"{_PATH}.handling", "TLP is a marking (object_marking_refs), not a handling code")
    return value


def _body(obj: dict[str, Any]) -> dict[str, Any] | None:
    """Return this extension's body of an object after checking every property in it; None if absent."""
    extensions = obj.get("extensions")
    if extensions is None:
        return None
    if type(extensions) is not dict:
        raise ExtensionInvalid("extensions", "must be a JSON object")
    body = extensions.get(EXTENSION_ID)
    if body is None:
        return None
    if type(body) is not dict:
        raise ExtensionInvalid(_PATH, "must be a JSON object")
    if body.get("extension_type") != EXTENSION_TYPE:
        reason = "required" if "extension_type" not in body else "must be"
        raise ExtensionInvalid(f"{_PATH}.extension_type", f'{reason} "{EXTENSION_TYPE}"')
    is_sighting = obj.get("type") == "sighting"
    for key in body:
        if key == "score":  # computed by the hub for each reader; a served object sent back keeps working
            continue
        if key not in _MEMBER_PROPS:
            raise ExtensionInvalid(f"{_PATH}.{key}", "not a property of this extension (see docs/extension.md)")
        if key in _SIGHTING_PROPS and not is_sighting:
            raise ExtensionInvalid(f"{_PATH}.{key}", "only a sighting may carry it")
    return body


def grading_of(obj: dict[str, Any], default: Grading | None = None) -> Grading | None:
    """Return the grading an object's own extension sets, None if it sets none; raise ExtensionInvalid.

    With ``default`` (the member's grading), each part the extension leaves out is taken from it; without,
    reliability and credibility must come together.
    """
    body = _body(obj)
    if body is None:
        return None
    reliability = body.get("reliability")
    credibility = body.get("credibility")
    handling = body.get("handling")
    if reliability is None and credibility is None and handling is None:
        return None
    if reliability is not None and (type(reliability) is not str or reliability not in RELIABILITIES):
        raise ExtensionInvalid(f"{_PATH}.reliability", "must be one of A, B, C, D, E, F")
    if credibility is not None and (type(credibility) is not int or credibility not in CREDIBILITIES):
        raise ExtensionInvalid(f"{_PATH}.credibility", "must be an integer from 1 to 6")
    if handling is not None:
        _check_handling(handling)
    if default is not None:  # each part the sharer left out is the member's
        reliability = reliability if reliability is not None else default.reliability
        credibility = credibility if credibility is not None else default.credibility
        handling = handling if handling is not None else default.handling
    elif reliability is None or credibility is None:
        missing = "reliability" if reliability is None else "credibility"
        raise ExtensionInvalid(f"{_PATH}.{missing}", "required with the rest of the grading")
    return Grading(reliability, credibility, handling)


def sighting_facts(obj: dict[str, Any]) -> SightingFacts | None:
    """Return what a sighting says (None for other types); raise ExtensionInvalid on a bad property."""
    if obj.get("type") != "sighting":
        return None
    target = obj.get("sighting_of_ref")
    if type(target) is not str or "--" not in target:
        raise ExtensionInvalid("sighting_of_ref", "required: the identifier of what was sighted")
    body = _body(obj) or {}
    kind = body.get("sighting_kind", "seen")
    if type(kind) is not str or kind not in SIGHTING_KINDS:
        raise ExtensionInvalid(f"{_PATH}.sighting_kind", 'must be "seen" or "false-positive"')
    anonymous = body.get("anonymous", False)
    if type(anonymous) is not bool:
        raise ExtensionInvalid(f"{_PATH}.anonymous", "must be a boolean")
    count = obj.get("count", 1)
    if type(count) is not int or not 0 <= count <= MAX_SIGHTING_COUNT:
        raise ExtensionInvalid("count", f"must be an integer from 0 to {MAX_SIGHTING_COUNT}")
    last_seen: str | None = None
    for prop in ("last_seen", "first_seen"):
        value = obj.get(prop)
        if value is not None:
            if timestamps.normalize(value) is None:
                raise ExtensionInvalid(prop, "must be an RFC 3339 UTC timestamp such as 2024-01-31T12:00:00.000Z")
            last_seen = last_seen or value
    return SightingFacts(target=target.lower(), kind="seen" if kind == "seen" else "false-positive",
                         count=count, anonymous=anonymous, last_seen=last_seen)


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    """Return an extension body with its known properties in the hub's fixed order."""
    out = {key: body[key] for key in _ORDER if key in body}
    out.update((key, value) for key, value in body.items() if key not in out)
    return out


def _graded_body(grading: Grading, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the extension body holding a grading, keeping an existing body's sighting facts."""
    body = dict(existing) if existing else {}
    body.pop("handling", None)
    body.pop("score", None)
    body.update(extension_type=EXTENSION_TYPE, reliability=grading.reliability, credibility=grading.credibility)
    if grading.handling is not None:
        body["handling"] = grading.handling
    return _ordered(body)


@lru_cache(maxsize=256)
def _spliced_extensions(grading: Grading) -> bytes:
    """Return ``"extensions":{...}`` holding only a grading (cached: a hub uses few distinct gradings)."""
    return b'"extensions":' + orjson.dumps({EXTENSION_ID: _graded_body(grading)})


def with_grading(doc: bytes, grading: Grading, has_extensions: bool) -> bytes:
    """Return the compact JSON of an object with this extension's grading set (the extension placed last).

    ``doc`` is the object's compact JSON (orjson) and ``has_extensions`` whether it has an ``extensions`` key.
    Without one, the extension is spliced before the closing brace; with one, the object is parsed and
    ``extensions`` is moved to the end with this extension last in it, so the body is always the last
    occurrence of its key (what :func:`with_score` and :func:`grading_from_doc` rely on).
    """
    if not has_extensions:
        if doc[-1:] != b"}":
            raise ValueError("not the compact JSON of an object")
        return b"".join((doc[:-1], b"," if len(doc) > 2 else b"", _spliced_extensions(grading), b"}"))
    obj = orjson.loads(doc)
    extensions = obj.pop("extensions", None)
    if type(extensions) is not dict:
        extensions = {}
    existing = extensions.pop(EXTENSION_ID, None)
    extensions[EXTENSION_ID] = _graded_body(grading, existing if type(existing) is dict else None)
    obj["extensions"] = extensions
    return orjson.dumps(obj)


def _with_score_parsed(doc: str, score: int) -> str:
    """Return the served JSON with the score set, by parsing and dumping (the slow, general way)."""
    obj = orjson.loads(doc)
    extensions = obj.get("extensions")
    if type(extensions) is not dict:
        extensions = obj["extensions"] = {}
    body = extensions.get(EXTENSION_ID)
    body = dict(body) if type(body) is dict else {}
    body.pop("score", None)
    body.setdefault("extension_type", EXTENSION_TYPE)
    extensions[EXTENSION_ID] = _ordered({"extension_type": body.pop("extension_type"), "score": score, **body})
    return orjson.dumps(obj).decode()


def with_score(doc: str, score: int) -> str:
    """Return the served JSON of an object with ``"score":N`` in this extension's body (spliced when possible)."""
    if type(score) is not int or not 0 <= score <= 100:
        raise ValueError(f"a score is an integer from 0 to 100, not {score!r}")
    at = doc.rfind(_SCORE_MARK)
    if at < 0 or doc.startswith('"score"', at + len(_SCORE_MARK) + 1):
        return _with_score_parsed(doc, score)
    cut = at + len(_SCORE_MARK)
    return f"{doc[:cut]},\"score\":{score}{doc[cut:]}"


@lru_cache(maxsize=1024)
def _grading_of_body(body: str) -> Grading | None:
    """Return the grading of an extension body's JSON text, None if it holds none (cached: few distinct bodies)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:  # not a body the hub wrote (a brace inside a string)
        raise ValueError("not a body written by with_grading") from None
    if type(parsed) is not dict:
        raise ValueError("not a body written by with_grading")
    return _grading_in(parsed)


def _grading_in(body: dict[str, Any]) -> Grading | None:
    """Return the grading a parsed extension body holds, None if it holds none."""
    reliability, credibility = body.get("reliability"), body.get("credibility")
    if reliability is None or credibility is None:
        return None
    return Grading(reliability, credibility, body.get("handling"))


def grading_from_doc(doc: str | bytes) -> Grading | None:
    """Return the grading held in a stored or served JSON written by :func:`with_grading`, None if none."""
    text = doc.decode() if isinstance(doc, bytes) else doc
    at = text.rfind(_MARK_STR)
    if at < 0:
        return None
    start = at + len(_MARK_STR) - 1
    end = text.find("}", start)
    if end > 0:
        try:
            return _grading_of_body(text[start:end + 1])
        except ValueError:
            pass
    extensions = orjson.loads(text).get("extensions")  # the general way: read it whole
    body = extensions.get(EXTENSION_ID) if type(extensions) is dict else None
    return _grading_in(body) if type(body) is dict else None


def without_score(obj: dict[str, Any]) -> dict[str, Any]:
    """Return the object without a ``score`` in this extension (a copy if there was one; the hub sets it per reader)."""
    extensions = obj.get("extensions")
    if type(extensions) is not dict:
        return obj
    body = extensions.get(EXTENSION_ID)
    if type(body) is not dict or "score" not in body:
        return obj
    return {**obj, "extensions": {**extensions, EXTENSION_ID: {k: v for k, v in body.items() if k != "score"}}}


def identity_form(obj: dict[str, Any]) -> dict[str, Any]:
    """Return the object as its content hash sees it: without this extension's grading, which the hub may add.

    So the object a member shared and the graded object the hub serves back are one version: sending either
    again is idempotent. Sighting facts stay: they change what the sighting says.
    """
    extensions = obj.get("extensions")
    if type(extensions) is not dict:
        return obj
    body = extensions.get(EXTENSION_ID)
    if type(body) is not dict:
        return obj
    kept = {k: v for k, v in body.items() if k in _SIGHTING_PROPS}
    rest = {k: v for k, v in extensions.items() if k != EXTENSION_ID}
    if kept:
        rest[EXTENSION_ID] = kept
    out = {k: v for k, v in obj.items() if k != "extensions"}
    if rest:
        out["extensions"] = rest
    return out


def canonical_objects() -> dict[str, dict[str, Any]]:
    """Return the extension-definition and the Pacte identity that created it, by id."""
    identity = {
        "type": "identity", "spec_version": "2.1", "id": PACTE_IDENTITY_ID,
        "created": _DEFINED, "modified": _DEFINED, "name": "Pacte", "identity_class": "system",
        "description": "The Pacte threat-intelligence hub software, author of the Pacte STIX extension.",
    }
    definition = {
        "type": "extension-definition", "spec_version": "2.1", "id": EXTENSION_ID,
        "created": _DEFINED, "modified": _DEFINED, "created_by_ref": PACTE_IDENTITY_ID,
        "name": "Pacte grading extension",
        "description": ("Admiralty grading (source reliability A-F, information credibility 1-6) and handling "
                        "code set by the sharer; indicator score 0-100 computed by the hub for each reader; "
                        "sighting kind (seen or false-positive) and anonymity."),
        "schema": SCHEMA, "version": EXTENSION_VERSION, "extension_types": [EXTENSION_TYPE],
    }
    return {EXTENSION_ID: definition, PACTE_IDENTITY_ID: identity}
