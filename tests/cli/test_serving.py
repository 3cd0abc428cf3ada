"""``pacte serve`` start-up: glibc malloc arenas capped and SQLite's writer cache bounded before the app runs."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pacte.cli import serving
from pacte.config import Settings
from pacte.hub import Hub
from pacte.store.sqlite import SERVE_WRITER_CACHE_KIB, WRITER_CACHE_KIB, SQLiteStore

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Starts 8 threads that each malloc from C while all are alive, then counts the heaps (arenas)
# glibc reports. Without a cap glibc allows 8 arenas per core, so each thread gets one of its own.
ARENAS = textwrap.dedent("""
    import ctypes, sys, threading
    from pacte.cli.serving import cap_malloc_arenas
    if sys.argv[1] == "cap":
        assert cap_malloc_arenas()
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    barrier = threading.Barrier(8)
    def work():
        blocks = [libc.malloc(4096) for _ in range(100)]
        barrier.wait()
        for b in blocks:
            libc.free(b)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    out = libc.fopen(sys.argv[2].encode(), b"w")
    libc.malloc_info(0, out)
    libc.fclose(out)
""")


def _arenas(tmp_path: Path, mode: str) -> int:
    report = tmp_path / f"malloc-{mode}.xml"
    subprocess.run([sys.executable, "-c", ARENAS, mode, str(report)], check=True, timeout=60)
    return report.read_text().count("<heap nr=")


@pytest.mark.skipif(not GLIBC, reason="malloc arenas are glibc's")
def test_arena_cap_holds_threads_to_two_arenas(tmp_path: Path) -> None:
    assert _arenas(tmp_path, "none") >= 4  # the control: threads get arenas of their own
    assert _arenas(tmp_path, "cap") == serving.SERVE_ARENAS


def test_run_server_caps_arenas_and_bounds_the_cache_before_the_app(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    hub = Hub.open(Settings(db_url=str(tmp_path / "hub.sqlite3")))
    store = hub.store
    assert isinstance(store, SQLiteStore)

    def writer_cache() -> int:
        return int(store._writer.execute("PRAGMA cache_size").fetchone()[0])

    assert writer_cache() == -WRITER_CACHE_KIB
    monkeypatch.setattr(serving, "cap_malloc_arenas", lambda: calls.append("cap") or True)

    def create_app(h: Hub) -> str:
        calls.append(f"app, writer cache {writer_cache()}")
        return "app"

    monkeypatch.setattr(serving, "create_app", create_app)
    monkeypatch.setattr(serving.uvicorn, "run", lambda app, **kw: calls.append(f"run {app}"))
    monkeypatch.setattr(gc, "freeze", lambda: None)  # the test process keeps its collector settings
    monkeypatch.setattr(gc, "set_threshold", lambda *a: None)
    try:
        serving.run_server(hub, "127.0.0.1", 0)
    finally:
        hub.close()
    assert calls == ["cap", f"app, writer cache {-SERVE_WRITER_CACHE_KIB}", "run app"]


def test_no_cap_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving.platform, "libc_ver", lambda *a: ("", ""))
    assert serving.cap_malloc_arenas() is False
