"""The master problems over the columns: the LP relaxation (GLOP) whose duals price capacity,
and the integer plan (a MIP with HiGHS, or CP-SAT).

Every shipment takes one column or is left unplanned (its penalty). A shipment that may be
split takes whole TEU on several columns (lots of at least the minimum lot), all or nothing;
its LP relaxation is the same as a whole shipment's, so the LP bound holds for both.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from ortools.linear_solver import pywraplp
from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

from routing.plan.columns import Column
from routing.plan.resources import Resource
from routing.stopping import Stop

# CP-SAT wants integers, scaled once here: usage in hundredths of a TEU, money in whole USD.
TEU_SCALE = 100
MAX_OBJECTIVE_USD = 2**52  # CP-SAT coefficients must stay well inside int64


class LinearMaster:
    """The restricted master LP, grown a column at a time and re-solved warm by GLOP."""

    def __init__(self, penalties: Sequence[float]) -> None:
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.objective = self.solver.Objective()
        self.convexity = []
        self.capacity: dict[Resource, pywraplp.Constraint] = {}
        for penalty in penalties:
            row = self.solver.Constraint(1.0, 1.0)
            unplanned = self.solver.NumVar(0.0, 1.0, "")
            row.SetCoefficient(unplanned, 1.0)
            self.objective.SetCoefficient(unplanned, penalty)
            self.convexity.append(row)
        self.objective.SetMinimization()

    def add(self, shipment: int, column: Column) -> None:
        var = self.solver.NumVar(0.0, 1.0, "")
        self.objective.SetCoefficient(var, column.objective_usd)
        self.convexity[shipment].SetCoefficient(var, 1.0)
        for resource, amount in column.usage:
            row = self.capacity.get(resource)
            if row is None:
                row = self.capacity[resource] = self.solver.Constraint(
                    -math.inf, resource.capacity_teu
                )
            row.SetCoefficient(var, amount)

    def solve(self, time_limit_s: float) -> tuple[float, list[float], dict[Resource, float]] | None:
        """The LP value, each shipment's dual and the positive capacity prices."""
        self.solver.SetTimeLimit(max(1, int(time_limit_s * 1000)))
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        duals = [row.dual_value() for row in self.convexity]
        prices = {
            r: -row.dual_value() for r, row in self.capacity.items() if row.dual_value() < -1e-9
        }
        return self.objective.Value(), duals, prices


@dataclass(frozen=True)
class IntegerPlan:
    """Per shipment: ``(column, TEU-equivalent)`` lots, empty when unplanned."""

    lots: list[list[tuple[int, float]]]
    status: str  # optimal | feasible | timeout | none
    bound_usd: float  # the solver's bound over the columns it was given


@dataclass(frozen=True)
class MasterInput:
    columns: Sequence[Sequence[Column]]
    penalties: Sequence[float]
    teu: Sequence[float]
    lot_sizes: Sequence[int | None]  # whole TEU a split shipment has; None: it travels whole
    min_lot: Sequence[int]
    hint: Sequence[int | None]


def _loads(data: MasterInput) -> dict[Resource, float]:
    total: dict[Resource, float] = defaultdict(float)
    for cols in data.columns:
        for column in cols:
            for resource, amount in column.usage:
                total[resource] += amount
    return total


def seconds_left(stop: Stop, fallback_s: float) -> float:
    """Seconds a solver may still take (at least a moment, so it can return what it has)."""
    left = stop.remaining_s()
    return max(0.05, fallback_s if left is None else left)


def solve_mip(data: MasterInput, stop: Stop, fallback_s: float, relative_gap: float) -> IntegerPlan:
    """The integer plan with HiGHS through OR-Tools' MathOpt.

    (MathOpt, not the older linear solver wrapper: that one reports a HiGHS run stopped by the
    time limit as having no solution, even when HiGHS holds one.)
    """
    model = mathopt.Model(name="plan")
    picks: list[list[tuple[int, mathopt.Variable]]] = []
    rows: dict[Resource, list[tuple[mathopt.Variable, float]]] = defaultdict(list)
    objective: list[mathopt.LinearExpression | mathopt.Variable] = []
    hint: dict[mathopt.Variable, float] = {}
    for i, cols in enumerate(data.columns):
        size = data.lot_sizes[i]
        skip = model.add_binary_variable()
        objective.append(data.penalties[i] * skip)
        hint[skip] = 1.0 if data.hint[i] is None else 0.0
        row: list[tuple[int, mathopt.Variable]] = []
        for c, column in enumerate(cols):
            if column.objective_usd >= data.penalties[i]:
                continue  # never better than leaving the shipment unplanned
            if size is None:
                var = model.add_binary_variable()
                share = 1.0
            else:
                var = model.add_integer_variable(lb=0.0, ub=float(size))
                used = model.add_binary_variable()
                model.add_linear_constraint(var <= size * used)
                model.add_linear_constraint(var >= data.min_lot[i] * used)
                share = 1.0 / size
                hint[used] = 1.0 if data.hint[i] == c else 0.0
            objective.append(column.objective_usd * share * var)
            for resource, amount in column.usage:
                rows[resource].append((var, amount * share))
            row.append((c, var))
            hint[var] = float(size or 1) if data.hint[i] == c else 0.0
        whole = float(size or 1)
        model.add_linear_constraint(mathopt.fast_sum(v for _, v in row) + whole * skip == whole)
        picks.append(row)
    loads = _loads(data)
    for resource, uses in rows.items():
        if loads[resource] > resource.capacity_teu + 1e-9:
            model.add_linear_constraint(
                mathopt.fast_sum(coef * var for var, coef in uses) <= resource.capacity_teu
            )
    model.minimize(mathopt.fast_sum(objective))
    # The limit is what is left now that the model is built (that takes seconds at 10,000).
    params = mathopt.SolveParameters(
        time_limit=timedelta(seconds=seconds_left(stop, fallback_s)),
        relative_gap_tolerance=relative_gap,
    )
    hints = mathopt.ModelSolveParameters(solution_hints=[mathopt.SolutionHint(hint)])
    result = mathopt.solve(model, mathopt.SolverType.HIGHS, params=params, model_params=hints)
    if not result.has_primal_feasible_solution():
        return IntegerPlan([], "none", -math.inf)
    values = result.variable_values()
    lots: list[list[tuple[int, float]]] = []
    for i, row in enumerate(picks):
        size = data.lot_sizes[i]
        chosen: list[tuple[int, float]] = []
        for c, var in row:
            value = round(values[var])
            if value > 0:
                chosen.append((c, data.teu[i] if size is None else value * data.teu[i] / size))
        lots.append(chosen)
    optimal = result.termination.reason == mathopt.TerminationReason.OPTIMAL
    return IntegerPlan(lots, "optimal" if optimal else "timeout", float(result.dual_bound()))


def solve_cp_sat(
    data: MasterInput,
    stop: Stop,
    fallback_s: float,
    relative_gap: float,
    *,
    workers: int,
    seed: int,
) -> IntegerPlan:
    """The integer plan with CP-SAT (integer usage and USD, scaled in one place above)."""
    model = cp_model.CpModel()
    picks: list[list[tuple[int, cp_model.IntVar]]] = []
    # per resource: (variable, its usage per unit, its largest value)
    load: dict[Resource, list[tuple[cp_model.IntVar, int, int]]] = defaultdict(list)
    terms: list[tuple[cp_model.IntVar, int]] = []
    for i, cols in enumerate(data.columns):
        size = data.lot_sizes[i]
        unplanned = model.new_bool_var("")
        terms.append((unplanned, _usd(data.penalties[i])))
        row: list[tuple[int, cp_model.IntVar]] = []
        for c, column in enumerate(cols):
            if column.objective_usd >= data.penalties[i]:
                continue
            if size is None:
                var = model.new_bool_var("")
                model.add_hint(var, data.hint[i] == c)
                terms.append((var, _usd(column.objective_usd)))
                for resource, amount in column.usage:
                    load[resource].append((var, math.ceil(amount * TEU_SCALE - 1e-9), 1))
            else:
                var = model.new_int_var(0, size, "")
                used = model.new_bool_var("")
                model.add(var <= size * used)
                model.add(var >= data.min_lot[i] * used)
                model.add_hint(var, size if data.hint[i] == c else 0)
                terms.append((var, _usd(column.objective_usd / size)))
                for resource, amount in column.usage:
                    load[resource].append((var, math.ceil(amount / size * TEU_SCALE - 1e-9), size))
            row.append((c, var))
        model.add(sum(var for _, var in row) + (size or 1) * unplanned == (size or 1))
        model.add_hint(unplanned, data.hint[i] is None)
        picks.append(row)
    for resource, uses in load.items():
        capacity = math.floor(resource.capacity_teu * TEU_SCALE + 1e-9)
        if sum(amount * upper for _, amount, upper in uses) > capacity:
            model.add(sum(amount * var for var, amount, _ in uses) <= capacity)
    model.minimize(sum(coef * var for var, coef in terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds_left(stop, fallback_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.relative_gap_limit = relative_gap
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return IntegerPlan([], "none", -math.inf)
    lots: list[list[tuple[int, float]]] = []
    for i, row in enumerate(picks):
        size = data.lot_sizes[i]
        chosen: list[tuple[int, float]] = []
        for c, var in row:
            value = solver.value(var)
            if value > 0:
                chosen.append((c, data.teu[i] if size is None else value * data.teu[i] / size))
        lots.append(chosen)
    status = "optimal" if code == cp_model.OPTIMAL else "timeout"
    return IntegerPlan(lots, status, float(solver.best_objective_bound))


def _usd(value: float) -> int:
    return int(min(round(value), MAX_OBJECTIVE_USD))
