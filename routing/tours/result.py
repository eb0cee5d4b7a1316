"""What the tours solvers answer: each truck's trips, the stops on them, and what was left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from routing.tours.problem import Objective

__all__ = ["Break", "TourResult", "TourStatus", "Trip", "TruckPlan", "Unserved", "Visit"]

TourStatus = Literal["optimal", "feasible", "infeasible", "timeout"]


@dataclass(frozen=True)
class Visit:
    """One delivery on a trip; times in hours from the plan's time zero."""

    delivery_id: str
    site: str
    arrival_h: float
    start_h: float
    depart_h: float
    distance_from_previous_km: float
    onboard_t: float  # tonnes on the truck as it arrives, this delivery included


@dataclass(frozen=True)
class Break:
    """A driver's break taken on the road (after ``block_driving_h`` of driving)."""

    start_h: float
    hours: float


@dataclass(frozen=True)
class Trip:
    """One loading at the railhead, the drops it makes, and the drive back."""

    number: int  # 1 for the truck's first trip of the day
    load_start_h: float  # loading at the railhead starts
    depart_h: float
    return_h: float
    visits: tuple[Visit, ...]
    breaks: tuple[Break, ...]
    return_distance_km: float
    distance_km: float
    load_t: float


@dataclass(frozen=True)
class TruckPlan:
    """One truck's day: its trips in order, its driving and its cost."""

    truck: str  # "<type name> <number within the type>"
    truck_type: str
    oversize: bool
    trips: tuple[Trip, ...]
    start_h: float
    end_h: float
    distance_km: float
    driving_h: float
    cost_usd: float

    @property
    def hours(self) -> float:
        """Working time from the first loading to the last return."""
        return self.end_h - self.start_h


@dataclass(frozen=True)
class Unserved:
    """A delivery left out of every trip, and why."""

    delivery_id: str
    reason: str


@dataclass(frozen=True)
class TourResult:
    """The trucks' days, the unserved deliveries, totals and how the search ended."""

    status: TourStatus
    objective: Objective
    engine: str
    trucks: tuple[TruckPlan, ...]
    unserved: tuple[Unserved, ...]
    distance_km: float
    cost_usd: float
    solve_seconds: float
    notes: tuple[str, ...] = ()

    @property
    def trucks_used(self) -> int:
        """Number of trucks sent out."""
        return len(self.trucks)

    @property
    def trips(self) -> int:
        """Number of trips over all trucks."""
        return sum(len(t.trips) for t in self.trucks)

    @property
    def served(self) -> int:
        """Number of deliveries dropped on some trip."""
        return sum(len(trip.visits) for t in self.trucks for trip in t.trips)
