"""Score the report-analysis pipeline on labelled reports, and measure its speed and memory.

Usage:  .venv/bin/python bench/analysis.py [--no-ner] [--speed-seconds 20] [--json OUT.json]

Corpora: ../shared/data/reports-dev/ (beside the clone), corpus/analysis/, corpus/analysis-holdout/ and
corpus/analysis-blind/ (in the repository). The holdout was labelled apart and scored blind once; its errors
were then used for tuning, so it is development data now. The blind set is labelled apart and its errors are
never printed: nobody tunes on it.
Knowledge: ATT&CK Enterprise from ../shared/data/attack-enterprise.json plus, when pymispgalaxies is
installed, the MISP galaxy threat-actor, Malpedia, Tidal software, tool, RAT, ransomware, stealer, backdoor and
botnet clusters turned into intrusion-set, malware and tool objects, which is the kind of knowledge a hub holds
once it has imported them.
Speed runs on one core (the process is pinned to CPU 0 and numeric libraries get one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pacte.analysis import Knowledge, analyse
from pacte.analysis.knowledge import is_common_word
from pacte.analysis.observables import IOC_KINDS
from pacte.analysis.pipeline import Draft

REPO = Path(__file__).resolve().parents[1]

SHARED = REPO.parent / "shared" / "data"
# "blind" is labelled by someone who does not tune the rules, and is never used to tune them ("holdout" was,
# until its first blind score; see the docstring).
CORPORA = {"reports-dev": SHARED / "reports-dev", "corpus": REPO / "corpus" / "analysis",
           "holdout": REPO / "corpus" / "analysis-holdout", "blind": REPO / "corpus" / "analysis-blind"}
BLIND = frozenset({"blind"})
POOLED = ("corpus", "holdout", "blind")  # the labelled corpus the project builds itself, scored also as one
ENTITY_KINDS = ("threat_actor", "malware", "organization", "location", "person")
# How the pipeline's item kinds are scored against the label kinds (tools are scored as malware).
KIND_OF_ITEM = {"threat_actor": "threat_actor", "malware": "malware", "tool": "malware",
                "organization": "organization", "location": "location", "person": "person"}


# MISP galaxy clusters a hub would have imported, and the STIX type each becomes (tidal-software says per entry
# whether it is a tool or malware).
GALAXY_CLUSTERS = (
    ("threat-actor", "intrusion-set"), ("malpedia", "malware"), ("tidal-software", "malware"), ("tool", "tool"),
    ("rat", "malware"), ("ransomware", "malware"), ("stealer", "malware"), ("backdoor", "malware"),
    ("botnet", "malware"),
)

# Clusters curated name by name; in the others (ransomware in particular, named after words of ransom notes)
# single ordinary words ("First", "Desktop") are left out.
CURATED_CLUSTERS = ("threat-actor", "malpedia", "tidal-software")
# Tidal's software list also holds system binaries (from LOLBAS), languages and legitimate products (PowerShell,
# Teams, 7-Zip); a hub imports the offensive software: Tidal's malware, ATT&CK's entries and attack tools.
_OFFENSIVE = re.compile(r"post-exploitation|payload|command and control|\bC2\b|red team|penetration test|offensive|"
                        r"attack framework|exploit|credential|backdoor|remote access trojan", re.I)


def _offensive_software(value: dict[str, Any]) -> bool:
    """Tell whether a Tidal software entry is malware, an ATT&CK entry or an attack tool (not a LOLBAS binary)."""
    meta = value.get("meta") or {}
    description = str(value.get("description") or "")
    if meta.get("source") == "MITRE" or meta.get("type") == ["malware"]:
        return True
    return "LOLBAS" not in description and bool(_OFFENSIVE.search(description[:400]))


def _galaxy_objects() -> list[dict[str, Any]]:
    """MISP galaxy actors, Malpedia families and the software clusters as intrusion-set, malware and tool objects."""
    try:
        import pymispgalaxies
    except ImportError:
        return []
    base = Path(pymispgalaxies.__file__).parent / "data" / "misp-galaxy" / "clusters"
    out: list[dict[str, Any]] = []
    for name, default_type in GALAXY_CLUSTERS:
        path = base / f"{name}.json"
        if not path.is_file():
            continue
        for value in json.loads(path.read_text(encoding="utf-8")).get("values", []):
            meta = value.get("meta") or {}
            declared = meta.get("type") if isinstance(meta.get("type"), list) else []
            stix_type = "tool" if default_type == "tool" or declared == ["tool"] else default_type
            if name == "tidal-software" and not _offensive_software(value):
                continue
            names = [value["value"], *(meta.get("synonyms") or [])]
            if name == "ransomware" and names[0].endswith(" Ransomware"):
                names.insert(0, names[0].removesuffix(" Ransomware"))  # "GoldenEye Ransomware" is GoldenEye
            if name not in CURATED_CLUSTERS:
                names = [n for n in names if " " in n or not is_common_word(n)]
                if not names:
                    continue
            obj: dict[str, Any] = {"type": stix_type, "id": f"{stix_type}--{value['uuid']}", "name": names[0],
                                   "aliases": names[1:]}
            if stix_type == "malware":
                obj["is_family"] = True
            out.append(obj)
    return out


def build_knowledge() -> tuple[Knowledge, str]:
    """Build the knowledge base used for scoring and say where it came from."""
    objects: list[dict[str, Any]] = []
    sources = []
    attack = SHARED / "attack-enterprise.json"
    if attack.is_file():
        objects.extend(json.loads(attack.read_text(encoding="utf-8"))["objects"])
        sources.append("ATT&CK Enterprise")
    galaxy = _galaxy_objects()
    if galaxy:
        objects.extend(galaxy)
        sources.append(f"MISP galaxy ({len(galaxy)} clusters)")
    return Knowledge.from_objects(objects), " + ".join(sources) or "none"


def _reports(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.suffix in (".txt", ".adoc", ".md", ".html")
                  and p.with_suffix(".expected.json").is_file()) if corpus.is_dir() else []


def _names(item_value: str, name: str | None, surfaces: list[str]) -> set[str]:
    return {n.casefold() for n in (item_value, name or "", *surfaces) if n}


class Scores:
    """True positives, false positives and false negatives per category, with the misses kept for display."""

    def __init__(self) -> None:
        self.tp: dict[str, int] = defaultdict(int)
        self.fp: dict[str, int] = defaultdict(int)
        self.fn: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []

    def add(self, kind: str, tp: int, fp: list[str], fn: list[str], where: str) -> None:
        """Count one category's outcome for one report."""
        self.tp[kind] += tp
        self.fp[kind] += len(fp)
        self.fn[kind] += len(fn)
        self.errors.extend(f"{where} {kind} FP {v}" for v in fp)
        self.errors.extend(f"{where} {kind} FN {v}" for v in fn)

    def prf(self, kinds: tuple[str, ...]) -> tuple[float, float, float, int, int, int]:
        """Return precision, recall, F1 and the counts over some categories."""
        tp = sum(self.tp[k] for k in kinds)
        fp = sum(self.fp[k] for k in kinds)
        fn = sum(self.fn[k] for k in kinds)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f, tp, fp, fn


def score_report(path: Path, draft: Draft, iocs: Scores, ents: Scores) -> list[str]:
    """Score one draft against its labels; return the boilerplate samples that survived cleaning."""
    labels = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    where = path.stem[:28]
    for kind in IOC_KINDS:
        want = set(labels["iocs"].get(kind, []))
        optional = set((labels.get("optional_iocs") or {}).get(kind, []))
        got = {i.value for i in draft.items if i.kind == kind}
        iocs.add(kind, len(want & got), sorted(got - want - optional), sorted(want - got), where)
    for kind in ENTITY_KINDS:
        want = {w.casefold(): w for w in labels["entities"].get(kind, [])}
        optional = {w.casefold() for w in (labels.get("optional_entities") or {}).get(kind, [])}
        found: set[str] = set()
        fps: list[str] = []
        for item in draft.items:
            if KIND_OF_ITEM.get(item.kind) != kind:
                continue
            names = _names(item.value, item.name, item.surfaces)
            hit = names & set(want)
            if hit:
                found |= hit
            elif not names & optional:
                fps.append(item.value)
        ents.add(kind, len(found), fps, sorted(want[k] for k in set(want) - found), where)
    return [s for s in labels.get("boilerplate_samples") or [] if s in draft.text.split("\n") or
            (len(s) > 12 and s in draft.text)]


_IOC_FINDER_KEYS = {
    "ipv4s": "ipv4", "ipv6s": "ipv6", "domains": "domain", "urls": "url", "email_addresses": "email",
    "md5s": "md5", "sha1s": "sha1", "sha256s": "sha256", "cves": "cve", "bitcoin_addresses": "crypto_wallet",
    "monero_addresses": "crypto_wallet", "ethereum_addresses": "crypto_wallet",
}


def ioc_finder_baseline(paths: list[Path]) -> Scores | None:
    """Score the ioc-finder library alone (no Pacte rules) on the same labels, for comparison."""
    try:
        from ioc_finder import find_iocs
    except ImportError:
        return None
    scores = Scores()
    for path in paths:
        labels = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
        found = find_iocs(path.read_text(encoding="utf-8"))
        got: dict[str, set[str]] = defaultdict(set)
        for key, kind in _IOC_FINDER_KEYS.items():
            values = found.get(key) or []
            got[kind] |= {v.upper() if kind == "cve" else v for v in values}
        techniques = found.get("attack_techniques") or {}
        for values in (techniques.values() if isinstance(techniques, dict) else [techniques]):
            got["attack_technique"] |= set(values)
        for kind in IOC_KINDS:
            want = set(labels["iocs"].get(kind, []))
            optional = set((labels.get("optional_iocs") or {}).get(kind, []))
            scores.add(kind, len(want & got[kind]), sorted(got[kind] - want - optional), sorted(want - got[kind]),
                       path.stem[:28])
    return scores


def _ten_kb_texts(paths: list[Path]) -> list[str]:
    """Make ~10 kB report texts by joining labelled texts (each text starts a new 10 kB sample in turn)."""
    bodies = [p.read_text(encoding="utf-8") for p in paths]
    out = []
    for i in range(len(bodies)):
        text = ""
        j = i
        while len(text) < 10_000:
            text += bodies[j % len(bodies)] + "\n\n"
            j += 1
        out.append(text[:10_240])
    return out


def throughput(texts: list[str], knowledge: Knowledge, ner: bool, seconds: float) -> float:
    """Return reports per second analysing 10 kB texts on this core for about `seconds` seconds."""
    analyse(texts[0], knowledge=knowledge, ner=ner)  # warm-up: models and lists load once per process
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        analyse(texts[done % len(texts)], knowledge=knowledge, ner=ner)
        done += 1
    return done / (time.perf_counter() - start)


def _pct(x: float) -> str:
    return f"{x:5.3f}"


def main() -> int:
    """Run the benchmark and print its report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-ner", action="store_true", help="score without named-entity recognition")
    parser.add_argument("--speed-seconds", type=float, default=15.0, help="seconds per throughput run")
    parser.add_argument("--errors", action="store_true", help="list every false positive and negative")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--baseline", action="store_true", help="also score ioc-finder alone, if installed")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # set before spaCy (and numpy) load, which happens lazily
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    t0 = time.perf_counter()
    knowledge, source = build_knowledge()
    print(f"knowledge: {source}: {len(knowledge)} names, built in {time.perf_counter() - t0:.1f} s")
    results: dict[str, Any] = {"knowledge": source}
    all_paths: list[Path] = []
    pooled_iocs, pooled_ents, pooled_sets = Scores(), Scores(), []
    for corpus_name, corpus in CORPORA.items():
        paths = _reports(corpus)
        if not paths:
            print(f"\n== {corpus_name}: not found at {corpus}, skipped")
            continue
        all_paths.extend(paths)
        iocs, ents = Scores(), Scores()
        if corpus_name in POOLED:
            pooled_sets.append(corpus_name)
        survived: list[str] = []
        langs_ok = 0
        for path in paths:
            labels = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
            draft = analyse(path.read_bytes(), filename=path.name, knowledge=knowledge, ner=not args.no_ner)
            langs_ok += draft.lang == labels.get("language")
            survived.extend(f"{path.stem[:28]}: {s}" for s in score_report(path, draft, iocs, ents))
            if corpus_name in POOLED:
                score_report(path, draft, pooled_iocs, pooled_ents)
        print(f"\n== {corpus_name}: {len(paths)} reports, language right on {langs_ok}/{len(paths)}")
        print(f"{'IOC type':<18}{'P':>7}{'R':>7}{'F1':>7}{'TP':>5}{'FP':>5}{'FN':>5}")
        for kind in IOC_KINDS:
            p, r, f, tp, fp, fn = iocs.prf((kind,))
            if tp + fp + fn:
                print(f"{kind:<18}{_pct(p):>7}{_pct(r):>7}{_pct(f):>7}{tp:>5}{fp:>5}{fn:>5}")
        p, r, f, tp, fp, fn = iocs.prf(IOC_KINDS)
        print(f"{'all IOCs':<18}{_pct(p):>7}{_pct(r):>7}{_pct(f):>7}{tp:>5}{fp:>5}{fn:>5}")
        print(f"{'entity type':<18}{'P':>7}{'R':>7}{'F1':>7}{'TP':>5}{'FP':>5}{'FN':>5}")
        for kind in ENTITY_KINDS:
            p, r, f, tp, fp, fn = ents.prf((kind,))
            print(f"{kind:<18}{_pct(p):>7}{_pct(r):>7}{_pct(f):>7}{tp:>5}{fp:>5}{fn:>5}")
        actor_malware = ents.prf(("threat_actor", "malware"))
        pol = ents.prf(("person", "organization", "location"))
        print(f"{'actor+malware':<18}{_pct(actor_malware[0]):>7}{_pct(actor_malware[1]):>7}{_pct(actor_malware[2]):>7}")
        print(f"{'person+org+place':<18}{_pct(pol[0]):>7}{_pct(pol[1]):>7}{_pct(pol[2]):>7}")
        baseline = ioc_finder_baseline(paths) if args.baseline else None
        if baseline is not None:
            bp, br, bf, btp, bfp, bfn = baseline.prf(IOC_KINDS)
            print(f"{'ioc-finder alone':<18}{_pct(bp):>7}{_pct(br):>7}{_pct(bf):>7}{btp:>5}{bfp:>5}{bfn:>5}"
                  "   (same labels, library without Pacte's rules)")
        print(f"boilerplate lines surviving: {len(survived)}")
        for s in survived:
            print(f"  survived: {s}")
        if args.errors and corpus_name not in BLIND:  # the blind set's errors are not shown: nobody tunes on them
            for e in iocs.errors + ents.errors:
                print(f"  {e}")
        results[corpus_name] = {
            "reports": len(paths), "ioc": dict(zip(("p", "r", "f1"), iocs.prf(IOC_KINDS)[:3], strict=True)),
            "actor_malware_f1": actor_malware[2], "person_org_place_f1": pol[2],
            "boilerplate_surviving": len(survived),
        }

    if pooled_sets:  # the project's own labelled texts as one corpus (errors never printed: blind is in it)
        n = sum(len(_reports(CORPORA[name])) for name in pooled_sets)
        print(f"\n== project corpus, pooled ({' + '.join(pooled_sets)}): {n} reports")
        p, r, f, tp, fp, fn = pooled_iocs.prf(IOC_KINDS)
        print(f"{'all IOCs':<18}{_pct(p):>7}{_pct(r):>7}{_pct(f):>7}{tp:>5}{fp:>5}{fn:>5}")
        am, pop = pooled_ents.prf(("threat_actor", "malware")), pooled_ents.prf(("person", "organization", "location"))
        print(f"{'actor+malware':<18}{_pct(am[0]):>7}{_pct(am[1]):>7}{_pct(am[2]):>7}{am[3]:>5}{am[4]:>5}{am[5]:>5}")
        print(f"{'person+org+place':<18}{_pct(pop[0]):>7}{_pct(pop[1]):>7}{_pct(pop[2]):>7}{pop[3]:>5}{pop[4]:>5}{pop[5]:>5}")
        results["pooled"] = {"sets": pooled_sets, "reports": n,
                             "ioc": dict(zip(("p", "r", "f1"), pooled_iocs.prf(IOC_KINDS)[:3], strict=True)),
                             "actor_malware_f1": am[2], "person_org_place_f1": pop[2]}

    if all_paths:
        texts = _ten_kb_texts(all_paths)
        print(f"\n== speed: {len(texts)} texts of ~10 kB, one core, {args.speed_seconds:.0f} s per run")
        fast = throughput(texts, knowledge, False, args.speed_seconds)
        print(f"without NER: {fast:7.1f} reports/s")
        slow = throughput(texts, knowledge, True, args.speed_seconds)
        print(f"with NER:    {slow:7.1f} reports/s")
        results["speed"] = {"without_ner": fast, "with_ner": slow}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: {rss_mb:.0f} MB")
    results["peak_rss_mb"] = rss_mb
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
