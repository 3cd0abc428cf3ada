#!/usr/bin/env python3
"""The leak proof: run the leak state machine (tests/policy/test_leak_machine.py) for a time budget.

Random histories of a hub (members, groups, memberships, tokens, markings, shares through the
native API and TAXII) with every read path checked against an independent model after each step:
cheap paths for one reader every step (every reader every ``--sweep`` steps), push paths (pacte
export, stream replay and live, webhooks, analysis linking) every ``--push`` steps. Prints steps,
examples, steps/s and checks per read path; on a failure prints the failing program (shrunk) and
exits 1.

    .venv/bin/python bench/proof.py --backend sqlite --minutes 30
    .venv/bin/python bench/proof.py --backend postgres --minutes 30
    .venv/bin/python bench/proof.py --backend sqlite --minutes 5 --inject membership   # must fail

``--inject tlp|membership|owner`` plants a bug in ``pacte.policy.clauses`` (the TLP check, the
group membership check, the owner's-line preference), ``--inject probe`` drops the read rule from the
value index's probes (``pacte.store.correlations``: correlations and search match what the reader may
not read), ``--inject anonymous`` counts anonymous sightings for every reader, not only the sighted
object's producers; the machine must catch each; the run then reports how many steps it took.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from policy.leakpaths import CHECKS  # noqa: E402
from policy.test_leak_machine import SCHEDULE, STATS, machine_for  # noqa: E402

STEPS_PER_EXAMPLE = {"sqlite": 60, "postgres": 100}  # PostgreSQL: a fresh schema costs seconds, so longer histories
# Examples per Hypothesis run (the budget is checked between runs). Not 1: each run starts with the simplest
# program (all draws zero), so one example per run repeats that program forever.
BATCH = {"sqlite": 20, "postgres": 10}


def inject(kind: str) -> None:
    """Plant a bug in the read rule's SQL (the machine must find it)."""
    from pacte.policy import clauses

    real_grants, real_preferred = clauses.share_grants, clauses.preferred

    def grants(c: str, v: str, reader: int) -> clauses.Clause:
        g = real_grants(c, v, reader)
        if kind == "tlp":  # community no longer refuses AMBER+STRICT / RED (re-levelled after sharing)
            return clauses.Clause(g.sql.replace(f"THEN COALESCE({v}.tlp, {c}.default_tlp) <= 2",
                                                f"THEN COALESCE({v}.tlp, {c}.default_tlp) <= 4"), g.params)
        if kind == "membership":  # any member reads any group
            return clauses.Clause(g.sql.replace(f"m{c}.org_id = ?", f"m{c}.org_id = m{c}.org_id OR ? = 0"), g.params)
        return g

    def preferred(v: str, reader: int, which: str, collection: int | None = None) -> clauses.Clause:
        p = real_preferred(v, reader, which, collection)  # type: ignore[arg-type]
        if kind == "owner":  # every visible line, even when the owner's is visible
            return clauses.Clause(p.sql.replace(" OR (v2.producer <> ", " OR (1 = 0 AND v2.producer <> "), p.params)
        return p

    if kind in ("probe", "anonymous"):
        inject_correlation(kind)
        return
    clauses.share_grants = grants
    clauses.preferred = preferred
    import pacte.store.sqlbase as sqlbase

    sqlbase.preferred = preferred  # type: ignore[attr-defined]


def inject_correlation(kind: str) -> None:
    """Plant a bug in the value index's policy-bound reads (``pacte.store.correlations``)."""
    from pacte.policy import visible
    from pacte.store import correlations

    if kind == "probe":  # probes match every version, readable or not
        real = correlations._matching

        def matching(reader: int, *args: object) -> tuple[str, list[object]]:
            where, params = real(reader, *args)  # type: ignore[arg-type]
            seen = visible("v", reader)
            assert where.startswith(seen.sql)
            return "1 = 1" + where[len(seen.sql):], params[len(seen.params):]

        correlations._matching = matching  # type: ignore[assignment]
        return
    real_sightings = correlations.CorrelationSQL.sightings_of  # anonymous: counted for every reader

    def sightings_of(self: Any, reader: int, targets: Any) -> Any:
        real_all = self._all

        def leaky_all(sql: str, params: Any = ()) -> Any:
            return real_all(sql.replace(" AND t.producer = ? AND ", " AND (t.producer = ? OR 1 = 1) AND "), params)

        self._all = leaky_all
        try:
            return real_sightings(self, reader, targets)
        finally:
            del self._all

    correlations.CorrelationSQL.sightings_of = sightings_of  # type: ignore[method-assign]


def group(label: str) -> str:
    """Return the read path a check label belongs to (its variants folded: versions=, paged, filters)."""
    return re.sub(r" \(.*\)$", "", label)


def report(backend: str, elapsed: float, failures: int) -> None:
    """Print the totals of a run."""
    steps = STATS["steps"]
    print(f"\n== {backend}: {steps} steps, {STATS['examples']} examples, {elapsed:.0f} s,"
          f" {steps / max(elapsed, 1e-9):.1f} steps/s, {CHECKS.total()} checks, {failures} failures")
    by_path: Counter[str] = Counter()
    for label, n in CHECKS.items():
        by_path[group(label)] += n
    width = max((len(k) for k in by_path), default=10)
    for label, n in sorted(by_path.items()):
        print(f"  {label:<{width}}  {n:>9}")
    extra = {k: v for k, v in STATS.items() if k not in ("steps", "examples")}
    if extra:
        print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(extra.items())))


def run(backend: str, minutes: float, steps_per_example: int, batch: int, shrink: bool) -> int:
    """Run the machine on one backend until the budget is spent or it fails; return the number of failures."""
    machine = machine_for(backend)
    start = time.monotonic()
    deadline = start + minutes * 60
    last_print = start
    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    while time.monotonic() < deadline:
        before = STATS["steps"]
        try:
            run_state_machine_as_test(machine, settings=settings(
                max_examples=batch, stateful_step_count=steps_per_example, deadline=None, database=None,
                phases=phases, suppress_health_check=list(HealthCheck), print_blob=True))
        except BaseException as exc:  # a failing program: Hypothesis printed it above
            if isinstance(exc, KeyboardInterrupt):
                raise
            print(f"\nFAILURE on {backend} after {STATS['steps']} steps (this batch from step {before}):")
            traceback.print_exception(exc, limit=3)
            report(backend, time.monotonic() - start, 1)
            return 1
        now = time.monotonic()
        if now - last_print >= 60:
            last_print = now
            print(f"  {backend}: {STATS['steps']} steps, {STATS['examples']} examples, {now - start:.0f} s,"
                  f" {STATS['steps'] / (now - start):.1f} steps/s, {CHECKS.total()} checks", flush=True)
    report(backend, time.monotonic() - start, 0)
    return 0


def main() -> int:
    """Parse the options, run each backend in turn, exit 1 on any failure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--minutes", type=float, default=30.0, help="budget per backend (default 30)")
    ap.add_argument("--steps", type=int, default=0, help="steps per example (default: 60 SQLite, 100 PostgreSQL)")
    ap.add_argument("--batch", type=int, default=0, help="examples per Hypothesis run between budget checks"
                    " (default: 20 SQLite, 10 PostgreSQL)")
    ap.add_argument("--sweep", type=int, default=SCHEDULE["sweep"], help="check every reader every N steps")
    ap.add_argument("--push", type=int, default=SCHEDULE["push"], help="check the push paths every N steps (0: never)")
    ap.add_argument("--no-shrink", action="store_true", help="report a failure as found, unshrunk")
    ap.add_argument("--inject", choices=["tlp", "membership", "owner", "probe", "anonymous"], help="plant a bug: the run must fail")
    args = ap.parse_args()
    SCHEDULE.update(sweep=args.sweep, push=args.push)
    if args.inject:
        inject(args.inject)
    print(f"leak proof: budget {args.minutes} min per backend, sweep every {args.sweep} steps,"
          f" push paths every {args.push} steps" + (f", injected bug: {args.inject}" if args.inject else ""))
    failures = 0
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        STATS.clear()
        CHECKS.clear()
        failures += run(backend, args.minutes, args.steps or STEPS_PER_EXAMPLE[backend], args.batch or BATCH[backend],
                        not args.no_shrink)
    if args.inject:
        print("injected bug caught" if failures else "INJECTED BUG NOT CAUGHT")
        return 0 if failures else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
