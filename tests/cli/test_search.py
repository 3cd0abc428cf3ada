"""``pacte search VALUE --as-org NAME``: exactly what that member may read, with why each object matched."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pacte.cli.main import cli

T = "2025-01-01T00:00:00.000Z"


def _bundle(path: Path, *objects: dict[str, object]) -> str:
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--6b1a4bb7-0f6e-4a8b-8d9a-3a7c1f0e2d11",
                                "objects": list(objects)}))
    return str(path)


def test_search_prints_what_the_member_may_read(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PACTE_DB": str(tmp_path / "cli.sqlite3")}

    def run(*args: str, ok: bool = True) -> tuple[str, str]:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output + result.stderr
        return result.stdout, result.stderr

    for name in ("CERT-A", "CERT-B", "CERT-C"):
        run("org", "add", name)
    run("group", "add", "AB", "--member", "CERT-A", "--member", "CERT-B")
    ip = {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--1b7a3b6e-2f0c-5a8e-9c41-7d2e8f9a0b1c",
          "value": "45.33.10.7"}
    ind = {"type": "indicator", "spec_version": "2.1", "id": "indicator--5b1e7d3c-8a2f-4c6b-9e0d-1f3a5c7e9b2d",
           "created": T, "modified": T, "valid_from": T, "pattern_type": "stix",
           "pattern": "[ipv4-addr:value ISSUBSET '45.33.10.0/24']"}
    run("import", _bundle(tmp_path / "a.json", ip), "--org", "CERT-A")
    run("import", _bundle(tmp_path / "b.json", ind), "--org", "CERT-B", "--collection", "AB")
    out, err = run("search", "45.33.10[.]7", "--as-org", "CERT-A")
    assert ip["id"] in out and "same-value 45.33.10.7" in out
    assert ind["id"] in out and "inside-range 45.33.10.0/24" in out and "score" in out
    assert err.strip().endswith("2 objects for CERT-A")
    out, err = run("search", "45.33.10.7", "--as-org", "CERT-C", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [ip["id"]]  # the group's indicator is hidden
    _, err = run("search", "not a value", "--as-org", "CERT-C", ok=False)
    assert err.startswith("Error:") and "nothing to search for" in err
