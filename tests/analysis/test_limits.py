"""Analysis costs are bounded: pages, decompressed PDF content, text size, CPU and wall time, concurrency."""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from pacte.analysis.inputs import InputLimits, read_document
from pacte.analysis.pipeline import analyse
from pacte.analysis.worker import Admission, Job, TimeLimits, pool
from pacte.errors import PacteError, TooLarge, TooManyRequests, UnprocessableEntity

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_pdf(pages: int, content: bytes) -> bytes:
    """Return a PDF whose pages all draw one Flate-compressed content stream (small file, large content)."""
    stream = zlib.compress(content, 9)
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
             b"/Contents 4 0 R >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


LINE = b"BT /F1 12 Tf 72 720 Td (APT28 used evil-domain.com) Tj ET\n"
# 21 KB on disk, 7 MB of page content: 10 s of CPU in pypdf alone before the bounds.
BOMB = make_pdf(1, b"BT /F1 12 Tf 72 720 Td (AAAA) Tj ET\n" * 200_000)
# 2 MB of HTML in 32-byte paragraphs: 4 to 6 s in trafilatura, 10 s in all before the bounds.
SLOW_HTML = "<html><body>" + "<p>APT28 used evil.com here.</p>" * 62_500 + "</body></html>"


def job(data: bytes | str, *, filename: str | None = None, media_type: str | None = None,
        limits: InputLimits | None = None) -> Job:
    """Return a job without named-entity recognition."""
    return Job(data, filename, media_type, None, False, NOW, limits or InputLimits())


def test_a_small_pdf_is_read_within_the_limits() -> None:
    doc = read_document(make_pdf(2, LINE), filename="r.pdf", limits=InputLimits())
    assert doc.text.count("APT28 used evil-domain.com") == 2


def test_too_many_pages_is_413_naming_the_limit() -> None:
    with pytest.raises(TooLarge) as exc:
        read_document(make_pdf(4, LINE), filename="r.pdf", limits=InputLimits(max_pages=3))
    assert exc.value.status == 413
    assert "page count is over the limit of 3 pages" in exc.value.message
    assert exc.value.details[0].field == "PACTE_ANALYSIS_MAX_PAGES" and "4 pages" in exc.value.details[0].reason


def test_page_content_over_the_decompressed_bound_is_413_before_parsing() -> None:
    bomb = make_pdf(200, b"BT /F1 12 Tf 72 720 Td (AAAA) Tj ET\n" * 100_000)  # 42 KB, 200 x 3.6 MB of content
    assert len(bomb) < 50_000
    start = time.process_time()
    with pytest.raises(TooLarge) as exc:
        read_document(bomb, filename="r.pdf", limits=InputLimits())
    assert time.process_time() - start < 2  # unbounded, this took over 30 minutes
    assert exc.value.details[0].field == "PACTE_ANALYSIS_MAX_DECOMPRESSED_BYTES"
    assert "16777216 bytes" in exc.value.message


def test_one_stream_over_the_decompressed_bound_is_413() -> None:
    zeros = make_pdf(1, b" " * 3_000_000)
    with pytest.raises(TooLarge) as exc:
        read_document(zeros, filename="r.pdf", limits=InputLimits(max_decompressed_bytes=1_000_000))
    assert exc.value.details[0].field == "PACTE_ANALYSIS_MAX_DECOMPRESSED_BYTES"
    assert "1000000 bytes" in exc.value.details[0].reason


@pytest.mark.parametrize(("data", "kw"), [
    ("APT28 " * 100, {"media_type": "text/plain"}),
    ("# T\n\n" + "APT28 " * 100, {"media_type": "text/markdown"}),
    ("<html><body><p>" + "APT28 " * 100 + "</p></body></html>", {"media_type": "text/html"}),
    (make_pdf(1, b"BT /F1 12 Tf 72 720 Td (" + b"APT28 " * 100 + b") Tj ET"), {"filename": "r.pdf"}),
])
def test_text_over_the_bound_is_413_whatever_the_format(data: bytes | str, kw: dict[str, str]) -> None:
    with pytest.raises(TooLarge) as exc:
        read_document(data, limits=InputLimits(max_text_bytes=500), **kw)
    assert exc.value.details[0].field == "PACTE_ANALYSIS_MAX_TEXT_BYTES"
    assert "limit of 500 bytes" in exc.value.message
    assert read_document(data, limits=InputLimits(max_text_bytes=5000), **kw).text.startswith(("APT28", "T"))


def test_one_long_line_of_indicators_is_no_longer_quadratic() -> None:
    text = "APT28 evil.com 1.2.3.4 " * 3000  # 69 KB on one line: 25 s before (two scans back to the line start)
    start = time.process_time()
    draft = analyse(text, media_type="text/plain", ner=False, now=NOW)
    assert time.process_time() - start < 6
    assert {i.kind for i in draft.items} >= {"domain", "ipv4"}


@pytest.mark.parametrize("unit", ["ab.cd-", "APT28 ", "\t"], ids=["host-chain", "names-sentence", "tabs"])
def test_crafted_runs_are_linear(unit: str) -> None:
    """50 kB runs that cost 32 s, 19 s and 4 s before (a domain chain tried from every label, name pairs in one
    sentence, a trailing-whitespace regex over a run of tabs)."""
    text = "start " + unit * (50_000 // len(unit)) + " end"
    start = time.process_time()
    analyse(text, media_type="text/plain", ner=False, now=NOW)
    assert time.process_time() - start < 3


def test_a_worker_analyses_and_keeps_the_knowledge_it_was_sent() -> None:
    from pacte.analysis.knowledge import Knowledge

    knowledge = Knowledge.from_objects([{"type": "intrusion-set", "id": "intrusion-set--" + "1" * 8 + "-1111-4111"
                                         "-8111-" + "1" * 12, "name": "Fancy Otter", "spec_version": "2.1"}])
    report = job("Fancy Otter used evil-domain[.]com and 45.77.12.9 in May.", media_type="text/plain")
    first = pool().run(report, knowledge, TimeLimits(30, 60))
    start = time.monotonic()
    second = pool().run(report, knowledge, TimeLimits(30, 60))
    assert time.monotonic() - start < 2  # a warm worker: no start, no model or knowledge reload
    assert first == second
    assert {(i["kind"], i["known"]) for i in first["items"]} >= {("threat_actor", True), ("domain", False)}


def test_an_input_error_in_a_worker_keeps_its_class_and_details() -> None:
    with pytest.raises(TooLarge) as exc:
        pool().run(job(make_pdf(4, LINE), filename="r.pdf", limits=InputLimits(max_pages=3)), None, TimeLimits(30, 60))
    assert exc.value.details[0].field == "PACTE_ANALYSIS_MAX_PAGES"


@pytest.mark.parametrize(("data", "kw"), [(BOMB, {"filename": "bomb.pdf"}), (SLOW_HTML, {"media_type": "text/html"})],
                         ids=["pdf-bomb", "slow-html"])
def test_over_the_cpu_budget_is_422_within_the_bound(data: bytes | str, kw: dict[str, Any]) -> None:
    start = time.monotonic()
    with pytest.raises(UnprocessableEntity) as exc:
        pool().run(job(data, **kw), None, TimeLimits(cpu_seconds=1, wall_seconds=30))
    elapsed = time.monotonic() - start
    assert elapsed < 1 + 4, elapsed  # the CPU budget (whole seconds) plus a margin for a loaded machine
    assert exc.value.status == 422
    assert exc.value.details[0].field == "PACTE_ANALYSIS_CPU_SECONDS"
    assert "limit of 1 CPU seconds" in exc.value.message


def test_over_the_wall_budget_the_worker_is_killed_and_the_pool_goes_on() -> None:
    start = time.monotonic()
    with pytest.raises(UnprocessableEntity) as exc:
        pool().run(job(BOMB, filename="bomb.pdf"), None, TimeLimits(cpu_seconds=60, wall_seconds=0.5))
    assert time.monotonic() - start < 0.5 + 2
    assert exc.value.details[0].field == "PACTE_ANALYSIS_WALL_SECONDS"
    assert "limit of 0.5 seconds" in exc.value.message
    draft = pool().run(job("APT28 used 45.77.12.9.", media_type="text/plain"), None, TimeLimits(30, 60))
    assert [i["value"] for i in draft["items"] if i["kind"] == "ipv4"] == ["45.77.12.9"]


def test_a_bug_in_a_worker_is_an_internal_error_and_the_worker_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(PacteError) as exc:
        pool().run(job(12345, media_type="text/plain"), None, TimeLimits(30, 60))  # type: ignore[arg-type]
    assert exc.value.status == 500 and exc.value.message == "internal error"  # no detail leaks to the client
    assert "TypeError" in caplog.text  # the operator's log has it
    draft = pool().run(job("APT28 used 45.77.12.9.", media_type="text/plain"), None, TimeLimits(30, 60))
    assert draft["items"]


def test_admission_per_member_then_per_hub() -> None:
    gate = Admission(max_concurrent=2, per_member=1, retry_after=7)
    with gate.admit("alpha"):
        with pytest.raises(TooManyRequests) as exc, gate.admit("alpha"):
            pass
        assert exc.value.status == 429 and exc.value.retry_after == 7
        assert exc.value.details[0].field == "PACTE_ANALYSIS_MAX_CONCURRENT_PER_MEMBER"
        assert "the limit is 1" in exc.value.message
        with gate.admit("bravo"):
            with pytest.raises(TooManyRequests) as exc, gate.admit("charlie"):
                pass
            assert exc.value.details[0].field == "PACTE_ANALYSIS_MAX_CONCURRENT"
            assert "the limit is 2" in exc.value.message
    with gate.admit("alpha"), gate.admit("charlie"):
        pass  # every slot was given back


def test_a_failed_analysis_gives_its_slot_back() -> None:
    gate = Admission(max_concurrent=1, per_member=1)
    with pytest.raises(PacteError), gate.admit("alpha"):
        raise PacteError("analysis failed")
    with gate.admit("alpha"):
        pass
