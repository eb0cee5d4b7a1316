"""PyVRP and OR-Tools side by side on Solomon's VRPTW instances R1, C1 and RC1 (100 customers);
one JSON line per instance and engine, then one summary line per engine.

Usage: ``python scripts/bench_solomon.py [NAME ...] [--time-limit S] [--engines pyvrp,ortools]``

Instances and optimal costs are in ``scripts/data/solomon`` (see its README for the sources).
Costs follow the published optima's convention: Euclidean distances truncated to one decimal.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from bench_tours import ENGINES, run_engine, summary

from routing.tours import parse_solomon, solomon_problem

DATA = Path(__file__).parent / "data" / "solomon"
_COST = re.compile(r"^Cost\s+([0-9.]+)", re.MULTILINE)


def optimum(name: str) -> float:
    """The published optimal distance, from the instance's .sol file."""
    found = _COST.search((DATA / f"{name}.sol").read_text())
    if found is None:
        raise SystemExit(f"{name}.sol states no cost")
    return float(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="instances (default: every R1, C1, RC1)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument(
        "--budget",
        choices=("wall", "cpu"),
        default="wall",
        help="the time limit counts elapsed time, or this process's CPU time",
    )
    args = parser.parse_args(argv)
    names = args.names or sorted(p.stem for p in DATA.glob("*.txt"))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    lines = []
    for name in names:
        instance = parse_solomon((DATA / f"{name}.txt").read_text())
        for engine in engines:
            line = run_engine(
                "solomon",
                name,
                solomon_problem(instance),
                engine,
                args.time_limit,
                args.seed,
                optimum(name),
                lambda km: round(km, 1),
                args.budget,
            )
            print(json.dumps(line), flush=True)
            lines.append(line)
    for line in summary("solomon", lines):
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
