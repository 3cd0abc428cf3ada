"""Cryptocurrency wallet addresses: recognition and checksum validation."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_B58_BITCOIN = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_RIPPLE = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


@dataclass(frozen=True)
class WalletMatch:
    """One wallet address found in a text."""

    start: int
    end: int
    address: str
    currency: str
    checksum_ok: bool


def _b58decode(text: str, alphabet: str) -> bytes | None:
    num = 0
    for ch in text:
        idx = alphabet.find(ch)
        if idx < 0:
            return None
        num = num * 58 + idx
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip(alphabet[0]))
    return b"\x00" * pad + body


def base58check_version(text: str, alphabet: str = _B58_BITCOIN) -> int | None:
    """Return the version byte of a valid Base58Check string, or None if the checksum fails."""
    raw = _b58decode(text, alphabet)
    if raw is None or len(raw) < 5:
        return None
    payload, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        return None
    return payload[0]


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def bech32_valid(text: str) -> bool:
    """Tell whether a string is a valid bech32 or bech32m string (any length)."""
    if text.lower() != text and text.upper() != text:
        return False
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        return False
    hrp, data = text[:pos], text[pos + 1 :]
    if any(c not in _BECH32 for c in data):
        return False
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + [_BECH32.index(c) for c in data]
    return _bech32_polymod(values) in (1, 0x2BC830A3)


_WALLET_RE = re.compile(
    r"(?<![\w/.\-])(?:"
    r"(?P<eth>0x[0-9a-fA-F]{40})"
    r"|(?P<bech>(?:bc1|ltc1|tb1)[02-9ac-hj-np-z]{11,71}|addr1[02-9ac-hj-np-z]{50,110})"
    r"|(?P<xmr>[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93})"
    r"|(?P<b58>[13LMDT9A][1-9A-HJ-NP-Za-km-z]{25,34})"
    r"|(?P<xrp>r[1-9A-HJ-NP-Za-km-z]{24,34})"
    r"|(?P<sol>[1-9A-HJ-NP-Za-km-z]{32,44})"
    r")(?![\w\-])"
)

_B58_VERSIONS = {0: "BTC", 5: "BTC", 0x30: "LTC", 0x32: "LTC", 0x1E: "DOGE", 0x16: "DOGE", 0x41: "TRX"}
_CURRENCY_HINT = re.compile(
    r"\b(?:wallet|address|addresses|btc|bitcoin|eth|ether|ethereum|usdt|bnb|xrp|ripple|doge|dogecoin|ltc|"
    r"litecoin|monero|xmr|ada|cardano|trx|tron|portefeuille|adresse|cartera|monedero|wallet-adresse|"
    r"кошел[её]к|кошельк\w*|адрес\w*|محفظة|عنوان)\b",
    re.IGNORECASE,
)


# Solana addresses are bare base58 public keys: only a coin label on their line tells them from other strings.
_SOLANA_HINT = re.compile(r"\b(?:sol|solana|phantom)\b", re.IGNORECASE)


def is_solana_address(text: str) -> bool:
    """Tell whether a base58 string decodes to a 32-byte public key, the form of a Solana address."""
    raw = _b58decode(text, _B58_BITCOIN)
    return raw is not None and len(raw) == 32


def find_wallets(text: str) -> list[WalletMatch]:
    """Find cryptocurrency wallet addresses, validating checksums where the coin has one."""
    out: list[WalletMatch] = []
    for m in _WALLET_RE.finditer(text):
        value = m.group(0)
        line_start = text.rfind("\n", 0, m.start()) + 1
        hinted = _CURRENCY_HINT.search(text, line_start, m.start()) is not None
        if m.group("eth"):
            body = value[2:]
            mixed = body.lower() != body and body.upper() != body
            out.append(WalletMatch(m.start(), m.end(), value, "ETH", mixed))
        elif m.group("bech"):
            cur = "ADA" if value.startswith("addr1") else ("LTC" if value.startswith("ltc1") else "BTC")
            ok = bech32_valid(value)
            if ok or hinted:
                out.append(WalletMatch(m.start(), m.end(), value, cur, ok))
        elif m.group("xmr"):
            if hinted:
                out.append(WalletMatch(m.start(), m.end(), value, "XMR", False))
        elif m.group("b58"):
            version = base58check_version(value)
            if version is not None and version in _B58_VERSIONS:
                out.append(WalletMatch(m.start(), m.end(), value, _B58_VERSIONS[version], True))
            elif hinted and any(c.isdigit() for c in value) and any(c.isupper() for c in value):
                out.append(WalletMatch(m.start(), m.end(), value, "unknown", False))
        elif m.group("sol"):
            # No checksum and no prefix: a Solana label on the line and a 32-byte key, or nothing.
            if _SOLANA_HINT.search(text, line_start, m.start()) and is_solana_address(value) and \
                    any(c.isdigit() for c in value) and any(c.isupper() for c in value):
                out.append(WalletMatch(m.start(), m.end(), value, "SOL", False))
        elif m.group("xrp"):
            ok = base58check_version(value, _B58_RIPPLE) == 0
            if ok or (hinted and any(c.isdigit() for c in value)):
                out.append(WalletMatch(m.start(), m.end(), value, "XRP", ok))
    return out
