"""Draw the README's plan-report chart: capacity use by crossing and week of a realistic plan.

Usage: ``python scripts/make_report_figure.py [--out docs/figures] [--shipments 300 --seed 3
--share 0.05 --time-limit 60]``

Plans ``bench_plan.py``'s generated project shipments (12 weeks of containers and turbine pieces
from Chinese origins to Central Asian sites) on the bundled network, with the project holding
``--share`` of every crossing and link capacity (four times that of each train), and writes the
report's heat map to ``plan-capacity.png``. One solver worker, so that the same arguments give the
same plan and the same bytes whenever the solve proves optimality within the time limit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench_plan import allocation, shipments
from make_figures import write_figure

from graphs import load_network
from graphs.errors import SilkrouteError
from routing.plan import PlanSettings, plan
from routing.report import plot_capacity
from routing.scenario import apply_scenario

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--shipments", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--share", type=float, default=0.05, help="project's share of capacity")
    parser.add_argument("--time-limit", type=float, default=60.0, help="solver seconds")
    args = parser.parse_args(argv)

    try:
        bundled = load_network()
        network = apply_scenario(bundled, allocation(bundled, args.share))
        result = plan(
            network,
            shipments(args.shipments, args.seed),
            time_limit_s=args.time_limit,
            settings=PlanSettings(workers=1),
        )
    except SilkrouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    summary = result.summary()
    print(
        f"plan {result.status}: {summary['planned']}/{summary['shipments']} planned, "
        f"{summary['late']} late, {summary['unplanned']} unplanned"
    )
    title = (
        f"Capacity use per ISO week: {summary['shipments']} project shipments, "
        f"a {args.share:.0%} share of each crossing's capacity"
    )
    path = args.out / "plan-capacity.png"
    write_figure(path, lambda f: plot_capacity(network, result, f, title=title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
