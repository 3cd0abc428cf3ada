"""Fetching by URL: loopback refused unless allowed, size capped, redirects re-checked (local server only)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pacte.analysis.fetch import fetch_url, resolve_public
from pacte.errors import Forbidden, InvalidInput, TooLarge

PAGE = b"<html><head><title>Note</title></head><body><p>C2 at hxxp://bad[.]top/a</p></body></html>"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/big":
            body = b"x" * 5000
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/page")
            self.end_headers()
            return
        else:
            body = PAGE
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_loopback_is_refused_by_default(server: str) -> None:
    with pytest.raises(Forbidden):
        fetch_url(server + "/page")


def test_loopback_allowed_when_the_operator_allows_it(server: str) -> None:
    fetched = fetch_url(server + "/redirect", allow_private=True, timeout=5)
    assert fetched.data == PAGE
    assert fetched.media_type == "text/html"
    assert fetched.url.endswith("/page")


def test_size_is_capped(server: str) -> None:
    with pytest.raises(TooLarge):
        fetch_url(server + "/big", allow_private=True, max_bytes=1000, timeout=5)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1"])
def test_private_and_link_local_addresses_are_refused(host: str) -> None:
    with pytest.raises(Forbidden):
        resolve_public(host, 80, allow_private=False)


def test_only_http_urls() -> None:
    with pytest.raises(InvalidInput):
        fetch_url("file:///etc/passwd")
