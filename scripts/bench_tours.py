"""What the tours benchmarks share: solve one instance with one engine and describe the run."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from routing.stopping import Stop
from routing.tours import TourProblem, solve_tours

ENGINES = ("pyvrp", "ortools")
# A CPU budget still ends within this many times its length in wall time.
CPU_BUDGET_WALL_FACTOR = 8


class CpuStop(Stop):
    """Stops when this process has used ``cpu_s`` seconds of CPU: on a shared machine, the
    budget the solvers actually received, not the wall time that passed."""

    def __init__(self, cpu_s: float) -> None:
        super().__init__(cpu_s * CPU_BUDGET_WALL_FACTOR)
        self._cpu_deadline = time.process_time() + cpu_s

    def __call__(self) -> bool:
        return super().__call__() or time.process_time() >= self._cpu_deadline


def run_engine(
    suite: str,
    name: str,
    problem: TourProblem,
    engine: Any,
    time_limit_s: float,
    seed: int,
    reference: float | None,
    cost_of: Callable[[float], float],
    budget: str = "wall",
) -> dict[str, Any]:
    """Solve and report cost, gap to the reference, wall and CPU time, and the machine's load.

    ``budget`` is ``"wall"`` (``time_limit_s`` of elapsed time) or ``"cpu"`` (of this
    process's CPU time).
    """
    cpu_started = time.process_time()
    stop = CpuStop(time_limit_s) if budget == "cpu" else Stop(time_limit_s)
    result = solve_tours(problem, stop, seed=seed, engine=engine)
    cpu_seconds = time.process_time() - cpu_started
    cost = cost_of(result.distance_km)
    complete = not result.unserved
    return {
        "suite": suite,
        "instance": name,
        "engine": engine,
        "cost": cost,
        "reference": reference,
        "gap_pct": (
            None if reference is None or not complete else round(100 * (cost / reference - 1), 3)
        ),
        "routes": result.trucks_used,
        "unserved": len(result.unserved),
        "time_limit_s": time_limit_s,
        "budget": budget,
        "seconds": round(result.solve_seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "load_1min": round(os.getloadavg()[0], 2),
        "status": result.status,
    }


def summary(suite: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and max gap per engine (and per Solomon class when the names carry one)."""
    out = []
    for engine in sorted({line["engine"] for line in lines}):
        mine = [line for line in lines if line["engine"] == engine]
        gaps = [line["gap_pct"] for line in mine if line["gap_pct"] is not None]
        cpu = sum(line["cpu_seconds"] for line in mine)
        wall = sum(line["seconds"] for line in mine)
        out.append(
            {
                "suite": suite,
                "engine": engine,
                "summary": True,
                "instances": len(mine),
                "with_gap": len(gaps),
                "mean_gap_pct": round(statistics.fmean(gaps), 3) if gaps else None,
                "max_gap_pct": round(max(gaps), 3) if gaps else None,
                "cpu_share": round(cpu / wall, 2) if wall else None,
                "load_1min_mean": round(statistics.fmean(line["load_1min"] for line in mine), 2),
            }
        )
    return out
