"""The ``pacte`` command: every operator command, one-line errors, the demo, import and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import as_served, without_score
from pacte.cli.main import cli
from pacte.hub.auth import hash_secret

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = str(tmp_path / "cli.sqlite3")
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> tuple[int, str, str]:
        result = runner.invoke(cli, [*args], env={"PACTE_DB": db}, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result.exit_code, result.stdout, result.stderr

    invoke.db = db  # type: ignore[attr-defined]
    return invoke


def test_help_on_every_command() -> None:
    runner = CliRunner()
    for path in (["--help"], ["serve", "--help"], ["org", "add", "--help"], ["token", "new", "--help"],
                 ["group", "member", "add", "--help"], ["import", "--help"], ["export", "--help"], ["demo", "--help"]):
        result = runner.invoke(cli, path)
        assert result.exit_code == 0 and "Usage:" in result.output, path


def test_org_token_group_lifecycle(run) -> None:  # type: ignore[no-untyped-def]
    run("org", "add", "CERT-A", "--country", "FR")
    run("org", "add", "CERT-B", "--country", "DE")
    _, out, _ = run("org", "list")
    assert "CERT-A\tFR" in out and "CERT-B\tDE" in out
    _, out, _ = run("token", "new", "--org", "CERT-A", "--role", "analyst", "--label", "siem")
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("pacte_") and " " not in secret
    db_bytes = Path(run.db).read_bytes() + Path(run.db + "-wal").read_bytes()
    assert secret.encode() not in db_bytes and hash_secret(secret).encode() in db_bytes
    _, out, _ = run("token", "list")
    token_id = out.split("\t")[0]
    assert "analyst\tactive\tsiem" in out
    run("token", "revoke", token_id)
    _, out, _ = run("token", "list", "--org", "CERT-A")
    assert "revoked" in out
    run("group", "add", "Pair", "--member", "CERT-A", "--member", "CERT-B")
    _, out, _ = run("group", "list")
    assert "Pair" in out and "CERT-A, CERT-B" in out
    run("group", "member", "remove", "Pair", "CERT-B")
    _, out, _ = run("group", "list")
    assert "CERT-B" not in out.split("\n")[0]
    run("group", "member", "add", "Pair", "CERT-B")


@pytest.mark.parametrize("args", [
    ["org", "add", "CERT-A"],  # duplicate
    ["token", "new", "--org", "Nobody"],
    ["token", "revoke", "tok_missing"],
    ["group", "member", "add", "NoGroup", "CERT-A"],
    ["org", "add", "Bad:Name"],
    ["org", "add", "Country", "--country", "FRA"],
    ["export", "--as-org", "Nobody"],
])
def test_errors_are_one_line_and_nonzero(run, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    run("org", "add", "CERT-A")
    code, _, err = run(*args, ok=False)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), err


def test_import_refuses_bad_json_with_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("org", "add", "CERT-A")
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "bundle", "objects": [')
    code, _, err = run("import", str(bad), "--org", "CERT-A", ok=False)
    assert code == 1 and "not valid JSON" in err


def test_import_and_export_respect_the_policy(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("A", "B", "C"):
        run("org", "add", name)
    run("group", "add", "AB", "--member", "A", "--member", "B")
    red = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [{
        "type": "indicator", "spec_version": "2.1", "id": "indicator--e2e1a340-4415-4ba8-9671-f7343fbf0836",
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "pattern_type": "stix",
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "valid_from": "2024-01-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}]}
    path = tmp_path / "red.json"
    path.write_text(json.dumps(red))
    code, _, err = run("import", str(path), "--org", "A", "--quiet", ok=False)  # RED into community
    assert code == 1 and "TLP:RED" in err
    _, out, _ = run("import", str(path), "--org", "A", "--collection", "AB", "--quiet")
    assert "imported 1 objects" in out
    for reader, expected in (("A", True), ("B", True), ("C", False)):
        _, out, _ = run("export", "--as-org", reader, "--type", "indicator")
        ids = [o["id"] for o in json.loads(out)["objects"]]
        assert (red["objects"][0]["id"] in ids) is expected, reader
    run("group", "delete", "AB")  # the audience no longer exists: producer-only (fail closed)
    for reader, expected in (("A", True), ("B", False), ("C", False)):
        _, out, _ = run("export", "--as-org", reader, "--type", "indicator")
        ids = [o["id"] for o in json.loads(out)["objects"]]
        assert (red["objects"][0]["id"] in ids) is expected, reader


@pytest.mark.skipif(not (SHARED / "stix21-examples" / "apt1.json").exists(), reason="shared data absent")
def test_import_real_bundle_and_export_roundtrip(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("org", "add", "A")
    src = SHARED / "stix21-examples" / "apt1.json"
    _, out, _ = run("import", str(src), "--org", "A", "--quiet")
    original = json.loads(src.read_text())["objects"]
    assert f"imported {len(original)} objects" in out
    exported = tmp_path / "out.json"
    run("export", "--as-org", "A", "--all-versions", "--out", str(exported))
    got = {o["id"]: o for o in json.loads(exported.read_text())["objects"]}
    for obj in original:
        assert without_score(got[obj["id"]]) == as_served(obj)


def test_demo_twice(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "demo.sqlite3"
    for _ in range(2):
        result = runner.invoke(cli, ["demo", "--no-serve", "--db", str(db)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        tokens = [line.split()[-1] for line in result.stdout.splitlines() if "pacte_" in line]
        assert len(tokens) >= 5
        assert "http://127.0.0.1:8470/" in result.stdout


def test_collection_default_tlp(run) -> None:  # type: ignore[no-untyped-def]
    run("org", "add", "A")
    _, out, _ = run("collection", "list")
    assert "community\tcommunity\tTLP:GREEN" in out
    run("collection", "default-tlp", "community", "clear")
    _, out, _ = run("collection", "list")
    assert "community\tcommunity\tTLP:CLEAR" in out
    code, _, err = run("collection", "default-tlp", "community", "red", ok=False)
    assert code == 1 and "cannot default to TLP:RED" in err


def test_import_refuses_integers_beyond_64_bits_naming_the_object(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("org", "add", "A")
    ok = {"type": "malware", "spec_version": "2.1", "id": "malware--1d3e6a2c-5b7f-4c8d-9e0a-1b2c3d4e5f60",
          "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "ok", "is_family": True,
          "x_float": 1.5e300}
    big = {**ok, "id": "malware--2d3e6a2c-5b7f-4c8d-9e0a-1b2c3d4e5f61", "name": "big"}
    del big["x_float"]
    text = json.dumps({"type": "bundle", "id": "bundle--3d3e6a2c-5b7f-4c8d-9e0a-1b2c3d4e5f62", "objects": [ok, big]})
    text = text.replace('"name": "big"', '"name": "big", "x_serial": 1180591620717411303425')
    path = tmp_path / "big.json"
    path.write_text(text)
    code, out, err = run("import", str(path), "--org", "A", "--quiet", ok=False)
    assert code == 1 and "imported 1 objects" in out and "1 refused" in out
    assert big["id"] in err and "x_serial" in err and "64 bits" in err
