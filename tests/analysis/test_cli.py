"""The ``pacte analyse`` command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pacte.cli.analyse import analyse_command

TEXT = ("Operation Night Owl\n\nThe actor APT29 used hxxps://evil-cdn[.]top/a.js and 45.77.55[.]145.\n"
        "Exploited CVE-2023-48788.\n")


def test_json_prints_a_bundle(tmp_path: Path) -> None:
    f = tmp_path / "r.txt"
    f.write_text(TEXT)
    result = CliRunner().invoke(analyse_command, [str(f), "--json", "--no-ner", "--now", "2025-01-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.output)
    assert bundle["type"] == "bundle"
    assert bundle["objects"][0]["type"] == "report"
    assert bundle["objects"][0]["created"] == "2025-01-01T00:00:00.000Z"
    assert any(o.get("pattern") == "[url:value = 'https://evil-cdn.top/a.js']" for o in bundle["objects"])


def test_summary_lists_items_with_confidence_and_evidence(tmp_path: Path) -> None:
    f = tmp_path / "r.txt"
    f.write_text(TEXT)
    result = CliRunner().invoke(analyse_command, [str(f), "--no-ner", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "language: en" in result.output
    assert "45.77.55.145  confidence 90" in result.output
    assert "@" in result.output and "CVE-2023-48788" in result.output


def test_knowledge_bundle_links_known_actor(tmp_path: Path) -> None:
    f = tmp_path / "r.txt"
    f.write_text(TEXT)
    kb = tmp_path / "kb.json"
    kb.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
        {"type": "intrusion-set", "id": "intrusion-set--00000000-0000-4000-8000-000000000001", "name": "APT29"}]}))
    result = CliRunner().invoke(analyse_command, [str(f), "--json", "--no-ner", "--knowledge", str(kb)])
    assert result.exit_code == 0, result.output
    refs = json.loads(result.output)["objects"][0]["object_refs"]
    assert "intrusion-set--00000000-0000-4000-8000-000000000001" in refs


def test_errors_print_one_line_and_exit_non_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(analyse_command, [str(tmp_path / "missing.txt")])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot read")
    assert result.output.count("\n") == 1
    bad = tmp_path / "kb.json"
    bad.write_text("{not json")
    f = tmp_path / "r.txt"
    f.write_text(TEXT)
    result = CliRunner().invoke(analyse_command, [str(f), "--knowledge", str(bad)])
    assert result.exit_code == 1 and result.output.startswith("error: knowledge bundle")
