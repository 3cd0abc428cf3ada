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
from dataclasses import dataclass

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


_SPACE_CLASS = "".join(sorted(_SPACE)).replace("\\", "")
# One pass in C: the alternatives are ordered so that the first that matches is the grammar's longest match.
_MASTER = re.compile(
    "(?:[" + re.escape(_SPACE_CLASS) + r"]+|/\*.*?\*/|//[^\r\n]*)*"  # white space and comments before a token
    r"(?:(?P<string>" + _STRING.pattern + ")"
    r"|(?P<hex>" + _HEX.pattern + ")|(?P<timestamp>" + _TIMESTAMP.pattern + ")|(?P<binary>" + _BINARY.pattern + ")"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<number>[+-]?(?:[0-9]*\.[0-9]+|0|[1-9][0-9]*))"
    r"|(?P<punct>==|!=|<>|<=|>=|[=<>:,()\[\]*.])"
    r"|(?P<other>.)|(?P<end>\Z))",
    re.DOTALL)


def _tokens(text: str) -> list[Token]:
    """Split a pattern into tokens the way the grammar's lexer does (longest match, first rule on ties)."""
    out: list[Token] = []
    for m in _MASTER.finditer(text):
        group = m.lastgroup
        value = m.group(group)  # type: ignore[arg-type]
        if group == "word":
            if "-" in value:
                out.append((IDENT_HYPHEN, value))
            elif value in ("true", "false"):
                out.append((BOOL, value))
            elif value in _KEYWORDS:
                out.append((value, value))
            else:
                out.append((IDENT, value))
        elif group == "number":
            negative = value[0] == "-"
            if "." in value:
                out.append((FLOAT_NEG if negative else FLOAT_POS, value))
            else:
                out.append((INT_NEG if negative else INT_POS, value))
        elif group == "punct":
            out.append((_PUNCT[value], value))
        elif group == "other":
            out.append(("?", value))  # a character no rule uses: a syntax error where the parser meets it
        elif group == "end":
            break
        else:
            out.append((_KIND[group], value))  # type: ignore[index]
    out.append((EOF, ""))
    return out


_KIND = {"string": STRING, "hex": HEX, "timestamp": TIMESTAMP, "binary": BINARY}
_ORDERABLE = frozenset({INT_POS, INT_NEG, FLOAT_POS, FLOAT_NEG, STRING, BINARY, HEX, TIMESTAMP})
_PRIMITIVE = _ORDERABLE | {BOOL}
_STRING_OPS = frozenset({"LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"})


def _unquote(text: str) -> str:
    return text[1:-1].replace("\\'", "'").replace("\\\\", "\\")


@dataclass(frozen=True)
class Comparison:
    """One positive comparison of a pattern: ``[type:path op value]`` with its literal values unquoted."""

    object_type: str
    path: tuple[str | int | None, ...]  # None for ``[*]``, an int for a list index
    operator: str  # "=", "IN", "<", "<=", ">", ">=", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"
    values: tuple[str, ...]  # string literals unquoted; other literals as written
    kinds: tuple[str, ...]  # the token kind of each value (STRING, INT_POS, HEX, ...)


class _Parser:
    """Recursive descent over the grammar with its left recursion written as loops."""

    def __init__(self, tokens: list[Token], found: list[Comparison] | None = None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.found = found  # when a list, every positive comparison is appended to it
        self.object_type = ""

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
        object_type = self.object_type
        negated = self.peek() == "NOT"
        if negated:
            self.pos += 1
        self.take("=", "!=", "<", "<=", ">", ">=", "IN", *_STRING_OPS)
        op = self.tokens[self.pos - 1][0]  # the kind: '==' is '=', '<>' is '!='
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
        if self.found is not None and not negated and op != "!=":
            literals = [tok for tok in self.tokens[start:self.pos] if tok[0] in _PRIMITIVE]
            self.found.append(Comparison(
                object_type, tuple(path), op,
                tuple(_unquote(text) if kind == STRING else text for kind, text in literals),
                tuple(kind for kind, _ in literals)))

    def path(self) -> list[str | int | None]:
        """Read an object path; return its components (None for ``[*]``, an int for an index)."""
        self.object_type = self.take(IDENT, IDENT_HYPHEN)
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


# The common shape, "[type:path op literal (AND|OR ...)*]" with no hashes, recognized by one regex in C; anything
# else (and anything this regex does not match) goes through the tokenizer and the parser. The regex only accepts
# what the grammar accepts (keywords and booleans are not names; the tests hold it to the oracle too).
_W = r"[ \t\r\n]*"
_NOT_WORD = r"(?![A-Za-z0-9_-])"
_RESERVED = r"(?!(?:" + "|".join(sorted(_KEYWORDS | {"true", "false"})) + r")" + _NOT_WORD + ")"
_NAME = _RESERVED + r"[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_-])"
_PATH = (_RESERVED + r"[A-Za-z_][A-Za-z0-9_-]*:(?:" + _NAME + "|" + _STRING.pattern + r")"
         r"(?:\.(?:" + _NAME + "|" + _STRING.pattern + r")|\[(?:\*|\+?(?:0|[1-9][0-9]*))\])*")
_NUM = r"[+-]?(?:[0-9]*\.[0-9]+|(?:0|[1-9][0-9]*)(?![0-9.]))"
_LIT = "(?:" + _STRING.pattern + "|" + _NUM + ")"
_CMP = (_PATH + _W + "(?:(?:==?|!=|<>|<=?|>=?)" + _W + _LIT + "|(?:==?|!=|<>)" + _W + "(?:true|false)" + _NOT_WORD
        + "|(?:LIKE|MATCHES)" + _W + _STRING.pattern + ")")
_SIMPLE = re.compile(_W + r"\[" + _W + _CMP + "(?:" + _W + "(?:AND|OR)" + _NOT_WORD + _W + _CMP + ")*" + _W + r"\]" + _W)


def is_simple_valid(pattern: str) -> bool:
    """Tell whether a pattern is of the common shape the one-regex path accepts (a subset of valid patterns)."""
    return _SIMPLE.fullmatch(pattern) is not None and "hashes" not in pattern


def pattern_problem(pattern: str) -> str | None:
    """Return why a string is not a valid STIX 2.1 pattern, or None if it is one."""
    if is_simple_valid(pattern):
        return None
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


def comparisons(pattern: str) -> list[Comparison]:
    """Return the positive comparisons of a valid pattern (not under NOT, not ``!=``); raise PatternError if invalid."""
    if pattern.lstrip("(" + _SPACE_CLASS)[:1] != "[":  # as pattern_problem: '[' first, after any parentheses
        raise PatternError("a STIX pattern starts with '[' (after any opening parentheses)")
    found: list[Comparison] = []
    try:
        _Parser(_tokens(pattern), found).pattern()
    except RecursionError as exc:
        raise PatternError("the pattern nests too deeply") from exc
    return found
