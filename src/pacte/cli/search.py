"""``pacte search VALUE --as-org NAME``: the objects a member may read that hold a value or a linked one."""

from __future__ import annotations

import click
import orjson

from pacte.correlate.links import Filters
from pacte.errors import PacteError


@click.command("search")
@click.argument("value")
@click.option("--db", "db", envvar="PACTE_DB", default=None, metavar="URL",
              help="Database: an SQLite file path or a postgresql:// URL (env PACTE_DB).")
@click.option("--as-org", "org_name", required=True, help="Search exactly what this member may read.")
@click.option("--type", "types", multiple=True, help="Only these STIX types (repeat).")
@click.option("--min-score", type=click.IntRange(0, 100), default=None, help="Only indicators scoring at least this.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (one object per line).")
def search_command(value: str, db: str | None, org_name: str, types: tuple[str, ...], min_score: int | None,
                   as_json: bool) -> None:
    """Find the objects a member may read that hold VALUE (IP, network, domain, URL, e-mail, hash) or a linked one."""
    from pacte.cli.hubctx import hub_from
    from pacte.hub import members

    try:
        hub = hub_from(db)
        org = members.require_org(hub.store, org_name)
        hits, links = hub.search(org, value, Filters(types=types), min_score=min_score)
    except PacteError as exc:
        raise click.ClickException(str(exc)) from None
    for hit in hits:
        if as_json:
            click.echo(orjson.dumps(hit.as_dict()).decode())
            continue
        why = "; ".join(f"{m.reason} {m.matched}" for m in hit.matches)
        score = f" score {hit.score}" if hit.score is not None else ""
        click.echo(f"{hit.id}{score}  ({why})")
    for noisy in links.noisy:
        click.echo(f"noisy: {noisy.value} ({noisy.reason}) matches more than {noisy.limit} objects; not expanded",
                   err=True)
    click.echo(f"{len(hits)} objects for {org.name}", err=True)
