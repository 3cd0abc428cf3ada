"""Tokens are managed by admins of their own organisation; a revoked token fails on the next request."""

from __future__ import annotations

from api.conftest import Api, assert_error
from pacte.policy import Role


def test_admin_creates_lists_and_revokes_tokens(api: Api) -> None:
    admin = api.alpha.auth(Role.ADMIN)
    created = api.client.post("/api/v1/tokens", json={"role": "analyst", "label": "sensor feed"}, headers=admin)
    assert created.status_code == 201
    new = created.json()
    assert set(new) == {"id", "role", "label", "secret"}
    assert (new["role"], new["label"]) == ("analyst", "sensor feed")
    bearer = {"Authorization": f"Bearer {new['secret']}"}
    assert api.client.get("/api/v1/whoami", headers=bearer).json()["token"]["id"] == new["id"]

    listed = api.client.get("/api/v1/tokens", headers=admin).json()["tokens"]
    assert {t["id"] for t in listed} == {*api.alpha.token_ids.values(), new["id"]}
    assert all("secret" not in t and t["revoked"] is None for t in listed)
    assert new["secret"] not in api.client.get("/api/v1/tokens", headers=admin).text

    revoked = api.client.delete(f"/api/v1/tokens/{new['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json() == {"id": new["id"], "revoked": True}
    # the very next request with the revoked token fails
    assert_error(api.client.get("/api/v1/whoami", headers=bearer), 401, "unauthenticated")
    after = {t["id"]: t for t in api.client.get("/api/v1/tokens", headers=admin).json()["tokens"]}
    assert after[new["id"]]["revoked"] is not None
    # revoking twice: nothing active any more
    assert_error(api.client.delete(f"/api/v1/tokens/{new['id']}", headers=admin), 404, "not_found")


def test_admin_revoking_its_own_token_locks_itself_out_at_once(api: Api) -> None:
    admin = api.bravo.auth(Role.ADMIN)
    assert api.client.delete(f"/api/v1/tokens/{api.bravo.token_ids[Role.ADMIN]}", headers=admin).status_code == 200
    assert_error(api.client.get("/api/v1/tokens", headers=admin), 401, "unauthenticated")
    assert api.get(api.bravo, "/whoami", Role.READER).status_code == 200


def test_non_admins_cannot_manage_tokens(api: Api) -> None:
    for role in (Role.READER, Role.ANALYST):
        headers = api.alpha.auth(role)
        assert_error(api.client.get("/api/v1/tokens", headers=headers), 403, "forbidden")
        assert_error(api.client.post("/api/v1/tokens", json={"role": "admin"}, headers=headers), 403, "forbidden")
        target = api.alpha.token_ids[Role.READER]
        assert_error(api.client.delete(f"/api/v1/tokens/{target}", headers=headers), 403, "forbidden")
    assert len(api.client.get("/api/v1/tokens", headers=api.alpha.auth(Role.ADMIN)).json()["tokens"]) == 3
    assert api.get(api.alpha, "/whoami", Role.READER).status_code == 200


def test_admin_cannot_see_or_revoke_another_members_tokens(api: Api) -> None:
    admin = api.alpha.auth(Role.ADMIN)
    listed = {t["id"] for t in api.client.get("/api/v1/tokens", headers=admin).json()["tokens"]}
    assert listed == set(api.alpha.token_ids.values())
    other = api.bravo.token_ids[Role.READER]
    assert_error(api.client.delete(f"/api/v1/tokens/{other}", headers=admin), 404, "not_found")
    assert api.get(api.bravo, "/whoami", Role.READER).status_code == 200


def test_token_request_is_validated(api: Api) -> None:
    admin = api.alpha.auth(Role.ADMIN)
    err = assert_error(api.client.post("/api/v1/tokens", json={"role": "superuser"}, headers=admin), 400)
    assert any(d.get("field", "").endswith("role") for d in err["details"])
    assert_error(api.client.post("/api/v1/tokens", content=b"{nope", headers={**admin, "Content-Type": "application/json"}), 400)
    assert len(api.client.get("/api/v1/tokens", headers=admin).json()["tokens"]) == 3
    default = api.client.post("/api/v1/tokens", json={}, headers=admin)
    assert default.status_code == 201 and default.json()["role"] == "reader"
