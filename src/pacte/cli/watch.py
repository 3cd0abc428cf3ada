"""``pacte watch``: print a hub's live events, resuming exactly where it left off after a dropped connection."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
import orjson

if TYPE_CHECKING:
    import httpx

_MAX_WAIT = 30.0
_RECONNECT_CODES = {"too_slow", "shutting_down"}


@dataclass
class SSEMessage:
    """One dispatched Server-Sent Event."""

    id: str | None
    event: str
    data: str


def read_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, SSEMessage | None]]:
    """Yield (last event id, message or None for an id-only block) per SSE block, as EventSource would."""
    last: str | None = None
    block_id: str | None = None
    data: list[str] = []
    event, any_field = "message", False
    for line in lines:
        if not line:
            if block_id is not None:
                last = block_id
            if data:
                yield last, SSEMessage(block_id, event, "\n".join(data))
            elif any_field:
                yield last, None
            block_id, event, data, any_field = None, "message", [], False
            continue
        if line.startswith(":"):
            continue
        any_field = True
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id" and "\0" not in value:
            block_id = value
        elif name == "event":
            event = value
        elif name == "data":
            data.append(value)


def describe(kind: str, data: dict[str, Any]) -> str:
    """Return the one-line human form of an event."""
    coll = (data.get("collection") or {}).get("name") or "-"
    head = f"{data.get('time', '')[:23]}Z {kind:<14}"  # the event id is opaque: in --json output only
    obj = data.get("object")
    if isinstance(obj, dict):
        name = obj.get("name") or obj.get("value") or obj.get("relationship_type") or ""
        refs = data.get("references")
        extra = f" (+{len(refs)} refs)" if isinstance(refs, list) and refs else ""
        return (f"{head} {obj.get('id')} {name!r} {data.get('tlp') or '-'} in {coll} by {data.get('producer')}"
                f"{extra}")
    return f"{head} collection {coll}"


@click.command("watch")
@click.option("--url", required=True, envvar="PACTE_URL", help="Base URL of the hub, e.g. https://hub.example.org.")
@click.option("--token", required=True, envvar="PACTE_TOKEN", help="API token (env PACTE_TOKEN).")
@click.option("--type", "types", multiple=True, help="STIX type to keep; repeat for several.")
@click.option("--producer", help="Keep objects of this member organisation only.")
@click.option("--collection", help="Keep events of this collection (id or name).")
@click.option("--tlp", "tlps", multiple=True, help="TLP level to keep (clear, green, amber, amber+strict, red).")
@click.option("--label", "labels", multiple=True, help="STIX label to keep; repeat for several.")
@click.option("--refs", is_flag=True, help="Also receive the readable objects each object refers to.")
@click.option("--json", "as_json", is_flag=True, help="Print each event as one line of JSON.")
@click.option("--last-event-id", default=None,
              help="Resume after this event id (an id this token's stream gave; 0 for the start of the log).")
@click.option("--count", type=int, default=None, help="Exit after this many events.")
def watch_command(url: str, token: str, types: tuple[str, ...], producer: str | None, collection: str | None,
                  tlps: tuple[str, ...], labels: tuple[str, ...], refs: bool, as_json: bool,
                  last_event_id: str | None, count: int | None) -> None:
    """Print the hub's live events; reconnect with Last-Event-ID so that nothing is lost or repeated."""
    params: list[tuple[str, str | int | float | bool | None]] = [("type", t) for t in types]
    params.extend(("tlp", t) for t in tlps)
    params.extend(("label", lb) for lb in labels)
    if producer:
        params.append(("producer", producer))
    if collection:
        params.append(("collection", collection))
    if refs:
        params.append(("refs", "true"))
    last = last_event_id
    seen = 0
    wait = 0.5
    endpoint = url.rstrip("/") + "/api/v1/stream"
    import httpx  # here, not at module level: every other pacte command starts faster without it

    with httpx.Client(timeout=httpx.Timeout(10.0, read=90.0), follow_redirects=False) as client:
        while True:
            headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = last
            try:
                with client.stream("GET", endpoint, params=tuple(params), headers=headers) as resp:
                    if resp.status_code != 200:
                        resp.read()
                        raise click.ClickException(_http_error(resp))
                    wait = 0.5
                    click.echo(f"# connected to {url}" + (f", resuming after event {last}" if last else ""), err=True)
                    for block_last, msg in read_sse(resp.iter_lines()):
                        if block_last is not None:
                            last = block_last
                        if msg is None:
                            continue
                        if msg.event == "error":
                            err = orjson.loads(msg.data)
                            if err.get("code") in _RECONNECT_CODES:
                                click.echo(f"# {err.get('message')}", err=True)
                                break
                            raise click.ClickException(f"{err.get('code')}: {err.get('message')}")
                        click.echo(msg.data if as_json else describe(msg.event, orjson.loads(msg.data)))
                        seen += 1
                        if count is not None and seen >= count:
                            return
            except httpx.HTTPError as exc:
                click.echo(f"# connection lost ({type(exc).__name__}); reconnecting in {wait:.1f} s"
                           + (f" after event {last}" if last else ""), err=True)
            except KeyboardInterrupt:
                sys.exit(130)
            time.sleep(wait)
            wait = min(wait * 2, _MAX_WAIT)


def _http_error(resp: httpx.Response) -> str:
    try:
        err = resp.json()["error"]
        details = "; ".join(d.get("reason", "") for d in err.get("details", []))
        return f"HTTP {resp.status_code} {err.get('code')}: {err.get('message')}" + (f" ({details})" if details else "")
    except (ValueError, KeyError, TypeError):
        return f"HTTP {resp.status_code}"
