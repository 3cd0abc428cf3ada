"""The labelled development reports in shared/data, found beside the clone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

# shared/ sits beside the clone: <parent>/main/tests/analysis/labelled.py -> <parent>/shared/data
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
REPORTS_DEV = SHARED_DATA / "reports-dev"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "analysis"


def corpus_reports() -> list[Path]:
    """Return the labelled texts of the repository's own corpus."""
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".txt", ".adoc") and
                  p.with_suffix(".expected.json").is_file())


def dev_reports() -> list[Path]:
    """Return the labelled development reports, or an empty list when shared/ is not there."""
    return sorted(REPORTS_DEV.glob("*.txt")) if REPORTS_DEV.is_dir() else []


def labels(report: Path) -> dict[str, object]:
    """Return the labels that go with a development report."""
    data = json.loads(report.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data
