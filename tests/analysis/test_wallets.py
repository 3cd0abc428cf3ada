"""Wallet recognition: checksums accept real addresses and turn down look-alikes."""

from __future__ import annotations

from pacte.analysis.wallets import base58check_version, bech32_valid, find_wallets


def test_base58check_accepts_a_dogecoin_address_and_rejects_a_changed_one() -> None:
    assert base58check_version("DGcvTB4e2jdHZCeybysPULmLcN9gXWMZ84") == 0x1E
    assert base58check_version("DGcvTB4e2jdHZCeybysPULmLcN9gXWMZ85") is None


def test_bech32_checksum() -> None:
    assert bech32_valid("bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sy")
    assert not bech32_valid("bc1q4qhczl32av4sldml26ry5zv6zywr4meqxf53sq")


def test_random_base58_looking_word_without_checksum_or_hint_is_not_a_wallet() -> None:
    assert find_wallets("the token 1AbCdEfGhJkLmNpQrStUvWxYz123 appears") == []


def test_currency_is_recorded() -> None:
    (w,) = find_wallets("ADA: addr1q9dqkaydgyaltjujm3wa00nc5k8dsnfgxhed7h08l6qzz5uqtdq4t7xz3cjnusc6l22m4ch9pcuwhl7x4ge5385gwa7sddudsz")
    assert w.currency == "ADA"
    assert w.checksum_ok


def _b58(raw: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    num, out = int.from_bytes(raw, "big"), ""
    while num:
        num, rem = divmod(num, 58)
        out = alphabet[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def test_solana_address_needs_a_solana_label_and_a_32_byte_key() -> None:
    key = _b58(bytes(range(7, 39)))
    assert [(w.address, w.currency) for w in find_wallets(f"- SOL: {key}")] == [(key, "SOL")]
    assert [w.currency for w in find_wallets(f"Solana wallet {key}")] == ["SOL"]
    assert find_wallets(f"- token: {key}") == []  # no label: any base58 string could be a key
    other = _b58(bytes(range(7, 31)))  # 24 bytes: not a public key
    assert find_wallets(f"- SOL: {other}") == []
