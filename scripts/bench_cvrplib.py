"""Solve CVRPLIB instances with the tours solver and print one JSON line per instance.

Usage: ``python scripts/bench_cvrplib.py FILE.vrp ... [--time-limit S]``

The reference cost is the optimum in the file's COMMENT line, else a best-known value from
``BEST_KNOWN`` or ``--best-known NAME=VALUE``. ``gap_pct`` is ``100 * (cost / reference - 1)``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import get_args

from routing.tours import (
    FirstSolution,
    Metaheuristic,
    cvrp_problem,
    parse_cvrplib,
    solve_tours,
)

# Best-known costs of instances whose COMMENT states no optimum.
# Source: /work/shared/benchmarks/README.md ("X-n101-k25's best known cost is 27591 (26 routes)").
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
    parser.add_argument("--trucks", type=int, default=None, help="override the truck count")
    parser.add_argument(
        "--first-solution", choices=get_args(FirstSolution), default="path_cheapest_arc"
    )
    parser.add_argument(
        "--metaheuristic", choices=get_args(Metaheuristic), default="iterated_local_search"
    )
    parser.add_argument("--gls-lambda", type=float, default=None)
    parser.add_argument(
        "--best-known", action="append", default=[], metavar="NAME=VALUE", help="reference cost"
    )
    args = parser.parse_args(argv)
    known = _best_known(args.best_known)

    for path in args.files:
        instance = parse_cvrplib(path.read_text())
        problem = cvrp_problem(instance, trucks=args.trucks)
        cpu_started = time.process_time()
        result = solve_tours(
            problem,
            time_limit_s=args.time_limit,
            seed=args.seed,
            first_solution=args.first_solution,
            metaheuristic=args.metaheuristic,
            gls_lambda=args.gls_lambda,
        )
        cpu_seconds = time.process_time() - cpu_started
        if instance.optimum is not None:
            reference, source = instance.optimum, "optimum (COMMENT)"
        elif instance.name in known:
            reference, source = known[instance.name], "best known"
        else:
            reference, source = None, None
        cost = round(result.distance_km)  # integral: EUC_2D legs are rounded integers
        line = {
            "instance": instance.name,
            "cost": cost,
            "optimum": reference,
            "optimum_source": source,
            "gap_pct": None if reference is None else round(100 * (cost / reference - 1), 3),
            "seconds": round(result.solve_seconds, 2),
            # CPU time actually received: well below "seconds" means a busy machine.
            "cpu_seconds": round(cpu_seconds, 2),
            "routes": result.trucks_used,
            "trucks_available": problem.fleet.trucks,
            "unserved": len(result.unserved),
            "status": result.status,
        }
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
