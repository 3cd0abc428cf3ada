"""``pacte analyse FILE``: analyse a report offline and print its draft STIX bundle or a review summary."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from pacte.errors import InvalidInput, PacteError

_ORDER = (
    "threat_actor", "intrusion_set", "malware", "tool", "campaign", "cve", "attack_technique", "ipv4", "ipv6",
    "domain", "url", "email", "md5", "sha1", "sha256", "crypto_wallet", "organization", "person", "location",
    "date",
)


def _summary(draft: object) -> str:
    """Render a draft as a human-readable review summary."""
    from pacte.analysis.pipeline import Draft

    assert isinstance(draft, Draft)
    lines = [
        f"title: {draft.title}",
        f"language: {draft.lang or 'unknown'}",
        f"text: {len(draft.text)} characters after cleaning ({len(draft.removed)} boilerplate lines removed)",
        f"bundle: {len(draft.bundle['objects'])} STIX objects, {len(draft.items)} items to review",
        "",
    ]
    kinds = sorted({i.kind for i in draft.items}, key=lambda k: _ORDER.index(k) if k in _ORDER else 99)
    for kind in kinds:
        items = draft.items_of(kind)
        lines.append(f"{kind} ({len(items)})")
        for item in items:
            known = " known" if item.known else ""
            extra = f" [{', '.join(f'{k}={v}' for k, v in item.detail.items() if k != 'sco_id')}]" if any(
                k != "sco_id" for k in item.detail) else ""
            lines.append(f"  {item.value}  confidence {item.confidence}{known}{extra}  "
                         f"({len(item.evidence)} mention{'s' if len(item.evidence) != 1 else ''})")
            start, end, snippet = item.evidence[0]
            lines.append(f"      @{start}-{end}: {snippet}")
        lines.append("")
    if draft.references:
        lines.append(f"references (not indicators): {len(draft.references)}")
        lines.extend(f"  {r}" for r in draft.references[:20])
    return "\n".join(lines).rstrip() + "\n"


@click.command("analyse")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", metavar="CODE", default=None, help="Language of the report (ISO 639-1); detected if absent.")
@click.option("--json", "as_json", is_flag=True, help="Print the draft STIX 2.1 bundle as JSON.")
@click.option("--no-ner", is_flag=True, help="Skip named-entity recognition (persons, organisations, places).")
@click.option("--knowledge", "knowledge_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="BUNDLE.json", help="STIX bundle of known actors, malware, tools (repeatable).")
@click.option("--now", "now_text", default=None, metavar="ISO8601", hidden=True,
              help="Timestamp to use instead of the current time (for reproducible output).")
def analyse_command(file: Path, lang: str | None, as_json: bool, no_ner: bool,
                    knowledge_paths: tuple[Path, ...], now_text: str | None) -> None:
    """Analyse a report (HTML, PDF, Markdown or text) offline into a draft STIX 2.1 bundle."""
    try:
        from pacte.analysis.knowledge import Knowledge
        from pacte.analysis.pipeline import analyse

        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {file}: {exc.strerror or exc}") from exc
        knowledge = None
        if knowledge_paths:
            objects: list[dict[str, object]] = []
            for path in knowledge_paths:
                objects.extend(_objects_of(path))
            knowledge = Knowledge.from_objects(objects)
        now = None
        if now_text:
            try:
                now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise InvalidInput(f"invalid --now timestamp {now_text!r}") from exc
        draft = analyse(data, filename=file.name, lang=lang, knowledge=knowledge, ner=not no_ner, now=now)
    except PacteError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        import json

        click.echo(json.dumps(draft.bundle, indent=2, ensure_ascii=False))
    else:
        click.echo(_summary(draft), nl=False)


def _objects_of(path: Path) -> list[dict[str, object]]:
    """Read the STIX objects of a knowledge bundle file."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read knowledge bundle {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"knowledge bundle {path} is not JSON: {exc}") from exc
    objects = data.get("objects") if isinstance(data, dict) else data
    if not isinstance(objects, list):
        raise InvalidInput(f"knowledge bundle {path} has no list of objects")
    return [o for o in objects if isinstance(o, dict)]
