"""Twin hubs: identical but for what other members post and read out of the viewer's sight.

The viewer's ledger must be byte for byte the same in both (a hidden object looks exactly like a
missing one), on every backend, for every period size; and a visible difference must change it (so
the comparison can fail).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import drop_store, make_store
from helpers import SpreadIds, sdo
from ledger.conftest import World, build
from ledger.test_rules import sighting
from pacte.config import Settings
from pacte.hub import Hub
from pacte.hub.clock import FrozenClock
from pacte.stix.markings import TLP2_IDS, Tlp

Step = Callable[[World], None]


def _hub(backend: str, path: Path, clock: FrozenClock) -> Hub:
    return Hub(make_store(backend, path), Settings(max_body_bytes=2 * 1024 * 1024, max_depth=16), clock=clock,
               ids=SpreadIds())


@pytest.fixture
def twins(backend: str, tmp_path: Path) -> Iterator[tuple[World, World]]:
    """Two worlds with the same members, groups, tokens and clock."""
    from datetime import UTC, datetime, timedelta

    worlds = []
    gens = []
    for name in ("plain", "hidden"):
        (tmp_path / name).mkdir()
        clock = FrozenClock(datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC), step=timedelta(milliseconds=1))
        gen = build(_hub(backend, tmp_path / name, clock))
        gens.append(gen)
        worlds.append(next(gen))
    try:
        yield worlds[0], worlds[1]
    finally:
        for gen, w in zip(gens, worlds, strict=True):
            gen.close()
            drop_store(w.hub.store)


ALPHA_OBJ = sdo("indicator", "alpha-ind")
BRAVO_OBJ = sdo("attack-pattern", "bravo-ap")
LATER = sdo("attack-pattern", "shared-in-cde-first")  # in the second hub, first shared where Alpha cannot see


def hidden_first(w: World) -> None:
    """What happens only in the second hub, before the rest: a version shared out of sight, shown later."""
    w.share("Charlie", "CDE", LATER, sighting("early-secret", LATER["id"], count=3))


def visible_steps(w: World, opted: tuple[str, ...] = ("Bravo",)) -> None:
    """What happens in both hubs: posts and reads the viewer may see, or reads of the viewer's objects."""
    for who in opted:
        w.opt_in(who)
    w.share("Alpha", "community", ALPHA_OBJ, sdo("attack-pattern", "alpha-ap"))
    w.share("Alpha", "AB", sdo("malware", "alpha-mw"))
    w.share("Bravo", "community", BRAVO_OBJ)
    w.share("Charlie", "community", sdo("attack-pattern", "charlie-ap"), LATER)
    w.share("Delta", "community", sdo("attack-pattern", "delta-ap"))
    w.share("Echo", "community", sdo("attack-pattern", "echo-ap", markings=[TLP2_IDS[Tlp.CLEAR]]))
    w.share("Bravo", "AB", sighting("bravo-sees", ALPHA_OBJ["id"], count=2))
    for who in ("Bravo", "Charlie", "Delta", "Echo"):
        w.get(who, f"/objects/{ALPHA_OBJ['id']}")
    w.get("Alpha", "/objects", type="attack-pattern")
    w.taxii("Alpha", "community")


def hidden_steps(w: World) -> None:
    """What happens only in the second hub: nothing of it is the viewer's to read."""
    hidden = sdo("attack-pattern", "cde-secret")
    w.share("Charlie", "CDE", hidden, sdo("indicator", "cde-ind", markings=[TLP2_IDS[Tlp.RED]]))
    w.share("Charlie", "private:Charlie", sdo("malware", "charlie-private"))
    w.share("Delta", "CDE", sighting("delta-sees-secret", hidden["id"], count=9))
    w.share("Charlie", "CDE", sighting("charlie-sees-alpha", ALPHA_OBJ["id"], count=4))  # of Alpha's, hidden
    w.share("Delta", "CDE", sighting("delta-fp", ALPHA_OBJ["id"], kind="false-positive"))
    w.share("Charlie", "CDE", sdo("attack-pattern", "alpha-ap"))  # a copy of Alpha's id in Charlie's own line
    w.share("Echo", "CDE", sdo("attack-pattern", "echo-sees-later"))
    for who in ("Charlie", "Delta", "Echo"):  # reads of hidden objects and of others' readable ones (not Alpha's)
        w.get(who, f"/objects/{hidden['id']}")
        w.get(who, "/objects", producer="Bravo")
        w.taxii(who, "CDE")
        w.taxii(who, "community", **{"match[type]": "sighting"})
    w.get("Bravo", f"/objects/{BRAVO_OBJ['id']}")


def answers(w: World) -> list[bytes]:
    """Return the viewer's ledger bytes for every period size, recorded reads flushed."""
    w.hub.ledger.flush(w.hub.store)
    out = []
    for period in ("day", "week", "month"):
        resp = w.client.get("/api/v1/ledger", params={"period": period}, headers=w["Alpha"].auth())
        assert resp.status_code == 200
        out.append(resp.content)
    return out


@pytest.mark.parametrize("opted", [("Bravo",), ("Bravo", "Charlie")])
def test_hidden_posts_and_reads_change_nothing_in_the_viewers_ledger(twins: tuple[World, World],
                                                                     opted: tuple[str, ...]) -> None:
    plain, hidden = twins
    visible_steps(plain, opted)
    hidden_first(hidden)
    visible_steps(hidden, opted)
    hidden_steps(hidden)
    hidden.hub.ledger.flush(hidden.hub.store)
    # the hidden activity happened and is counted where it may be
    echo = hidden.hub.store.ledger_reads(hidden["Echo"].org.org_id, "2026-01-01", "2026-01-31")
    assert sum(r.n for r in echo if r.reader == hidden["Echo"].org.org_id) > 0
    assert hidden.own("Charlie")["sightings_given"]["sightings"] == 2
    assert hidden.own("Delta")["contributed"] != plain.own("Delta")["contributed"]
    assert answers(plain) == answers(hidden)
    own = plain.own()
    community = plain.community()
    assert [m["name"] for m in community["opted_in"]] == list(opted)
    assert own["value"]["sighted_by"] == {"members": 1, "sightings": 1, "seen": 2, "false_positive": 0}
    if len(opted) == 1:  # Charlie, Delta and Echo are k non-opted members: their sums are published
        assert own["value"]["read_by"] == {"members": 4, "reads": 4}
        assert community["others"]["contributed"] == {"members": 3, "objects": 4, "by_tlp": None,
                                                      "by_audience": {"community": 4}}
    else:
        assert own["value"]["read_by"] is None and community["others"]["contributed"] is None


def test_a_visible_difference_does_change_it(twins: tuple[World, World]) -> None:
    plain, other = twins
    visible_steps(plain)
    visible_steps(other)
    other.share("Charlie", "community", sdo("attack-pattern", "seen-by-all"))
    assert answers(plain) != answers(other)
