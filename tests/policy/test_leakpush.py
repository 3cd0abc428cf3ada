"""The push and bulk read-path adapters of the leak machine (tests/policy/leakpush.py) on a fixed scenario.

Alpha and Bravo share group AB; Charlie is outside it. Alpha has a malware line of two versions
in community (GREEN), an AMBER intrusion set and a RED malware in AB; Bravo an indicator in its
private collection; Charlie an unmarked intrusion set in community. Each adapter must give each
member exactly the expected Counter, on SQLite and PostgreSQL: export (CLI and function, last and
all versions, by type, with its printed count), stream replay (from the start, resumed, filtered,
with references, over more than one broker page, after leaving a group), live streams and
webhooks (a re-share delivered once, a late joiner not sent the past, a revoked token's stream
closed, the webhook delivery log), analysis linking, the machine's entry points, and 401 for
revoked tokens on every path that takes one. ``LEAKPUSH_COSTS=1`` times each entry point.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import TLP2, Member, add_member, sdo, sid, ts
from pacte.hub import Hub
from pacte.hub import members as m
from pacte.policy import Role
from pacte.store.base import Collection

from . import leakpush
from .leakmodel import served
from .leakpush import (
    PushHarness,
    VersionSeen,
    analysis_run,
    export_run,
    open_stream,
    open_webhook,
    seen_of,
    stream_replay,
    version_seen,
)


def _named(kind: str, key: str, name: str, version: int = 0, **extra: Any) -> dict[str, Any]:
    obj = sdo(kind, key, version, **extra)
    obj["name"] = name
    return obj


class Scene:
    """The fixed scenario: members, the group, the objects each shared."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.alpha = add_member(hub, "Alpha", "FR")
        self.bravo = add_member(hub, "Bravo", "DE")
        self.charlie = add_member(hub, "Charlie", "BE")
        self.group: Collection = m.add_group(hub.store, hub.ids, hub.clock, "AB", [self.alpha.org, self.bravo.org])
        self.c_v0 = _named("malware", "c-line", "Slate Comet", 0, markings=[TLP2["green"]])
        self.c_v1 = _named("malware", "c-line", "Slate Comet", 1, markings=[TLP2["green"]])
        self.g_set = _named("intrusion-set", "g-set", "Quartz Lynx", aliases=["Quartz Lynx", "QLX-77"],
                            markings=[TLP2["amber"]])
        self.g_red = _named("malware", "g-red", "Ember Viper", markings=[TLP2["red"]])
        self.b_priv = sdo("indicator", "b-priv")
        self.ch_set = _named("intrusion-set", "ch-set", "Amber Heron")
        self.share(self.alpha, hub.community, self.c_v0)
        self.share(self.alpha, hub.community, self.c_v1)
        self.share(self.alpha, self.group, self.g_set, self.g_red)
        self.share(self.bravo, self.bravo.private(hub), self.b_priv)
        self.share(self.charlie, hub.community, self.ch_set)

    def share(self, member: Member, coll: Collection, *objs: dict[str, Any]) -> None:
        """Share objects as a member, asserting every one was stored."""
        report = self.hub.share_as(member.org, coll, list(objs))
        assert report.failures == 0, [o.reason for o in report.outcomes if not o.ok]

    def revoked(self, member: Member, role: Role) -> str:
        """Return the secret of a new token of a member, already revoked."""
        token, secret = m.new_token(self.hub.store, self.hub.ids, self.hub.clock, member.org, role, "revoked")
        assert self.hub.store.revoke_token(token.token_id, self.hub.now_key())
        return secret


def _c(*objs: dict[str, Any]) -> Counter[VersionSeen]:
    return seen_of(served(o) for o in objs)  # as stored and served: with the sharer's grading (F6)


def _split(seen: Counter[VersionSeen]) -> tuple[Counter[VersionSeen], set[str]]:
    """Return (what is not a member identity, the identity ids) of a Counter."""
    rest = Counter({k: n for k, n in seen.items() if not k[0].startswith("identity--")})
    ids = {k[0] for k, n in seen.items() for _ in range(n) if k[0].startswith("identity--")}
    return rest, ids


@pytest.fixture
def scene(hub: Hub) -> Scene:
    """The fixed scenario on the current backend."""
    return Scene(hub)


@pytest.fixture
def harness(scene: Scene) -> Iterator[PushHarness]:
    """The scenario's hub served on 127.0.0.1."""
    with PushHarness(scene.hub) as h:
        yield h


def _identities(s: Scene) -> set[str]:
    return {x.org.identity_id.lower() for x in (s.alpha, s.bravo, s.charlie)}


def test_version_seen_key() -> None:
    obj: dict[str, Any] = {"type": "malware", "id": "Malware--" + sid("malware", "k").split("--")[1], "modified": ts(3), "b": 1}
    key = version_seen(obj)
    assert key[0] == obj["id"].lower() and key[1] == ts(3) and len(key[2]) == 64
    assert version_seen(dict(reversed(list(obj.items())))) == key  # key order does not matter
    assert version_seen({**obj, "b": 2})[2] != key[2]
    assert version_seen({"type": "x", "id": "x--1"})[1] == ""


def test_export(scene: Scene) -> None:
    s = scene
    expected_last = {
        "Alpha": _c(s.c_v1, s.g_set, s.g_red, s.ch_set),
        "Bravo": _c(s.c_v1, s.g_set, s.g_red, s.b_priv, s.ch_set),
        "Charlie": _c(s.c_v1, s.ch_set),
    }
    for via_cli in (True, False):
        for name, expected in expected_last.items():
            result = export_run(s.hub, name, via_cli=via_cli)
            rest, identities = _split(result)
            assert (result.status, result.error) == (0, None) and rest == expected, (name, via_cli)
            assert identities == _identities(s)
            assert result.count == sum(result.values())
        every = export_run(s.hub, "Charlie", all_versions=True, via_cli=via_cli)
        assert _split(every)[0] == _c(s.c_v0, s.c_v1, s.ch_set)
        typed = export_run(s.hub, "Bravo", types=("malware",), all_versions=True, via_cli=via_cli)
        assert typed == _c(s.c_v0, s.c_v1, s.g_red) and typed.count == 3
    missing = export_run(s.hub, "Nobody")
    assert missing.status == 1 and missing.error and not missing


def test_stream_replay(scene: Scene, harness: PushHarness) -> None:
    s, h = scene, harness
    expected = {
        "Alpha": _c(s.c_v0, s.c_v1, s.g_set, s.g_red, s.ch_set),
        "Bravo": _c(s.c_v0, s.c_v1, s.g_set, s.g_red, s.b_priv, s.ch_set),
        "Charlie": _c(s.c_v0, s.c_v1, s.ch_set),
    }
    last: dict[str, str | None] = {}
    for member in (s.alpha, s.bravo, s.charlie):
        r = stream_replay(h, member.secrets[Role.READER])
        assert (r.status, r.error) == (200, None)
        rest, identities = _split(r)
        assert rest == expected[member.name], member.name  # each version once: every count is 1
        assert identities <= _identities(s)
        last[member.name] = r.last_id
    # resume after the last id: nothing more; then a new version arrives after it
    s.share(s.alpha, s.group, _named("malware", "g-red", "Ember Viper", 1, markings=[TLP2["red"]]))
    g_red1 = _named("malware", "g-red", "Ember Viper", 1, markings=[TLP2["red"]])
    for member in (s.alpha, s.bravo, s.charlie):
        r = stream_replay(h, member.secrets[Role.READER], last_event_id=str(last[member.name]))
        assert r == (_c(g_red1) if member is not s.charlie else Counter()), member.name
    # filters: type, and refs carry only what the reader reads
    rel = sdo("relationship", "rel", markings=[TLP2["green"]], relationship_type="uses",
              source_ref=s.ch_set["id"], target_ref=s.g_red["id"])
    rel.pop("name")
    s.share(s.alpha, s.hub.community, rel)
    for member, refs in ((s.bravo, _c(s.ch_set, g_red1)), (s.charlie, _c(s.ch_set))):
        r = stream_replay(h, member.secrets[Role.READER], type="relationship", refs=True)
        assert r == _c(rel) and r.references == refs, member.name
    # more than one broker page (500 events): the replay still catches up exactly, each version once
    bulk = [sdo("indicator", f"bulk-{i}", markings=[TLP2["clear"]]) for i in range(520)]
    s.share(s.charlie, s.hub.community, *bulk)
    r = stream_replay(h, s.alpha.secrets[Role.READER], type="indicator")
    assert r == _c(*bulk)
    # a revoked token gets a refusal and nothing
    r = stream_replay(h, s.revoked(s.bravo, Role.READER))
    assert (r.status, r.error, r) == (401, "unauthenticated", Counter())
    # Bravo leaves AB: the replay, the export and the analysis no longer give it AB's objects
    text = "The threat actor Quartz Lynx deployed the Ember Viper malware."
    assert analysis_run(h, s.bravo.secrets[Role.ANALYST], text).linked == {s.g_set["id"], s.g_red["id"]}
    assert s.hub.store.remove_member(s.group.cid, s.bravo.org.org_id)
    r = stream_replay(h, s.bravo.secrets[Role.READER])
    assert _split(r)[0] == _c(s.c_v0, s.c_v1, s.b_priv, s.ch_set, rel, *bulk)
    assert _split(export_run(s.hub, "Bravo"))[0] == _c(s.c_v1, s.b_priv, s.ch_set, rel, *bulk)
    assert analysis_run(h, s.bravo.secrets[Role.ANALYST], text).linked == set()  # the cached knowledge is rebuilt


def test_live_stream_and_webhooks(scene: Scene, harness: PushHarness) -> None:
    s, h = scene, harness
    members = (s.alpha, s.bravo, s.charlie)
    streams = {x.name: open_stream(h, x.secrets[Role.READER]) for x in members}
    hooks = {x.name: open_webhook(h, x.secrets[Role.ADMIN]) for x in members}
    assert all(w.status == 201 for w in hooks.values())
    refused = open_webhook(h, s.revoked(s.charlie, Role.ADMIN))
    assert (refused.status, refused.error) == (401, "unauthenticated")
    c_v2 = _named("malware", "c-line", "Slate Comet", 2, markings=[TLP2["green"]])
    g_new = _named("tool", "g-tool", "Rust Ladder", markings=[TLP2["amber"]])
    b_new = sdo("indicator", "b-priv", 1)
    s.share(s.alpha, s.hub.community, c_v2)
    s.share(s.alpha, s.group, g_new, c_v2)  # c_v2 again, through AB: not delivered twice
    s.share(s.bravo, s.bravo.private(s.hub), b_new)
    expected = {"Alpha": _c(c_v2, g_new), "Bravo": _c(c_v2, g_new, b_new), "Charlie": _c(c_v2)}
    for name, want in expected.items():
        assert streams[name].poll() == want, name
        carried = hooks[name].poll()
        assert carried == want and carried.count == len(want), name  # the delivery log agrees
    # Charlie joins AB: told by member-added, not sent AB's past; a later AB object reaches it
    assert s.hub.store.add_member(s.group.cid, s.charlie.org.org_id)
    later = _named("tool", "g-later", "Iron Finch", markings=[TLP2["green"]])
    s.share(s.bravo, s.group, later)
    assert streams["Charlie"].poll() == _c(c_v2, later)
    assert streams["Charlie"].membership["member-added"] == 1
    assert hooks["Charlie"].poll() == _c(c_v2, later)
    assert streams["Alpha"].poll() == _c(c_v2, g_new, later)
    # Bravo's reader token is revoked: its stream is closed, nothing more reaches it
    assert s.hub.store.revoke_token(s.bravo.token_ids[Role.READER], s.hub.now_key())
    after = _named("tool", "after", "Tin Owl", markings=[TLP2["clear"]])
    s.share(s.alpha, s.hub.community, after)
    bravo = streams["Bravo"].sync()
    assert bravo.error == "unauthenticated" and bravo.seen() == _c(c_v2, g_new, b_new, later)
    assert streams["Alpha"].poll() == _c(c_v2, g_new, later, after)
    assert hooks["Bravo"].poll() == _c(c_v2, g_new, b_new, later, after)  # the admin token still holds
    for st in streams.values():
        st.stop()
    for hook in hooks.values():
        hook.stop()


def test_machine_entry_points(scene: Scene) -> None:
    """The (hub, client, org_name, token) functions the leak machine calls, analysis linking included."""
    s = scene
    try:
        admin = {x.name: x.secrets[Role.ADMIN] for x in (s.alpha, s.bravo, s.charlie)}
        assert _split(leakpush.export_seen(s.hub, None, "Charlie"))[0] == _c(s.c_v1, s.ch_set)
        replay = leakpush.stream_replay_seen(s.hub, None, "Bravo", admin["Bravo"])
        assert _split(replay)[0] == _c(s.c_v0, s.c_v1, s.g_set, s.g_red, s.b_priv, s.ch_set)
        with pytest.raises(ValueError):
            leakpush.stream_replay_seen(s.hub, None, "Alpha", admin["Bravo"])
        for name in admin:  # opened at the head: nothing yet
            assert leakpush.stream_live_seen(s.hub, None, name, admin[name]) == Counter()
            assert leakpush.webhook_seen(s.hub, None, name, admin[name]) == Counter()
        g_v1 = _named("intrusion-set", "g-set", "Quartz Lynx", 1, aliases=["Quartz Lynx", "QLX-77"],
                      markings=[TLP2["amber"]])
        s.share(s.alpha, s.group, g_v1)
        for name, want in (("Alpha", _c(g_v1)), ("Bravo", _c(g_v1)), ("Charlie", Counter())):
            assert leakpush.stream_live_seen(s.hub, None, name, admin[name]) == want, name
            assert leakpush.webhook_seen(s.hub, None, name, admin[name]) == want, name
        assert leakpush.stream_replay_seen(s.hub, None, "Bravo", admin["Bravo"], last_event_id=replay.last_id or "",
                                           type="intrusion-set") == _c(g_v1)
        # analysis: named in a text, or in the default text naming every object of the hub
        text = ("The threat actor Quartz Lynx deployed the Ember Viper malware and the Slate Comet backdoor, "
                "like Amber Heron did in 2024.")
        assert "Quartz Lynx" in leakpush.names_text(s.hub) and "QLX-77" in leakpush.names_text(s.hub)
        everyone = {s.c_v1["id"], s.ch_set["id"]}
        group = {s.g_set["id"], s.g_red["id"]}
        for name, linked in (("Alpha", everyone | group), ("Bravo", everyone | group), ("Charlie", everyone)):
            assert leakpush.analysis_link_ids(s.hub, None, name, admin[name], text) == linked, name
            # the default text names the members too: their identities are everyone's to read
            assert leakpush.analysis_link_ids(s.hub, None, name, admin[name]) == linked | _identities(s), name
        h = leakpush.harness_for(s.hub)
        refused = analysis_run(h, s.revoked(s.alpha, Role.ANALYST), text)
        assert (refused.status, refused.error, refused.linked) == (401, "unauthenticated", set())
        assert analysis_run(h, s.alpha.secrets[Role.READER], text).status == 403
    finally:
        leakpush.close_harness(s.hub)
    assert id(s.hub) not in leakpush._harnesses and not any(k[0] == id(s.hub) for k in leakpush._sessions)


@pytest.mark.skipif(not os.environ.get("LEAKPUSH_COSTS"), reason="timing run: set LEAKPUSH_COSTS=1")
def test_costs(scene: Scene, backend: str) -> None:
    """Time each entry point of the machine on this backend (median of 5 calls, ms; printed with -s)."""
    s = scene
    admin = s.bravo.secrets[Role.ADMIN]
    costs: dict[str, list[float]] = {}
    extra = int(os.environ.get("LEAKPUSH_COSTS_OBJECTS", "0"))  # a larger world: this many more objects
    for start in range(0, extra, 250):
        s.share(s.alpha, s.hub.community, *(sdo("indicator", f"bulk-{i}", markings=[TLP2["green"]])
                                            for i in range(start, min(extra, start + 250))))

    def timed(name: str, func: Any) -> Any:
        start = time.perf_counter()
        out = func()
        costs.setdefault(name, []).append((time.perf_counter() - start) * 1000)
        return out

    try:
        timed("harness_start", lambda: leakpush.harness_for(s.hub))
        timed("live_open", lambda: leakpush.stream_live_seen(s.hub, None, "Bravo", admin))
        timed("webhook_open", lambda: leakpush.webhook_seen(s.hub, None, "Bravo", admin))
        for i in range(5):
            timed("export_cli", lambda: leakpush.export_seen(s.hub, None, "Bravo"))
            timed("export_fn", lambda: leakpush.export_seen(s.hub, None, "Bravo", via_cli=False))
            timed("replay_from_0", lambda: leakpush.stream_replay_seen(s.hub, None, "Bravo", admin))
            timed("replay_nothing_visible", lambda: leakpush.stream_replay_seen(s.hub, None, "Bravo", admin,
                                                                                type="campaign"))
            timed("analysis_text", lambda: leakpush.analysis_link_ids(s.hub, None, "Bravo", admin, "Quartz Lynx."))
            timed("analysis_names_text", lambda: leakpush.analysis_link_ids(s.hub, None, "Bravo", admin))
            s.share(s.alpha, s.hub.community, sdo("tool", f"timing-{i}", markings=[TLP2["green"]]))
            live = timed("live_poll_after_write", lambda: leakpush.stream_live_seen(s.hub, None, "Bravo", admin))
            hook = timed("webhook_poll_after_write", lambda: leakpush.webhook_seen(s.hub, None, "Bravo", admin))
            assert sum(live.values()) == sum(hook.values()) == i + 1
            timed("live_poll_idle", lambda: leakpush.stream_live_seen(s.hub, None, "Bravo", admin))
    finally:
        timed("harness_close", lambda: leakpush.close_harness(s.hub))
    print(f"\nleakpush costs on {backend}, {extra} more objects (ms, median): "
          + ", ".join(f"{k}={sorted(v)[len(v) // 2]:.1f}" for k, v in costs.items()))
