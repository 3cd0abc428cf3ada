"""The one JSON error shape outside /taxii2, pinned (in the spirit of datasette's error tests).

Every error is exactly ``{"error": {"status", "code", "message", "details": [...]}}``; batch posts
that store nothing add their per-object report (``collection``, ``success_count``,
``failure_count``, ``results``) beside ``error``. Each detail is ``{"reason"[, "field"][, "id"]}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.conftest import Api
from helpers import TLP2, bundle, sdo, sid
from pacte import errors
from pacte.policy import Role

ERROR_KEYS = {"status", "code", "message", "details"}
BATCH_KEYS = {"error", "collection", "success_count", "failure_count", "results"}
RESULT_KEYS = {"index", "id", "version", "status", "reason", "field", "code"}
def _codes(cls: type[errors.PacteError]) -> set[str]:
    return {cls.code}.union(*(_codes(sub) for sub in cls.__subclasses__()))


CODES = _codes(errors.PacteError)  # every code of the one exception tree

Call = Callable[[Api], httpx.Response]
BAD = {**sdo("threat-actor", "bad"), "created": "not a date"}
RED = sdo("threat-actor", "red", markings=[TLP2["red"]])

CASES: list[tuple[str, int, str, bool, Call]] = [
    ("no-token", 401, "unauthenticated", False, lambda a: a.client.get("/api/v1/whoami")),
    ("bad-token", 401, "unauthenticated", False,
     lambda a: a.client.get("/api/v1/objects", headers={"Authorization": "Bearer nope"})),
    ("reader-posts", 403, "forbidden", False, lambda a: a.post(a.alpha, "community", bundle(sdo("tool", "t")),
                                                               Role.READER)),
    ("analyst-lists-tokens", 403, "forbidden", False, lambda a: a.get(a.alpha, "/tokens", Role.ANALYST)),
    ("unknown-object", 404, "not_found", False, lambda a: a.get(a.alpha, f"/objects/{sid('tool', 'none')}")),
    ("malformed-object-id", 404, "not_found", False, lambda a: a.get(a.alpha, "/objects/%20nonsense")),
    ("unknown-route", 404, "not_found", False, lambda a: a.get(a.alpha, "/nope")),
    ("unknown-collection", 404, "not_found", False, lambda a: a.post(a.alpha, "nope", bundle())),
    ("hidden-collection", 404, "not_found", False, lambda a: a.get(a.charlie, "/objects", collection="AB")),
    ("unknown-token", 404, "not_found", False,
     lambda a: a.client.delete("/api/v1/tokens/tok_nope", headers=a.alpha.auth(Role.ADMIN))),
    ("bad-cursor", 400, "invalid_input", False, lambda a: a.get(a.alpha, "/objects", cursor="%%%")),
    ("bad-limit", 400, "invalid_input", False, lambda a: a.get(a.alpha, "/objects", limit=-1)),
    ("bad-token-role", 400, "invalid_input", False,
     lambda a: a.client.post("/api/v1/tokens", json={"role": 3}, headers=a.alpha.auth(Role.ADMIN))),
    ("malformed-json", 400, "invalid_json", False, lambda a: a.post(a.alpha, "community", b'{"type": ')),
    ("not-a-bundle", 400, "invalid_stix", False, lambda a: a.post(a.alpha, "community", {"type": "report"})),
    ("too-deep", 400, "too_deep", False,
     lambda a: a.post(a.alpha, "community", {**bundle(), "x": [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]})),
    ("too-large", 413, "too_large", False,
     lambda a: a.post(a.alpha, "community", b" " * (a.hub.settings.max_body_bytes + 1))),
    ("batch-invalid", 400, "invalid_stix", True, lambda a: a.post(a.alpha, "community", bundle(BAD))),
    ("batch-refused", 403, "policy_refused", True, lambda a: a.post(a.alpha, "community", bundle(RED))),
    ("batch-mixed-failures", 400, "invalid_input", True, lambda a: a.post(a.alpha, "community", bundle(BAD, RED))),
    ("wrong-method", 405, "", False, lambda a: a.client.put("/api/v1/whoami", headers=a.alpha.auth())),
]


@pytest.mark.parametrize(("status", "code", "batch", "call"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_error_has_the_one_shape(api: Api, status: int, code: str, batch: bool, call: Call) -> None:
    resp = call(api)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    body: dict[str, Any] = resp.json()
    assert set(body) == (BATCH_KEYS if batch else {"error"})
    error = body["error"]
    assert set(error) == ERROR_KEYS
    assert error["status"] == status and type(error["status"]) is int
    assert error["code"] in CODES and (not code or error["code"] == code)
    assert isinstance(error["message"], str) and error["message"].strip()
    assert isinstance(error["details"], list)
    for detail in error["details"]:
        assert "reason" in detail and set(detail) <= {"reason", "field", "id"}
        assert all(isinstance(v, str) for v in detail.values())
    if batch:
        assert body["success_count"] == 0 and body["failure_count"] == len(body["results"]) >= 1
        assert [d["id"] for d in error["details"]] == [r["id"] for r in body["results"]]
        for r in body["results"]:
            assert set(r) == RESULT_KEYS and r["status"] == "failure"
    if status == 401:
        assert resp.headers["www-authenticate"].startswith("Bearer")


def test_a_client_error_never_has_the_internal_code(api: Api) -> None:
    resp = api.client.put("/api/v1/whoami", headers=api.alpha.auth())
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] != "internal"
