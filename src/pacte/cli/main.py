"""``pacte``: serve the hub, manage members, tokens and groups, import and export intelligence."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from pacte import __version__
from pacte.cli.analyse import analyse_command
from pacte.cli.hubctx import hub_from
from pacte.cli.ledger import ledger_command
from pacte.cli.search import search_command
from pacte.cli.watch import watch_command
from pacte.errors import PacteError
from pacte.hub import members
from pacte.policy import Role

F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(func: F) -> F:
    """Turn Pacte errors into one line on standard error and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PacteError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)) from None

    return cast(F, wrapper)


db_option = click.option("--db", "db", envvar="PACTE_DB", default=None, metavar="URL",
                         help="Database: an SQLite file path or a postgresql:// URL (env PACTE_DB; default ./pacte.sqlite3).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pacte")
def cli() -> None:
    """Pacte: an open hub for sharing threat intelligence (STIX 2.1 / TAXII 2.1)."""


@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=8470, show_default=True, type=int, help="TCP port.")
@clear_errors
def serve(db: str | None, host: str, port: int) -> None:
    """Serve the native API and TAXII 2.1 over HTTP."""
    from pacte.cli.serving import run_server

    run_server(hub_from(db, host=host, port=port), host, port)


# organisations ---------------------------------------------------------------------------

@cli.group()
def org() -> None:
    """Manage member organisations."""


@org.command("add")
@db_option
@click.argument("name")
@click.option("--country", metavar="ISO2", help="ISO 3166-1 alpha-2 country code, e.g. FR.")
@click.option("--identity", metavar="IDENTITY_ID",
              help="The STIX identity the member already uses (identity--UUID); minted at random if omitted.")
@clear_errors
def org_add(db: str | None, name: str, country: str | None, identity: str | None) -> None:
    """Add a member organisation (with its STIX identity and private collection)."""
    hub = hub_from(db)
    o = members.add_org(hub.store, hub.ids, hub.clock, name, country, identity)
    click.echo(f"added {o.name} ({o.country or '-'}) identity {o.identity_id}")


@org.command("list")
@db_option
@clear_errors
def org_list(db: str | None) -> None:
    """List member organisations."""
    hub = hub_from(db)
    for o in hub.store.list_orgs():
        click.echo(f"{o.name}\t{o.country or '-'}\t{o.identity_id}")


# tokens ----------------------------------------------------------------------------------

@cli.group()
def token() -> None:
    """Manage API tokens (stored hashed; a secret is shown once)."""


@token.command("new")
@db_option
@click.option("--org", "org_name", required=True, help="Organisation the token acts for.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.READER.value, show_default=True)
@click.option("--label", help="Free text to recognise the token by.")
@clear_errors
def token_new(db: str | None, org_name: str, role: str, label: str | None) -> None:
    """Create a token; its secret is printed alone on the last line."""
    hub = hub_from(db)
    o = members.require_org(hub.store, org_name)
    t, secret = members.new_token(hub.store, hub.ids, hub.clock, o, Role(role), label)
    click.echo(f"token {t.token_id} for {o.name}, role {t.role.value}; the secret is shown once:")
    click.echo(secret)


@token.command("list")
@db_option
@click.option("--org", "org_name", help="Only this organisation's tokens.")
@clear_errors
def token_list(db: str | None, org_name: str | None) -> None:
    """List tokens (never their secrets)."""
    hub = hub_from(db)
    names = {o.org_id: o.name for o in hub.store.list_orgs()}
    org_id = members.require_org(hub.store, org_name).org_id if org_name else None
    for t in hub.store.list_tokens(org_id):
        state = f"revoked {t.revoked}" if t.revoked else "active"
        click.echo(f"{t.token_id}\t{names.get(t.org_id, '?')}\t{t.role.value}\t{state}\t{t.label or ''}")


@token.command("revoke")
@db_option
@click.argument("token_id")
@clear_errors
def token_revoke(db: str | None, token_id: str) -> None:
    """Revoke a token; it stops working on the very next request."""
    from pacte.errors import NotFound
    from pacte.stix.timestamps import format_dt

    hub = hub_from(db)
    if not hub.store.revoke_token(token_id, format_dt(hub.clock.now())):
        raise NotFound(f"no active token {token_id!r}")
    click.echo(f"revoked {token_id}")


# groups ----------------------------------------------------------------------------------

@cli.group()
def group() -> None:
    """Manage sharing groups (including two-member, bilateral ones)."""


@group.command("add")
@db_option
@click.argument("name")
@click.option("--member", "member_names", multiple=True, required=True, help="Member organisation (repeat).")
@click.option("--description", help="What the group is for.")
@clear_errors
def group_add(db: str | None, name: str, member_names: tuple[str, ...], description: str | None) -> None:
    """Create a sharing group with its members."""
    hub = hub_from(db)
    orgs = [members.require_org(hub.store, n) for n in member_names]
    coll = members.add_group(hub.store, hub.ids, hub.clock, name, orgs, description)
    click.echo(f"added group {coll.name} ({len(orgs)} members), collection {coll.uuid}")


@group.command("list")
@db_option
@clear_errors
def group_list(db: str | None) -> None:
    """List sharing groups and their members."""
    from pacte.policy import CollectionKind

    hub = hub_from(db)
    for coll in hub.store.list_collections():
        if coll.kind is CollectionKind.GROUP:
            view = members.group_view(hub.store, coll)
            click.echo(f"{coll.name}\t{coll.uuid}\t{', '.join(cast(list[str], view['members']))}")


@cli.group()
def collection() -> None:
    """Inspect collections and set their default marking."""


@collection.command("list")
@db_option
@clear_errors
def collection_list(db: str | None) -> None:
    """List live collections with their kind and default TLP."""
    from pacte.stix.markings import Tlp

    hub = hub_from(db)
    for coll in hub.store.list_collections():
        click.echo(f"{coll.name}\t{coll.kind.value}\t{Tlp(coll.default_tlp).label}\t{coll.uuid}")


@collection.command("default-tlp")
@db_option
@click.argument("name")
@click.argument("level", type=click.Choice(["clear", "green", "amber", "amber+strict", "red"], case_sensitive=False))
@clear_errors
def collection_default_tlp(db: str | None, name: str, level: str) -> None:
    """Set the marking that unmarked objects shared into a collection take (applies at once)."""
    from pacte.errors import NotFound
    from pacte.policy import check_default_tlp
    from pacte.stix.markings import Tlp

    hub = hub_from(db)
    coll = hub.store.collection_by_name(name) or hub.store.collection_by_uuid(name)
    if coll is None:
        raise NotFound(f"no collection {name!r}")
    tlp = Tlp.parse(level)
    check_default_tlp(coll.kind, tlp)
    hub.store.set_default_tlp(coll.cid, int(tlp))
    click.echo(f"{coll.name}: unmarked objects are now {tlp.label}")


@group.command("delete")
@db_option
@click.argument("name")
@clear_errors
def group_delete(db: str | None, name: str) -> None:
    """Delete a sharing group: what was shared only there becomes readable by its producer only."""
    hub = hub_from(db)
    coll = members.require_group(hub.store, name)
    hub.store.delete_collection(coll.cid)
    click.echo(f"deleted group {coll.name}")


@group.group("member")
def group_member() -> None:
    """Add or remove members of a sharing group."""


@group_member.command("add")
@db_option
@click.argument("group_name")
@click.argument("org_name")
@clear_errors
def group_member_add(db: str | None, group_name: str, org_name: str) -> None:
    """Add an organisation to a sharing group (effective on the next request)."""
    hub = hub_from(db)
    coll = members.require_group(hub.store, group_name)
    o = members.require_org(hub.store, org_name)
    added = hub.store.add_member(coll.cid, o.org_id)
    click.echo(f"{o.name} {'added to' if added else 'was already in'} {coll.name}")


@group_member.command("remove")
@db_option
@click.argument("group_name")
@click.argument("org_name")
@clear_errors
def group_member_remove(db: str | None, group_name: str, org_name: str) -> None:
    """Remove an organisation from a sharing group (effective on the next request)."""
    hub = hub_from(db)
    coll = members.require_group(hub.store, group_name)
    o = members.require_org(hub.store, org_name)
    removed = hub.store.remove_member(coll.cid, o.org_id)
    click.echo(f"{o.name} {'removed from' if removed else 'was not in'} {coll.name}")


# intelligence ----------------------------------------------------------------------------

@cli.command("import")
@db_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True, help="Member that shares the objects.")
@click.option("--collection", default="community", show_default=True, help="Collection (name or id).")
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 50_000), help="Objects per transaction.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@clear_errors
def import_(db: str | None, file: Path, org_name: str, collection: str, batch: int, quiet: bool) -> None:
    """Import a STIX 2.1 bundle as a member, into one of its collections."""
    from pacte.cli.transfer import import_bundle

    hub = hub_from(db)
    ok, failed = import_bundle(hub, file, org_name, collection, batch, progress=not quiet)
    click.echo(f"imported {ok} objects from {file.name}" + (f"; {failed} refused" if failed else ""))
    if failed:
        sys.exit(1)


@cli.command()
@db_option
@click.option("--as-org", "org_name", required=True, help="Export exactly what this member may read.")
@click.option("--type", "types", multiple=True, help="Only these STIX types (repeat).")
@click.option("--all-versions", is_flag=True, help="Every readable version, not only the latest.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default: stdout).")
@clear_errors
def export(db: str | None, org_name: str, types: tuple[str, ...], all_versions: bool, out: Path | None) -> None:
    """Write a STIX 2.1 bundle of what a member may read."""
    from pacte.cli.transfer import export_bundle

    hub = hub_from(db)
    o = members.require_org(hub.store, org_name)
    if out is None:
        n = export_bundle(hub, o, types, all_versions, sys.stdout.buffer)
    else:
        with out.open("wb") as fh:
            n = export_bundle(hub, o, types, all_versions, fh)
    click.echo(f"exported {n} objects for {o.name}", err=True)


@cli.command()
@click.option("--db", "db", default=None, metavar="PATH", help="Demo SQLite file (default ./pacte-demo/demo.sqlite3).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8470, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Create the demo hub and print its tokens, without serving.")
@clear_errors
def demo(db: str | None, host: str, port: int, no_serve: bool) -> None:
    """Create a demo hub with sample members and intelligence, print the tokens, and serve it."""
    from pacte.demo import build_demo

    path = Path(db) if db else Path("pacte-demo") / "demo.sqlite3"
    hub, tokens = build_demo(path, host, port)
    click.echo(f"Pacte demo hub at http://{host}:{port}/  (database {path})")
    click.echo(f"  native API  http://{host}:{port}/api/v1/docs")
    click.echo(f"  TAXII 2.1   http://{host}:{port}/taxii2/")
    click.echo("Tokens (send as 'Authorization: Bearer <token>'):")
    for name, role, secret in tokens:
        click.echo(f"  {name:<10} {role:<8} {secret}")
    if not no_serve:
        from pacte.cli.serving import run_server

        run_server(hub, host, port)


cli.add_command(watch_command)
cli.add_command(analyse_command)
cli.add_command(search_command)
cli.add_command(ledger_command)


def main() -> None:
    """Run the ``pacte`` command."""
    cli(prog_name="pacte")


if __name__ == "__main__":
    main()
