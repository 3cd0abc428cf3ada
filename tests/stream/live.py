"""A real uvicorn server on a loopback port, and SSE clients reading it over real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """Serve an app with uvicorn in a thread (lifespan on) until stopped."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical",
                                                    timeout_graceful_shutdown=1, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Event:
    """One SSE event as a client sees it."""

    id: str | None  # opaque: the reader's sealed position (see World.position)
    event: str
    data: Any


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, Event | None]]:
    """Yield (last id, event or None for an id-only/comment block) for each SSE block."""
    last: str | None = None
    ev_id: str | None = None
    kind = "message"
    data: list[str] = []
    seen = False
    for line in lines:
        if line == "":
            if ev_id is not None:
                last = ev_id
            if data:
                yield last, Event(ev_id, kind, orjson.loads("\n".join(data)))
            elif seen:
                yield last, None
            ev_id, kind, data, seen = None, "message", [], False
            continue
        seen = True
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            ev_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data.append(value)


@dataclass
class Collector:
    """Reads a stream in a thread, keeping every event and the last id, until closed by either side."""

    url: str
    token: str
    params: dict[str, Any] = field(default_factory=dict)
    last_id: str | None = None
    events: list[Event] = field(default_factory=list)
    block_ids: list[str] = field(default_factory=list)  # the id of every block that had one, heartbeats included
    status: int | None = None
    body: bytes = b""
    ended: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Collector:
        """Connect and start reading; return once the response headers arrived."""
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        assert ready.wait(10), "stream did not open"
        return self

    def _run(self, ready: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        try:
            with httpx.Client(timeout=httpx.Timeout(30.0, read=None)) as client, client.stream(
                    "GET", self.url + "/api/v1/stream", params=self.params, headers=headers) as resp:
                self.status = resp.status_code
                if resp.status_code != 200:
                    self.body = resp.read()
                    ready.set()
                    return
                ready.set()
                for last, ev in parse_sse(resp.iter_lines()):
                    if last is not None:
                        if last != self.last_id:
                            self.block_ids.append(last)
                        self.last_id = last
                    if ev is not None:
                        self.events.append(ev)
                    if self._stop.is_set():
                        return
        except httpx.HTTPError:
            pass
        finally:
            ready.set()
            self.ended.set()

    def objects(self) -> list[dict[str, Any]]:
        """Return the objects received, in order."""
        return [e.data["object"] for e in self.events if e.event == "object"]

    def ids(self) -> list[str]:
        """Return the ids of the objects received, in order."""
        return [o["id"] for o in self.objects()]

    def wait_for(self, pred: Callable[[Collector], bool], timeout: float = 10.0) -> bool:
        """Wait until ``pred`` holds; return whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self):
                return True
            time.sleep(0.01)
        return pred(self)

    def wait_id(self, obj_id: str, timeout: float = 10.0) -> bool:
        """Wait until an object with this id was received."""
        return self.wait_for(lambda c: obj_id in c.ids(), timeout)

    def stop(self) -> None:
        """Ask the reader to stop after the next block."""
        self._stop.set()
