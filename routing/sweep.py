"""Disruption sweeps: a plan's lateness over many draws of border dwell, late services and
closures, run in parallel on Dask.

A sweep re-evaluates the planned routes (it does not replan): every draw is one possible
world, in which each crossing has one dwell per ISO week and each service one delay per
departure, shared by every shipment that meets them (``routing.reliability.replay`` with
``shared=True``), and each crossing may be closed for whole weeks at random. Draws are split
into chunks that Dask runs on a local cluster of worker processes by default, or on the
cluster whose scheduler address is given; the network and the plan are sent to each worker
once. A chunk's draws do not depend on how the draws were split, so the same seed gives the
same sweep on one process or many.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from graphs.errors import InputError
from graphs.network import Network
from routing.model import Shipment
from routing.plan import Plan
from routing.reliability import MAX_DRAWS, Array, Draws, replay
from routing.route import Route
from routing.stopping import Stop, StoppedError

__all__ = ["Driver", "Exposure", "ShipmentRisk", "SweepResult", "exposures", "sweep"]

LATE_USD_PER_TEU_DAY = 250.0  # the planner's default lateness rate
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Exposure:
    """One planned shipment as a sweep sees it: its route, due date and what lateness costs."""

    id: str
    route: Route
    due: datetime | None
    teu: float
    priority: float = 1.0


def exposures(plan: Plan, shipments: Sequence[Shipment]) -> list[Exposure]:
    """The planned routes of ``plan`` as a sweep sees them: one per shipment, or one per lot of
    a split shipment (``id#1``, ``id#2``...); unplanned shipments have nothing to sweep."""
    by_id = {shipment.id: shipment for shipment in shipments}
    out = []
    for result in plan.shipments:
        shipment = by_id[result.id]
        planned = result.routes
        for k, (route, teu) in enumerate(planned, start=1):
            out.append(
                Exposure(
                    id=result.id if len(planned) == 1 else f"{result.id}#{k}",
                    route=route,
                    due=shipment.due_at,
                    teu=teu,
                    priority=float(shipment.priority),
                )
            )
    return out


@dataclass(frozen=True)
class ShipmentRisk:
    """One shipment over the sweep's draws."""

    id: str
    on_time_probability: float | None
    late_days_p50: float
    late_days_p90: float
    transit_days_p10: float
    transit_days_p50: float
    transit_days_p90: float


@dataclass(frozen=True)
class Driver:
    """A crossing or service, and the lateness it caused: late days shared out over the
    delays that made each late shipment late, in proportion to their hours."""

    id: str
    late_days_mean: float
    delay_hours_mean: float


@dataclass(frozen=True)
class SweepResult:
    """A plan over ``draws`` worlds: per draw totals, per shipment risks, the main causes."""

    draws: int
    seed: int
    close_probability: float
    late_shipments: tuple[int, ...]  # per draw
    late_days: tuple[float, ...]  # per draw, summed over shipments
    lateness_usd: tuple[float, ...]  # per draw
    shipments: tuple[ShipmentRisk, ...]
    drivers: tuple[Driver, ...]  # most late days first
    seconds: float

    @property
    def expected_late_shipments(self) -> float:
        return float(np.mean(self.late_shipments))

    def to_dict(self) -> dict[str, Any]:
        def spread(values: Sequence[float]) -> dict[str, float]:
            a = np.asarray(values, dtype=float)
            return {
                "mean": round(float(a.mean()), 3),
                "p10": round(float(np.quantile(a, 0.1)), 3),
                "p50": round(float(np.quantile(a, 0.5)), 3),
                "p90": round(float(np.quantile(a, 0.9)), 3),
            }

        return {
            "draws": self.draws,
            "seed": self.seed,
            "close_probability": self.close_probability,
            "expected_late_shipments": round(self.expected_late_shipments, 3),
            "late_shipments": spread(self.late_shipments),
            "late_days": spread(self.late_days),
            "lateness_usd": spread(self.lateness_usd),
            "shipments": [
                {
                    "id": s.id,
                    "on_time_probability": s.on_time_probability,
                    "late_days_p50": s.late_days_p50,
                    "late_days_p90": s.late_days_p90,
                    "transit_days_p10": s.transit_days_p10,
                    "transit_days_p50": s.transit_days_p50,
                    "transit_days_p90": s.transit_days_p90,
                }
                for s in self.shipments
            ],
            "drivers": [
                {
                    "id": d.id,
                    "late_days_mean": d.late_days_mean,
                    "delay_hours_mean": d.delay_hours_mean,
                }
                for d in self.drivers
            ],
            "solve_seconds": round(self.seconds, 3),
        }


@dataclass
class _Chunk:
    """What one chunk of draws found: arrival days per shipment, and per-draw sums."""

    start: int
    transit_days: list[Array]  # per shipment, one entry per draw of the chunk
    late_days: list[Array]
    blame_days: dict[str, Array]
    delay_hours: dict[str, Array]


def _run_chunk(
    network: Network,
    exposures: Sequence[Exposure],
    seed: int,
    total: int,
    start: int,
    stop: int,
    close_probability: float,
) -> _Chunk:
    draws = Draws(seed, total, start, stop)
    transit: list[Array] = []
    late: list[Array] = []
    blame: dict[str, Array] = {}
    delays: dict[str, Array] = {}
    for exposure in exposures:
        played = replay(
            network, exposure.route, draws, shared=True, close_probability=close_probability
        )
        hours = played.arrival_hours
        transit.append(hours / 24)
        if exposure.due is None:
            late_days = np.zeros(draws.count)
        else:
            due_h = (exposure.due - exposure.route.ready).total_seconds() / 3600
            late_days = np.maximum(hours - due_h, 0.0) / 24
        late.append(late_days)
        positive = {k: np.maximum(v, 0.0) for k, v in played.delay_hours.items()}
        total_delay = sum(positive.values(), np.zeros(draws.count))
        share = np.divide(late_days, total_delay, out=np.zeros(draws.count), where=total_delay > 0)
        for what, hours_added in positive.items():
            blame[what] = blame.get(what, 0.0) + hours_added * share
            delays[what] = delays.get(what, 0.0) + hours_added
    return _Chunk(start, transit, late, blame, delays)


def _validate(draws: int, seed: int, close_probability: float) -> None:
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= MAX_DRAWS:
        raise InputError(f"must be a whole number from 1 to {MAX_DRAWS:,}, got {draws!r}", "draws")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"must be a whole number of 0 or more, got {seed!r}", "seed")
    if not 0 <= close_probability < 1:
        raise InputError(
            f"must be a probability from 0 up to 1 (exclusive), got {close_probability!r}",
            "close_probability",
        )


def sweep(
    network: Network,
    exposures: Sequence[Exposure],
    *,
    draws: int,
    seed: int = 0,
    close_probability: float = 0.0,
    late_usd_per_teu_day: float = LATE_USD_PER_TEU_DAY,
    scheduler: str | None = None,
    workers: int = 2,
    chunks: int | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> SweepResult:
    """Re-evaluate planned routes over ``draws`` random worlds.

    ``scheduler`` is a Dask scheduler address; ``None`` starts a local cluster of ``workers``
    processes for the sweep, and ``"inline"`` runs every chunk in this process (small sweeps,
    tests). ``progress(done, total)`` is called as chunks finish; ``stop`` cancels the rest.
    """
    _validate(draws, seed, close_probability)
    if not exposures:
        raise InputError("there are no planned shipments to sweep", "shipments")
    began = time.perf_counter()
    count = chunks or max(1, min(draws, 4 * max(workers, 1)))
    bounds = np.linspace(0, draws, count + 1).astype(int)
    ranges = [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]
    args = (seed, draws)
    results: list[_Chunk] = []

    def done(chunk: _Chunk) -> None:
        results.append(chunk)
        if progress is not None:
            progress(len(results), len(ranges))

    if scheduler == "inline":
        for a, b in ranges:
            if stop is not None and stop():
                raise StoppedError(
                    f"the sweep stopped after {len(results)} of {len(ranges)} chunks"
                )
            done(_run_chunk(network, exposures, *args, a, b, close_probability))
    else:
        _on_dask(
            network, exposures, args, ranges, close_probability, scheduler, workers, done, stop
        )
    results.sort(key=lambda c: c.start)
    return _combine(exposures, results, draws, seed, close_probability, late_usd_per_teu_day, began)


def _on_dask(
    network: Network,
    exposures: Sequence[Exposure],
    args: tuple[int, int],
    ranges: list[tuple[int, int]],
    close_probability: float,
    scheduler: str | None,
    workers: int,
    done: Callable[[_Chunk], None],
    stop: Stop | None,
) -> None:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=max(workers, 1),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,  # logging.CRITICAL: a sweep's output is its result
        )
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            shared_network = client.scatter(network, broadcast=True)
            shared_exposures = client.scatter(list(exposures), broadcast=True)
            futures = [
                client.submit(
                    _run_chunk,
                    shared_network,
                    shared_exposures,
                    *args,
                    a,
                    b,
                    close_probability,
                    pure=False,
                )
                for a, b in ranges
            ]
            for future in as_completed(futures):
                if stop is not None and stop():
                    client.cancel(futures)
                    raise StoppedError("the sweep was stopped before all its draws ran")
                done(future.result())
    finally:
        if cluster is not None:
            cluster.close()


def _combine(
    exposures: Sequence[Exposure],
    chunks: list[_Chunk],
    draws: int,
    seed: int,
    close_probability: float,
    late_rate: float,
    began: float,
) -> SweepResult:
    transit = [np.concatenate([c.transit_days[i] for c in chunks]) for i in range(len(exposures))]
    late = [np.concatenate([c.late_days[i] for c in chunks]) for i in range(len(exposures))]
    late_matrix = np.vstack(late)  # shipments x draws
    weights = np.array([e.teu * e.priority * late_rate for e in exposures])
    keys = sorted({k for c in chunks for k in c.blame_days})

    def per_draw(field: str, key: str) -> Array:
        return np.concatenate(
            [getattr(c, field).get(key, np.zeros(len(c.late_days[0]))) for c in chunks]
        )

    drivers = [
        Driver(
            id=key,
            late_days_mean=round(float(per_draw("blame_days", key).mean()), 4),
            delay_hours_mean=round(float(per_draw("delay_hours", key).mean()), 3),
        )
        for key in keys
    ]
    drivers.sort(key=lambda d: (-d.late_days_mean, -d.delay_hours_mean, d.id))
    shipments = []
    for exposure, days, late_days in zip(exposures, transit, late, strict=True):
        on_time = None if exposure.due is None else float(np.mean(late_days <= 0))
        shipments.append(
            ShipmentRisk(
                id=exposure.id,
                on_time_probability=None if on_time is None else round(on_time, 4),
                late_days_p50=round(float(np.quantile(late_days, 0.5)), 3),
                late_days_p90=round(float(np.quantile(late_days, 0.9)), 3),
                transit_days_p10=round(float(np.quantile(days, 0.1)), 3),
                transit_days_p50=round(float(np.quantile(days, 0.5)), 3),
                transit_days_p90=round(float(np.quantile(days, 0.9)), 3),
            )
        )
    return SweepResult(
        draws=draws,
        seed=seed,
        close_probability=close_probability,
        late_shipments=tuple(int(x) for x in (late_matrix > 0).sum(axis=0)),
        late_days=tuple(float(x) for x in late_matrix.sum(axis=0)),
        lateness_usd=tuple(float(x) for x in (late_matrix * weights[:, None]).sum(axis=0)),
        shipments=tuple(shipments),
        drivers=tuple(drivers),
        seconds=time.perf_counter() - began,
    )
