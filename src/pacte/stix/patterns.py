"""STIX 2.1 patterns: a fast recognizer of the patterning grammar, for the ingest path.

Written from the OASIS grammar (``STIXPattern.g4`` of the STIX 2.1 patterning language) rather
than generated from it: a hand-written scanner and recursive-descent recognizer answer in a few
microseconds where the ANTLR-generated parser of ``stix2-patterns`` takes about 0.3 ms. The tests
hold it to ``stix2patterns.validator.run_validator(pattern, "2.1")`` (the oracle) on a corpus and
on generated patterns, including the oracle's checks beyond the grammar: the pattern starts with
``[`` after any opening parentheses, one qualifier of each kind directly on an observation, hash
values well-formed for their algorithm. A pattern the oracle cannot process (it raises) is refused
too, since every ``stix2`` reader of the indicator would fail the same way.
"""

from __future__ import annotations

import re

# Token kinds (the grammar's lexer rules that the recognizer tells apart).
INT_POS, INT_NEG, FLOAT_POS, FLOAT_NEG = "int+", "int-", "float+", "float-"
HEX, BINARY, STRING, BOOL, TIMESTAMP = "hex", "binary", "string", "bool", "timestamp"
IDENT, IDENT_HYPHEN = "ident", "ident-"
EOF = "end of pattern"

_KEYWORDS = frozenset({
    "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET", "EXISTS", "LAST", "IN",
    "START", "STOP", "SECONDS", "WITHIN", "REPEATS", "TIMES",
})
# The grammar's WS rule, character by character (not Python's idea of white space).
_SPACE = frozenset(" \t\r\n\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                   "\u200a\u2028\u2029\u202f\u205f\u3000")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"([+-]?)(?:([0-9]*\.[0-9]+)|(0|[1-9][0-9]*))")
_STRING = re.compile(r"'(?:[^'\\]|\\['\\])*'")
_HEX = re.compile(r"h'(?:[0-9A-Fa-f]{2})*'")
_BINARY = re.compile(r"b'(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)'")
_TIMESTAMP = re.compile(
    r"t'[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)"
    r"(?:\.[0-9]+)?Z'")
_PUNCT = {"==": "=", "=": "=", "!=": "!=", "<>": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">",
          ":": ":", ",": ",", "(": "(", ")": ")", "[": "[", "]": "]", "*": "*", ".": "."}

# Hash algorithms whose values the oracle checks (name upper-cased, hyphens dropped): hex digits of these lengths.
_HASH_HEX = {"MD5": (32,), "RIPEMD160": (40,), "SHA1": (40,), "SHA224": (56,), "SHA256": (64,), "SHA384": (96,),
             "SHA512": (128,), "SHA3224": (56,), "SHA3256": (64,), "SHA3384": (96,), "SHA3512": (128,),
             "WHIRLPOOL": (128,)}
_HEX_PREFIX = re.compile(r"[0-9A-Fa-f]+")
_SSDEEP = re.compile(r"[A-Za-z0-9/+:.]{1,128}\Z")


class PatternError(Exception):
    """A pattern that is not STIX 2.1 patterning, with the reason."""


Token = tuple[str, str]  # (kind, text)


def _tokens(text: str) -> list[Token]:
    """Split a pattern into tokens the way the grammar's lexer does (longest match, first rule on ties)."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
            continue
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end >= 0:
                i = end + 2
                continue
        elif c == "/" and text.startswith("//", i):
            while i < n and text[i] not in "\r\n":
                i += 1
            continue
        if c == "'":
            m = _STRING.match(text, i)
            if m is not None:
                out.append((STRING, m.group()))
                i = m.end()
                continue
        elif c.isascii() and (c.isalpha() or c == "_"):
            if i + 1 < n and text[i + 1] == "'" and c in "htb":
                m = (_HEX if c == "h" else _TIMESTAMP if c == "t" else _BINARY).match(text, i)
                if m is not None:
                    out.append((HEX if c == "h" else TIMESTAMP if c == "t" else BINARY, m.group()))
                    i = m.end()
                    continue
            m = _IDENT.match(text, i)
            assert m is not None
            word = m.group()
            if "-" in word:
                out.append((IDENT_HYPHEN, word))
            elif word in ("true", "false"):
                out.append((BOOL, word))
            elif word in _KEYWORDS:
                out.append((word, word))
            else:
                out.append((IDENT, word))
            i = m.end()
            continue
        elif c in "0123456789+-.":
            m = _NUMBER.match(text, i)
            if m is not None:
                negative = m.group(1) == "-"
                if m.group(2) is not None:
                    out.append((FLOAT_NEG if negative else FLOAT_POS, m.group()))
                else:
                    out.append((INT_NEG if negative else INT_POS, m.group()))
                i = m.end()
                continue
        two = text[i:i + 2]
        if two in _PUNCT:
            out.append((_PUNCT[two], two))
            i += 2
        elif c in _PUNCT:
            out.append((_PUNCT[c], c))
            i += 1
        else:
            out.append(("?", c))  # a character no rule uses: a syntax error where the parser meets it
            i += 1
    out.append((EOF, ""))
    return out


_ORDERABLE = frozenset({INT_POS, INT_NEG, FLOAT_POS, FLOAT_NEG, STRING, BINARY, HEX, TIMESTAMP})
_PRIMITIVE = _ORDERABLE | {BOOL}
_STRING_OPS = frozenset({"LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"})


def _unquote(text: str) -> str:
    return text[1:-1].replace("\\'", "'").replace("\\\\", "\\")


class _Parser:
    """Recursive descent over the grammar with its left recursion written as loops."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str:
        return self.tokens[self.pos][0]

    def take(self, *kinds: str) -> str:
        kind, text = self.tokens[self.pos]
        if kind not in kinds:
            shown = repr(text) if kind != EOF else EOF
            raise PatternError(f"expected {' or '.join(kinds)} but found {shown}")
        self.pos += 1
        return text

    def pattern(self) -> None:
        self.observations()
        self.take(EOF)

    def observations(self) -> None:  # FOLLOWEDBY binds loosest, then OR, then AND
        self.observation_or()
        while self.peek() == "FOLLOWEDBY":
            self.pos += 1
            self.observation_or()

    def observation_or(self) -> None:
        self.observation_and()
        while self.peek() == "OR":
            self.pos += 1
            self.observation_and()

    def observation_and(self) -> None:
        self.observation()
        while self.peek() == "AND":
            self.pos += 1
            self.observation()

    def observation(self) -> None:
        simple = self.peek() == "["
        if simple:
            self.pos += 1
            self.comparison()
            self.take("]")
        else:
            self.take("(", "[")
            self.observations()
            self.take(")")
        seen: set[str] = set()
        while self.peek() in ("START", "WITHIN", "REPEATS"):
            kind = self.take("START", "WITHIN", "REPEATS")
            if kind == "START":
                self.take(TIMESTAMP)
                self.take("STOP")
                self.take(TIMESTAMP)
            elif kind == "WITHIN":
                self.take(INT_POS, FLOAT_POS)
                self.take("SECONDS")
            else:
                self.take(INT_POS)
                self.take("TIMES")
            if simple and kind in seen:  # the oracle checks repeats only right on a [...] observation
                raise PatternError(f"more than one {kind} qualifier on one observation")
            seen.add(kind)

    def comparison(self) -> None:
        self.comparison_and()
        while self.peek() == "OR":
            self.pos += 1
            self.comparison_and()

    def comparison_and(self) -> None:
        self.test()
        while self.peek() == "AND":
            self.pos += 1
            self.test()

    def test(self) -> None:
        kind = self.peek()
        if kind == "(":
            self.pos += 1
            self.comparison()
            self.take(")")
            return
        if kind == "EXISTS":
            self.pos += 1
            self.path()
            return
        path = self.path()
        if self.peek() == "NOT":
            self.pos += 1
        op = self.take("=", "!=", "<", "<=", ">", ">=", "IN", *_STRING_OPS)
        start = self.pos
        if op in ("=", "!="):
            self.take(*_PRIMITIVE)
        elif op == "IN":
            self.take("(")
            if self.peek() != ")":
                self.take(*_PRIMITIVE)
                while self.peek() == ",":
                    self.pos += 1
                    self.take(*_PRIMITIVE)
            self.take(")")
        elif op in _STRING_OPS:
            self.take(STRING)
        else:
            self.take(*_ORDERABLE)
        if "hashes" in path:
            _check_hash(path[-1], "".join(t for _, t in self.tokens[start:self.pos]))

    def path(self) -> list[str | int | None]:
        """Read an object path; return its components (None for ``[*]``, an int for an index)."""
        self.take(IDENT, IDENT_HYPHEN)
        self.take(":")
        kind, text = self.tokens[self.pos]
        self.take(IDENT, STRING)
        out: list[str | int | None] = [_unquote(text) if kind == STRING else text]
        while True:
            kind = self.peek()
            if kind == ".":
                self.pos += 1
                kind, text = self.tokens[self.pos]
                self.take(IDENT, STRING)
                out.append(_unquote(text) if kind == STRING else text)
            elif kind == "[":
                self.pos += 1
                kind, text = self.tokens[self.pos]
                self.take(INT_POS, INT_NEG, "*")
                if kind == INT_NEG:
                    raise PatternError("a list index in an object path must not be negative")
                out.append(None if kind == "*" else int(text))
                self.take("]")
            else:
                return out


def _check_hash(selector: str | int | None, value_text: str) -> None:
    """Refuse a malformed value compared with a known hash algorithm (as the oracle does)."""
    if selector is None:
        return
    if isinstance(selector, int):
        raise PatternError("a hash must be selected by its algorithm name, not by a list index")
    algorithm = selector.upper().replace("-", "").replace("'", "")
    value = value_text.replace("'", "")
    if algorithm == "SSDEEP":
        ok = _SSDEEP.match(value) is not None
    elif algorithm == "MD6":  # the oracle's MD6 rule accepts any value that starts with 32 hex digits
        m = _HEX_PREFIX.match(value)
        ok = m is not None and m.end() >= 32
    elif algorithm in _HASH_HEX:
        m = _HEX_PREFIX.match(value)
        ok = m is not None and m.end() == len(value) and len(value) in _HASH_HEX[algorithm]
    else:
        return
    if not ok:
        raise PatternError(f"{value!r} is not a valid {selector} hash")


def pattern_problem(pattern: str) -> str | None:
    """Return why a string is not a valid STIX 2.1 pattern, or None if it is one."""
    for c in pattern:  # the oracle wants '[' first, after any opening parentheses and spaces
        if c != "(" and not c.isspace():
            if c != "[":
                return "a STIX pattern starts with '[' (after any opening parentheses)"
            break
    else:
        return "a STIX pattern starts with '[' (after any opening parentheses)"
    try:
        _Parser(_tokens(pattern)).pattern()
    except PatternError as exc:
        return str(exc)
    except RecursionError:
        return "the pattern nests too deeply"
    return None
