"""Tests of the delivery-tours solver, checked by an oracle that shares no code with it."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import vrplib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.deliveries import tours_to_dict
from routing.stopping import Stop
from routing.tours import (
    DROPPED_REASON,
    Delivery,
    Depot,
    DriverRules,
    Fleet,
    TourProblem,
    TourResult,
    TruckType,
    cvrp_problem,
    parse_cvrplib,
    parse_solomon,
    problem_class,
    solomon_problem,
    solve_tours,
)

CVRPLIB_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "cvrplib"
SOLOMON_DIR = Path(__file__).resolve().parents[1] / "scripts" / "data" / "solomon"
TOL = 1e-6


# --- Independent oracle -----------------------------------------------------------------------


def _parent(delivery_id: str, by_id: dict[str, Delivery]) -> Delivery:
    """The delivery a served id stands for (split loads are "<id>/<part>")."""
    return by_id.get(delivery_id) or by_id[delivery_id.rsplit("/", 1)[0]]


def check_tours(problem: TourProblem, result: TourResult) -> None:
    """Recompute every trip from the inputs and assert every rule of the problem holds."""
    by_id = {d.id: d for d in problem.deliveries}
    row = {d.id: i + 1 for i, d in enumerate(problem.deliveries)}
    types = {t.name: t for t in problem.fleet}
    rules, depot = problem.rules, problem.depot

    served = [v.delivery_id for t in result.trucks for trip in t.trips for v in trip.visits]
    unserved = [u.delivery_id for u in result.unserved]
    assert len(served) == len(set(served)), "a delivery is visited twice"
    assert all(u.reason.strip() for u in result.unserved), "unserved without a reason"
    # A split load is "<id>/<part>"; its parts share the delivery's weight equally.
    parts: dict[str, int] = {}
    for name in served + unserved:
        if name not in by_id:
            parent = _parent(name, by_id).id
            parts[parent] = parts.get(parent, 0) + 1
    demand = {
        name: by_id[name].demand_t
        if name in by_id
        else _parent(name, by_id).demand_t / parts[_parent(name, by_id).id]
        for name in served + unserved
    }
    # Every delivery is served (whole or in parts) or unserved, never lost or invented.
    covered = {_parent(name, by_id).id for name in served + unserved}
    assert covered == set(by_id), "deliveries lost or invented"

    per_type: dict[str, int] = {}
    per_site: dict[str, int] = {}
    total_km = 0.0
    for plan in result.trucks:
        truck = types[plan.truck_type]
        per_type[truck.name] = per_type.get(truck.name, 0) + 1
        assert plan.oversize == truck.oversize
        assert 1 <= len(plan.trips) <= truck.max_trips, f"{plan.truck}: too many trips"
        km = problem.km_for(truck)
        since_break = driving = 0.0
        clock = plan.start_h
        open_h = max(depot.open_h, truck.move_start_h or 0.0)
        assert plan.start_h >= open_h - TOL
        plan_km = 0.0
        for trip in plan.trips:
            assert trip.visits, "an empty trip is reported"
            assert trip.load_start_h >= clock - TOL, "trips overlap"
            assert trip.depart_h == pytest.approx(trip.load_start_h + depot.reload_hours)
            load = 0.0
            for v in trip.visits:
                d = _parent(v.delivery_id, by_id)
                assert truck.carries(d) is None or (d.divisible and d.demand_t > truck.payload_t), (
                    f"{v.delivery_id} rides on {truck.name}, which cannot carry it"
                )
                per_site[d.site_id] = per_site.get(d.site_id, 0) + 1
                assert v.onboard_t == pytest.approx(trip.load_t - load)
                load += demand[v.delivery_id]
            assert load <= truck.payload_t + TOL, f"{plan.truck} overloaded: {load} t"
            assert trip.load_t == pytest.approx(load)

            here, leave, trip_km = 0, trip.depart_h, 0.0
            legs = [(v, row.get(v.delivery_id) or row[_parent(v.delivery_id, by_id).id])
                    for v in trip.visits]  # fmt: skip
            for v, node in [*legs, (None, 0)]:
                leg_km = km[here][node]
                hours = leg_km / truck.speed_kph
                end = v.arrival_h if v is not None else trip.return_h
                breaks = [b for b in trip.breaks if leave - TOL <= b.start_h < end - TOL]
                # No unexplained time on the road: driving plus the breaks taken on it.
                assert end - leave == pytest.approx(hours + sum(b.hours for b in breaks), abs=1e-6)
                t = leave
                for b in breaks:
                    since_break += b.start_h - t
                    assert rules is not None and since_break <= rules.block_driving_h + TOL
                    assert b.hours >= rules.break_h - TOL
                    since_break, t = 0.0, b.start_h + b.hours
                since_break += end - t
                if rules is not None:
                    assert since_break <= rules.block_driving_h + TOL, "driving block too long"
                driving += hours
                trip_km += leg_km
                if v is None:
                    break
                d = by_id.get(v.delivery_id) or _parent(v.delivery_id, by_id)
                assert v.distance_from_previous_km == pytest.approx(leg_km)
                start = (
                    v.arrival_h if d.window_start_h is None else max(v.arrival_h, d.window_start_h)
                )
                assert v.start_h == pytest.approx(start)
                if d.window_end_h is not None:
                    assert v.start_h <= d.window_end_h + TOL, f"{d.id} window missed"
                assert v.depart_h == pytest.approx(v.start_h + d.service_hours)
                here, leave = node, v.depart_h
            assert trip.distance_km == pytest.approx(trip_km)
            plan_km += trip_km
            clock = trip.return_h
        assert plan.end_h == pytest.approx(clock)
        assert plan.distance_km == pytest.approx(plan_km)
        assert plan.driving_h == pytest.approx(driving)
        ends = [x for x in (depot.close_h, truck.move_end_h) if x is not None]
        if ends:
            assert plan.end_h <= min(ends) + TOL, f"{plan.truck} back after closing"
        if rules is not None:
            assert driving <= rules.driving_h + TOL, f"{plan.truck} drove {driving} h"
            assert plan.end_h - plan.start_h <= rules.shift_h + TOL, f"{plan.truck} day too long"
        per_km = truck.cost_usd_per_km + (truck.escort_usd_per_km if truck.oversize else 0)
        assert plan.cost_usd == pytest.approx(plan_km * per_km + truck.fixed_cost_usd)
        total_km += plan_km
    for name, used in per_type.items():
        assert used <= types[name].count, f"more {name} trucks than the fleet has"
    for site, slots in problem.crane_slots.items():
        assert per_site.get(site, 0) <= slots, f"site {site} over its crane slots"
    assert result.distance_km == pytest.approx(total_km)


def _line(*xy: tuple[float, float]) -> tuple[tuple[float, ...], ...]:
    """Euclidean km between points, the depot first."""
    return tuple(tuple(math.dist(a, b) for b in xy) for a in xy)


def solve(problem: TourProblem, **kw: object) -> TourResult:
    """Solve with a short, iteration-capped search and check the answer with the oracle."""
    seconds = float(kw.pop("seconds", 5.0))  # type: ignore[arg-type]
    iterations = int(kw.pop("iterations", 400))  # type: ignore[call-overload]
    result = solve_tours(problem, Stop(seconds), iterations=iterations, **kw)  # type: ignore[arg-type]
    check_tours(problem, result)
    return result


# --- Named tiny problems ----------------------------------------------------------------------

NORTH_EAST = ((0, 0), (0, 10), (0, 20), (10, 0), (20, 0))


@pytest.fixture
def two_arms() -> TourProblem:
    """Two deliveries of 5 t north (10 and 20 km) and two east; trucks carry 10 t.

    By hand: one truck per arm, 10 + 10 + 20 = 40 km each, 80 km in all; any trip mixing the
    arms is longer (north 10 + east 10: 34.1 km, leaving 20 + 20: 68.3 km).
    """
    deliveries = tuple(Delivery(n, None, None, 5) for n in ("n10", "n20", "e10", "e20"))
    return TourProblem(
        Depot(),
        deliveries,
        (TruckType("truck", 2, 10),),
        distance_km=_line(*NORTH_EAST),
        rules=None,
        objective="distance",
    )


def test_tiny_case_reaches_the_hand_optimum(two_arms: TourProblem) -> None:
    result = solve(two_arms)
    assert result.distance_km == pytest.approx(80)
    arms = sorted(sorted(v.delivery_id for v in t.trips[0].visits) for t in result.trucks)
    assert arms == [["e10", "e20"], ["n10", "n20"]]
    assert problem_class(two_arms) == "cvrp" and result.engine == "pyvrp"


def test_ortools_engine_reaches_the_same_optimum(two_arms: TourProblem) -> None:
    result = solve(two_arms, engine="ortools")
    assert result.distance_km == pytest.approx(80) and result.engine == "ortools"


def test_one_truck_makes_two_trips_reloading_between(two_arms: TourProblem) -> None:
    """One truck, two trips of 40 km at 60 km/h, half an hour of loading before each."""
    problem = TourProblem(
        Depot(reload_hours=0.5),
        two_arms.deliveries,
        (TruckType("truck", 1, 10, speed_kph=60, max_trips=2),),
        distance_km=two_arms.distance_km,
        objective="distance",
    )
    result = solve(problem)
    assert not result.unserved and result.trucks_used == 1
    (plan,) = result.trucks
    assert [len(t.visits) for t in plan.trips] == [2, 2]
    first, second = plan.trips
    assert first.depart_h == pytest.approx(plan.start_h + 0.5)
    assert first.return_h == pytest.approx(first.depart_h + 40 / 60)
    assert second.load_start_h == pytest.approx(first.return_h)
    assert plan.end_h == pytest.approx(plan.start_h + 2 * 0.5 + 80 / 60)
    with pytest.raises(ValueError, match="OR-Tools engine does not model"):
        solve_tours(problem, Stop(1), engine="ortools")


def test_one_trip_only_leaves_the_rest_with_the_solvers_reason(two_arms: TourProblem) -> None:
    problem = TourProblem(
        Depot(), two_arms.deliveries, (TruckType("truck", 1, 10),),
        distance_km=two_arms.distance_km, objective="distance",
    )  # fmt: skip
    result = solve(problem)
    assert len(result.unserved) == 2
    assert {u.reason for u in result.unserved} == {DROPPED_REASON}


def test_drivers_hours_break_and_daily_driving() -> None:
    """A site 300 km out at 60 km/h: 10 h of driving, more than 9 h, within 10 h."""
    far = (Delivery("far", None, None, 5),)
    km = _line((0, 0), (300, 0))
    fleet = (TruckType("truck", 1, 10, speed_kph=60),)
    plain = solve(TourProblem(Depot(), far, fleet, distance_km=km))
    assert "10.00 h of driving, over the 9 h" in plain.unserved[0].reason
    long_day = TourProblem(
        Depot(), far, fleet, distance_km=km, rules=DriverRules(extended_day=True)
    )
    result = solve(long_day)
    (trip,) = result.trucks[0].trips
    # 4.5 h, a 45 min break, 0.5 h more: there at 5.75 h; back 4 h, a break, 1 h: 11.5 h.
    assert trip.visits[0].arrival_h - trip.depart_h == pytest.approx(5.75)
    assert [round(b.start_h - trip.depart_h, 3) for b in trip.breaks] == [4.5, 9.75]
    assert trip.return_h - trip.depart_h == pytest.approx(11.5)


def test_mixed_fleet_oversize_pieces_ride_only_on_oversize_trucks() -> None:
    fleet = (
        TruckType("flatbed", 3, 20, max_height_m=3.0, cost_usd_per_km=1.2),
        TruckType("lowbed", 2, 60, oversize=True, speed_kph=40, escort_usd_per_km=2.0,
                  fixed_cost_usd=300, max_trips=2),
    )  # fmt: skip
    deliveries = (
        Delivery("blade-1", None, None, 40, oversize=True, service_hours=1),
        Delivery("blade-2", None, None, 40, oversize=True, service_hours=1),
        Delivery("transformer", None, None, 15, height_m=4.2, service_hours=2),
        Delivery("cable", None, None, 5),
        Delivery("steel", None, None, 18),
    )
    km = _line((0, 0), (30, 5), (32, 8), (-20, 10), (5, 25), (-10, -20))
    problem = TourProblem(Depot(), deliveries, fleet, distance_km=km)
    assert problem_class(problem) == "rich"
    result = solve(problem)
    assert not result.unserved
    on = {v.delivery_id: p.truck_type for p in result.trucks for t in p.trips for v in t.visits}
    assert on["blade-1"] == on["blade-2"] == on["transformer"] == "lowbed"
    # Without oversize trucks the pieces are unserved and say why.
    ordinary = solve(TourProblem(Depot(), deliveries, fleet[:1], distance_km=km))
    reasons = {u.delivery_id: u.reason for u in ordinary.unserved}
    assert "oversize piece" in reasons["blade-1"]
    assert "height 4.2 m over its 3 m" in reasons["transformer"]


def test_oversize_roads_keep_oversize_trucks_off_low_bridges() -> None:
    """The lowbed's own roads to the site are longer (a bridge it cannot pass)."""
    fleet = (TruckType("lowbed", 1, 60, oversize=True),)
    km = _line((0, 0), (10, 0))
    detour = ((0.0, 25.0), (25.0, 0.0))
    problem = TourProblem(
        Depot(), (Delivery("piece", None, None, 30, oversize=True),), fleet,
        distance_km=km, oversize_distance_km=detour,
    )  # fmt: skip
    assert solve(problem).distance_km == pytest.approx(50)
    cut = ((0.0, math.inf), (math.inf, 0.0))
    blocked = solve(
        TourProblem(Depot(), problem.deliveries, fleet, distance_km=km, oversize_distance_km=cut)
    )
    assert "no road to the site admits it" in blocked.unserved[0].reason


def test_unserved_reasons_name_the_cause() -> None:
    fleet = (TruckType("truck", 2, 10, speed_kph=60, move_start_h=6, move_end_h=18, max_trips=3),)
    deliveries = (
        Delivery("heavy", None, None, 25),
        Delivery("early", None, None, 2, window_start_h=0, window_end_h=6.5),
        Delivery("slot-1", None, None, 2, site="substation"),
        Delivery("slot-2", None, None, 2, site="substation"),
        Delivery("gravel", None, None, 25, divisible=True),
        Delivery("oversize", None, None, 3, oversize=True),
    )
    at = [(0, 0), (0, 30), (0, 60), (10, 10), (10, 10), (0, 20), (5, 5)]
    problem = TourProblem(
        Depot(), deliveries, fleet, distance_km=_line(*at), crane_slots={"substation": 1},
    )  # fmt: skip
    result = solve(problem, seconds=5.0)
    reasons = {u.delivery_id: u.reason for u in result.unserved}
    assert "25 t exceeds every truck's payload (largest 10 t)" in reasons["heavy"]
    assert "not divisible" in reasons["heavy"]
    assert "window 0-6.5 h cannot be met" in reasons["early"]
    assert "crane slot" in reasons["slot-2"] and "slot-1" in reasons["slot-2"]
    assert "oversize piece" in reasons["oversize"]
    assert set(reasons) == {"heavy", "early", "slot-2", "oversize"}
    assert any("gravel: 25 t is more than the largest payload 10 t; split into 3" in n
               for n in result.notes)  # fmt: skip
    parts = sorted(v.delivery_id for p in result.trucks for t in p.trips for v in t.visits
                   if v.delivery_id.startswith("gravel"))  # fmt: skip
    assert parts == ["gravel/1", "gravel/2", "gravel/3"]


def _medium(seed: int) -> TourProblem:
    """Twenty deliveries around a railhead with windows, two truck types, two trips each."""
    import random

    rng = random.Random(seed)
    points = [(0.0, 0.0)] + [(rng.uniform(-60, 60), rng.uniform(-60, 60)) for _ in range(20)]
    deliveries = []
    for i in range(20):
        start = rng.choice([None, 0, 2, 4])
        deliveries.append(
            Delivery(
                f"d{i:02}",
                None,
                None,
                rng.uniform(1, 9),
                service_hours=0.5,
                window_start_h=start,
                window_end_h=None if start is None else start + 4,
                oversize=rng.random() < 0.2,
            )
        )
    fleet = (
        TruckType("truck", 3, 20, speed_kph=50, max_trips=2),
        TruckType("lowbed", 1, 40, oversize=True, speed_kph=40, escort_usd_per_km=1),
    )
    return TourProblem(
        Depot(reload_hours=0.5), tuple(deliveries), fleet, distance_km=_line(*points)
    )


def test_same_seed_same_answer() -> None:
    problem = _medium(3)

    def answer(seed: int) -> dict[str, object]:
        data = tours_to_dict(solve(problem, seed=seed, iterations=300, seconds=60.0), "given")
        data.pop("solve_seconds")
        return data

    first = answer(5)
    assert answer(5) == first
    assert first["served"] > 0


# --- Benchmark instances --------------------------------------------------------------------

TINY_VRP = """NAME : tiny-n4-k2
COMMENT : (hand made, No of trucks: 2, Optimal value: 24)
TYPE : CVRP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 -3 -4
4 0 5.5
DEMAND_SECTION
1 0
2 6
3 6
4 3
DEPOT_SECTION
1
-1
EOF
"""


def test_vrplib_text_becomes_a_rounded_integer_problem() -> None:
    instance = parse_cvrplib(TINY_VRP)
    assert instance.name == "tiny-n4-k2"
    assert instance.optimum == 24 and instance.min_trucks == 2
    assert instance.demands == (0, 6, 6, 3)
    # 5.5 rounds half up (TSPLIB nint), and |(3,4)-(0,5.5)| = 3.354 rounds to 3.
    assert instance.distance[0] == (0, 5, 5, 6)
    assert instance.distance[1][3] == 3
    result = solve(cvrp_problem(instance))
    # By hand: 0-1-3-0 (5 + 3 + 6) and 0-2-0 (5 + 5) = 24.
    assert result.distance_km == pytest.approx(24)


def test_vrplib_explicit_matrices_are_taken_as_given() -> None:
    text = TINY_VRP.replace("EUC_2D", "EXPLICIT\nEDGE_WEIGHT_FORMAT : LOWER_ROW").replace(
        "NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 -3 -4\n4 0 5.5",
        "EDGE_WEIGHT_SECTION\n4\n5 6\n7 8 9",
    )
    instance = parse_cvrplib(text)
    assert instance.distance[0] == (0, 4, 5, 7)
    assert instance.distance[3] == (7, 8, 9, 0)


def test_vrplib_rejects_other_problem_types() -> None:
    with pytest.raises(ValueError, match="only CVRP"):
        parse_cvrplib(TINY_VRP.replace("TYPE : CVRP", "TYPE : TSP"))


@pytest.mark.skipif(not CVRPLIB_DIR.is_dir(), reason="shared CVRPLIB benchmarks not present")
def test_e_n22_k4_cost_recomputed_from_the_file() -> None:
    path = CVRPLIB_DIR / "E-n22-k4.vrp"
    instance = parse_cvrplib(path.read_text())
    result = solve(cvrp_problem(instance), seconds=3.0, iterations=2000)
    data = vrplib.read_instance(path, compute_edge_weights=False)
    xy = data["node_coord"]
    cost = 0
    for plan in result.trucks:
        nodes = [1, *(int(v.delivery_id) for v in plan.trips[0].visits), 1]
        cost += sum(
            math.floor(math.hypot(*(xy[a - 1] - xy[b - 1])) + 0.5)
            for a, b in itertools.pairwise(nodes)
        )
    assert not result.unserved and cost == pytest.approx(result.distance_km)
    assert cost <= 375 * 1.01


def test_solomon_c101_windows_are_kept() -> None:
    instance = parse_solomon((SOLOMON_DIR / "C101.txt").read_text())
    assert instance.vehicles == 25 and instance.capacity == 200 and len(instance.demands) == 101
    problem = solomon_problem(instance)
    assert problem_class(problem) == "vrptw"
    result = solve(problem, seconds=3.0, iterations=3000)
    assert not result.unserved
    # The published optimum is 827.3; a short search stays within a few percent of it.
    assert 827.3 - TOL <= round(result.distance_km, 1) <= 827.3 * 1.05


def test_solomon_text_that_is_not_an_instance_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Solomon instance"):
        parse_solomon("R101\nVEHICLE\nnothing here")


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TruckType("t", 1, 0), "payload_t must be more than 0"),
        (lambda: TruckType("t", 0, 10), "count must be 1 or more"),
        (lambda: TruckType("t", 1, 10, move_start_h=8, move_end_h=6), "before it opens"),
        (lambda: Delivery("a", None, None, 1, window_start_h=5, window_end_h=2), "before it opens"),
        (lambda: Delivery("a", None, None, 1, height_m=-1), "height_m must be more than 0"),
        (lambda: Fleet(2, 10, 3), "oversize_capable must be between 0 and the 2"),
        (
            lambda: TourProblem(Depot(), (Delivery("a", None, None, 1),) * 2, Fleet(1, 5),
                                distance_km=_line((0, 0), (1, 1), (2, 2))),
            "used twice",
        ),
        (
            lambda: TourProblem(Depot(), (Delivery("a", None, None, 1),), Fleet(1, 5),
                                distance_km=_line((0, 0))),
            "must be 2x2",
        ),
        (
            lambda: TourProblem(Depot(), (Delivery("a", None, None, 1),), Fleet(1, 5)),
            "no coordinates",
        ),
        (
            lambda: TourProblem(Depot(), (Delivery("a", 1, 1, 1),), Fleet(1, 5),
                                crane_slots={"a": 0}),
            "crane slots must be 1 or more",
        ),
    ],
)  # fmt: skip
def test_nonsense_is_rejected_with_a_readable_message(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_solver_options_are_checked(two_arms: TourProblem) -> None:
    for kwargs, message in [
        ({"engine": "gurobi"}, "engine must be"),
        ({"iterations": 0}, "iterations must be 1 or more"),
        ({"seed": -1}, "seed must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            solve_tours(two_arms, Stop(1), **kwargs)  # type: ignore[arg-type]


# --- Property: random small problems always pass the oracle ---------------------------------


@st.composite
def small_problems(draw: st.DrawFn) -> TourProblem:
    n = draw(st.integers(1, 7))
    points = draw(
        st.lists(
            st.tuples(st.integers(-200, 200), st.integers(-200, 200)),
            min_size=n + 1,
            max_size=n + 1,
        )
    )
    deliveries = []
    for i in range(n):
        start = draw(st.none() | st.floats(0, 6))
        length = draw(st.none() | st.floats(0, 6))
        deliveries.append(
            Delivery(
                f"d{i}",
                None,
                None,
                demand_t=draw(st.floats(0, 30)),
                service_hours=draw(st.sampled_from([0, 0.25, 1.5])),
                window_start_h=start,
                window_end_h=None if length is None else (start or 0) + length,
                oversize=draw(st.booleans()),
                height_m=draw(st.none() | st.floats(2, 5)),
                site=draw(st.sampled_from([None, "s1", "s2"])),
                divisible=draw(st.booleans()),
            )
        )
    fleet = [TruckType("truck", draw(st.integers(1, 2)), draw(st.floats(5, 25)),
                       max_height_m=draw(st.none() | st.floats(3, 4)), speed_kph=60,
                       max_trips=draw(st.integers(1, 3)))]  # fmt: skip
    if draw(st.booleans()):
        fleet.append(
            TruckType("lowbed", 1, 40, oversize=True, speed_kph=40, escort_usd_per_km=1.0,
                      move_start_h=draw(st.none() | st.floats(0, 3)), max_trips=2)
        )  # fmt: skip
    return TourProblem(
        depot=Depot(close_h=draw(st.none() | st.floats(6, 16)),
                    reload_hours=draw(st.sampled_from([0, 0.5]))),
        deliveries=tuple(deliveries),
        fleet=tuple(fleet),
        distance_km=_line(*points),
        rules=draw(st.sampled_from([None, DriverRules()])),
        crane_slots=draw(st.sampled_from([{}, {"s1": 1}])),
        objective=draw(st.sampled_from(["cost", "distance"])),
    )  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_random_small_problems_pass_the_oracle(problem: TourProblem) -> None:
    solve(problem, iterations=150, seconds=5.0)
