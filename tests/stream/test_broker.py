"""The broker without HTTP: what was read before a narrowing change is never handed to a connection after it."""

from __future__ import annotations

import asyncio

from helpers import sdo
from pacte.hub import Hub
from pacte.hub.clock import RandomIds
from pacte.hub.members import add_group, add_org, new_token
from pacte.policy import Role
from pacte.stream.broker import Broker
from pacte.stream.filters import Filters

from .conftest import FAST


def test_chunks_read_before_a_narrowing_change_are_never_sent(hub: Hub) -> None:
    alpha = add_org(hub.store, hub.ids, hub.clock, "Alpha", "FR")
    gamma = add_org(hub.store, hub.ids, hub.clock, "Gamma", "BE")
    group = add_group(hub.store, hub.ids, hub.clock, "g1", [alpha, gamma])
    token, _ = new_token(hub.store, RandomIds(), hub.clock, gamma, Role.READER, None)
    secret = sdo("indicator", "queued-before-removal")

    async def scenario() -> bytes:
        broker = Broker(hub, FAST)
        await broker.start()
        try:
            sub = broker.subscribe(gamma.org_id, token.token_id, Filters(), hub.store.event_head())
            await asyncio.to_thread(hub.share_as, alpha, group, [secret])
            for _ in range(200):  # the dispatcher reads it for Gamma (still a member) and queues it
                if sub.pending:
                    break
                await asyncio.sleep(0.01)
            assert len(sub.pending) == 1  # queued, not sent: no connection was ready to write
            assert hub.store.remove_member(group.cid, gamma.org_id)  # acknowledged once this returns
            out = b""
            while b"member-removed" not in out:  # now a connection is ready: what does it write?
                body, end = await asyncio.wait_for(broker.next_body(sub), 5)
                broker.written(sub)
                assert not end
                out += body
            return out
        finally:
            await broker.stop()

    sent = asyncio.run(scenario())
    assert b"member-removed" in sent
    assert secret["id"].encode() not in sent


def test_a_window_never_writes_chunks_older_than_the_epoch(hub: Hub) -> None:
    async def scenario() -> None:
        broker = Broker(hub, FAST)  # not started: the window is opened by hand
        sub = broker.subscribe(1, "t", Filters(), 4)
        sub.sent = 4
        sub.pending = [(b"id: 5\n\n", 5, 0, 5), (b"id: 6\n\n", 6, 1, 6)]  # the first read before a narrowing change
        broker.epoch = 1
        broker.window = sub.window = 1  # open, and this stream admitted
        try:
            await asyncio.wait_for(broker.next_body(sub), 0.2)
            raise AssertionError("nothing may be written")
        except TimeoutError:
            pass
        assert sub.pending == [] and sub.cursor == 4  # dropped, read again after what was sent

    asyncio.run(scenario())
