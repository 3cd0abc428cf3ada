"""Observable values checked for their type, each refusal naming the field; valid forms accepted."""

from __future__ import annotations

from typing import Any

import pytest

from pacte.stix.validate import ObjectInvalid, prepare

SHA256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"


def sco(kind: str, **props: Any) -> dict[str, Any]:
    """Return an observable of a type with these properties."""
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--ff26c055-6336-5bc5-b98d-13d6226742dd", **props}


VALID = [
    sco("ipv4-addr", value="198.51.100.3"), sco("ipv4-addr", value="198.51.100.0/24"), sco("ipv4-addr", value="0.0.0.0/0"),
    sco("ipv6-addr", value="2001:db8::1"), sco("ipv6-addr", value="2001:db8::/32"), sco("ipv6-addr", value="::ffff:192.0.2.1"),
    sco("domain-name", value="example.com"), sco("domain-name", value="xn--bcher-kva.example"),
    sco("domain-name", value="bücher.example"), sco("domain-name", value="_dmarc.example.com"),
    sco("domain-name", value="localhost"), sco("email-addr", value="jdoe@example.com"),
    sco("email-addr", value="x.y+z@[198.51.100.1]"), sco("url", value="https://example.com/a?b=c#d"),
    sco("url", value="ftp://198.51.100.1/x"), sco("mac-addr", value="00:00:5e:00:53:af"),
    sco("autonomous-system", number=15139), sco("autonomous-system", number=4294967295),
    sco("file", name="a.exe", hashes={"SHA-256": SHA256, "MD5": "d41d8cd98f00b204e9800998ecf8427e",
                                     "x_custom": "anything", "SSDEEP": "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"}),
    sco("file", name="a.exe", hashes={"TLSH": "T1" + "A" * 70}),
    sco("artifact", hashes={"SHA-1": "a" * 40}), sco("mutex", name="Global\\x"), sco("software", name="Word"),
    sco("x509-certificate", hashes={"SHA-256": SHA256.upper()}),
]


@pytest.mark.parametrize("obj", VALID, ids=lambda o: f"{o['type']}:{o.get('value', o.get('number', ''))}")
def test_valid_observables_are_accepted(obj: dict[str, Any]) -> None:
    assert prepare(obj).is_sco


INVALID = [
    (sco("ipv4-addr", value="198.51.100.256"), "value", "IPv4"),
    (sco("ipv4-addr", value="198.51.100.1/33"), "value", "IPv4"),
    (sco("ipv4-addr", value="01.2.3.4"), "value", "IPv4"),
    (sco("ipv4-addr", value="2001:db8::1"), "value", "IPv4"),
    (sco("ipv4-addr", value=3232235777), "value", "string"),
    (sco("ipv6-addr", value="198.51.100.3"), "value", "IPv6"),
    (sco("ipv6-addr", value="2001:db8::/129"), "value", "IPv6"),
    (sco("domain-name", value="exa mple.com"), "value", "domain"),
    (sco("domain-name", value="-bad.example"), "value", "domain"),
    (sco("domain-name", value="a..b"), "value", "domain"),
    (sco("domain-name", value="x" * 64 + ".com"), "value", "domain"),
    (sco("domain-name", value=["example.com"]), "value", "string"),
    (sco("email-addr", value="no-at-sign"), "value", "email"),
    (sco("email-addr", value="a b@example.com"), "value", "email"),
    (sco("url", value="not a url"), "value", "URL"),
    (sco("url", value="example.com/path"), "value", "URL"),
    (sco("mac-addr", value="00:00:5E:00:53:AF"), "value", "lowercase"),
    (sco("mac-addr", value="00-00-5e-00-53-af"), "value", "colon"),
    (sco("mac-addr", value="0:0:5e:0:53:af"), "value", "leading zeros"),
    (sco("autonomous-system", number="AS15139"), "number", "integer"),
    (sco("autonomous-system", number=True), "number", "integer"),
    (sco("autonomous-system", number=-1), "number", "integer"),
    (sco("file", name="a", hashes={"MD5": "xyz"}), "hashes.MD5", "32 hexadecimal"),
    (sco("file", name="a", hashes={"SHA-256": SHA256 + "0"}), "hashes.SHA-256", "64 hexadecimal"),
    (sco("file", name="a", hashes={"SHA-1": 5}), "hashes.SHA-1", "string"),
    (sco("file", name="a", hashes=["MD5"]), "hashes", "dictionary"),
    (sco("file", name="a", extensions={"ntfs-ext": {"alternate_data_streams": [], "hashes": {"MD5": "1"}}}),
     "extensions.ntfs-ext.hashes.MD5", "hexadecimal"),
    (sco("mutex", name=7), "name", "string"),
]


@pytest.mark.parametrize(("obj", "field", "reason"), INVALID,
                         ids=[f"{o['type']}:{f}:{i}" for i, (o, f, _) in enumerate(INVALID)])
def test_invalid_observables_name_the_field(obj: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ObjectInvalid) as info:
        prepare(obj)
    assert info.value.detail.field == field
    assert reason.lower() in info.value.detail.reason.lower()
    assert info.value.detail.object_id == obj["id"]


def test_custom_observables_are_the_producers() -> None:
    custom = {"type": "x-thing", "id": "x-thing--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": 5,
              "extensions": {"extension-definition--1b1f7b0e-4a0b-4d6e-8a2a-1d2c3e4f5a6b": {"extension_type": "new-sco"}}}
    assert prepare(custom).is_sco
