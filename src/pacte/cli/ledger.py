"""``pacte ledger --as-org NAME``: a member's reciprocity ledger, exactly as the API shows it to that member."""

from __future__ import annotations

from typing import Any

import click
import orjson

from pacte.errors import PacteError


def _line(p: dict[str, Any]) -> str:
    """Return one period of the member's own figures as one line of text."""
    value = p["value"]
    read_by = value["read_by"]
    readers = "withheld" if read_by is None else f"{read_by['members']} members, {read_by.get('reads', 0)} reads"
    return (f"{p['period']}: contributed {p['contributed']['objects']} objects; consumed {p['consumed']['objects']}"
            f" ({p['consumed']['of_others']} of others); sightings given {p['sightings_given']['sightings']};"
            f" read by others: {readers}")


@click.command("ledger")
@click.option("--db", "db", envvar="PACTE_DB", default=None, metavar="URL",
              help="Database: an SQLite file path or a postgresql:// URL (env PACTE_DB).")
@click.option("--as-org", "org_name", required=True, help="Show exactly what this member sees of its ledger.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="month", show_default=True)
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="First day (default: this month's first).")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Last day, included (default: this month's last).")
@click.option("--json", "as_json", is_flag=True, help="Print the ledger as the API's JSON.")
def ledger_command(db: str | None, org_name: str, period: str, since: str | None, until: str | None,
                   as_json: bool) -> None:
    """Show a member's reciprocity ledger: what it contributed, consumed and gave back, and its value to others."""
    from pacte.cli.hubctx import hub_from
    from pacte.hub import members
    from pacte.ledger.periods import resolve
    from pacte.ledger.report import ledger

    try:
        hub = hub_from(db)
        org = members.require_org(hub.store, org_name)
        start, end = resolve(hub.clock.now().date(), since, until)
        data = ledger(hub.store, org.org_id, period, start, end)  # type: ignore[arg-type]
    except PacteError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(orjson.dumps(data).decode())
        return
    for p in data["member"]["periods"]:
        click.echo(_line(p))
