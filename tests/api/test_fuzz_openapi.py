"""Issue 10 item 5: schemathesis against the served OpenAPI description, in process, as an admin of a seeded hub.

Every operation of ``/api/v1/openapi.json`` (except the live stream, whose 200 never ends) gets positive and
negative cases, half of them with path parameters pinned to ids that exist (collections, objects, tokens,
statuses, analyses), and every built-in check of the schemathesis version (server errors, status codes,
content types, response schemas and headers, negative data rejected, credentials not ignored...). Then the
OpenAPI links (tokens, webhooks, analyses, shares, TAXII statuses and collections) drive a stateful run.

CI runs a small sample per operation (``PACTE_FUZZ_EXAMPLES``, default 4; stateful steps follow it); a long run
sets it to hundreds. Failures are collected per operation and check, then reported together.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.conftest import Api
from helpers import bundle, sdo
from pacte.api.analyses import AnalysisSettings
from pacte.policy import Role
from pacte.stream.settings import StreamSettings

EXAMPLES = int(os.environ.get("PACTE_FUZZ_EXAMPLES", "4"))
# Schema-valid data may be refused by design: STIX content (ids, patterns), opaque cursors and page positions,
# timestamps, webhook URLs and analysis inputs are validated beyond what a JSON schema says (400 naming the field).
EXCLUDED_CHECKS = [positive_data_acceptance]
# Checks that hold whatever the request: used when a negative case gets its credentials back (see _fuzz).
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
               response_headers_conformance]
SKIPPED = {("GET", "/api/v1/stream")}  # a successful stream never ends: its errors are tested in tests/stream
FUZZ_SETTINGS = dict(deadline=None, database=None, derandomize=EXAMPLES <= 10,
                     suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


def _seed(api: Api) -> dict[str, list[str]]:
    """Share objects, post over TAXII, make a token and an analysis; return known values per path parameter."""
    objects = [sdo("indicator", "fuzz-ind", 1), sdo("malware", "fuzz-mal", 1, is_family=True),
               sdo("threat-actor", "fuzz-actor", 2)]
    assert api.post(api.alpha, "community", bundle(*objects), Role.ADMIN).status_code == 200
    assert api.post(api.alpha, api.group.name, bundle(sdo("report", "fuzz-report", 1,
                                                           object_refs=[objects[0]["id"]])), Role.ADMIN).status_code == 200
    taxii = api.client.post(f"/taxii2/pacte/collections/{api.hub.community.uuid}/objects/",
                            json={"objects": [sdo("campaign", "fuzz-campaign", 1)]},
                            headers={**api.alpha.auth(Role.ADMIN), "Content-Type": "application/taxii+json;version=2.1"})
    assert taxii.status_code == 202, taxii.text
    analysis = api.client.post("/api/v1/analyses", json={"text": "APT28 used X-Agent against 198.51.100.7.",
                                                         "lang": "en"}, headers=api.alpha.auth(Role.ADMIN))
    assert analysis.status_code == 201, analysis.text
    colls = [api.hub.community.uuid, api.group.uuid, api.alpha.private(api.hub).uuid]
    ids = [o["id"] for o in objects]
    return {"collection": ["community", api.group.name, *colls], "collection_id": colls, "object_id": ids,
            "token_id": [api.alpha.token_ids[Role.READER]], "status_id": [taxii.json()["id"]],
            "analysis_id": [analysis.json()["id"]], "webhook_id": ["00000000-0000-4000-8000-000000000000"]}


@pytest.fixture
def fuzz_api(api: Api) -> tuple[Api, dict[str, list[str]]]:
    """The API fixture with analysis in process without NER, private webhooks allowed, and seeded data."""
    app = api.client.app
    app.state.analysis = AnalysisSettings(ner=False, cpu_seconds=0, wall_seconds=0)  # type: ignore[attr-defined]
    app.state.stream_settings = StreamSettings(webhook_allow_private=True, webhook_max_attempts=1)  # type: ignore[attr-defined]
    return api, _seed(api)


def _label(failure: Any, response: Any) -> str:
    head = f"{getattr(failure, 'title', type(failure).__name__)}: {str(getattr(failure, 'message', failure))[:400]}"
    if response is None:
        return head
    return f"{head}\n    -> {response.status_code} {response.text[:300]}"


def _authorised(api: Api) -> Any:
    """Load the served description with the admin token of Alpha as every case's credentials."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.client.app)
    secret = api.alpha.secrets[Role.ADMIN]

    @schema.auth()
    class Bearer:
        def get(self, case: Any, ctx: Any) -> str:
            return secret

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


def _fuzz(op: Any, known: dict[str, list[str]], secret: str, cases: Counter[str],
          statuses: Counter[int], failures: dict[str, set[str]]) -> None:
    """Run positive and negative cases of one operation (path parameters free or pinned), collecting failures."""
    names = [p.name for p in op.path_parameters]
    pinned = {n: st.sampled_from(known[n]) for n in names}

    @settings(max_examples=EXAMPLES, **FUZZ_SETTINGS)  # type: ignore[arg-type]
    @given(data=st.data(), mode=st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    def run(data: st.DataObject, mode: GenerationMode) -> None:
        fixed = data.draw(st.fixed_dictionaries(pinned), label="pinned") if names and data.draw(
            st.booleans(), label="pin path") else None
        case = data.draw(op.as_strategy(mode, path_parameters=fixed), label="case")
        # negative cases often spoil the Authorization header (the security scheme is a header): half of them
        # get valid credentials back, so that their spoiled parameters and bodies reach the handlers
        reauthorised = mode is GenerationMode.NEGATIVE and data.draw(st.booleans(), label="valid credentials")
        if reauthorised:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        cases[op.label] += 1
        response = None
        try:
            response = case.call()
            statuses[response.status_code] += 1
            if reauthorised:  # schemathesis still counts the header as spoiled: conformance checks only
                case.validate_response(response, checks=CONFORMANCE)
            else:
                case.validate_response(response, excluded_checks=EXCLUDED_CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup of the checks, or an error of the call itself
            found = getattr(exc, "exceptions", [exc])
            failures.setdefault(op.label, set()).update(_label(f, response) for f in found)

    run()


def test_every_operation_conforms_to_the_served_description(fuzz_api: tuple[Api, dict[str, list[str]]]) -> None:
    api, known = fuzz_api
    schema = _authorised(api)
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[str, set[str]] = {}
    operations = [r.ok() for r in schema.get_all_operations()]
    started = time.monotonic()
    for op in operations:
        if (op.method.upper(), op.path) not in SKIPPED:
            _fuzz(op, known, api.alpha.secrets[Role.ADMIN], cases, statuses, failures)
    elapsed = time.monotonic() - started
    print(f"\nschemathesis {schemathesis.SCHEMATHESIS_VERSION}: {len(cases)} operations, {sum(cases.values())} cases "
          f"in {elapsed:.1f} s; statuses {dict(sorted(statuses.items()))}; failures {sum(map(len, failures.values()))}")
    assert len(cases) == len(operations) - len(SKIPPED)
    assert statuses[200] and sum(n for s, n in statuses.items() if 400 <= s < 500)  # both sides were reached
    assert not failures, "\n".join(f"{op}:\n  " + "\n  ".join(sorted(f)) for op, f in failures.items())


def test_stateful_links_conform(fuzz_api: tuple[Api, dict[str, list[str]]]) -> None:
    api, _ = fuzz_api
    schema = _authorised(api)
    links = sum(len(r.get("links", {})) for item in schema.raw_schema["paths"].values()
                for op in item.values() for r in op.get("responses", {}).values())
    assert links >= 15
    steps: Counter[str] = Counter()

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            steps[case.operation.label] += 1

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED_CHECKS, transport_kwargs=kwargs or None)

    Machine.run(settings=settings(max_examples=max(2, EXAMPLES), stateful_step_count=6, **FUZZ_SETTINGS))  # type: ignore[arg-type]
    print(f"\nstateful: {sum(steps.values())} calls over {len(steps)} operations")
    assert sum(steps.values()) >= 2
