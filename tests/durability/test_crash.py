"""A short crash run on each backend: ``pacte serve`` SIGKILLed at random under writes and a stream.

The sample of ``bench/crash.py`` (200 kills per backend): the same engine, ``crashkit``, with a
few kills, so that CI checks every promise of the full run (nothing acknowledged lost or
duplicated, no half-visible bundle, the stream exact across resumes, SQLite integrity).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import BACKENDS, drop_store, pg_url_or_skip
from tests.durability.crashkit import Config, run

from pacte.store import open_store


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_random_kills_lose_and_duplicate_nothing(backend: str, tmp_path: Path) -> None:
    url = str(tmp_path / "hub.sqlite3") if backend == "sqlite" else pg_url_or_skip()
    kills = 3
    try:
        rep = run(Config(backend=backend, kills=kills, seed=7, api_writers=1, taxii_writers=1,
                         kill_after=(0.05, 0.5), db_url=url, quiet=True))
    finally:
        if backend == "postgres":
            drop_store(open_store(url))
    f = rep.figures
    assert rep.violations == [], "\n".join(rep.violations[:20])
    assert f["kills"] == kills
    assert min(f["processes killed per server"]) >= 1  # PostgreSQL: both processes were killed
    assert f["writes acknowledged"] > 0 and f["objects acknowledged"] > 0
    assert f["stream events received"] == f["stream events expected"] > f["objects acknowledged"]
    assert f["lost"] == f["duplicated"] == f["half-visible bundles"] == 0
    if backend == "sqlite":
        assert f["integrity_check"] == "ok"
