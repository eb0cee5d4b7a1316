"""How often the route search agrees with the brute force of ``tests/oracle.py`` on generated
networks where schedules bind: counts cases and disagreements instead of stopping at the first.

    python scripts/oracle_agreement.py [--cases 2000] [--seed 1]

Prints one JSON object: cases, per objective (and the Pareto front) how many disagreed, and the
largest excess of the engine's value over the optimum.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing.model import Cargo, Shipment
from routing.routes import make_query
from routing.search import search
from tests.oracle import enumerate_routes, objective_keys, pareto_front
from tests.test_oracle import Case, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tally: dict[str, Any] = {"cases": 0, "with_routes": 0}
    for name in ("cost", "time", "co2e", "balanced", "pareto"):
        tally[name] = {"disagree": 0, "worst_excess_pct": 0.0}

    @seed(args.seed)
    @settings(
        max_examples=args.cases,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def run(case: Case) -> None:
        net = case.network
        outcomes = enumerate_routes(net, case.origin, case.destination, case.ready, case.teu)
        ship = Shipment(case.origin, case.destination, Cargo(teu=case.teu), ready=case.ready)
        tally["cases"] += 1
        tally["with_routes"] += bool(outcomes)
        vot, carbon = case.value_of_time_usd_per_day, case.carbon_price_usd_per_t
        keys = objective_keys(vot, carbon)
        for objective, key in keys.items():
            query = make_query(
                net,
                ship,
                objective=objective,  # type: ignore[arg-type]
                value_of_time_usd_per_day=vot,
                carbon_price_usd_per_t=carbon,
            )
            labels = search(query)
            expected = min((key(o) for o in outcomes), default=None)
            got = query.final_value(labels[0]) if labels else None
            if expected is None or got is None:
                if (expected is None) != (got is None):
                    tally[objective]["disagree"] += 1
                continue
            if abs(got[0] - expected[0]) > 1e-6 or abs(got[1] - expected[1]) > 1e-6:
                tally[objective]["disagree"] += 1
                if expected[0] > 0:
                    excess = 100 * (got[0] - expected[0]) / expected[0]
                    worst = tally[objective]["worst_excess_pct"]
                    tally[objective]["worst_excess_pct"] = round(max(worst, excess), 2)
        front = [(label.t, label.cost) for label in search(make_query(net, ship, pareto=True))]
        want = pareto_front(outcomes)
        if len(front) != len(want) or any(
            abs(a - c) > 1e-6 or abs(b - d) > 1e-6
            for (a, b), (c, d) in zip(front, want, strict=True)
        ):
            tally["pareto"]["disagree"] += 1

    run()
    print(json.dumps({"benchmark": "oracle_agreement", **tally}))


if __name__ == "__main__":
    main()
