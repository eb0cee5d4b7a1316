"""An independent plan checker: recomputes every resource's use per period from the plan JSON's
route steps and the network JSON's capacities, without calling the planner's own code."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any


def _week(text: str) -> str:
    year, week, _ = datetime.fromisoformat(text.replace("Z", "+00:00")).isocalendar()
    return f"{year}-W{week:02d}"


def recompute_use(plan: dict[str, Any], network: dict[str, Any]) -> dict[tuple[str, str], float]:
    links = {k["id"]: k for k in network["links"]}
    crossings = {c["id"]: c for c in network["crossings"]}
    use: dict[tuple[str, str], float] = defaultdict(float)
    for shipment in plan["shipments"]:
        lots = shipment.get("lots") or [shipment]  # a split shipment: each lot on its route
        for lot in lots:
            if lot["route"] is not None:
                _add_use(use, lot["route"], lot["teu_equivalent"], links, crossings)
    return dict(use)


def _add_use(
    use: dict[tuple[str, str], float],
    route: dict[str, Any],
    teu: float,
    links: dict[str, Any],
    crossings: dict[str, Any],
) -> None:
    touched: set[tuple[str, str]] = set()
    ride_service, ride_start = None, ""
    for step in route["steps"]:
        service = step.get("service")
        if service and service != ride_service:
            ride_start = step["start"]
        ride_service = service
        if step["kind"] == "border" and crossings[step["crossing"]]["capacity_teu_per_week"]:
            touched.add((step["crossing"], _week(step["start"])))
        elif step["kind"] == "move" and service:
            touched.add((service, ride_start))
        elif step["kind"] == "move" and links[step["link"]]["capacity_teu_per_week"]:
            touched.add((step["link"], _week(step["start"])))
    for key in touched:
        use[key] += teu


def capacities(network: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for record in network["links"] + network["crossings"]:
        if record["capacity_teu_per_week"]:
            out[record["id"]] = record["capacity_teu_per_week"]
    for service in network["services"]:
        out[service["id"]] = service["capacity_teu"]
    return out


def check_plan(plan: dict[str, Any], network: dict[str, Any], shipment_ids: list[str]) -> None:
    """Assert no capacity is exceeded, the plan's own resource figures agree, and every
    shipment is accounted for exactly once."""
    assert sorted(s["id"] for s in plan["shipments"]) == sorted(shipment_ids)
    for shipment in plan["shipments"]:
        if shipment["status"] == "unplanned":
            assert shipment["route"] is None and shipment["reason"]
        else:
            assert shipment["route"] is not None
            assert (shipment["status"] == "late") == (shipment["late_days"] > 0)
            if shipment.get("lots"):
                total = sum(lot["teu_equivalent"] for lot in shipment["lots"])
                assert abs(total - shipment["teu_equivalent"]) < 1e-6, shipment["id"]
                assert shipment["late_days"] == max(lot["late_days"] for lot in shipment["lots"])
    use = recompute_use(plan, network)
    caps = capacities(network)
    for (resource, period), used in use.items():
        assert used <= caps[resource] + 1e-6, f"{resource} {period}: {used} > {caps[resource]}"
    reported = {(r["id"], r["period"]): r["used_teu"] for r in plan["resources"]}
    assert set(reported) == set(use)
    for key, used in use.items():
        assert abs(reported[key] - used) < 0.01, key
    summary = plan["summary"]
    assert summary["shipments"] == len(shipment_ids)
    assert summary["planned"] + summary["unplanned"] == summary["shipments"]
    assert summary["on_time"] + summary["late"] == summary["planned"]
