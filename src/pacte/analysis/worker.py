"""Analyses run in worker processes, bounded in CPU and wall time, and admitted per member and per hub.

A worker is a warm process (started from a fork server that has imported the pipeline; it loads the language
models once) that analyses one report at a time. Before each report it sets its own ``RLIMIT_CPU`` soft limit to
what it has used plus the CPU budget: over it, ``SIGXCPU`` ends the analysis, the worker answers and exits. The
server waits at most the wall budget for an answer, then kills the worker. Either way a fresh worker takes its
place on the next analysis; other analyses in flight are untouched (each has its own worker). The member's
knowledge is sent to a worker once and kept there (a few members at a time) while the hub's state is unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import resource
import signal
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from pacte.analysis.inputs import InputLimits
from pacte.analysis.knowledge import Knowledge
from pacte.errors import Detail, PacteError, TooManyRequests, UnprocessableEntity

log = logging.getLogger("pacte.analysis")
_KEPT_KNOWLEDGE = 4  # members' knowledge kept by one worker


@dataclass(frozen=True)
class Job:
    """One report to analyse and how."""

    data: bytes | str
    filename: str | None
    media_type: str | None
    lang: str | None
    ner: bool
    now: datetime
    limits: InputLimits


@dataclass(frozen=True)
class TimeLimits:
    """CPU and wall seconds one analysis may take."""

    cpu_seconds: float = 60
    wall_seconds: float = 120


class _CpuExceeded(BaseException):
    """Raised in a worker by SIGXCPU: the analysis is over its CPU budget."""


def _on_xcpu(signum: int, frame: object) -> None:
    raise _CpuExceeded


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _analyse(job: Job, knowledge: Knowledge | None) -> dict[str, Any]:
    from pacte.analysis.pipeline import analyse

    draft = analyse(job.data, filename=job.filename, media_type=job.media_type, lang=job.lang, knowledge=knowledge,
                    ner=job.ner, now=job.now, limits=job.limits)
    return draft.as_dict()


def serve(conn: Connection) -> None:
    """Answer analysis requests on a connection until it closes (the body of a worker process)."""
    signal.signal(signal.SIGXCPU, _on_xcpu)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which ends its workers
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    held: OrderedDict[int, Knowledge] = OrderedDict()
    while True:
        try:
            token, knowledge, job, cpu_seconds = conn.recv()
        except (EOFError, OSError):
            return
        if token is not None:
            if knowledge is not None:
                held[token] = knowledge
            elif token not in held:
                conn.send(("need", None))
                continue
            held.move_to_end(token)
            while len(held) > _KEPT_KNOWLEDGE:
                held.popitem(last=False)
        soft = math.ceil(_cpu_used() + cpu_seconds) if math.isfinite(cpu_seconds) else hard
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            reply: tuple[Any, ...] = ("ok", _analyse(job, held.get(token) if token is not None else None))
        except _CpuExceeded:
            conn.send(("cpu", None))
            return  # interrupted anywhere: start afresh rather than trust this process's state
        except PacteError as exc:
            reply = ("error", type(exc), exc.message, exc.details)
        except Exception as exc:  # reported to the server, which logs it
            reply = ("crash", f"{type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(ValueError, _CpuExceeded):
                resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        conn.send(reply)


def _cpu_error(limits: TimeLimits) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"the report cannot be analysed within the limit of {limits.cpu_seconds:g} CPU seconds",
        [Detail(reason=f"the analysis used more than {limits.cpu_seconds:g} CPU seconds",
                field="PACTE_ANALYSIS_CPU_SECONDS")])


def _wall_error(limits: TimeLimits) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"the report cannot be analysed within the limit of {limits.wall_seconds:g} seconds",
        [Detail(reason=f"the analysis took more than {limits.wall_seconds:g} seconds",
                field="PACTE_ANALYSIS_WALL_SECONDS")])


class _Worker:
    """One worker process and the server's end of its connection."""

    def __init__(self, ctx: Any) -> None:
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child,), daemon=True, name="pacte-analysis")
        self.process.start()
        child.close()
        self.conn: Connection = parent
        self.tokens: set[int] = set()

    def alive(self) -> bool:
        """Tell whether the process still runs."""
        return bool(self.process.is_alive())

    def kill(self) -> None:
        """End the process at once and release its resources."""
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
            self.conn.close()


class WorkerPool:
    """Warm worker processes, one analysis each at a time; any number run at once (admission bounds them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._ctx: Any = None
        self._tokens: weakref.WeakKeyDictionary[Knowledge, int] = weakref.WeakKeyDictionary()
        self._next_token = 0
        self.keep_idle = 2  # warm workers kept between analyses (each holds the language models it has loaded)

    def _context(self) -> Any:
        if self._ctx is None:
            methods = multiprocessing.get_all_start_methods()
            self._ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                self._ctx.set_forkserver_preload(["pacte.analysis.pipeline"])
        return self._ctx

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.alive():
                    return w
                w.kill()
            ctx = self._context()
        return _Worker(ctx)

    def _give(self, w: _Worker) -> None:
        with self._lock:
            if w.alive() and len(self._idle) < self.keep_idle:
                self._idle.append(w)
                return
        w.kill()

    def _token(self, knowledge: Knowledge | None) -> int | None:
        if knowledge is None:
            return None
        with self._lock:
            token = self._tokens.get(knowledge)
            if token is None:
                self._next_token += 1
                token = self._tokens[knowledge] = self._next_token
            return token

    def run(self, job: Job, knowledge: Knowledge | None, limits: TimeLimits) -> dict[str, Any]:
        """Analyse a report in a worker and return the draft as a dict; 422 over the CPU or wall budget."""
        token = self._token(knowledge)
        deadline = time.monotonic() + limits.wall_seconds
        w = self._take()
        ok = False
        try:
            send = knowledge if token is not None and token not in w.tokens else None
            reply = self._ask(w, (token, send, job, limits.cpu_seconds), deadline, limits)
            if reply[0] == "need":  # the worker dropped this member's knowledge: send it again
                reply = self._ask(w, (token, knowledge, job, limits.cpu_seconds), deadline, limits)
            if token is not None:
                w.tokens.add(token)
            if reply[0] == "ok":
                ok = True
                return dict(reply[1])
            if reply[0] == "error":
                cls, message, details = reply[1:]
                raise cls(message, details)
            if reply[0] == "cpu":
                w.kill()  # it exits by itself: do not hand it out meanwhile
                raise _cpu_error(limits)
            log.error("analysis failed in worker %s: %s", w.process.pid, reply[1])
            raise PacteError("internal error")
        finally:
            if ok or (w.alive() and not w.conn.closed):
                self._give(w)
            else:
                w.kill()

    def _ask(self, w: _Worker, message: tuple[Any, ...], deadline: float,
             limits: TimeLimits) -> tuple[Any, ...]:
        """Send a request to a worker and wait for its answer until the deadline (then kill it)."""
        try:
            w.conn.send(message)
            wait = max(0.0, deadline - time.monotonic()) if math.isfinite(deadline) else None
            if not w.conn.poll(wait):
                w.kill()
                raise _wall_error(limits)
            reply: tuple[Any, ...] = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            w.process.join(1)
            code = w.process.exitcode
            w.kill()
            if code in (-signal.SIGXCPU, -signal.SIGKILL):
                raise _cpu_error(limits) from None
            log.error("analysis worker %s stopped (exit code %s)", w.process.pid, code)
            raise PacteError("internal error") from None
        return reply

    def close(self) -> None:
        """End the idle workers."""
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.kill()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def pool() -> WorkerPool:
    """Return this process's worker pool."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool()
        return _pool


class Admission:
    """Counts analyses running, hub-wide and per member; one over a bound is refused with 429."""

    def __init__(self, max_concurrent: int, per_member: int, retry_after: int = 5) -> None:
        self.max_concurrent = max_concurrent
        self.per_member = per_member
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._running = 0
        self._by_member: dict[str, int] = {}

    @contextlib.contextmanager
    def admit(self, member: str) -> Iterator[None]:
        """Hold one slot for a member's analysis while the block runs; TooManyRequests if none is free."""
        with self._lock:
            mine = self._by_member.get(member, 0)
            if mine >= self.per_member:
                raise TooManyRequests(
                    f"your organisation already has {mine} analyses running, the limit is {self.per_member}",
                    [Detail(reason=f"at most {self.per_member} concurrent analyses per member; retry later",
                            field="PACTE_ANALYSIS_MAX_CONCURRENT_PER_MEMBER")], retry_after=self.retry_after)
            if self._running >= self.max_concurrent:
                raise TooManyRequests(
                    f"the hub already has {self._running} analyses running, the limit is {self.max_concurrent}",
                    [Detail(reason=f"at most {self.max_concurrent} concurrent analyses on this hub; retry later",
                            field="PACTE_ANALYSIS_MAX_CONCURRENT")], retry_after=self.retry_after)
            self._running += 1
            self._by_member[member] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                left = self._by_member[member] - 1
                if left:
                    self._by_member[member] = left
                else:
                    del self._by_member[member]
