"""Planner benchmark: generated project shipments over 12 weeks on the bundled network.

    python scripts/bench_plan.py [--sizes 100 1000 10000] [--seed 3] [--cases scarce plentiful]

Two cases per size, each in a fresh subprocess (so peak memory is that case's own):

- ``scarce``: the project plans against its booked share of each capacity (``--share``: 8 %
  for 1,000 shipments, scaled with the number of shipments so that load over capacity stays the
  same at every size; a service gets four times that share, as a project books whole wagons).
  Figures: wall time, peak RSS, the proven gap (objective against the proven bound), the gap
  over the columns generated, and the objective against the greedy baseline.
- ``plentiful``: the whole capacity of the network. The planner runs twice in the same
  process: as it is (column generation + HiGHS) and as the candidate-only CP-SAT plan it was
  before column generation (``columns=False, master="cp-sat", alternatives=3``);
  ``wall_vs_candidates`` is the ratio of their wall times.

With ``--masters`` the scarce case also solves the integer plan with both masters over the
same columns (``mip_vs_cp_sat``: HiGHS's objective over CP-SAT's). Prints one JSON object per
case and size.
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
from routing.plan import Plan, PlanSettings, plan
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


LIMITS = {100: 30.0, 1000: 60.0, 10000: 600.0}
SUMMARY_KEYS = ("planned", "on_time", "late", "unplanned", "late_days", "cost_usd")


def _figures(result: Plan, wall: float) -> dict[str, Any]:
    return {
        "wall_s": round(wall, 2),
        "routing_s": result.stats.get("routing_seconds"),
        "solve_s": round(result.solve_seconds, 2),
        "status": result.status,
        "method": result.method,
        "objective_usd": round(result.objective_usd),
        "proven_bound_usd": round(result.bound_usd),
        "bound_kind": result.bound_kind,
        "proven_gap": round(result.gap, 5),
        "gap_over_generated_columns": round(result.candidate_gap, 5),
        "columns": result.stats.get("columns"),
        "pricing_searches": result.stats.get("pricing_searches"),
        "objective_vs_greedy": round(result.objective_usd / result.baseline_objective_usd, 4),
    }


def run_one(
    size: int, seed: int, time_limit_s: float, share: float | None, masters: bool
) -> dict[str, Any]:
    net = load_network()
    if share is not None:
        net = apply_scenario(net, allocation(net, share))
    batch = shipments(size, seed)
    started = time.perf_counter()
    result = plan(net, batch, time_limit_s=time_limit_s)
    wall = time.perf_counter() - started
    out: dict[str, Any] = {
        "benchmark": "plan",
        "case": "scarce" if share is not None else "plentiful",
        "shipments": size,
        "weeks": WEEKS,
        "time_limit_s": time_limit_s,
        "capacity_share": share if share is not None else 1.0,
        **_figures(result, wall),
        "plan": {k: result.summary()[k] for k in SUMMARY_KEYS},
        "greedy": {k: result.baseline[k] for k in SUMMARY_KEYS},
        "greedy_objective_usd": round(result.baseline_objective_usd),
    }
    if share is None:
        started = time.perf_counter()
        before = plan(
            net,
            batch,
            time_limit_s=time_limit_s,
            settings=PlanSettings(columns=False, master="cp-sat", alternatives=3),
        )
        wall_before = time.perf_counter() - started
        out["candidates_cp_sat"] = _figures(before, wall_before)
        out["wall_vs_candidates"] = round(wall / wall_before, 3)
        out["objective_vs_candidates"] = round(result.objective_usd / before.objective_usd, 5)
    elif masters:
        cp_sat = plan(net, batch, time_limit_s=time_limit_s, settings=PlanSettings(master="cp-sat"))
        out["cp_sat"] = _figures(cp_sat, 0.0)
        out["mip_vs_cp_sat"] = round(result.objective_usd / cp_sat.objective_usd, 5)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--share", type=float, default=0.08, help="project's share of each capacity at 1,000"
    )
    parser.add_argument("--cases", nargs="+", default=["scarce", "plentiful"])
    parser.add_argument("--masters", action="store_true", help="scarce: HiGHS and CP-SAT both")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        limit = LIMITS.get(args.one, 60.0)
        # The same load against capacity at every size: a project ten times larger books ten
        # times the share (up to the whole capacity).
        share = min(1.0, args.share * args.one / 1000) if args.case == "scarce" else None
        print(json.dumps(run_one(args.one, args.seed, limit, share, args.masters)))
        return
    for size in args.sizes:
        for case in args.cases:
            command = [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--case",
                case,
                "--seed",
                str(args.seed),
                "--share",
                str(args.share),
            ]
            if args.masters:
                command.append("--masters")
            out = subprocess.run(command, check=True, capture_output=True, text=True)
            print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
