#!/usr/bin/env python3
"""Crash safety (issue 10, item 4): ``pacte serve`` killed with SIGKILL at random while clients write and stream.

The engine is ``tests/durability/crashkit.py`` (shared with the CI sample ``tests/durability/test_crash.py``);
what it checks is told there and in ``tests/durability/crashcheck.py``.

    .venv/bin/python bench/crash.py [--backend sqlite|postgres|both] [--kills 200] [--seed N] [--exec] [--keep]

Measured (2 shared cores, load average ~14): 200 kills take 11-12 min on SQLite, 18-22 min on
PostgreSQL (two processes; most of the rest is reading the log and the objects back).

Exits 1 on any violation (the store and the server logs are then kept for inspection).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.durability.crashcheck import Report
from tests.durability.crashkit import Config, run


def print_report(rep: Report) -> None:
    """Print the figures, then the first violations."""
    for k, v in rep.figures.items():
        print(f"  {k:42} {v}")
    print(f"  {'violations':42} {len(rep.violations)}")
    for v in rep.violations[:30]:
        print(f"    ! {v}")


def main(argv: list[str] | None = None) -> int:
    """Run the crash campaigns asked for; return 1 if any found a violation."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--api-writers", type=int, default=2)
    ap.add_argument("--taxii-writers", type=int, default=2)
    ap.add_argument("--exec", action="store_true",
                    help="start each server in a fresh interpreter (default: forked by a launcher that imported pacte once)")
    ap.add_argument("--keep", action="store_true", help="keep the database and server logs")
    args = ap.parse_args(argv)
    failed = False
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        print(f"crash run: {backend}, {args.kills} kills, seed {args.seed}", flush=True)
        rep = run(Config(backend=backend, kills=args.kills, seed=args.seed, api_writers=args.api_writers,
                         taxii_writers=args.taxii_writers, keep=args.keep,
                         fork=not args.exec))
        print_report(rep)
        failed |= bool(rep.violations)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
