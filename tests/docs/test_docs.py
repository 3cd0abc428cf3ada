"""The documentation is checked against the code: commands, variables, defaults, layout, routes."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest

from pacte.api.analyses import AnalysisSettings
from pacte.cli.main import cli
from pacte.config import Settings
from pacte.stream.settings import StreamSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
SRC = ROOT / "src" / "pacte"


def _commands(cmd: click.Command, prefix: list[str]) -> list[str]:
    if isinstance(cmd, click.Group):
        return [c for name, sub in cmd.commands.items() for c in _commands(sub, [*prefix, name])]
    return [" ".join(prefix)]


def _env_rows() -> dict[str, str]:
    """Return {variable: default cell} from the README's configuration table."""
    rows: dict[str, str] = {}
    for line in README.splitlines():
        m = re.match(r"\| (`PACTE_[A-Z_]+`(?:, `PACTE_[A-Z_]+`)*) \| ([^|]*) \|", line)
        if m:
            for var in re.findall(r"PACTE_[A-Z_]+", m.group(1)):
                rows[var] = m.group(2).strip()
    return rows


def test_every_command_is_in_the_readme() -> None:
    missing = [c for c in _commands(cli, ["pacte"]) if f"`{c}`" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_environment_variable_the_code_reads_is_in_the_readme() -> None:
    read: set[str] = set()
    for path in SRC.rglob("*.py"):
        read.update(v for v in re.findall(r"[\"'](PACTE_[A-Z_]+)[\"']", path.read_text(encoding="utf-8"))
                    if not v.endswith("_"))
    read.update(f"PACTE_STREAM_{f.name.upper()}" for f in dataclasses.fields(StreamSettings))
    assert {"PACTE_DB", "PACTE_ANALYSIS_FETCH", "PACTE_STREAM_BATCH"} <= read  # the scan itself works
    missing = sorted(read - set(_env_rows()))
    assert not missing, f"variables missing from README.md's configuration table: {missing}"


def _documented(cell: str) -> object:
    if cell in ("on", "off"):
        return cell == "on"
    return float(cell)


@pytest.mark.parametrize(("prefix", "settings"), [
    ("PACTE_STREAM_", StreamSettings()),
    ("PACTE_", Settings()),
])
def test_documented_defaults_are_the_real_ones(prefix: str, settings: object) -> None:
    rows = _env_rows()
    checked = 0
    for f in dataclasses.fields(settings):  # type: ignore[arg-type]
        var = prefix + f.name.upper()
        if var in rows:
            value = getattr(settings, f.name)
            assert _documented(rows[var]) == (value if isinstance(value, bool) else float(value)), var
            checked += 1
    assert checked >= 2


def test_analysis_defaults_are_the_real_ones() -> None:
    rows, s = _env_rows(), AnalysisSettings()
    assert _documented(rows["PACTE_ANALYSIS_FETCH"]) == s.fetch
    assert _documented(rows["PACTE_ANALYSIS_FETCH_PRIVATE"]) == s.fetch_private
    assert _documented(rows["PACTE_ANALYSIS_NER"]) == s.ner
    assert _documented(rows["PACTE_ANALYSIS_MAX_BYTES"]) == s.max_bytes


def test_every_package_is_on_the_architecture_map() -> None:
    packages = [p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    assert len(packages) >= 10
    missing = [p for p in packages if f"`{p}/`" not in ARCHITECTURE]
    assert not missing, f"packages missing from ARCHITECTURE.md: {missing}"


def test_every_api_operation_is_summarised_and_described(tmp_path: Path) -> None:
    from pacte.api.app import create_app
    from pacte.hub import Hub
    from pacte.store import open_store

    app = create_app(Hub(open_store(str(tmp_path / "docs.sqlite3"))))
    operations = [(method.upper(), path, op) for path, item in app.openapi()["paths"].items()
                  for method, op in item.items()]
    assert len(operations) > 20
    assert any(path.startswith("/taxii2/") for _, path, _ in operations)
    undocumented = [f"{method} {path}" for method, path, op in operations
                    if not op.get("summary") or not op.get("description", "").strip()]
    assert not undocumented, f"operations without a summary or a handler docstring: {undocumented}"
