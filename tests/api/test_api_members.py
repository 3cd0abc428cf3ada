"""Who am I, organisations, groups, collections and authentication, on both backends."""

from __future__ import annotations

import base64

from api.conftest import Api, assert_error
from pacte.policy import Role


def test_whoami_names_member_role_and_collections(api: Api) -> None:
    resp = api.get(api.alpha, "/whoami", Role.ANALYST)
    assert resp.status_code == 200
    body = resp.json()
    assert body["organisation"] == {"name": "Alpha", "country": "FR", "identity": api.alpha.org.identity_id}
    assert body["token"] == {"id": api.alpha.token_ids[Role.ANALYST], "role": "analyst", "label": "analyst token"}
    colls = {c["name"]: c for c in body["collections"]}
    assert set(colls) == {"community", "AB", "private:Alpha"}
    assert all(c["can_read"] and c["can_write"] for c in colls.values())
    assert colls["community"]["kind"] == "community" and colls["community"]["default_tlp"] == 1
    assert colls["AB"]["kind"] == "group" and colls["AB"]["default_tlp"] == 2
    reader = api.get(api.charlie, "/whoami", Role.READER).json()
    assert {c["name"]: c["can_write"] for c in reader["collections"]} == {"community": False, "private:Charlie": False}


def test_organisations_lists_every_member(api: Api) -> None:
    body = api.get(api.charlie, "/organisations").json()
    assert body == {"organisations": [
        {"name": "Alpha", "country": "FR", "identity": api.alpha.org.identity_id},
        {"name": "Bravo", "country": "DE", "identity": api.bravo.org.identity_id},
        {"name": "Charlie", "country": "BE", "identity": api.charlie.org.identity_id},
    ]}


def test_groups_only_those_of_the_caller(api: Api) -> None:
    body = api.get(api.bravo, "/groups").json()
    assert body == {"groups": [{"id": api.group.uuid, "name": "AB", "description": None, "default_tlp": 2,
                                "members": ["Alpha", "Bravo"]}]}
    assert api.get(api.charlie, "/groups").json() == {"groups": []}


def test_collections_match_whoami(api: Api) -> None:
    for member in (api.alpha, api.charlie):
        listed = api.get(member, "/collections", Role.ADMIN).json()["collections"]
        assert listed == api.get(member, "/whoami", Role.ADMIN).json()["collections"]
    assert [c["name"] for c in api.get(api.charlie, "/collections").json()["collections"]] == [
        "community", "private:Charlie"]


def test_authentication_bearer_basic_and_failures(api: Api) -> None:
    secret = api.alpha.secrets[Role.READER]
    basic = base64.b64encode(f"x:{secret}".encode()).decode()
    assert api.client.get("/api/v1/whoami", headers={"Authorization": f"Basic {basic}"}).json()[
        "organisation"]["name"] == "Alpha"
    missing = api.client.get("/api/v1/whoami")
    assert_error(missing, 401, "unauthenticated")
    assert "Bearer" in missing.headers["www-authenticate"]
    for header in ("Bearer pacte_not-a-token", "Bearer ", "Token abc", f"Basic {base64.b64encode(b'x:').decode()}"):
        assert_error(api.client.get("/api/v1/whoami", headers={"Authorization": header}), 401, "unauthenticated")
    for path in ("/organisations", "/groups", "/collections", "/tokens", "/objects", "/objects/x"):
        assert_error(api.client.get(f"/api/v1{path}"), 401, "unauthenticated")
