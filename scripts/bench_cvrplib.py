"""PyVRP and OR-Tools side by side on CVRPLIB instances; one JSON line per instance and engine,
then one summary line per engine.

Usage: ``python scripts/bench_cvrplib.py FILE.vrp ... [--time-limit S] [--engines pyvrp,ortools]``

The reference cost is the optimum in the file's COMMENT line, else a best-known value from
``BEST_KNOWN`` or ``--best-known NAME=VALUE``. ``gap_pct`` is ``100 * (cost / reference - 1)``.
``cpu_seconds`` well below ``seconds`` means the machine was busy; ``load_1min`` is the load
average when the instance finished.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench_tours import ENGINES, run_engine, summary

from routing.tours import cvrp_problem, parse_cvrplib

# Best-known costs of instances whose COMMENT states no optimum.
# Source: ../shared/benchmarks/README.md ("X-n101-k25's best known cost is 27591 (26 routes)").
BEST_KNOWN: dict[str, float] = {"X-n101-k25": 27591.0}


def _best_known(pairs: list[str]) -> dict[str, float]:
    known = dict(BEST_KNOWN)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--best-known wants NAME=VALUE, got {pair!r}")
        known[name.strip()] = float(value)
    return known


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit code 0 when every file was solved."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="VRPLIB .vrp files")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument(
        "--budget",
        choices=("wall", "cpu"),
        default="wall",
        help="the time limit counts elapsed time, or this process's CPU time",
    )
    parser.add_argument(
        "--best-known", action="append", default=[], metavar="NAME=VALUE", help="reference cost"
    )
    args = parser.parse_args(argv)
    known = _best_known(args.best_known)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    lines = []
    for path in args.files:
        instance = parse_cvrplib(path.read_text())
        reference = instance.optimum if instance.optimum is not None else known.get(instance.name)
        for engine in engines:
            line = run_engine(
                "cvrplib",
                instance.name,
                cvrp_problem(instance),
                engine,
                args.time_limit,
                args.seed,
                reference,
                # EUC_2D legs are rounded integers.
                lambda km: float(round(km)),
                args.budget,
            )
            print(json.dumps(line), flush=True)
            lines.append(line)
    for line in summary("cvrplib", lines):
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
