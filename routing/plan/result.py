"""The plan as users see it: per shipment its lots and routes, the capacity used, and the
numbers that say how good the plan is (objective, proven bound, gaps, greedy baseline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from routing.plan.resources import Resource
from routing.route import Route, iso


@dataclass(frozen=True)
class Lot:
    """Part of a split shipment: its TEU-equivalent on one route, arriving on its own date."""

    teu: float
    route: Route
    late_days: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "teu_equivalent": round(self.teu, 3),
            "status": "late" if self.late_days > 1e-9 else "on_time",
            "late_days": round(self.late_days, 3),
            "route": self.route.to_dict(),
        }


@dataclass(frozen=True)
class ShipmentResult:
    """A shipment in the plan; ``route`` is its first lot's when it travels in several lots."""

    id: str
    status: str  # on_time | late | unplanned
    reason: str | None
    late_days: float  # the latest lot's
    route: Route | None
    teu: float
    lots: tuple[Lot, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "reason": self.reason,
            "late_days": round(self.late_days, 3),
            "teu_equivalent": round(self.teu, 3),
            "route": self.route.to_dict() if self.route else None,
            "lots": [lot.to_dict() for lot in self.lots] if len(self.lots) > 1 else None,
        }

    @property
    def routes(self) -> list[tuple[Route, float]]:
        """Every route the shipment takes, with the TEU-equivalent on it."""
        if self.lots:
            return [(lot.route, lot.teu) for lot in self.lots]
        return [(self.route, self.teu)] if self.route else []


@dataclass(frozen=True)
class Plan:
    """A plan and how good it is.

    ``bound_usd`` is a proven lower bound on the objective of every plan (over every route and
    start in the horizon, when ``bound_kind`` is ``proven``); ``gap`` is measured against it.
    ``candidate_bound_usd`` and ``candidate_gap`` are the integer solver's own, over the columns
    it was given only: they say how well the solver did, not how far the plan may be from best.
    """

    status: str
    objective_usd: float
    bound_usd: float
    gap: float
    solve_seconds: float
    shipments: tuple[ShipmentResult, ...]
    resources: tuple[tuple[Resource, float], ...]
    baseline_objective_usd: float
    method: str
    bound_kind: str = "proven"
    candidate_bound_usd: float = 0.0
    candidate_gap: float = 0.0
    stats: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        planned = [s for s in self.shipments if s.route is not None]
        return {
            "shipments": len(self.shipments),
            "planned": len(planned),
            "on_time": sum(1 for s in self.shipments if s.status == "on_time"),
            "late": sum(1 for s in self.shipments if s.status == "late"),
            "unplanned": sum(1 for s in self.shipments if s.status == "unplanned"),
            "split": sum(1 for s in self.shipments if len(s.lots) > 1),
            "late_days": round(sum(s.late_days for s in self.shipments), 3),
            "cost_usd": round(sum(r.cost_usd for s in planned for r, _ in s.routes), 2),
            "co2e_kg": round(sum(r.co2e_kg for s in planned for r, _ in s.routes), 3),
        }

    def busiest(self, count: int = 5) -> list[tuple[Resource, float]]:
        """Resource-periods by share of capacity used, fullest first."""
        return sorted(self.resources, key=lambda item: -item[1] / item[0].capacity_teu)[:count]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "objective_usd": round(self.objective_usd, 2),
            "bound_usd": round(self.bound_usd, 2),
            "gap": round(self.gap, 6),
            "bound_kind": self.bound_kind,
            "candidate_bound_usd": round(self.candidate_bound_usd, 2),
            "candidate_gap": round(self.candidate_gap, 6),
            "solve_seconds": round(self.solve_seconds, 3),
            "method": self.method,
            "baseline_objective_usd": round(self.baseline_objective_usd, 2),
            "baseline": self.baseline,
            "stats": self.stats,
            "summary": self.summary(),
            "shipments": [s.to_dict() for s in self.shipments],
            "resources": [
                {
                    "id": r.id,
                    "period": r.period,
                    "used_teu": round(used, 3),
                    "capacity_teu": round(r.capacity_teu, 3),
                }
                for r, used in sorted(self.resources, key=lambda item: (item[0].id, item[0].period))
            ],
        }


def gap(value: float, bound: float) -> float:
    """``(objective - bound) / objective``, 0 when the objective is 0."""
    return 0.0 if value <= 0 else max(0.0, (value - bound) / value)


def plan_deltas(base: Plan, scenario: Plan) -> dict[str, Any]:
    """What a scenario changes against the base plan: moves, cost and lateness deltas."""
    before = {s.id: s for s in base.shipments}
    moved = []
    for after in scenario.shipments:
        old = before[after.id]
        old_sig = old.route.signature if old.route else None
        new_sig = after.route.signature if after.route else None
        if old_sig != new_sig or old.status != after.status:
            moved.append(
                {
                    "id": after.id,
                    "base": {
                        "status": old.status,
                        "crossings": list(old_sig[0]) if old_sig else [],
                    },
                    "scenario": {
                        "status": after.status,
                        "crossings": list(new_sig[0]) if new_sig else [],
                    },
                }
            )
    b, s = base.summary(), scenario.summary()
    each = [_shipment_delta(before[after.id], after) for after in scenario.shipments]
    slips = [d["arrival_delta_days"] for d in each if d["arrival_delta_days"] is not None]
    return {
        "shipments": each,
        "arrivals_later": sum(1 for days in slips if days > 1 / 24),
        "arrivals_earlier": sum(1 for days in slips if days < -1 / 24),
        "arrival_delta_days": round(sum(slips), 3),
        "changed_shipments": moved,
        "cost_usd_delta": round(s["cost_usd"] - b["cost_usd"], 2),
        "late_days_delta": round(s["late_days"] - b["late_days"], 3),
        "late_delta": s["late"] - b["late"],
        "unplanned_delta": s["unplanned"] - b["unplanned"],
        "co2e_kg_delta": round(s["co2e_kg"] - b["co2e_kg"], 3),
    }


def _shipment_delta(old: ShipmentResult, new: ShipmentResult) -> dict[str, Any]:
    """One shipment, base against scenario: when it arrives, how late, by which crossings."""

    def side(result: ShipmentResult) -> dict[str, Any]:
        route = result.route
        return {
            "status": result.status,
            "arrive": iso(route.arrive) if route else None,
            "late_days": round(result.late_days, 3),
            "cost_usd": round(route.cost_usd, 2) if route else None,
            "crossings": list(route.signature[0]) if route else [],
        }

    arrival = (
        round((new.route.arrive - old.route.arrive).total_seconds() / 86400, 3)
        if old.route and new.route
        else None
    )
    return {
        "id": new.id,
        "base": side(old),
        "scenario": side(new),
        "arrival_delta_days": arrival,
        "late_days_delta": round(new.late_days - old.late_days, 3),
    }
