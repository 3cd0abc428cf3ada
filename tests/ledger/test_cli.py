"""``pacte ledger --as-org NAME``: the member's own view, as the API gives it."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from pacte.cli.main import cli


def test_ledger_command_prints_the_members_view(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.sqlite3")
    runner = CliRunner()
    assert runner.invoke(cli, ["org", "add", "CERT-FR", "--db", db]).exit_code == 0
    out = runner.invoke(cli, ["ledger", "--db", db, "--as-org", "CERT-FR", "--period", "day", "--since", "2026-01-01",
                              "--until", "2026-01-03", "--json"])
    assert out.exit_code == 0, out.output
    data = orjson.loads(out.output)
    assert data["member"]["name"] == "CERT-FR"
    assert [p["period"] for p in data["member"]["periods"]] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    text = runner.invoke(cli, ["ledger", "--db", db, "--as-org", "CERT-FR", "--since", "2026-01-01",
                               "--until", "2026-01-31"])
    assert text.exit_code == 0 and text.output.startswith("2026-01: contributed 0 objects")
    missing = runner.invoke(cli, ["ledger", "--db", db, "--as-org", "nobody"])
    assert missing.exit_code == 1 and "nobody" in missing.output
