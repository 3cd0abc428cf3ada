"""A corpus of malformed STIX/TAXII bodies, generated in code (issue 10 item 5).

Each entry is either a whole body that must be refused alone (``Whole``: a 4xx, the error shape, the
field and reason it must name), or a batch mixing good objects with bad ones (``Batch``: each bad object
refused by id with its field and reason, the good ones stored). Bodies are built for the native API (a
bundle) or TAXII (an envelope) from the same pieces. ``limit`` is the server's body limit: the huge
entries are sized from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from helpers import sdo, sid
from pacte.edge.bodies import MAX_OBJECTS

DEEP = 100_000  # levels of nesting of the deep entries
DIGITS = 100_000  # digits of the long integer entries


@dataclass(frozen=True)
class Bad:
    """One bad object of a batch: its raw JSON, its id (None when it has none) and what the refusal names."""

    raw: bytes
    id: str | None
    field: str
    reason: str  # a substring of the refusal's reason (case-insensitive)


@dataclass(frozen=True)
class Batch:
    """Good objects and bad ones in one body: the good stored, each bad refused alone."""

    name: str
    category: str
    bad: list[Bad]
    good: list[dict[str, Any]] = field(default_factory=list)
    extra: bytes = b""  # raw top-level members added to the bundle/envelope, e.g. b',"x":1'


@dataclass(frozen=True)
class Whole:
    """A body refused as a whole: a status, one of some codes, and the field / reason the error names."""

    name: str
    category: str
    body: Callable[[bool], bytes]  # envelope? -> body
    status: int
    codes: tuple[str, ...]
    field: str | None = None  # None: not checked
    reason: str = ""
    content_type: str | None = None  # None: the surface's own
    taxii_status: int | None = None  # when TAXII answers otherwise (422: no object of the envelope is STIX)


@dataclass(frozen=True)
class Accepted:
    """A pathological but valid body: answered 2xx, every object stored, in bounded time and memory."""

    name: str
    category: str
    body: Callable[[bool], bytes]
    objects: int = 1


Entry = Batch | Whole | Accepted


def object_count(entry: Entry) -> int:
    """Return how many objects of an entry reach per-object processing (none for a body refused whole)."""
    if isinstance(entry, Batch):
        return len(entry.good) + len(entry.bad)
    return entry.objects if isinstance(entry, Accepted) else 0


def good(name: str) -> dict[str, Any]:
    """Return a valid object for a corpus entry."""
    return sdo("malware", f"corpus-{name}", 1, is_family=True)


def wrap(objects: list[bytes], envelope: bool, extra: bytes = b"") -> bytes:
    """Return a bundle (native) or an envelope (TAXII) holding these raw objects."""
    head = b'{"objects":[' if envelope else b'{"type":"bundle","id":"' + sid("bundle", "corpus").encode() + b'","objects":['
    return head + b",".join(objects) + b"]" + extra + b"}"


def raw_object(kind: str, label: str, /, **props: bytes) -> tuple[str, bytes]:
    """Return the id and raw JSON of a valid object of a type, with raw property values spliced in."""
    obj = sdo(kind, label, 1, is_family=True) if kind == "malware" else sdo(kind, label, 1)
    body = orjson.dumps(obj)[:-1]
    for key, value in props.items():
        body += b',"' + key.encode() + b'":' + value
    return obj["id"], body + b"}"


def batch_body(entry: Batch, envelope: bool) -> bytes:
    """Return the body of a batch entry: good and bad objects interleaved."""
    goods = [orjson.dumps(g) for g in entry.good]
    parts: list[bytes] = []
    for i in range(max(len(goods), len(entry.bad))):
        parts += goods[i:i + 1] + [b.raw for b in entry.bad[i:i + 1]]
    return wrap(parts, envelope, entry.extra)


# ---------------------------------------------------------------------------------------- categories


def deep_nesting() -> Iterator[Entry]:
    """Nesting of 10^5 levels: the whole body, inside one object, and as a bare element of objects."""
    yield Whole("deep-array-body", "deep", lambda e: b"[" * DEEP + b"]" * DEEP, 400, ("too_deep", "invalid_json"))
    yield Whole("deep-object-body", "deep", lambda e: b'{"a":' * DEEP + b"1" + b"}" * DEEP, 400,
                ("too_deep", "invalid_json"))
    yield Whole("deep-bundle-property", "deep", lambda e: wrap([orjson.dumps(good("dbp"))], e,
                                                               b',"x_meta":' + b"[" * DEEP + b"]" * DEEP),
                400, ("too_deep",), "x_meta", "deeper than")
    for kind, value in (("arrays", b"[" * DEEP + b"]" * DEEP), ("objects", b'{"k":' * DEEP + b"1" + b"}" * DEEP),
                        ("mixed", b'[{"k":' * (DEEP // 2) + b"0" + b"}]" * (DEEP // 2))):
        oid, raw = raw_object("indicator", f"deep-{kind}", x_payload=value)
        yield Batch(f"deep-{kind}-in-object", "deep", [Bad(raw, oid, "x_payload", "deeper than")], [good(f"d{kind}")])
    oid, raw = raw_object("malware", "deep-name", name=b"[" * DEEP + b'"x"' + b"]" * DEEP)
    yield Batch("deep-standard-property", "deep", [Bad(raw, oid, "name", "deeper than")], [good("dn")])
    yield Batch("deep-bare-element", "deep", [Bad(b"[" * DEEP + b"]" * DEEP, None, "", "deeper than")], [good("dbe")])


def huge_strings(limit: int) -> Iterator[Entry]:
    """Strings as large as the body limit allows: as a value, as a key, over the limit."""
    size = limit - 4096
    oid, raw = raw_object("malware", "huge-description", description=b'"' + b"x" * size + b'"')
    yield Whole("string-over-the-limit", "huge-string",
                lambda e: wrap([raw_object("malware", "over", description=b'"' + b"x" * (limit + 1) + b'"')[1]], e),
                413, ("too_large",))
    if size <= 16 * 1024 * 1024 - 1024:  # an object may be at most 16 MiB (pacte.stix.validate.MAX_OBJECT_BYTES)
        yield Accepted("string-near-the-limit", "huge-string", lambda e: wrap([raw], e))
    else:
        yield Batch("string-near-the-limit", "huge-string", [Bad(raw, oid, "", "at most")], [good("hs")])
    key = b"x_" + b"k" * (limit // 2)
    oid2, raw2 = raw_object("malware", "huge-key", **{key.decode(): b"1"})
    yield Batch("huge-property-name", "huge-string", [Bad(raw2, oid2, key.decode(), "")], [good("hk")])
    oid3, raw3 = raw_object("malware", "huge-id-ref", created_by_ref=b'"identity--' + b"a" * (limit // 2) + b'"')
    yield Batch("huge-reference", "huge-string", [Bad(raw3, oid3, "created_by_ref", "identifier")], [good("hr")])


def huge_numbers() -> Iterator[Entry]:
    """Numbers beyond what the parser keeps: 1e400, integers of 10^5 digits, exponents of thousands of digits."""
    cases: list[tuple[str, bytes]] = [("1e400", b"1e400"), ("minus-1e400", b"-1e400"),
                                      ("int-1e5-digits", b"9" * DIGITS), ("neg-int-1e5-digits", b"-" + b"9" * DIGITS),
                                      ("int-25-digits", b"1" + b"0" * 24),
                                      ("long-exponent", b"1e" + b"9" * 5000)]
    for name, value in cases:
        oid, raw = raw_object("indicator", f"num-{name}", x_score=value)
        yield Batch(f"number-{name}", "huge-number", [Bad(raw, oid, "x_score", "")], [good(f"n{name}")])
    oid, raw = raw_object("indicator", "num-confidence", confidence=b"1e400")
    yield Batch("number-1e400-at-confidence", "huge-number", [Bad(raw, oid, "confidence", "")], [good("nc")])
    yield Whole("number-1e400-in-bundle", "huge-number", lambda e: wrap([orjson.dumps(good("nb"))], e,
                                                                        b',"x_n":1e400'), 400,
                ("invalid_json", "invalid_stix"))
    # a fraction of 10^5 digits is a valid double (rounded): stored, never a 5xx
    fraction = orjson.dumps(good("nf"))[:-1] + b',"x_fraction":0.' + b"3" * DIGITS + b"}"
    yield Accepted("fraction-1e5-digits", "huge-number", lambda e: wrap([fraction], e))


def bad_unicode() -> Iterator[Entry]:
    """Invalid UTF-8 and lone surrogates, in a value, in a key, in an id."""
    raws: list[tuple[str, bytes, str]] = [
        ("lone-high-surrogate", b'"\\ud800"', "description"), ("lone-low-surrogate", b'"\\udc00"', "description"),
        ("reversed-surrogates", b'"\\udc00\\ud800"', "description"),
        ("high-then-letter", b'"\\ud800\\u0041"', "name"),
    ]
    for name, value, prop in raws:
        oid, raw = raw_object("malware", f"uni-{name}", **{prop: value})
        yield Batch(f"unicode-{name}", "unicode", [Bad(raw, oid, prop, "")], [good(f"u{name}")])
    oid, raw = raw_object("malware", "uni-key")
    raw = raw[:-1] + b',"x_\\ud800":1}'
    yield Batch("unicode-surrogate-in-key", "unicode", [Bad(raw, oid, "", "")], [good("uk")])
    invalid_bytes = [("invalid-utf8-byte", b"\xff"), ("encoded-surrogate", b"\xed\xa0\x80"),
                     ("overlong-slash", b"\xc0\xaf"), ("truncated-sequence", b"\xe2\x82"),
                     ("cesu-pair", b"\xed\xa0\xbd\xed\xb8\x80")]
    for name, seq in invalid_bytes:  # inside one object's string: that object is refused alone
        oid, raw = raw_object("malware", f"bytes-{name}", description=b'"a' + seq + b'b"')
        yield Batch(f"unicode-{name}", "unicode", [Bad(raw, oid, "description", "utf-8")], [good(f"b{name}")])
    yield Whole("unicode-invalid-byte-outside-objects", "unicode",
                lambda e: wrap([orjson.dumps(good("bo"))], e, b',"x_\xff":1'), 400, ("invalid_json",), reason="utf-8")
    yield Whole("unicode-utf16-body", "unicode", lambda e: wrap([orjson.dumps(good("u16"))], e).decode().encode(
        "utf-16"), 400, ("invalid_json",))
    oid, raw = raw_object("malware", "uni-nul")
    yield Batch("unicode-nul-in-type", "unicode", [Bad(raw.replace(b'"type":"malware"', b'"type":"mal\\u0000ware"'),
                                                       oid, "type", "")], [good("unul")])


def wrong_types() -> Iterator[Entry]:
    """Each required property of common types, given each wrong JSON type: refused by name, the rest stored."""
    wrong = {"null": None, "number": 7, "float": 1.5, "bool": True, "list": ["x"], "object": {"a": 1}, "empty": ""}
    required = {
        "indicator": ["type", "id", "spec_version", "created", "modified", "pattern", "pattern_type", "valid_from"],
        "malware": ["type", "id", "spec_version", "created", "modified", "is_family"],
        "report": ["id", "created", "modified", "name", "published", "object_refs"],
        "relationship": ["id", "relationship_type", "source_ref", "target_ref", "created", "modified"],
        "sighting": ["id", "sighting_of_ref", "created", "modified"],
        "identity": ["id", "name", "created", "modified"],
        "ipv4-addr": ["id", "value"],
        "marking-definition": ["id", "created", "definition_type", "definition"],
    }
    for kind, props in required.items():
        base = _base(kind)
        bad: list[Bad] = []
        for prop in props:
            for label, value in wrong.items():
                if (prop, label) in _RIGHT_TYPE or (label == "empty" and prop in _STRINGS):
                    continue  # not a wrong type: a definition is an object, is_family a boolean, "" a string
                obj = {**base, prop: value}
                if prop != "id":
                    obj["id"] = sid(kind, f"{kind}-{prop}-{label}")
                oid = obj["id"] if isinstance(obj["id"], str) and obj["id"] else None
                bad.append(Bad(orjson.dumps(obj), oid, prop, ""))
        yield Batch(f"wrong-types-{kind}", "wrong-type", bad, [good(f"wt{kind}")])
    for label, value in wrong.items():
        if label == "list":
            continue
        yield Whole(f"bundle-objects-{label}", "wrong-type",
                    lambda e, v=value: (b'{"objects":' if e else b'{"type":"bundle","id":"' + sid("bundle", "w").encode()
                                        + b'","objects":') + orjson.dumps(v) + b"}",
                    400, ("invalid_stix", "invalid_input", "unprocessable"), "objects")


_RIGHT_TYPE = {("definition", "object"), ("is_family", "bool")}
_STRINGS = {"name", "pattern_type", "relationship_type", "definition_type"}


def _base(kind: str) -> dict[str, Any]:
    if kind == "relationship":
        return sdo("relationship", "rel", 1, relationship_type="uses", source_ref=sid("malware", "a"),
                   target_ref=sid("attack-pattern", "b"))
    if kind == "sighting":
        return sdo("sighting", "sig", 1, sighting_of_ref=sid("indicator", "a"))
    if kind == "identity":
        return sdo("identity", "idn", 1, identity_class="organization")
    if kind == "ipv4-addr":
        return {"type": "ipv4-addr", "spec_version": "2.1", "id": sid("ipv4-addr", "198.51.100.9"),
                "value": "198.51.100.9"}
    if kind == "marking-definition":
        return {"type": "marking-definition", "spec_version": "2.1", "id": sid("marking-definition", "wt"),
                "created": "2025-01-01T00:00:00.000Z", "definition_type": "statement",
                "definition": {"statement": "corpus"}}
    return sdo(kind, f"wt-{kind}", 1, **({"is_family": False} if kind == "malware" else {}))


def repetition(limit: int) -> Iterator[Entry]:
    """Duplicate keys, one id 10^5 times, and a huge array of tiny objects."""
    oid, raw = raw_object("malware", "dup-keys")
    dup = raw[:-1] + b"".join(b',"x_dup":' + str(i).encode() for i in range(100_000)) + b"}"
    yield Accepted("duplicate-keys-1e5", "repetition", lambda e: wrap([dup], e))  # the last value is kept
    typed = raw.replace(b'"type":"malware"', b'"type":"malware","type":"indicator"')
    yield Batch("duplicate-type-key", "repetition", [Bad(typed, oid, "id", "indicator--")], [good("dk")])
    same = orjson.dumps(good("same-id"))
    times = min(100_000, (limit - 200) // (len(same) + 1))
    yield Accepted(f"one-id-{times}-times", "repetition", lambda e: wrap([same] * times, e), times)
    tiny = (limit - 200) // 3
    yield Whole("tiny-objects-up-to-the-limit", "repetition", lambda e: wrap([b"{}"] * tiny, e),
                413, ("too_large",), "body", "one JSON value per")
    yield Whole("tiny-numbers-up-to-the-limit", "repetition", lambda e: wrap([b"0"] * ((limit - 200) // 2), e),
                413, ("too_large",), "body", "one JSON value per")
    yield Whole("tiny-strings-up-to-the-limit", "repetition", lambda e: wrap([b'"ab"'] * ((limit - 200) // 5), e),
                413, ("too_large",), "body", "one JSON value per")
    small = b'{"type":"x-a","x":"' + b"p" * 24 + b'"}'  # one value per 17 bytes: parsed, then counted
    if (len(small) + 1) * (MAX_OBJECTS + 1) + 200 <= limit:
        yield Whole("objects-beyond-the-cap", "repetition", lambda e: wrap([small] * (MAX_OBJECTS + 1), e),
                    413, ("too_large",), "objects", "objects per request")


def patterns() -> Iterator[Entry]:
    """Broken and pathological STIX patterns: each indicator refused alone at ``pattern``."""
    bad = {
        "unclosed": "[ipv4-addr:value = '198.51.100.1'",
        "empty": "",
        "deep-parens": "(" * 5000 + "[ipv4-addr:value = '198.51.100.1']" + ")" * 5000,
        "deep-parens-unbalanced": "(" * 100_000 + "[ipv4-addr:value = '198.51.100.1']",
        "deep-brackets": "[" * 10_000 + "ipv4-addr:value = '1'" + "]" * 10_000,
        "negative-within": "[ipv4-addr:value = '1'] WITHIN -5 SECONDS",
        "long-or-chain": " OR ".join(["[ipv4-addr:value = '1']"] * 20_000) + " OR",
        "bad-escape": "[file:name = 'a\\qb']",
        "unterminated-string": "[file:name = 'abc]",
        "bad-timestamp": "[ipv4-addr:value = '1'] START t'2024-13-45T99:00:00Z' STOP t'x'",
        "surrogate-text": "[file:name = 'a'] AND \u2028",
        "huge-path": "[x-" + "a" * 100_000 + ":" + ".".join(["b"] * 10_000) + " = '1'",
        "not-a-pattern": "SELECT * FROM users; --",
        "number-pattern": 12,
    }
    items = []
    for name, value in bad.items():
        obj = sdo("indicator", f"pat-{name}", 1, pattern=value)
        items.append(Bad(orjson.dumps(obj), obj["id"], "pattern", "" if name == "number-pattern" else "pattern"))
    yield Batch("patterns", "pattern", items, [good("pat")])
    # pathological but grammatical (stix2-patterns accepts each): stored, in bounded time
    valid = {"regex-bomb": "[file:name MATCHES '^(a+)+$']",
             "huge-repeats": "[ipv4-addr:value = '1'] REPEATS " + "9" * 10_000 + " TIMES",
             "huge-within": "[ipv4-addr:value = '1'] WITHIN " + "9" * 10_000 + " SECONDS",
             "zero-repeats": "[ipv4-addr:value = '1'] REPEATS 0 TIMES", "nul": "[ipv4-addr:value = '\x00']",
             "long-in-list": "[ipv4-addr:value IN (" + ",".join(f"'198.51.100.{i % 250}'" for i in range(20_000)) + ")]",
             "deep-valid-parens": "(" * 200 + "[ipv4-addr:value = '198.51.100.1']" + ")" * 200}
    fine = [orjson.dumps(sdo("indicator", f"pat-ok-{n}", 1, pattern=v)) for n, v in valid.items()]
    yield Accepted("valid-pathological-patterns", "pattern", lambda e: wrap(fine, e), len(fine))


def content_types() -> Iterator[Entry]:
    """Bodies declared as what they are not."""
    body: Callable[[bool], bytes] = lambda e: wrap([orjson.dumps(good("ct"))], e)  # noqa: E731
    for name, ctype in (("text-plain", "text/plain"), ("form", "application/x-www-form-urlencoded"),
                        ("xml", "application/xml"), ("multipart", "multipart/form-data; boundary=x"),
                        ("taxii-2.0", "application/taxii+json;version=2.0"), ("garbage", "x;;;=")):
        yield Whole(f"content-type-{name}", "content-type", body, 415, ("unsupported_media_type",), "Content-Type",
                    content_type=ctype)


def truncated() -> Iterator[Entry]:
    """A valid body cut every 7 bytes from its end, and mid-escape and mid-UTF-8: invalid JSON, nothing stored."""
    obj = orjson.dumps(good("tr") | {"description": "caf\u00e9 \\ \"q\" \u2603"})
    shortest = wrap([obj], True)
    cuts = [*range(1, len(shortest) - 1, 7), len(shortest) - shortest.index(b"\\\\") - 1,
            len(shortest) - shortest.index("\u00e9".encode()) - 1]
    for cut in cuts:  # bytes removed from the end
        yield Whole(f"truncated-{cut}-from-end", "truncated", lambda e, c=cut: wrap([obj], e)[:-c], 400,
                    ("invalid_json", "too_deep"))


def corpus(limit: int) -> list[Entry]:
    """Return every entry of the corpus for a server with this body limit."""
    return [*deep_nesting(), *huge_strings(limit), *huge_numbers(), *bad_unicode(), *wrong_types(),
            *repetition(limit), *patterns(), *content_types(), *truncated()]
