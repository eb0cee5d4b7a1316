"""Tests of the delivery-tours solver, checked by an oracle that shares no code with it."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import vrplib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.tours import (
    DROPPED_REASON,
    Delivery,
    Depot,
    Fleet,
    TourProblem,
    TourResult,
    cvrp_problem,
    parse_cvrplib,
    solve_tours,
)

CVRPLIB_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "cvrplib"
TOL = 1e-6


# --- Independent oracle -----------------------------------------------------------------------


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def _oracle_matrix(problem: TourProblem) -> list[list[float]]:
    """Distances from the problem's own data: the given matrix, else great circles."""
    if problem.distance_km is not None:
        return [list(row) for row in problem.distance_km]
    points = [(problem.depot.lat, problem.depot.lon)] + [(d.lat, d.lon) for d in problem.deliveries]
    return [[_haversine_km(a[0], a[1], b[0], b[1]) for b in points] for a in points]  # type: ignore[arg-type]


def check_tours(problem: TourProblem, result: TourResult) -> None:
    """Recompute every tour from the inputs and assert every rule of the problem holds."""
    km = _oracle_matrix(problem)
    row = {d.id: i + 1 for i, d in enumerate(problem.deliveries)}
    by_id = {d.id: d for d in problem.deliveries}
    fleet, depot = problem.fleet, problem.depot

    served = [s.delivery_id for t in result.tours for s in t.stops]
    unserved = [u.delivery_id for u in result.unserved]
    assert len(served) == len(set(served)), "a delivery is visited twice"
    assert not set(served) & set(unserved), "a delivery is both served and unserved"
    assert sorted(served + unserved) == sorted(by_id), "deliveries lost or invented"
    assert all(u.reason.strip() for u in result.unserved), "unserved without a reason"

    trucks = [t.truck for t in result.tours]
    assert len(trucks) == len(set(trucks)) and all(0 <= t < fleet.trucks for t in trucks)

    total_km = total_usd = 0.0
    for tour in result.tours:
        assert tour.stops, "an empty tour is reported"
        assert tour.oversize_capable == (tour.truck < fleet.oversize_capable)
        load = sum(by_id[s.delivery_id].demand_t for s in tour.stops)
        assert load <= fleet.payload_t + TOL, f"truck {tour.truck} overloaded: {load} t"
        assert tour.load_t == pytest.approx(load)

        assert tour.start_h >= depot.open_h - TOL
        clock, here, legs_km, onboard = tour.start_h, 0, 0.0, load
        for stop in tour.stops:
            d = by_id[stop.delivery_id]
            if d.oversize:
                assert tour.oversize_capable, f"oversize {d.id} on an ordinary truck"
            leg = km[here][row[d.id]]
            assert stop.distance_from_previous_km == pytest.approx(leg)
            legs_km += leg
            arrival = clock + leg / fleet.speed_kph
            assert stop.arrival_h == pytest.approx(arrival, abs=TOL)
            start = max(arrival, d.window_start_h if d.window_start_h is not None else -math.inf)
            assert stop.start_h == pytest.approx(start, abs=TOL)
            if d.window_end_h is not None:
                assert start <= d.window_end_h + TOL, f"{d.id} starts after its window"
            assert stop.onboard_t == pytest.approx(onboard)
            onboard -= d.demand_t
            clock, here = start + d.service_hours, row[d.id]
            assert stop.depart_h == pytest.approx(clock, abs=TOL)
        back = km[here][0]
        assert tour.return_distance_km == pytest.approx(back)
        legs_km += back
        end = clock + back / fleet.speed_kph
        assert tour.end_h == pytest.approx(end, abs=TOL)
        if depot.close_h is not None:
            assert end <= depot.close_h + TOL, "truck back after the depot closes"
        if fleet.max_shift_hours is not None:
            assert end - tour.start_h <= fleet.max_shift_hours + TOL, "shift too long"
        assert tour.distance_km == pytest.approx(legs_km)
        usd = legs_km * problem.cost_usd_per_km + problem.fixed_cost_usd_per_truck
        assert tour.cost_usd == pytest.approx(usd)
        total_km += legs_km
        total_usd += usd
    assert result.distance_km == pytest.approx(total_km)
    assert result.cost_usd == pytest.approx(total_usd)
    assert result.trucks_used == len(result.tours)


def _line(*positions_km: float) -> tuple[tuple[float, ...], ...]:
    """Distance matrix of points on a straight road; the depot is at 0 km."""
    points = (0.0, *positions_km)
    return tuple(tuple(abs(a - b) for b in points) for a in points)


def _brute_force_km(problem: TourProblem) -> float:
    """Shortest total distance over every split of every visit order (tiny CVRPs only)."""
    km = _oracle_matrix(problem)
    demand = [d.demand_t for d in problem.deliveries]
    best = math.inf
    n = len(demand)
    for perm in itertools.permutations(range(1, n + 1)):
        for cuts in itertools.product((False, True), repeat=n - 1):
            routes, current = [], [perm[0]]
            for node, cut in zip(perm[1:], cuts, strict=True):
                if cut:
                    routes.append(current)
                    current = []
                current.append(node)
            routes.append(current)
            if len(routes) > problem.fleet.trucks:
                continue
            if any(sum(demand[i - 1] for i in r) > problem.fleet.payload_t for r in routes):
                continue
            total = sum(
                km[0][r[0]] + sum(km[a][b] for a, b in itertools.pairwise(r)) + km[r[-1]][0]
                for r in routes
            )
            best = min(best, total)
    return best


# --- Named tiny problems ----------------------------------------------------------------------


@pytest.fixture
def two_clusters() -> TourProblem:
    """Four 5 t drops, two east and two west of the depot, trucks of 10 t: optimum 44 km."""
    return TourProblem(
        depot=Depot(),
        deliveries=(
            Delivery("east-1", None, None, demand_t=5),
            Delivery("west-1", None, None, demand_t=5),
            Delivery("east-2", None, None, demand_t=5),
            Delivery("west-2", None, None, demand_t=5),
        ),
        fleet=Fleet(trucks=3, payload_t=10),
        distance_km=_line(10, -10, 11, -11),
        objective="distance",
    )


@pytest.fixture
def far_first() -> TourProblem:
    """One truck; the far drop's window closes early, so it must go out past the near one."""
    return TourProblem(
        depot=Depot(),
        deliveries=(
            Delivery("near", None, None, demand_t=1, window_start_h=5, window_end_h=6),
            Delivery("far", None, None, demand_t=1, window_end_h=2.5),
        ),
        fleet=Fleet(trucks=1, payload_t=10, speed_kph=10),
        distance_km=_line(10, 20),
    )


# --- Tests ------------------------------------------------------------------------------------


def test_two_clusters_reaches_the_known_optimum(two_clusters: TourProblem) -> None:
    result = solve_tours(two_clusters, time_limit_s=1)
    check_tours(two_clusters, result)
    assert result.distance_km == pytest.approx(44)
    assert _brute_force_km(two_clusters) == pytest.approx(44)
    assert result.trucks_used == 2
    assert sorted(sorted(s.delivery_id for s in t.stops) for t in result.tours) == [
        ["east-1", "east-2"],
        ["west-1", "west-2"],
    ]
    assert result.status in ("optimal", "feasible")


def test_windows_force_the_order_and_the_departure_waits(far_first: TourProblem) -> None:
    result = solve_tours(far_first, time_limit_s=1)
    check_tours(far_first, result)
    (tour,) = result.tours
    assert [s.delivery_id for s in tour.stops] == ["far", "near"]
    assert result.distance_km == pytest.approx(40)
    # Leaving at 0.5 h instead of 0 h still meets "far" by 2.5 h and waits 0.5 h less at "near".
    assert tour.start_h == pytest.approx(0.5)
    far, near = tour.stops
    assert far.arrival_h == pytest.approx(2.5)
    assert near.arrival_h == pytest.approx(3.5)
    assert near.start_h == pytest.approx(5.0)
    assert tour.end_h == pytest.approx(6.0)


def test_fixed_cost_trades_against_distance() -> None:
    """Two drops on opposite sides: two trucks are shorter, one truck is cheaper when fixed."""
    deliveries = (Delivery("a", None, None, 1), Delivery("b", None, None, 1))
    matrix = ((0.0, 10.0, 10.0), (10.0, 0.0, 15.0), (10.0, 15.0, 0.0))
    fleet = Fleet(trucks=2, payload_t=5)
    by_distance = TourProblem(Depot(), deliveries, fleet, matrix, objective="distance")
    by_cost = TourProblem(
        Depot(), deliveries, fleet, matrix, cost_usd_per_km=2, fixed_cost_usd_per_truck=100
    )
    short = solve_tours(by_distance, time_limit_s=1)
    cheap = solve_tours(by_cost, time_limit_s=1)
    check_tours(by_distance, short)
    check_tours(by_cost, cheap)
    assert short.trucks_used == 1 and short.distance_km == pytest.approx(35)
    assert cheap.trucks_used == 1 and cheap.cost_usd == pytest.approx(35 * 2 + 100)


def test_oversize_rides_only_on_capable_trucks() -> None:
    problem = TourProblem(
        depot=Depot(),
        deliveries=(
            Delivery("blade", None, None, demand_t=8, oversize=True),
            Delivery("boxes", None, None, demand_t=8),
        ),
        fleet=Fleet(trucks=3, payload_t=10, oversize_capable=1),
        distance_km=_line(5, 6),
    )
    result = solve_tours(problem, time_limit_s=1)
    check_tours(problem, result)
    carrier = next(t for t in result.tours if t.stops[0].delivery_id == "blade")
    assert carrier.truck == 0 and carrier.oversize_capable


def test_unserved_deliveries_carry_planner_reasons() -> None:
    problem = TourProblem(
        depot=Depot(close_h=10),
        deliveries=(
            Delivery("ok", None, None, demand_t=5),
            Delivery("heavy", None, None, demand_t=30),
            Delivery("blade", None, None, demand_t=2, oversize=True),
            Delivery("early", None, None, demand_t=1, window_end_h=0.5),
            Delivery("late", None, None, demand_t=1, window_start_h=9.5),
        ),
        fleet=Fleet(trucks=2, payload_t=25, speed_kph=60),
        distance_km=_line(60, 60, 60, 60, 60),
    )
    result = solve_tours(problem, time_limit_s=1)
    check_tours(problem, result)
    reasons = {u.delivery_id: u.reason for u in result.unserved}
    assert set(reasons) == {"heavy", "blade", "early", "late"}
    assert reasons["heavy"] == "demand 30 t exceeds every truck's payload 25 t"
    assert reasons["blade"] == "oversize piece and no oversize-capable truck"
    assert reasons["early"].startswith("window closes at 0.5 h before any truck can arrive")
    assert "depot closes at 10 h" in reasons["late"]


def test_shift_limit_is_a_reason_and_a_constraint() -> None:
    problem = TourProblem(
        depot=Depot(),
        deliveries=(
            Delivery("near", None, None, demand_t=1, service_hours=1),
            Delivery("remote", None, None, demand_t=1),
        ),
        fleet=Fleet(trucks=1, payload_t=10, speed_kph=50, max_shift_hours=8),
        distance_km=_line(100, 300),
    )
    result = solve_tours(problem, time_limit_s=1)
    check_tours(problem, result)
    (unserved,) = result.unserved
    assert unserved.delivery_id == "remote"
    assert "longer than the 8 h shift" in unserved.reason


def test_no_room_left_is_reported_as_dropped_by_the_solver() -> None:
    problem = TourProblem(
        depot=Depot(),
        deliveries=tuple(Delivery(f"d{i}", None, None, demand_t=6) for i in range(3)),
        fleet=Fleet(trucks=1, payload_t=10),
        distance_km=_line(1, 2, 3),
    )
    result = solve_tours(problem, time_limit_s=1)
    check_tours(problem, result)
    assert result.served == 1
    assert [u.reason for u in result.unserved] == [DROPPED_REASON, DROPPED_REASON]
    assert DROPPED_REASON.startswith("dropped by the solver: capacity/time exhausted")


def test_great_circle_distances_when_no_matrix_is_given() -> None:
    problem = TourProblem(
        depot=Depot("almaty", lat=43.24, lon=76.89),
        deliveries=(
            Delivery("kaskelen", 43.20, 76.62, demand_t=3),
            Delivery("talgar", 43.30, 77.24, demand_t=3),
        ),
        fleet=Fleet(trucks=1, payload_t=20),
    )
    result = solve_tours(problem, time_limit_s=1)
    check_tours(problem, result)
    assert result.served == 2


def test_same_input_same_answer(two_clusters: TourProblem) -> None:
    first = solve_tours(two_clusters, time_limit_s=1, metaheuristic="greedy_descent", seed=3)
    again = solve_tours(two_clusters, time_limit_s=1, metaheuristic="greedy_descent", seed=3)
    assert first.tours == again.tours and first.unserved == again.unserved


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Delivery("x", None, None, demand_t=-1), "demand_t"),
        (lambda: Delivery("x", None, None, 1, window_start_h=5, window_end_h=4), "before it"),
        (lambda: Delivery("x", 43.0, None, 1), "both lat and lon"),
        (lambda: Fleet(trucks=0, payload_t=10), "at least one truck"),
        (lambda: Fleet(trucks=2, payload_t=10, oversize_capable=3), "oversize_capable"),
        (lambda: Depot(open_h=8, close_h=6), "closes at 6"),
        (
            lambda: TourProblem(
                Depot(), (Delivery("a", None, None, 1),) * 2, Fleet(1, 5), _line(1, 1)
            ),
            "used twice",
        ),
        (
            lambda: TourProblem(Depot(), (Delivery("a", None, None, 1),), Fleet(1, 5), _line()),
            "must be 2x2",
        ),
        (
            lambda: TourProblem(Depot(), (Delivery("a", None, None, 1),), Fleet(1, 5)),
            "no coordinates",
        ),
    ],
)
def test_nonsense_is_rejected_with_a_readable_message(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


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
    problem = cvrp_problem(instance)
    result = solve_tours(problem, time_limit_s=1)
    check_tours(problem, result)
    assert result.distance_km == pytest.approx(_brute_force_km(problem))


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


def _cvrplib_cost(path: Path, tours: TourResult) -> int:
    """Cost of the tours by CVRPLIB's rule, from the file's coordinates (not the solver's)."""
    data = vrplib.read_instance(path, compute_edge_weights=False)
    xy = data["node_coord"]

    def dist(a: int, b: int) -> int:  # file node numbers are 1-based
        return math.floor(math.hypot(*(xy[a - 1] - xy[b - 1])) + 0.5)

    total = 0
    for tour in tours.tours:
        nodes = [1, *(int(s.delivery_id) for s in tour.stops), 1]
        total += sum(dist(a, b) for a, b in itertools.pairwise(nodes))
    demand = data["demand"]
    for tour in tours.tours:
        assert sum(demand[int(s.delivery_id) - 1] for s in tour.stops) <= data["capacity"]
    return total


@pytest.mark.skipif(not CVRPLIB_DIR.is_dir(), reason="shared CVRPLIB benchmarks not present")
def test_e_n22_k4_within_one_percent_in_a_few_seconds() -> None:
    path = CVRPLIB_DIR / "E-n22-k4.vrp"
    instance = parse_cvrplib(path.read_text())
    assert instance.optimum == 375
    problem = cvrp_problem(instance)
    result = solve_tours(problem, time_limit_s=3)
    check_tours(problem, result)
    assert not result.unserved
    cost = _cvrplib_cost(path, result)
    assert cost == pytest.approx(result.distance_km)
    assert cost <= 375 * 1.01


# --- Property: random small instances always pass the oracle ----------------------------------


@st.composite
def small_problems(draw: st.DrawFn) -> TourProblem:
    n = draw(st.integers(1, 7))
    points = draw(
        st.lists(
            st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=n + 1, max_size=n + 1
        )
    )
    matrix = tuple(tuple(math.dist(a, b) for b in points) for a in points)
    trucks = draw(st.integers(1, 3))
    deliveries = []
    for i in range(n):
        start = draw(st.none() | st.floats(0, 3))
        length = draw(st.none() | st.floats(0, 4))
        deliveries.append(
            Delivery(
                f"d{i}",
                None,
                None,
                demand_t=draw(st.floats(0, 12, allow_nan=False)),
                service_hours=draw(st.sampled_from([0, 0.25, 0.5])),
                window_start_h=start,
                window_end_h=None if length is None else (start or 0) + length,
                oversize=draw(st.booleans()),
            )
        )
    return TourProblem(
        depot=Depot(close_h=draw(st.none() | st.floats(4, 12))),
        deliveries=tuple(deliveries),
        fleet=Fleet(
            trucks=trucks,
            payload_t=draw(st.floats(5, 20)),
            oversize_capable=draw(st.integers(0, trucks)),
            speed_kph=40,
            max_shift_hours=draw(st.none() | st.floats(2, 10)),
        ),
        distance_km=matrix,
        cost_usd_per_km=draw(st.floats(0, 3)),
        fixed_cost_usd_per_truck=draw(st.floats(0, 200)),
        objective=draw(st.sampled_from(["cost", "distance"])),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_random_small_problems_pass_the_oracle(problem: TourProblem) -> None:
    result = solve_tours(problem, time_limit_s=1, metaheuristic="greedy_descent")
    check_tours(problem, result)
