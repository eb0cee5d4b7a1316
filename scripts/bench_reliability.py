"""What arrival forecasts and sweeps cost: forecast time per route, and a sweep's time inline and
on a local Dask cluster of 1 and 2 worker processes, in one run.

    python scripts/bench_reliability.py [--routes 1000] [--draws 1000] [--seed 7]

The routes are the cheapest routes of random China-to-elsewhere shipments (as in
bench_routes.py), each due a week after its planned arrival; the sweep replays all of them
together, as it would a plan of that many shipments. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta

from bench_routes import percentile, queries

from graphs import load_network
from graphs.errors import SilkrouteError
from routing.reliability import forecast_arrival
from routing.routes import find_routes
from routing.sweep import Exposure, sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    net = load_network()
    stakes: list[Exposure] = []
    forecast_ms: list[float] = []
    for i, shipment in enumerate(queries(net, args.routes, args.seed)):
        try:
            route = find_routes(net, shipment, draws=1)[0]
        except SilkrouteError:
            continue
        due = route.arrive + timedelta(days=7)
        started = time.perf_counter()
        forecast_arrival(net, route, due=due, draws=1000, seed=i)
        forecast_ms.append((time.perf_counter() - started) * 1000)
        stakes.append(Exposure(str(i), route, due, float(shipment.cargo.teu or 1.0)))
    result: dict[str, object] = {
        "routes": len(stakes),
        "forecast_1000_draws_ms": {
            "p50": round(percentile(forecast_ms, 0.5), 3),
            "p99": round(percentile(forecast_ms, 0.99), 3),
        },
    }
    sweeps: dict[str, float] = {}
    answers = []
    for label, scheduler, workers in (
        ("inline", "inline", 1),
        ("dask_1", None, 1),
        ("dask_2", None, 2),
    ):
        started = time.perf_counter()
        swept = sweep(
            net, stakes, draws=args.draws, seed=args.seed, scheduler=scheduler, workers=workers
        )
        sweeps[label] = round(time.perf_counter() - started, 2)
        answers.append(swept.late_days)
    result["sweep_seconds"] = sweeps
    result["sweep_draws"] = args.draws
    result["same_answer_everywhere"] = all(a == answers[0] for a in answers)
    result["dask_2_over_dask_1"] = round(sweeps["dask_2"] / sweeps["dask_1"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
