"""Two brokers on one PostgreSQL database, as in two server processes: the fence, without HTTP.

Process A's store and process B's broker share nothing in memory, so B learns of a change made
through A only from the database: the fence check of its next send window (NOTIFY may arrive
later or not at all). What B had read and queued before the change must never be written after
the change is acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from conftest import drop_store, pg_url_or_skip
from helpers import TLP2, sdo
from pacte.hub import Hub
from pacte.hub.clock import RandomIds
from pacte.hub.members import add_group, add_org, new_token
from pacte.policy import Role
from pacte.stix.timestamps import format_dt
from pacte.store import open_store
from pacte.stream.broker import Broker, Subscription
from pacte.stream.filters import Filters

from .conftest import FAST


@pytest.fixture
def two_processes() -> Iterator[tuple[Hub, Hub]]:
    """Hub A and hub B: two stores (two pools, two listener sets) on one PostgreSQL schema."""
    url = pg_url_or_skip()
    a = Hub(open_store(url))
    b = Hub(open_store(url))
    try:
        yield a, b
    finally:
        b.store.close()
        drop_store(a.store)


async def _queued(sub: Subscription) -> None:
    for _ in range(500):  # B's dispatcher reads it and queues it (no connection is ready to write)
        if sub.pending:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("nothing was queued")


async def _written_until(broker: Broker, sub: Subscription, marker: bytes) -> bytes:
    out = b""
    while marker not in out:
        body, end = await asyncio.wait_for(broker.next_body(sub), 10)
        broker.written(sub)
        out += body
        if end:
            break
    return out


@pytest.mark.postgres
def test_membership_removed_through_a_is_fenced_on_b(two_processes: tuple[Hub, Hub]) -> None:
    a, b = two_processes
    alpha = add_org(a.store, a.ids, a.clock, "Alpha", "FR")
    gamma = add_org(a.store, a.ids, a.clock, "Gamma", "BE")
    group = add_group(a.store, a.ids, a.clock, "g1", [alpha, gamma])
    token, _ = new_token(a.store, RandomIds(), a.clock, gamma, Role.READER, None)
    secret = sdo("indicator", "queued-on-b")

    async def scenario() -> bytes:
        broker = Broker(b, FAST)
        await broker.start()
        try:
            sub = broker.subscribe(gamma.org_id, token.token_id, Filters(), b.store.event_head())
            await asyncio.to_thread(a.share_as, alpha, group, [secret])  # "process A": never on B's loop
            await _queued(sub)
            assert await asyncio.to_thread(a.store.remove_member, group.cid, gamma.org_id)  # acknowledged
            return await _written_until(broker, sub, b"member-removed")
        finally:
            await broker.stop()

    sent = asyncio.run(scenario())
    assert b"member-removed" in sent
    assert secret["id"].encode() not in sent


@pytest.mark.postgres
def test_token_revoked_through_a_is_fenced_on_b(two_processes: tuple[Hub, Hub]) -> None:
    a, b = two_processes
    alpha = add_org(a.store, a.ids, a.clock, "Alpha", "FR")
    beta = add_org(a.store, a.ids, a.clock, "Beta", "DE")
    token, _ = new_token(a.store, RandomIds(), a.clock, beta, Role.READER, None)
    before = sdo("indicator", "read-before-revocation", markings=[TLP2["green"]])
    after = sdo("indicator", "shared-after-revocation", markings=[TLP2["green"]])

    async def scenario() -> tuple[bytes, bool]:
        broker = Broker(b, FAST)
        await broker.start()
        try:
            sub = broker.subscribe(beta.org_id, token.token_id, Filters(), b.store.event_head())
            await asyncio.to_thread(a.share_as, alpha, a.community, [before])
            await _queued(sub)
            assert await asyncio.to_thread(a.store.revoke_token, token.token_id, format_dt(a.clock.now()))
            await asyncio.to_thread(a.share_as, alpha, a.community, [after])
            out = b""
            while True:
                body, end = await asyncio.wait_for(broker.next_body(sub), 10)
                broker.written(sub)
                out += body
                if end:
                    return out, sub.closed
        finally:
            await broker.stop()

    sent, closed = asyncio.run(scenario())
    assert closed and b"unauthenticated" in sent
    assert before["id"].encode() not in sent and after["id"].encode() not in sent


@pytest.mark.postgres
def test_a_narrowing_commit_waits_for_an_open_send_window(two_processes: tuple[Hub, Hub]) -> None:
    a, b = two_processes
    beta = add_org(a.store, a.ids, a.clock, "Beta", "DE")
    token, _ = new_token(a.store, RandomIds(), a.clock, beta, Role.READER, None)

    async def scenario() -> float:
        from pacte.stream.pgwake import PgFence

        fence = PgFence(b.store)
        await fence.enter()  # B is inside a send window
        loop = asyncio.get_running_loop()
        start = loop.time()
        revoking = asyncio.create_task(asyncio.to_thread(a.store.revoke_token, token.token_id,
                                                         format_dt(a.clock.now())))
        await asyncio.sleep(0.5)
        assert not revoking.done(), "the change must not commit while a window is open"
        await fence.leave()
        assert await asyncio.wait_for(revoking, 10)
        await fence.close()
        return loop.time() - start

    assert asyncio.run(scenario()) >= 0.5
