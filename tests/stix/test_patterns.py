"""The fast STIX 2.1 pattern recognizer agrees with the OASIS validator (stix2-patterns), on a corpus and generated input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacte.stix.patterns import is_simple_valid, pattern_problem

stix2patterns = pytest.importorskip("stix2patterns.validator")

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"

VALID = [
    "[ipv4-addr:value = '198.51.100.1']",
    "[ipv4-addr:value = '198.51.100.0/24' OR ipv6-addr:value = '2001:db8::1']",
    f"[file:hashes.'SHA-256' = '{SHA256}'] AND [domain-name:value LIKE '%.example.com'] WITHIN 600 SECONDS",
    f"[file:hashes.MD5 = '{MD5}' AND file:size > 1024]",
    "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
    "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
    "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo\\\\Bar']",
    "([file:name = 'foo.dll'] AND [process:name = 'a.exe']) WITHIN 300 SECONDS REPEATS 5 TIMES",
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
    "[network-traffic:extensions.'http-request-ext'.request_header.'Accept-Encoding' NOT MATCHES '^gzip']",
    "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name = 'x.exe']",
    "[user-account:account_type = 'unix' AND user-account:user_id = '1007']",
    "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=' OR artifact:hashes.MD5 = '" + MD5 + "']",
    "[a:b = h'0a1B'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.123Z'",
    "[EXISTS windows-registry-key:values] FOLLOWEDBY [process:pid IN (1, 2, 3)]",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24'] OR [x-custom:prop.sub[0] >= -1.5]",
    "[a:b = true] AND [a:c != false] /* comment */ // trailing",
    "(([a:b = 1]))",
    "[a:'quoted property' = 'it\\'s']",
    "[file:name == true] WITHIN 5 SECONDS REPEATS 3 TIMES",  # '==' and '<>' are '=' and '!=' (found by Hypothesis)
    "[file:name <> false]",
]
INVALID = [
    "", "   ", "ipv4-addr:value = '198.51.100.1'", "[ipv4-addr:value = '198.51.100.1'",
    "[ipv4-addr:value = 198.51.100.1]", "[ipv4-addr:value == ]", "[file:hashes.MD5 = 'abc']",
    f"[file:hashes.MD5 IN ('{MD5}')]", "[file:hashes[0] = 'x']", "[a:b[-1] = 1]",
    "[a:b = 1] WITHIN 1 SECONDS WITHIN 2 SECONDS", "[a:b = t'2020-13-01T00:00:00Z']", "[a:b = h'0']",
    "[a:b = b'AA']", "[a:b-c = 1]", "[a:b = 1] and [a:b = 2]", "[a:b = 'x\\y']", "/* c */ [a:b = 1]",
    "[a:b = 1] REPEATS 1.5 TIMES", "[a:b = 1] WITHIN -5 SECONDS", "[a:b > true]", "[a:b LIKE 5]",
    "[a:b = 1] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'", "[a:b = 1]]", "[]", "[a:b]",
    "[a:b = 1] FOLLOWEDBY", "[a:b = 1] ALONGWITH [a:c = 2]", "[a:b = NULL]", "[a:b =\x1c 1]",
]


def oracle_valid(pattern: str) -> bool:
    """Return what the OASIS validator says (a pattern it crashes on is as unusable as an invalid one)."""
    try:
        return not stix2patterns.run_validator(pattern, stix_version="2.1")
    except Exception:
        return False


@pytest.mark.parametrize("pattern", VALID)
def test_valid_corpus(pattern: str) -> None:
    assert oracle_valid(pattern), pattern
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_corpus_is_refused_with_a_reason(pattern: str) -> None:
    assert not oracle_valid(pattern), pattern
    reason = pattern_problem(pattern)
    assert isinstance(reason, str) and reason


# Generated patterns: fragments of the grammar (and near misses) put together, then mutated.
_PATHS = ["file:name", "file:hashes.MD5", "file:hashes.'SHA-256'", "file:hashes.SHA1", "file:hashes[0]",
          "file:hashes[*]", "ipv4-addr:value", "x-c:a.b[1].'c d'", "a:b[-1]", "a-b:c", "a:b-c", "a:'x'",
          "network-traffic:dst_ref.value", "IN:x", "true:x", "a:b.c.d[*]"]
_LITERALS = ["'198.51.100.1'", f"'{MD5}'", f"'{SHA256}'", "'abc'", "'it\\'s'", "'a\\\\b'", "1", "-1", "+2", "0",
             "01", "1.5", ".5", "-.5", "true", "false", "h'0a'", "h'0'", "b'AAAA'", "b'AA=='", "b'A'",
             "t'2020-01-01T00:00:00Z'", "t'2020-02-30T25:00:00Z'", "NULL", "x", "''"]
_OPS = ["=", "==", "!=", "<>", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "NOT =",
        "NOT IN", "NOT LIKE", "=<", "in", "!"]
_QUALIFIERS = [" WITHIN 5 SECONDS", " WITHIN 2.5 SECONDS", " WITHIN -1 SECONDS", " REPEATS 3 TIMES",
               " REPEATS 0 TIMES", " START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'",
               " START 'x' STOP 'y'", " WITHIN 5", ""]


@st.composite
def comparison(draw: st.DrawFn, depth: int = 0) -> str:
    """A comparison expression, sometimes parenthesised or combined."""
    if depth < 2 and draw(st.booleans()):
        joiner = draw(st.sampled_from([" AND ", " OR ", " and ", " "]))
        inner = draw(comparison(depth + 1)) + joiner + draw(comparison(depth + 1))
        return f"({inner})" if draw(st.booleans()) else inner
    path = draw(st.sampled_from(_PATHS))
    if draw(st.integers(0, 9)) == 0:
        return f"EXISTS {path}"
    op = draw(st.sampled_from(_OPS))
    if op.endswith("IN"):
        values = draw(st.lists(st.sampled_from(_LITERALS), max_size=3))
        return f"{path} {op} ({', '.join(values)})"
    return f"{path} {op} {draw(st.sampled_from(_LITERALS))}"


@st.composite
def pattern(draw: st.DrawFn, depth: int = 0) -> str:
    """An observation expression with qualifiers, sometimes combined, then perhaps mutated by one character."""
    if depth < 2 and draw(st.booleans()):
        joiner = draw(st.sampled_from([" AND ", " OR ", " FOLLOWEDBY ", " ALONGWITH "]))
        inner = draw(pattern(depth + 1)) + joiner + draw(pattern(depth + 1))
        text = f"({inner})" if draw(st.booleans()) else inner
    else:
        text = f"[{draw(comparison())}]"
    text += draw(st.sampled_from(_QUALIFIERS)) + draw(st.sampled_from(_QUALIFIERS))
    if depth == 0 and draw(st.integers(0, 3)) == 0 and text:
        where = draw(st.integers(0, len(text) - 1))
        extra = draw(st.sampled_from(["", "'", "[", "]", "(", ")", " ", "\t", "/*", "*/", "//", "\\", "-", ".",
                                      "\u00a0", "\x1c", "h'", "t'", "é"]))
        text = text[:where] + extra + text[where + draw(st.integers(0, 1)):]
    return text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern())
def test_agrees_with_the_oasis_validator_on_generated_patterns(text: str) -> None:
    assert (pattern_problem(text) is None) == oracle_valid(text), text


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="[]():.,'\"*=<>!-+ 0aAb1tTh_\\/\n", max_size=30))
def test_agrees_with_the_oasis_validator_on_noise(text: str) -> None:
    assert (pattern_problem(text) is None) == oracle_valid(text), text


_SIMPLE_PATHS = [*_PATHS, "AND:x", "a:AND", "a:b-c", "a:b.true", "x-c:b[+1]", "a:b[01]", "file:name"]
_SIMPLE_LITERALS = [*_LITERALS, "1AND", "'x'OR", "1.", "00.5", "true1", "-0", "+.5"]


@st.composite
def simple_shape(draw: st.DrawFn) -> str:
    """Near the one-regex shape: comparisons joined by AND/OR in one pair of brackets."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        parts.append(f"{draw(st.sampled_from(_SIMPLE_PATHS))}{draw(st.sampled_from(['', ' ']))}"
                     f"{draw(st.sampled_from(['=', '==', '!=', '<>', '<', '>=', 'LIKE', 'MATCHES', 'IN', '=<']))}"
                     f"{draw(st.sampled_from(['', ' ', '  ']))}{draw(st.sampled_from(_SIMPLE_LITERALS))}")
    joiner = draw(st.sampled_from([" AND ", " OR ", " and ", "AND ", " ORx "]))
    return f"{draw(st.sampled_from(['', ' ', '(']))}[{joiner.join(parts)}]{draw(st.sampled_from(['', ' ', ')']))}"


@settings(max_examples=1500, deadline=None)
@given(simple_shape())
def test_the_one_regex_path_accepts_only_valid_patterns(text: str) -> None:
    valid = oracle_valid(text)
    assert valid or not is_simple_valid(text), text
    assert (pattern_problem(text) is None) == valid, text


def test_common_patterns_take_the_one_regex_path() -> None:
    assert is_simple_valid(VALID[0]) and is_simple_valid(VALID[1]) and is_simple_valid(VALID[4])


def test_deep_nesting_is_refused_not_raised() -> None:
    assert pattern_problem("(" * 5000 + "[a:b = 1]" + ")" * 5000) is not None


def test_faster_than_the_oracle() -> None:
    """The point of the recognizer: the OASIS parser costs about 0.3 ms a pattern, too much for ingest."""
    patterns = VALID * 20
    start = time.perf_counter()
    for p in patterns:
        pattern_problem(p)
    mine = time.perf_counter() - start
    start = time.perf_counter()
    for p in patterns:
        oracle_valid(p)
    oracle = time.perf_counter() - start
    assert mine * 5 < oracle, (mine, oracle)
