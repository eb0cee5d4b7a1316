"""Route latency on the bundled network: p50/p99 over random warm queries, per objective, next
to a plain networkx Dijkstra on the same routing graph in the same run.

    python scripts/bench_routes.py [--queries 1000] [--seed 7] [--query-places DIR]

``--query-places DIR`` draws the random origins and destinations from another pack's places (those
this network also has), e.g. an earlier, smaller pack: the same relations timed on both.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx

from graphs import BUNDLED_PACK, Network, build_network, load_network, read_pack
from routing.model import Cargo, Shipment
from routing.routes import find_routes


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def queries(net: Network, count: int, seed: int) -> list[Shipment]:
    rng = random.Random(seed)
    origins = [n.id for n in net.nodes.values() if n.country == "CN" and n.kind != "border"]
    destinations = [n.id for n in net.nodes.values() if n.country != "CN" and n.kind != "border"]
    start = datetime(2026, 12, 1, tzinfo=UTC)
    return [
        Shipment(
            rng.choice(origins),
            rng.choice(destinations),
            Cargo(teu=float(rng.randint(1, 40))),
            ready=start + timedelta(hours=rng.randint(0, 24 * 90)),
            value_usd=rng.choice([50_000.0, 250_000.0, 1_000_000.0]),
        )
        for _ in range(count)
    ]


def networkx_latency(net: Network, batch: list[Shipment]) -> list[float]:
    """Dijkstra by distance on the same state graph (no schedules, costs or constraints)."""

    def weight(_: Any, __: Any, edges: dict[str, dict[str, Any]]) -> float:
        best = float("inf")
        for data in edges.values():
            if data["kind"] == "move":
                best = min(best, data["link"].distance_km)
            elif data["kind"] == "service":
                best = min(best, sum(net.links[k].distance_km for k in data["service"].links))
            else:
                best = min(best, 0.0)
        return best

    out = []
    for ship in batch:
        origin = net.resolve(ship.origin).id
        goal = net.resolve(ship.destination).id
        sources = {(origin, m) for m in net.node_modes(origin)}
        started = time.perf_counter()
        lengths = nx.multi_source_dijkstra_path_length(net.graph, sources, weight=weight)
        min((v for (n, _), v in lengths.items() if n == goal), default=None)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--query-places", default=None, help="Pack whose places the queries use.")
    args = parser.parse_args()
    loads = []
    for _ in range(3):  # uncached: read and validate the CSV files, build the graph
        started = time.perf_counter()
        build_network(read_pack(BUNDLED_PACK), source=str(BUNDLED_PACK))
        loads.append(time.perf_counter() - started)
    net = load_network()
    drawn = net if args.query_places is None else load_network(args.query_places)
    batch = queries(drawn, args.queries, args.seed)
    missing = ({s.origin for s in batch} | {s.destination for s in batch}) - set(net.nodes)
    if missing:
        raise SystemExit(f"places of the queries missing from this network: {sorted(missing)}")
    for ship in batch[:50]:  # warm: lower-bound caches, imports
        find_routes(net, ship)
    result: dict[str, Any] = {
        "benchmark": "routes",
        "queries": len(batch),
        "network": net.stats(),
        "load_ms": round(statistics.median(loads) * 1000, 1),
    }
    for objective in ("cost", "time", "co2e", "balanced"):
        latencies = []
        for ship in batch:
            started = time.perf_counter()
            find_routes(net, ship, objective)  # type: ignore[arg-type]
            latencies.append(time.perf_counter() - started)
        result[objective] = {
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 3),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
            "mean_ms": round(statistics.mean(latencies) * 1000, 3),
        }
    extras = {"alternatives_3": {"alternatives": 3}, "pareto": {"pareto": True}}
    for name, options in extras.items():
        latencies = []
        for ship in batch[: max(100, len(batch) // 5)]:
            started = time.perf_counter()
            find_routes(net, ship, **options)  # type: ignore[arg-type]
            latencies.append(time.perf_counter() - started)
        result[name] = {
            "queries": len(latencies),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 3),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
        }
    plain = networkx_latency(net, batch)
    result["networkx_dijkstra"] = {
        "p50_ms": round(percentile(plain, 0.5) * 1000, 3),
        "p99_ms": round(percentile(plain, 0.99) * 1000, 3),
    }
    result["cost_p50_over_networkx_p50"] = round(
        result["cost"]["p50_ms"] / max(result["networkx_dijkstra"]["p50_ms"], 1e-9), 2
    )
    result["targets"] = {"p50_ms": 5, "p99_ms": 25}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
