"""``pacte watch`` as a real process behind a TCP proxy that drops its connection mid-stream."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson

from helpers import TLP2, sdo
from pacte.cli.watch import describe, read_sse

from .conftest import World

PACTE = str(Path(sys.executable).with_name("pacte"))


class Proxy:
    """A loopback TCP proxy whose open connections can be cut at once."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.loop = asyncio.new_event_loop()
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        assert ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            self.writers += [writer, up_writer]
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await asyncio.Event().wait()

        self.loop.run_until_complete(main())

    def cut(self) -> None:
        """Abort every proxied connection (both sides)."""
        def abort() -> None:
            for w in self.writers:
                w.transport.abort()
            self.writers.clear()
        self.loop.call_soon_threadsafe(abort)


def test_watch_resumes_after_a_dropped_connection(world: World) -> None:
    w = world
    proxy = Proxy(w.server.port)
    proc = subprocess.Popen([PACTE, "watch", "--url", f"http://127.0.0.1:{proxy.port}", "--token", w.tokens["beta"],
                             "--json", "--count", "10", "--type", "indicator"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    watchdog = threading.Timer(60, proc.kill)  # a broken watcher fails the test instead of hanging it
    watchdog.start()
    try:
        assert proc.stderr.readline().startswith(b"# connected")  # watch starts at the head of the log
        sent: list[str] = []

        def publish(n: int, tag: str) -> None:
            for i in range(n):
                obj = sdo("indicator", f"watch-{tag}-{i}", markings=[TLP2["green"]])
                w.hub.share_as(w.orgs["alpha"], w.hub.community, [obj, sdo("malware", f"skip-{tag}-{i}")])
                sent.append(str(obj["id"]))

        publish(3, "a")
        lines = [proc.stdout.readline() for _ in range(3)]
        proxy.cut()
        publish(4, "b")  # while the watcher is disconnected
        time.sleep(0.2)
        publish(3, "c")
        lines += [proc.stdout.readline() for _ in range(7)]
        assert proc.wait(10) == 0
        received = [orjson.loads(line)["object"]["id"] for line in lines]
        assert received == sent
        assert b"resuming after event" in proc.stderr.read()
    finally:
        watchdog.cancel()
        proc.kill()


def test_sse_parser_follows_eventsource_rules() -> None:
    blocks = list(read_sse(iter(["id: 7", "event: object", "data: {}", "", ": comment", "", "id: 9", "", "data: x",
                                 ""])))
    assert [(last, m.event if m else None) for last, m in blocks] == [("7", "object"), ("9", None), ("9", "message")]


def test_human_lines_do_not_print_the_opaque_event_id() -> None:
    token = "A" * 48
    line = describe("object", {"event": token, "kind": "object", "time": "2026-01-15T10:00:00.000000000Z",
                               "collection": {"name": "community"}, "producer": "Alpha",
                               "object": {"id": "indicator--1", "name": "x"}})
    assert token not in line and "indicator--1" in line and "community" in line
