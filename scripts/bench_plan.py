"""Planner benchmark: generated project shipments over 12 weeks on the bundled network.

    python scripts/bench_plan.py [--sizes 100 1000 10000] [--seed 3]

The project plans against its booked share of each capacity (``--share``: 8 % for 1,000
shipments by default, scaled with the number of shipments so that load over capacity stays the
same at every size; a service gets four times that share, as a project books whole wagons).
For each size, in a fresh subprocess (so peak memory is that size's own): wall time, peak RSS,
solver status, gap, and cost / lateness / unplanned against the greedy one-at-a-time baseline
computed in the same process. Prints one JSON object per size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from graphs import Network, load_network
from routing.model import Cargo, Shipment
from routing.plan import plan
from routing.scenario import apply_scenario

ORIGINS = ["Baiyin", "Urumqi", "Xi'an", "Lianyungang", "Lanzhou", "Chengdu", "Wuhan"]
# Pieces leave from places with heavy lift (the turbine factory, Lanzhou, the port) for sites.
PIECE_ORIGINS = ["Baiyin", "Lanzhou", "Lianyungang"]
WIND_SITES = ["zhanatas-wind", "zarafshan-wind", "bash-wind", "nukus-wind"]
SITES = [*WIND_SITES, "kaskelen-pv", "turgusun-hpp"]
HUBS = ["Tashkent", "Almaty", "Bishkek", "Samarkand", "Navoiy", "Shymkent"]
# Project pieces (corridor facts: 77 m blades, 86-130 t nacelles/generators) and containers.
PIECES = [
    Cargo(pieces=1, length_m=77, width_m=4.2, height_m=4.5, weight_t=25),
    Cargo(pieces=1, length_m=12, width_m=4.5, height_m=4.2, weight_t=86),
    Cargo(pieces=1, length_m=30, width_m=4.5, height_m=4.5, weight_t=60),
    Cargo(pieces=1, length_m=8, width_m=3.5, height_m=4.0, weight_t=120),
]
WEEKS = 12


def shipments(count: int, seed: int) -> list[Shipment]:
    rng = random.Random(seed)
    start = datetime(2026, 12, 7, tzinfo=UTC)
    out = []
    for i in range(count):
        ready = start + timedelta(days=rng.randrange(WEEKS * 7))
        if rng.random() < 0.3:
            cargo, origin = rng.choice(PIECES), rng.choice(PIECE_ORIGINS)
            cargo = replace(cargo, pieces=rng.randint(1, 3))
            # Blades, nacelles and tower sections go to wind farms; transformers to any site.
            destination = rng.choice(SITES if cargo.weight_t == 120 else WIND_SITES)
        else:
            # Lots from a few boxes up to a block-train share, so capacity binds.
            cargo = Cargo(teu=float(rng.choice([1, 2, 4, 10, 20, 40])))
            origin, destination = rng.choice(ORIGINS), rng.choice(SITES + HUBS)
        out.append(
            Shipment(
                id=f"S{i:05d}",
                origin=origin,
                destination=destination,
                cargo=cargo,
                ready=ready,
                due=ready + timedelta(days=rng.randint(12, 40)),
                value_usd=float(rng.choice([80_000, 400_000, 1_500_000])),
                priority=rng.choice([1, 1, 1, 2, 3]),
            )
        )
    return out


def allocation(net: Network, share: float) -> dict[str, Any]:
    """A scenario giving the project ``share`` of every crossing, link and service capacity."""
    crossings = {c.base_id for c in net.crossings.values() if c.capacity_teu_per_week}
    links = {k.base_id for k in net.links.values() if k.capacity_teu_per_week}
    return {
        "name": f"project allocation {share:.0%}",
        "capacity": [{"crossing": c, "scale": share} for c in sorted(crossings)]
        + [{"link": k, "scale": share} for k in sorted(links)]
        + [{"service": s, "scale": share * 4} for s in sorted(net.services)],
    }


def run_one(size: int, seed: int, time_limit_s: float, share: float) -> dict[str, Any]:
    net = apply_scenario(load_network(), allocation(load_network(), share))
    batch = shipments(size, seed)
    started = time.perf_counter()
    result = plan(net, batch, time_limit_s=time_limit_s)
    wall = time.perf_counter() - started
    summary = result.summary()
    greedy = result.baseline
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "benchmark": "plan",
        "shipments": size,
        "weeks": WEEKS,
        "time_limit_s": time_limit_s,
        "capacity_share": share,
        "wall_s": round(wall, 2),
        "routing_s": result.stats.get("routing_seconds"),
        "solve_s": round(result.solve_seconds, 2),
        "candidates": result.stats.get("candidates"),
        "peak_rss_mib": round(peak_mib, 1),
        "status": result.status,
        "method": result.method,
        "gap": round(result.gap, 5),
        "objective_usd": round(result.objective_usd),
        "bound_usd": round(result.bound_usd),
        "plan": {
            k: summary[k]
            for k in ("planned", "on_time", "late", "unplanned", "late_days", "cost_usd")
        },
        "greedy": {
            k: greedy[k]
            for k in ("planned", "on_time", "late", "unplanned", "late_days", "cost_usd")
        },
        "greedy_objective_usd": round(result.baseline_objective_usd),
        "objective_vs_greedy": round(result.objective_usd / result.baseline_objective_usd, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--share", type=float, default=0.08, help="project's share of each capacity"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    limits = {100: 30.0, 1000: 60.0, 10000: 600.0}
    if args.one is not None:
        limit = limits.get(args.one, 60.0)
        # The same load against capacity at every size: a project ten times larger books ten
        # times the share (up to the whole capacity).
        share = min(1.0, args.share * args.one / 1000)
        print(json.dumps(run_one(args.one, args.seed, limit, share)))
        return
    for size in args.sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--seed",
                str(args.seed),
                "--share",
                str(args.share),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
