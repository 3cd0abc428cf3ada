"""Fetching a report by URL, guarded: public addresses only (unless allowed), size and time capped."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from pacte.errors import Forbidden, InvalidInput, TooLarge, UnprocessableEntity

MAX_FETCH_BYTES = 10 * 1024 * 1024
FETCH_SECONDS = 20.0
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Fetched:
    """A fetched document: its bytes, declared media type and the URL it finally came from."""

    data: bytes
    media_type: str | None
    url: str


def _allowed_address(ip: str, allow_private: bool) -> bool:
    """Tell whether the fetcher may connect to an address."""
    addr = ipaddress.ip_address(ip)
    if allow_private:
        return not addr.is_multicast and not addr.is_unspecified
    return addr.is_global and not addr.is_multicast


def resolve_public(host: str, port: int, allow_private: bool) -> str:
    """Resolve a host and return one address the fetcher may use, refusing private and local ones."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnprocessableEntity(f"cannot resolve {host}: {exc.strerror}") from exc
    addresses = [str(info[4][0]) for info in infos]
    refused = [a for a in addresses if not _allowed_address(a, allow_private)]
    if refused or not addresses:
        # Any refused address refuses the host: a name that also points inward is not fetched.
        raise Forbidden(f"{host} resolves to an address the hub does not fetch from ({refused[0] if refused else '-'})")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (no second DNS look-up)."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        """Connect to the pinned address."""
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to an address checked beforehand, verifying the certificate for the host name."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        """Connect to the pinned address and start TLS for the host name."""
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch_url(url: str, *, allow_private: bool = False, max_bytes: int = MAX_FETCH_BYTES,
              timeout: float = FETCH_SECONDS) -> Fetched:
    """Fetch a report over HTTP(S), refusing non-public addresses unless allowed, with size and time caps."""
    deadline = time.monotonic() + timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"only http and https URLs can be fetched, not {current!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ip = resolve_public(parts.hostname, port, allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise UnprocessableEntity(f"fetching {url} took longer than {timeout:g} s")
        conn_type = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        conn = conn_type(parts.hostname, ip, port, remaining)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", path, headers={"User-Agent": "pacte-analysis/1", "Accept": "*/*"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise UnprocessableEntity(f"{current} redirects without a Location")
                current = urljoin(current, location)
                continue
            if response.status != 200:
                raise UnprocessableEntity(f"{current} answered HTTP {response.status}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"{current} is {declared} bytes, over the {max_bytes} byte limit")
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise UnprocessableEntity(f"fetching {url} took longer than {timeout:g} s")
                chunk = response.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"{current} is over the {max_bytes} byte limit")
                chunks.append(chunk)
            media_type = response.getheader("Content-Type")
            return Fetched(b"".join(chunks), media_type.split(";")[0].strip() if media_type else None, current)
        except (OSError, http.client.HTTPException) as exc:
            raise UnprocessableEntity(f"cannot fetch {current}: {exc}") from exc
        finally:
            conn.close()
    raise UnprocessableEntity(f"{url} redirects more than {MAX_REDIRECTS} times")
