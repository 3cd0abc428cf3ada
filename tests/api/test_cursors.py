"""Native page cursors are opaque: per reader, fresh on every page, refused for anyone else or when altered."""

from __future__ import annotations

import re
from typing import Any

from api.conftest import Api, assert_error
from helpers import bundle, sdo
from pacte.hub.positions import Surface


def _fill(api: Api, n: int = 6) -> None:
    assert api.post(api.alpha, "community", bundle(*[sdo("campaign", f"c{i}", i) for i in range(n)])).status_code == 200


def _next(api: Api, member: Any, **params: Any) -> str:
    body = api.get(member, "/objects", type="campaign", limit=2, **params).json()
    assert body["more"] is True
    return str(body["next"])


def test_cursors_are_fresh_and_per_reader(api: Api) -> None:
    _fill(api)
    a1, a2, c1 = _next(api, api.alpha), _next(api, api.alpha), _next(api, api.charlie)
    assert len({a1, a2, c1}) == 3  # one position, three strings
    opened = {api.hub.positions_of(Surface.OBJECTS, api.alpha.org).open(a1),
              api.hub.positions_of(Surface.OBJECTS, api.alpha.org).open(a2),
              api.hub.positions_of(Surface.OBJECTS, api.charlie.org).open(c1)}
    assert len(opened) == 1 and None not in opened
    assert len(a1) == 48 and not a1.isdigit()


def test_a_cursor_of_another_reader_or_surface_or_altered_is_400(api: Api) -> None:
    _fill(api)
    mine = _next(api, api.alpha)
    taxii = api.hub.positions_of(Surface.TAXII, api.charlie.org).seal(1)
    altered = mine[:20] + ("A" if mine[20] != "A" else "B") + mine[21:]
    for cursor in (mine, taxii, altered, "12", "0"):
        err = assert_error(api.get(api.charlie, "/objects", cursor=cursor), 400, "invalid_input")
        assert err["details"][0]["field"] == "cursor"
        assert not re.search(r"\d", err["message"] + str(err["details"]))  # no position in the texts
    assert api.get(api.alpha, "/objects", cursor=mine).status_code == 200


def test_cursors_page_exactly_around_hidden_rows(api: Api) -> None:
    for i in range(12):  # visible and hidden campaigns interleaved in version order
        target = "community" if i % 2 == 0 else "AB"
        assert api.post(api.alpha, target, bundle(sdo("campaign", f"mix{i}", i))).status_code == 200
    expected = [o["id"] for o in api.get(api.charlie, "/objects", type="campaign", limit=100).json()["objects"]]
    assert len(expected) == 6
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"type": "campaign", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get(api.charlie, "/objects", **params).json()
        seen += [o["id"] for o in body["objects"]]
        if not body["more"]:
            break
        cursor = body["next"]
        # a hidden share between two pages changes nothing of the next page
        assert api.post(api.alpha, "AB", bundle(sdo("campaign", f"late{len(seen)}", 1))).status_code == 200
    assert seen == expected  # no loss, no duplicate
