"""Report analysis routes: upload or paste a report, review its draft, publish the accepted items, or discard it.

Drafts belong to the caller's organisation and need an analyst or admin token. Analysis is
CPU-bound, so it runs in a worker process (``pacte.analysis.worker``) bounded in CPU and wall time, with
pages, decompressed PDF content and text bounded too, and so many analyses at once per member and per
server process (429 beyond). Fetching a report by URL is off unless the operator
sets ``PACTE_ANALYSIS_FETCH=1`` (see :class:`AnalysisSettings`; an app may also carry its own
settings in ``app.state.analysis``). The pipeline (extra ``pacte[analysis]``) is imported on first
use, so a hub installed without it still serves everything else.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pacte.api.forms import parse_form
from pacte.edge.auth import hub_of, principal
from pacte.edge.bodies import parse_json, read_body
from pacte.edge.params import json_response as _json
from pacte.errors import Detail, Forbidden, InvalidInput, TooLarge, UnprocessableEntity, UnsupportedMediaType
from pacte.hub import Hub, Principal
from pacte.store.drafts import STATUSES, AnalysisRecord, Decision

router = APIRouter(prefix="/api/v1", tags=["analyses"])

_DOCUMENT_TYPES = ("text/plain", "text/html", "application/xhtml+xml", "text/markdown", "text/x-markdown",
                   "application/pdf")
_FORM_OVERHEAD = 64 * 1024
_DECISIONS: dict[str, Decision] = {"accepted": True, "rejected": False, "undecided": None}
_NAMES = {True: "accepted", False: "rejected", None: "undecided"}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class AnalysisSettings:
    """What the operator decides about report analysis (``PACTE_ANALYSIS_*`` environment variables)."""

    fetch: bool = False  # accept {"url": ...}: off unless the operator allows it
    fetch_private: bool = False  # let fetching reach private, loopback and link-local addresses
    max_bytes: int = 20 * 1024 * 1024
    ner: bool = True
    max_pages: int = 500
    max_decompressed_bytes: int = 16 * 1024 * 1024
    max_text_bytes: int = 2 * 1024 * 1024
    cpu_seconds: float = 60  # with wall_seconds 0 as well: analyses run in the server process, unbounded in time
    wall_seconds: float = 120
    max_concurrent: int = 2
    max_concurrent_per_member: int = 2

    @classmethod
    def from_env(cls) -> AnalysisSettings:
        """Return the settings from the ``PACTE_ANALYSIS_*`` variables (README's configuration table)."""
        env = os.environ
        return cls(fetch=_flag("PACTE_ANALYSIS_FETCH", False),
                   fetch_private=_flag("PACTE_ANALYSIS_FETCH_PRIVATE", False),
                   max_bytes=int(env.get("PACTE_ANALYSIS_MAX_BYTES", cls.max_bytes)),
                   ner=_flag("PACTE_ANALYSIS_NER", True),
                   max_pages=int(env.get("PACTE_ANALYSIS_MAX_PAGES", cls.max_pages)),
                   max_decompressed_bytes=int(env.get("PACTE_ANALYSIS_MAX_DECOMPRESSED_BYTES",
                                                      cls.max_decompressed_bytes)),
                   max_text_bytes=int(env.get("PACTE_ANALYSIS_MAX_TEXT_BYTES", cls.max_text_bytes)),
                   cpu_seconds=float(env.get("PACTE_ANALYSIS_CPU_SECONDS", cls.cpu_seconds)),
                   wall_seconds=float(env.get("PACTE_ANALYSIS_WALL_SECONDS", cls.wall_seconds)),
                   max_concurrent=int(env.get("PACTE_ANALYSIS_MAX_CONCURRENT", cls.max_concurrent)),
                   max_concurrent_per_member=int(env.get("PACTE_ANALYSIS_MAX_CONCURRENT_PER_MEMBER",
                                                         cls.max_concurrent_per_member)))

    @property
    def in_worker(self) -> bool:
        """Tell whether analyses run in worker processes (bounded in time), not in the server process."""
        return self.cpu_seconds > 0 or self.wall_seconds > 0


def _review() -> ModuleType:
    """Return :mod:`pacte.analysis.review`, importing the pipeline on first use."""
    try:
        from pacte.analysis import review
    except ImportError as exc:
        raise UnprocessableEntity("report analysis is not installed on this hub", [Detail(
            reason=f"install the extra pacte[analysis] ({exc.name or exc} is missing)")]) from None
    return review


def analysis_settings(request: Request) -> AnalysisSettings:
    """Return the app's analysis settings (``app.state.analysis``, else the environment)."""
    settings = getattr(request.app.state, "analysis", None)
    if not isinstance(settings, AnalysisSettings):
        settings = AnalysisSettings.from_env()
        request.app.state.analysis = settings
    return settings


def admission(request: Request, settings: AnalysisSettings) -> Any:
    """Return the app's count of running analyses (``pacte.analysis.worker.Admission``) for these settings."""
    from pacte.analysis.worker import Admission

    held = getattr(request.app.state, "analysis_admission", None)
    if held is None or held[0] is not settings:
        held = (settings, Admission(settings.max_concurrent, settings.max_concurrent_per_member))
        request.app.state.analysis_admission = held
    return held[1]


def analyst(request: Request) -> Principal:
    """Authenticate the request and require an analyst or admin token."""
    p = principal(request)
    if not p.role.may_write:
        raise Forbidden(f"the {p.role.value} role cannot analyse reports; an analyst or admin token is needed")
    return p


Analyst = Annotated[Principal, Depends(analyst)]




def summary_view(rec: AnalysisRecord) -> dict[str, Any]:
    """Return an analysis without its text, items and bundle."""
    counts = {name: 0 for name in _NAMES.values()}
    for d in rec.decisions:
        counts[_NAMES[d]] += 1
    published = None
    if rec.published is not None:
        published = {"time": rec.published, "bundle_id": rec.bundle_id, "collection": rec.collection, "tlp": rec.tlp,
                     "result": rec.result}
    return {"id": rec.uuid, "status": rec.status, "title": rec.title, "lang": rec.lang, "source": rec.source,
            "created": rec.created, "updated": rec.updated, "item_count": rec.item_count, "decisions": counts,
            "published": published}


def full_view(rec: AnalysisRecord) -> dict[str, Any]:
    """Return an analysis with its text, items (each with its index and decision) and draft bundle."""
    draft = rec.draft or {}
    items = []
    for i, (item, decision) in enumerate(zip(draft.get("items") or [], rec.decisions, strict=True)):
        items.append({"index": i, "decision": _NAMES[decision], **item, "accepted": decision})
    return {**summary_view(rec), "text": draft.get("text"), "items": items, "references": draft.get("references", []),
            "removed": draft.get("removed", []), "bundle": draft.get("bundle")}


def _lang(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 20:
        raise InvalidInput("invalid language", [Detail(reason="a language code such as en, fr or pt-BR", field=field)])
    return value


def _check_size(data: bytes | str, limit: int, field: str) -> None:
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > limit:
        raise TooLarge(f"the report is {size} bytes, over the limit of {limit} bytes",
                       [Detail(reason=f"at most {limit} bytes", field=field)])


class _Input:
    """What to analyse, as gathered from the request."""

    def __init__(self, data: bytes | str | None = None, *, source: str, filename: str | None = None,
                 media_type: str | None = None, lang: str | None = None, url: str | None = None) -> None:
        self.data = data
        self.source = source
        self.filename = filename
        self.media_type = media_type
        self.lang = lang
        self.url = url


def _from_json(body: bytes) -> _Input:
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise InvalidInput("the body must be a JSON object", [Detail(reason='{"text": ..., "lang": ...}',
                                                                     field="body")])
    unknown = sorted(set(doc) - {"text", "lang", "url"})
    if unknown:
        raise InvalidInput("unknown fields", [Detail(reason="not a field of this request", field=f"body.{k}")
                                              for k in unknown])
    lang = _lang(doc.get("lang"), "body.lang")
    text, url = doc.get("text"), doc.get("url")
    if (text is None) == (url is None):
        raise InvalidInput("give the report's text or its URL", [Detail(reason="exactly one of text and url",
                                                                        field="body.text")])
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("empty report", [Detail(reason="a non-empty string", field="body.text")])
        return _Input(text, source="text", media_type="text/plain", lang=lang)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput("invalid URL", [Detail(reason="an http or https URL", field="body.url")])
    return _Input(source=url, lang=lang, url=url)


async def _from_form(body: bytes, content_type: str) -> _Input:
    parts = {p.name: p for p in await parse_form(body, content_type)}
    unknown = sorted(set(parts) - {"file", "text", "lang"})
    if unknown:
        raise InvalidInput("unknown form fields", [Detail(reason="not a field of this form", field=k) for k in unknown])
    lang = _lang(parts["lang"].text().strip() if "lang" in parts else None, "lang")
    if ("file" in parts) == ("text" in parts):
        raise InvalidInput("give a file or a text", [Detail(reason="exactly one of the fields file and text",
                                                            field="file")])
    if "text" in parts:
        return _Input(parts["text"].text(), source="text", media_type="text/plain", lang=lang)
    f = parts["file"]
    if not f.data.strip():
        raise InvalidInput("the file is empty", [Detail(reason="a non-empty HTML, PDF, text or Markdown file",
                                                        field="file")])
    media = f.media_type if f.media_type not in (None, "application/octet-stream") else None
    return _Input(f.data, source=f"file:{f.filename or 'upload'}", filename=f.filename, media_type=media, lang=lang)


_OPENAPI_UPLOAD: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary", "description": "HTML, PDF, text or Markdown report"},
        "text": {"type": "string", "description": "pasted text, instead of a file"},
        "lang": {"type": "string", "description": "language code; detected when absent"}}}},
    "application/json": {"schema": {"type": "object", "properties": {
        "text": {"type": "string"}, "lang": {"type": "string"},
        "url": {"type": "string", "description": "fetched only if the operator allows it"}}}},
    **{t: {"schema": {"type": "string", "format": "binary"}} for t in _DOCUMENT_TYPES},
}}}


@router.post("/analyses", status_code=201, summary="Analyse a report into a draft (analyst)",
             openapi_extra=_OPENAPI_UPLOAD)
async def create_analysis(request: Request, p: Analyst,
                          lang: Annotated[str | None, Query(max_length=20)] = None,
                          filename: Annotated[str | None, Query(max_length=255)] = None) -> Response:
    """Analyse an uploaded file, pasted text or (if allowed) a URL; the draft is private to your organisation."""
    hub = hub_of(request)
    settings = analysis_settings(request)
    limit = min(hub.settings.max_body_bytes, settings.max_bytes)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        body = await read_body(request, limit + _FORM_OVERHEAD)
        src = await _from_form(body, content_type)
        field = "file" if src.filename is not None or src.source != "text" else "text"
    elif media == "application/json":
        body = await read_body(request, limit + _FORM_OVERHEAD)
        src = _from_json(body)
        field = "body.text"
    elif media in _DOCUMENT_TYPES:
        body = await read_body(request, limit)
        if not body.strip():
            raise InvalidInput("the report is empty", [Detail(reason="a non-empty document", field="body")])
        src = _Input(body, source=f"file:{filename or 'upload'}", filename=filename, media_type=media,
                     lang=_lang(lang, "lang"))
        field = "body"
    else:
        raise UnsupportedMediaType(f"cannot analyse a body of type {media or 'none'!r}", [Detail(
            reason="multipart/form-data, application/json, or one of " + ", ".join(_DOCUMENT_TYPES),
            field="Content-Type")])
    if src.lang is None:
        src.lang = _lang(lang, "lang")
    _review()  # 422 if the pipeline is not installed, before admission
    with admission(request, settings).admit(p.org.org_id):
        rec = await _fetch_and_analyse(hub, p, src, settings, limit, field)
    return _json(full_view(rec), 201)


async def _fetch_and_analyse(hub: Hub, p: Principal, src: _Input, settings: AnalysisSettings, limit: int,
                             field: str) -> AnalysisRecord:
    """Fetch the report if it is a URL, then analyse it in a worker thread."""
    if src.url is not None:
        if not settings.fetch:
            raise Forbidden("this hub does not fetch reports by URL; upload the file or paste its text",
                            [Detail(reason="fetching is off (the operator sets PACTE_ANALYSIS_FETCH=1 to allow it)",
                                    field="body.url")])
        from pacte.analysis.fetch import fetch_url

        fetched = await run_in_threadpool(fetch_url, src.url, allow_private=settings.fetch_private,
                                          max_bytes=limit)
        src.data, src.media_type = fetched.data, fetched.media_type
        src.filename = fetched.url.rsplit("/", 1)[-1] or None
        field = "body.url"
    assert src.data is not None
    _check_size(src.data, limit, field)
    rec: AnalysisRecord = await run_in_threadpool(_analyse, hub, p, src, settings)
    return rec


def _analyse(hub: Hub, p: Principal, src: _Input, settings: AnalysisSettings) -> AnalysisRecord:
    """Analyse within the operator's bounds (in a worker process unless time is unbounded) and store the draft."""
    assert src.data is not None
    from pacte.analysis.inputs import InputLimits
    from pacte.analysis.worker import TimeLimits

    limits = InputLimits(settings.max_pages, settings.max_decompressed_bytes, settings.max_text_bytes)
    times = (TimeLimits(settings.cpu_seconds or math.inf, settings.wall_seconds or math.inf)
             if settings.in_worker else None)
    record: AnalysisRecord = _review().create_analysis(
        hub, p, src.data, source=src.source, filename=src.filename, media_type=src.media_type, lang=src.lang,
        ner=settings.ner, limits=limits, times=times, workers=settings.max_concurrent)
    return record


@router.get("/analyses", summary="Analyses of your organisation (analyst)")
def list_analyses(request: Request, p: Analyst,
                  status: Annotated[Literal["draft", "published", "discarded"] | None, Query()] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  after: Annotated[str | None, Query(max_length=100,
                                                     description="the last id of the previous page")] = None,
                  ) -> Response:
    """Return your organisation's analyses, newest first, without their text and bundle; page with ``after``."""
    assert status is None or status in STATUSES
    store = hub_of(request).store
    before: int | None = None
    if after is not None:
        last = store.analysis(after, p.org.org_id)
        if last is None:
            raise InvalidInput("unknown page position", [Detail(reason="the id of an analysis of a previous page",
                                                                field="after")])
        before = last.aid
    recs = store.analyses(p.org.org_id, status, limit + 1, before)
    page = recs[:limit]
    body: dict[str, Any] = {"more": len(recs) > limit, "analyses": [summary_view(r) for r in page]}
    if len(recs) > limit:
        body["next"] = page[-1].uuid
    return _json(body)


@router.get("/analyses/{analysis_id}", summary="One analysis with its items and draft bundle (analyst)")
def get_analysis(request: Request, p: Analyst, analysis_id: str) -> Response:
    """Return an analysis of your organisation; another member's looks exactly like a missing one."""
    return _json(full_view(_review().get_analysis(hub_of(request), p.org, analysis_id)))


class ItemDecision(BaseModel):
    """A decision on one item, named by its index in the draft or by its STIX id."""

    index: int | None = Field(default=None, ge=0)
    stix_id: str | None = Field(default=None, max_length=300)
    decision: Literal["accepted", "rejected", "undecided"]

    @model_validator(mode="after")
    def _one_key(self) -> ItemDecision:
        if (self.index is None) == (self.stix_id is None):
            raise ValueError("give exactly one of index and stix_id")
        return self


class DecisionsRequest(BaseModel):
    """Decisions on items of a draft."""

    items: list[ItemDecision] = Field(min_length=1, max_length=10_000)


@router.patch("/analyses/{analysis_id}/items", summary="Accept or reject items of a draft (analyst)")
def decide_items(request: Request, p: Analyst, analysis_id: str, body: DecisionsRequest) -> Response:
    """Record accepted / rejected / undecided for items (by index or STIX id); returns the analysis."""
    review = _review()
    choices = [review.Choice(_DECISIONS[d.decision], d.index, d.stix_id) for d in body.items]
    return _json(full_view(review.decide(hub_of(request), p.org, analysis_id, choices)))


class PublishRequest(BaseModel):
    """Where and how to publish the accepted items."""

    collection: str = Field(min_length=1, max_length=300, description="collection id or name")
    tlp: Literal["clear", "green", "amber", "amber+strict", "red"]


@router.post("/analyses/{analysis_id}/publish", summary="Publish the accepted items of a draft (analyst)")
async def publish_analysis(request: Request, p: Analyst, analysis_id: str, body: PublishRequest) -> Response:
    """Share the accepted items into a collection at a TLP through the normal write path; returns the bundle.

    200 when every object was stored; 207 when some were refused (listed in ``published.result.failures``).
    """
    hub = hub_of(request)
    view = await run_in_threadpool(_publish, hub, p, analysis_id, body)
    failures = int(((view.get("published") or {}).get("result") or {}).get("failure_count") or 0)
    return _json(view, 207 if failures else 200)


def _publish(hub: Hub, p: Principal, analysis_id: str, body: PublishRequest) -> dict[str, Any]:
    """Publish in a worker thread and return the response body."""
    done = _review().publish(hub, p, analysis_id, body.collection, body.tlp)
    return {**summary_view(done.record), "bundle": done.bundle}


@router.delete("/analyses/{analysis_id}", summary="Discard a draft (analyst)")
def discard_analysis(request: Request, p: Analyst, analysis_id: str) -> Response:
    """Discard a draft of your organisation; a published analysis cannot be discarded."""
    return _json(summary_view(_review().discard(hub_of(request), p.org, analysis_id)))
