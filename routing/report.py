"""A plan as one self-contained HTML page: summary, charts and the table of shipments.

``report_html`` is pure: a plan (and optionally the base plan it is compared with) in, a string
out, so the service can serve a finished plan's report without touching disk. ``write_report``
is the one thin edge that writes it, as ``index.html`` through a temporary file and a rename.

The page opens offline: charts are matplotlib PNGs (Agg canvas, never pyplot) embedded as
base64 ``data:`` URIs, styles are inline, there is no script, and a Content-Security-Policy
forbids fetching anything. Every piece of text from the plan is HTML-escaped by Jinja2's
autoescaping.

A plan knows its shipments' results, not their requests: ``ready`` comes from the route, and a due
date only from lateness (arrival minus the days late). Pass the requested ``shipments`` to show
every due date and the dates of unplanned shipments too.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
import tempfile
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import jinja2
import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from numpy.typing import NDArray

from graphs.errors import InputError, UnknownPlaceError
from graphs.network import Network
from routing.model import Shipment
from routing.plan import Plan, ShipmentResult
from routing.plot import MODE_COLOURS
from routing.route import Route

__all__ = ["plot_capacity", "report_html", "write_report"]

DPI = 110
WIDTH_IN = 11.0
MAX_WIDTH_IN = 14.0
HEATMAP_ROWS = 30  # the fullest resources; more rows would not fit a screen
HEATMAP_LABELLED_WEEKS = 26  # up to this many week columns, every cell carries its percentage
FULL_SHARE = 0.95  # a cell this full is outlined: little room is left for another lot
LINE_CHARTS = 4  # weekly resources drawn with their capacity line
TIMELINE_ROWS = 60
CORRIDORS_SHOWN = 10
LABEL_CHARS = 46

STATUS_LABELS = {"on_time": "on time", "late": "late", "unplanned": "unplanned"}
WAIT_COLOUR = "#c9c9c9"
TRANSIT_COLOUR = "#4c78a8"
LATE_COLOUR = "#d62728"
UNPLANNED_COLOUR = "#8c8c8c"
BASE_COLOUR = "#a0a0a0"
SCENARIO_COLOUR = "#4c78a8"
CAPACITY_COLOUR = "#b2182b"
EMPTY_CELL = "#f3f3f3"
CLOSURE_COLOUR = "#f4a6a6"
HEATMAP_TITLE = "Capacity use by crossing, link and service, per ISO week"

_WEEK = re.compile(r"^\d{4}-W\d{2}$")


# -- facts from a plan (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class _Dates:
    """What is known of one shipment: dates requested (when given) or from its route, and its
    lane (origin → destination)."""

    ready: datetime | None
    due: datetime | None
    depart: datetime | None
    arrive: datetime | None
    lane: str


def _dates(network: Network, result: ShipmentResult, request: Shipment | None) -> _Dates:
    route = result.route
    if route is not None:
        lane = f"{_place(network, route.origin)} → {_place(network, route.destination)}"
    elif request is not None:
        lane = f"{_place(network, request.origin)} → {_place(network, request.destination)}"
    else:
        lane = ""
    due = request.due_at if request is not None else None
    if due is None and route is not None and result.late_days > 0:
        due = route.arrive - timedelta(days=result.late_days)
    ready = request.ready_at if request is not None else route.ready if route else None
    return _Dates(
        ready=ready,
        due=due,
        depart=route.depart if route else None,
        arrive=route.arrive if route else None,
        lane=lane,
    )


def _short(name: str) -> str:
    """A crossing's name without its trailing parenthesis: "Khorgos - Altynkol (rail, 1520)"."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", name) or name


def _crossing_label(network: Network, crossing_id: str) -> str:
    crossing = network.crossings.get(crossing_id)
    if crossing is None:
        return crossing_id.removesuffix(":rev")
    return f"{_short(crossing.name)} ({crossing.mode})"


def corridor(network: Network, route: Route | None) -> str:
    """The border crossings a route passes, in order: what a planner calls its corridor."""
    if route is None:
        return "—"
    names = dict.fromkeys(_crossing_label(network, c) for c in route.crossings)
    return " + ".join(names) or "no border crossing"


def _place(network: Network, place: str) -> str:
    """A place's name without its parenthesis ("Xi'an International Port"), or as given."""
    node = network.nodes.get(place)
    if node is None:
        try:
            node = network.resolve(place)
        except UnknownPlaceError:
            return place
    return _short(node.name)


def _resource_label(network: Network, resource_id: str) -> str:
    """Which capacity a row is, and for a crossing or link which way."""
    crossing = network.crossings.get(resource_id)
    if crossing is not None:
        a, b = network.nodes.get(crossing.from_node), network.nodes.get(crossing.to_node)
        way = f" {a.country}→{b.country}" if a and b and a.country != b.country else ""
        return f"{_short(crossing.name)} ({crossing.mode}){way}"
    service = network.services.get(resource_id)
    if service is not None:
        return f"{service.name} (fullest departure)"
    link = network.links.get(resource_id)
    if link is not None:
        return f"{_place(network, link.from_node)} → {_place(network, link.to_node)} ({link.mode})"
    return resource_id


def _monday(moment: date) -> date:
    return moment - timedelta(days=moment.weekday())


def _period_week(period: str) -> date:
    """The Monday of a resource period: an ISO week, or the week of a service departure."""
    if _WEEK.match(period):
        return datetime.strptime(f"{period}-1", "%G-W%V-%u").date()
    return _monday(datetime.fromisoformat(period.replace("Z", "+00:00")).date())


def _weekly_use(plan: Plan) -> dict[str, dict[date, tuple[float, float]]]:
    """(used, capacity) TEU per resource and week; for a service, its fullest departure."""
    use: dict[str, dict[date, tuple[float, float]]] = defaultdict(dict)
    for resource, used in plan.resources:
        week = _period_week(resource.period)
        known = use[resource.id].get(week)
        if known is None or used / resource.capacity_teu > known[0] / known[1]:
            use[resource.id][week] = (used, resource.capacity_teu)
    return dict(use)


@dataclass(frozen=True)
class _Grid:
    """Share of capacity used, rows by resource and columns by week; NaN where unused."""

    ids: tuple[str, ...]
    labels: tuple[str, ...]
    weeks: tuple[date, ...]
    share: NDArray[np.float64]
    used: NDArray[np.float64]
    capacity: NDArray[np.float64]
    total_rows: int


def _grids(network: Network, plans: Sequence[Plan], max_rows: int = HEATMAP_ROWS) -> list[_Grid]:
    """One grid per plan over the same rows (fullest first) and the same run of weeks."""
    uses = [_weekly_use(p) for p in plans]
    peak: dict[str, float] = defaultdict(float)
    for use in uses:
        for rid, cells in use.items():
            peak[rid] = max(peak[rid], *(u / c for u, c in cells.values()))
    if not peak:
        return []
    ids = sorted(peak, key=lambda rid: (-round(peak[rid], 6), _resource_label(network, rid)))
    shown = ids[:max_rows]
    mondays = {week for use in uses for cells in use.values() for week in cells}
    first, last = min(mondays), max(mondays)
    weeks = tuple(first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1))
    column = {week: j for j, week in enumerate(weeks)}
    grids = []
    for use in uses:
        used = np.full((len(shown), len(weeks)), np.nan)
        capacity = np.full((len(shown), len(weeks)), np.nan)
        for i, rid in enumerate(shown):
            for week, (u, c) in use.get(rid, {}).items():
                used[i, column[week]] = u
                capacity[i, column[week]] = c
        grids.append(
            _Grid(
                ids=tuple(shown),
                labels=tuple(_resource_label(network, rid) for rid in shown),
                weeks=weeks,
                share=used / capacity,
                used=used,
                capacity=capacity,
                total_rows=len(ids),
            )
        )
    return grids


@dataclass
class _Totals:
    shipments: int = 0
    teu: float = 0.0
    cost_usd: float = 0.0
    co2e_kg: float = 0.0


def _by_corridor(network: Network, plan: Plan) -> dict[str, _Totals]:
    totals: dict[str, _Totals] = defaultdict(_Totals)
    for result in plan.shipments:
        if result.route is None:
            continue
        row = totals[corridor(network, result.route)]
        row.shipments += 1
        row.teu += result.teu
        row.cost_usd += result.route.cost_usd
        row.co2e_kg += result.route.co2e_kg
    return dict(totals)


COST_GROUPS = (
    "rail linehaul",
    "road linehaul",
    "sea linehaul",
    "ferry linehaul",
    "border fees",
    "gauge change / transhipment",
    "handling",
    "storage and deferral",
)
_CATEGORY_GROUP = {
    "border": "border fees",
    "transhipment": "gauge change / transhipment",
    "handling": "handling",
    "storage": "storage and deferral",
}


def _by_mode(plan: Plan) -> tuple[dict[str, float], dict[str, float]]:
    """Cost by mode of linehaul and by kind of charge; CO2e by mode (only moves emit)."""
    cost: dict[str, float] = defaultdict(float)
    co2e: dict[str, float] = defaultdict(float)
    for result in plan.shipments:
        for step in result.route.steps if result.route else ():
            for category, usd in step.cost_categories().items():
                if category == "linehaul":
                    cost[f"{step.mode or 'other'} linehaul"] += usd
                else:
                    cost[_CATEGORY_GROUP[category]] += usd
            if step.co2e_kg:
                co2e[step.mode or "other"] += step.co2e_kg
    return dict(cost), dict(co2e)


@dataclass(frozen=True)
class _Change:
    id: str
    base_status: str
    base_corridor: str
    status: str
    corridor: str
    cost_delta_usd: float | None
    arrive_delta_days: float | None
    late_delta_days: float = 0.0


def _changes(network: Network, base: Plan, plan: Plan) -> list[_Change]:
    """Shipments whose corridor, modes, status, arrival (by more than an hour) or lateness differ
    between the base and the scenario; the most delayed first."""
    before = {s.id: s for s in base.shipments}
    out = []
    for after in plan.shipments:
        old = before.get(after.id)
        if old is None:
            continue
        old_sig = old.route.signature if old.route else None
        new_sig = after.route.signature if after.route else None
        cost_delta = arrive_delta = None
        if old.route is not None and after.route is not None:
            cost_delta = after.route.cost_usd - old.route.cost_usd
            arrive_delta = (after.route.arrive - old.route.arrive).total_seconds() / 86400
        late_delta = after.late_days - old.late_days
        moved = abs(arrive_delta or 0.0) > 1 / 24 or abs(late_delta) > 1e-3
        if old_sig == new_sig and old.status == after.status and not moved:
            continue
        out.append(
            _Change(
                id=after.id,
                base_status=old.status,
                base_corridor=corridor(network, old.route),
                status=after.status,
                corridor=corridor(network, after.route),
                cost_delta_usd=cost_delta,
                arrive_delta_days=arrive_delta,
                late_delta_days=late_delta,
            )
        )
    out.sort(key=lambda c: (-c.late_delta_days, -(c.arrive_delta_days or 0.0), c.id))
    return out


def _critical(
    results: Sequence[ShipmentResult], dates: Mapping[str, _Dates], count: int
) -> list[ShipmentResult]:
    """The ``count`` most critical shipments: late (most days first), unplanned, then on time
    with the least slack before the due date."""

    def urgency(result: ShipmentResult) -> tuple[int, float]:
        if result.status == "late":
            return 0, -result.late_days
        if result.status == "unplanned":
            return 1, 0.0
        d = dates[result.id]
        if d.due is not None and d.arrive is not None:
            return 2, (d.due - d.arrive).total_seconds() / 86400
        return 3, 0.0

    return sorted(results, key=urgency)[:count]


# -- charts --------------------------------------------------------------------------------------


def _figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, facecolor="white", layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself
    return fig


def _save(fig: Figure, fileobj: IO[bytes]) -> None:
    # No "Software" stamp: the same plan gives the same bytes.
    fig.savefig(fileobj, format="png", dpi=DPI, metadata={"Software": None})


def _plan_map(network: Network, plan: Plan) -> str | None:
    """The plan's routes on a map, as a ``data:`` URI; none when nothing is planned."""
    from routing.plot import plot_plan

    routes = [(s.route, s.teu) for s in plan.shipments if s.route is not None]
    if not routes:
        return None
    buffer = io.BytesIO()
    plot_plan(network, routes, buffer, title="Where the planned shipments go, by TEU")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _uri(fig: Figure | None) -> str | None:
    """The figure as a ``data:`` URI, to embed in the page."""
    if fig is None:
        return None
    buffer = io.BytesIO()
    _save(fig, buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _text(value: str, width: int = LABEL_CHARS) -> str:
    """Plan text for a chart: shortened, and dollar signs kept from starting mathtext."""
    short = value if len(value) <= width else value[: width - 1] + "…"
    return short.replace("$", r"\$")


def _cmap() -> Colormap:
    cmap = colormaps["YlOrRd"].with_extremes(bad=EMPTY_CELL, over="#67000d")
    return cmap


def _week_ticks(weeks: Sequence[date]) -> tuple[list[int], list[str]]:
    """Every week's column, or every n-th one when there are many: ISO week and its Monday."""
    step = max(1, math.ceil(len(weeks) / HEATMAP_LABELLED_WEEKS))
    positions = list(range(0, len(weeks), step))
    labels = [f"W{weeks[j].isocalendar()[1]:02d}\n{weeks[j].day} {weeks[j]:%b}" for j in positions]
    return positions, labels


def _heatmap_figure(grids: Sequence[_Grid], titles: Sequence[str], heading: str) -> Figure:
    """Capacity use as colour, one panel per plan over the same rows and weeks: side by side
    while both fit a page's width, else one above the other so the weeks line up."""
    rows, columns = grids[0].share.shape
    panel_in = max(4.0, 0.45 * columns + 0.6)
    beside = 3.4 + panel_in * len(grids) <= MAX_WIDTH_IN
    panel_h = 0.3 * rows + 0.6
    if beside:
        fig = _figure(3.4 + panel_in * len(grids), 1.3 + panel_h)
        axes = fig.subplots(1, len(grids), sharey=True, squeeze=False)[0]
    else:
        fig = _figure(min(MAX_WIDTH_IN, 3.4 + panel_in), 1.3 + panel_h * len(grids))
        axes = fig.subplots(len(grids), 1, sharex=True, squeeze=False)[:, 0]
    cmap = _cmap()
    norm = Normalize(0.0, 1.0)
    image = None
    for ax, grid, title in zip(axes, grids, titles, strict=True):
        share = np.ma.masked_invalid(grid.share)
        image = ax.imshow(share, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        _annotate_cells(ax, grid, cmap, norm)
        positions, labels = _week_ticks(grid.weeks)
        ax.set_xticks(positions, labels, fontsize=7.5)
        ax.set_yticks(range(rows), [_text(label) for label in grid.labels], fontsize=8)
        ax.tick_params(length=0)
        ax.set_xticks(np.arange(-0.5, columns), minor=True)
        ax.set_yticks(np.arange(-0.5, rows), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.2)
        ax.tick_params(which="minor", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        if title:
            ax.set_title(title, fontsize=10, fontweight="bold", loc="left")
    assert image is not None
    bar = fig.colorbar(
        image, ax=list(axes), location="bottom", shrink=0.5, aspect=40, extend="max", pad=0.02
    )
    bar.set_ticks([0, 0.25, 0.5, 0.75, 1.0], labels=["0 %", "25 %", "50 %", "75 %", "100 %"])
    bar.ax.tick_params(labelsize=8)
    bar.set_label(
        f"TEU used / capacity in the ISO week (service: its fullest departure) · "
        f"outlined: ≥ {FULL_SHARE:.0%} · grey: not used",
        fontsize=8,
    )
    fig.suptitle(heading, x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig


def _annotate_cells(ax: Axes, grid: _Grid, cmap: Colormap, norm: Normalize) -> None:
    rows, columns = grid.share.shape
    label = columns <= HEATMAP_LABELLED_WEEKS
    for i in range(rows):
        for j in range(columns):
            share = float(grid.share[i, j])
            if math.isnan(share):
                continue
            if share >= FULL_SHARE - 1e-9:
                ax.add_patch(
                    Rectangle(
                        (j - 0.5, i - 0.5),
                        1,
                        1,
                        fill=False,
                        edgecolor="black",
                        linewidth=1.6,
                        hatch="///" if share > 1 + 1e-6 else None,
                    )
                )
            if label:
                r, g, b, _ = cmap(norm(share))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.55
                ax.text(
                    j,
                    i,
                    "<1" if 0 < share < 0.005 else f"{share * 100:.0f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if dark else "#222222",
                    fontweight="bold" if share >= FULL_SHARE - 1e-9 else "normal",
                )


def _capacity_lines_figure(
    network: Network, plan: Plan, base: Plan | None, count: int = LINE_CHARTS
) -> Figure | None:
    """Used TEU per week against the capacity line, for the fullest weekly resources."""
    use = _weekly_use(plan)
    base_use = _weekly_use(base) if base is not None else {}
    weekly_ids = {r.id for r, _ in plan.resources if _WEEK.match(r.period)}
    weekly = [rid for rid in use if rid in weekly_ids]
    if not weekly:
        return None
    peak = {rid: max(u / c for u, c in use[rid].values()) for rid in weekly}
    chosen = sorted(weekly, key=lambda rid: (-round(peak[rid], 6), rid))[:count]
    mondays = {w for rid in chosen for w in (*use[rid], *base_use.get(rid, {}))}
    first, last = min(mondays), max(mondays)
    weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    x = np.array([_day(w) for w in weeks])
    fig = _figure(WIDTH_IN, 0.7 + 1.75 * len(chosen))
    axes = fig.subplots(len(chosen), 1, sharex=True, squeeze=False)[:, 0]
    cmap, norm = _cmap(), Normalize(0.0, 1.0)
    for ax, rid in zip(axes, chosen, strict=True):
        cells = use[rid]
        capacity = max(c for _, c in cells.values())
        used = np.array([cells.get(w, (0.0, capacity))[0] for w in weeks])
        caps = np.array([cells.get(w, (0.0, capacity))[1] for w in weeks])
        ax.bar(
            x + 3.5,
            used,
            width=6.0,
            color=[cmap(norm(u / c)) for u, c in zip(used, caps, strict=True)],
            edgecolor="#555555",
            linewidth=0.5,
            label="TEU used (colour: share)",
        )
        ax.step(
            np.append(x, x[-1] + 7),
            np.append(caps, caps[-1]),
            where="post",
            color=CAPACITY_COLOUR,
            linewidth=1.8,
            label="capacity",
        )
        top = max(float(caps.max()), float(used.max()))
        if rid in base_use:
            before = base_use[rid]
            base_used = np.array([before.get(w, (0.0, 0.0))[0] for w in weeks])
            ax.step(
                np.append(x, x[-1] + 7),
                np.append(base_used, base_used[-1]),
                where="post",
                color="#333333",
                linestyle=(0, (2, 2)),
                linewidth=1.2,
                label="base plan: TEU used",
            )
            base_caps = [c for _, c in before.values()]
            if base_caps and abs(max(base_caps) - capacity) > 1e-6:
                ax.axhline(
                    max(base_caps),
                    color=CAPACITY_COLOUR,
                    linestyle=(0, (1, 2)),
                    linewidth=1.2,
                    label="base plan: capacity",
                )
                top = max(top, max(base_caps))
            top = max(top, float(base_used.max()))
        # Scaled to the data: when little of the capacity is used, bars at 1 % of a capacity
        # scale would read as nothing; the capacity is then named instead of drawn.
        most_used = max(float(used.max()), float(base_used.max()) if rid in base_use else 0.0)
        if 0 < most_used < 0.25 * float(caps.max()):
            top = most_used
            ax.text(
                0.005,
                0.96,
                f"capacity {float(caps.max()):,.0f} TEU/week: above this scale",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize=7.5,
                color=CAPACITY_COLOUR,
            )
        ax.set_ylim(0, top * 1.18)
        ax.set_title(
            f"{_text(_resource_label(network, rid), 80)} · peak "
            + (f"{peak[rid]:.0%}" if peak[rid] >= 0.01 else f"{peak[rid]:.1%}"),
            fontsize=9,
            loc="left",
        )
        ax.set_ylabel("TEU / week", fontsize=8)
        ax.tick_params(labelsize=7.5)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].legend(fontsize=7.5, loc="upper right", ncols=4, frameon=False)
    positions, labels = _week_ticks(weeks)
    axes[-1].set_xticks(x[positions] + 3.5, labels)
    axes[-1].set_xlim(x[0] - 0.5, x[-1] + 7.5)
    fig.suptitle(
        "Busiest crossings and links: TEU used per ISO week against capacity",
        x=0.01,
        ha="left",
        fontsize=11,
        fontweight="bold",
    )
    return fig


def _timeline_figure(
    network: Network, rows: Sequence[ShipmentResult], dates: Mapping[str, _Dates]
) -> Figure | None:
    """Each shipment from ready to arrival against its due date (a Gantt chart)."""
    drawn = [r for r in rows if dates[r.id].ready is not None]
    if not drawn:
        return None
    drawn.sort(key=lambda r: (_day(dates[r.id].ready), r.id))
    # (row, start, end) per kind of bar; drawn one call per kind.
    bars: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    due_marks: list[tuple[int, float]] = []
    for y, result in enumerate(drawn):
        d = dates[result.id]
        ready = _day(d.ready)
        due = _day(d.due) if d.due is not None else None
        if d.arrive is not None and d.depart is not None:
            depart, arrive = _day(d.depart), _day(d.arrive)
            bars["wait"].append((y, ready, depart))
            on_time_end = arrive if due is None else min(arrive, max(due, depart))
            bars["transit"].append((y, depart, on_time_end))
            if due is not None and arrive > due:
                bars["late"].append((y, max(due, depart), arrive))
        else:
            bars["unplanned"].append((y, ready, due if due is not None else ready + 7))
        if due is not None:
            due_marks.append((y, due))

    fig = _figure(WIDTH_IN, 1.5 + 0.2 * len(drawn))
    ax = fig.add_subplot()
    styles: dict[str, dict[str, Any]] = {
        "wait": {"color": WAIT_COLOUR},
        "transit": {"color": TRANSIT_COLOUR},
        "late": {"color": LATE_COLOUR},
        "unplanned": {
            "facecolor": "white",
            "edgecolor": UNPLANNED_COLOUR,
            "hatch": "////",
            "linewidth": 0.8,
        },
    }
    for kind, segments in bars.items():
        segments = [(y, a, b) for y, a, b in segments if b > a]
        if segments:
            which, lefts, rights = (np.array(column) for column in zip(*segments, strict=True))
            ax.barh(which, rights - lefts, left=lefts, height=0.62, **styles[kind])
    for y, _, end in bars["unplanned"]:
        ax.text(end + 0.4, y, "unplanned", va="center", fontsize=6.5, color="#555555")
    if due_marks:
        marked, due_days = zip(*due_marks, strict=True)
        ax.plot(due_days, marked, "|", markersize=9, markeredgewidth=2, color="black")
    closed = _closure_spans(network)
    for _, start_day, end_day in closed:
        ax.axvspan(start_day, end_day, color=CLOSURE_COLOUR, alpha=0.35, linewidth=0, zorder=0)

    labels = [
        f"{_text(r.id, 24)} · {_text(dates[r.id].lane, 44)}" if dates[r.id].lane else r.id
        for r in drawn
    ]
    ax.set_yticks(range(len(drawn)), labels, fontsize=7)
    ax.set_ylim(len(drawn) - 0.4, -0.6)
    ends = [b + (6 if kind == "unplanned" else 0) for kind in bars for _, _, b in bars[kind]]
    ends += [x for _, x in due_marks]
    start, end = min(a for kind in bars for _, a, _ in bars[kind]) - 1, max(ends) + 1
    ax.set_xlim(start, end)
    for number, (label, start_day, end_day) in enumerate(closed):
        if end_day > start and start_day < end:
            ax.text(
                max(start_day, start) + 0.2,
                -0.5 + 0.45 * (number % 4),
                f"closed: {label}",
                fontsize=6.5,
                color="#7a1010",
                va="top",
                bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.6},
            )
    _date_ticks(ax, start, end)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [
        Patch(color=WAIT_COLOUR, label="ready, waiting at origin (incl. deferral)"),
        Patch(color=TRANSIT_COLOUR, label="under way, on time"),
        Patch(color=LATE_COLOUR, label="under way after the due date"),
        Line2D([], [], marker="|", markersize=9, markeredgewidth=2, color="black",
               linestyle="none", label="due"),
        Patch(facecolor="white", edgecolor=UNPLANNED_COLOUR, hatch="////",
              label="unplanned: ready → due"),
    ]  # fmt: skip
    if closed:
        handles.append(Patch(color=CLOSURE_COLOUR, alpha=0.35, label="closure (scenario)"))
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=3,
        fontsize=7.5,
        frameon=False,
        borderaxespad=0.3,
    )
    return fig


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _closure_spans(network: Network) -> list[tuple[str, float, float]]:
    """The network's closures as (what, first day, last day), one per target and range."""
    spans: dict[tuple[str, float, float], None] = {}
    for closure in network.closures:
        if closure.kind == "crossing":
            label = _crossing_label(network, closure.target)
        elif closure.kind == "node" and closure.target in network.nodes:
            label = _short(network.nodes[closure.target].name)
        else:
            label = closure.target
        spans[(label, _day(closure.start), _day(closure.end))] = None
    return list(spans)


def _day(moment: datetime | date | None) -> float:
    """Days since 1970 (UTC): the charts' time axis, with ticks set by ``_date_ticks``."""
    if moment is None:
        return math.nan
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return (moment - _EPOCH).total_seconds() / 86400


def _date_ticks(ax: Axes, start: float, end: float, most: int = 16) -> None:
    """Ticks on Mondays, every one, two, four … weeks so that at most ``most`` show."""
    first = _monday((_EPOCH + timedelta(days=math.ceil(start))).date())
    span_weeks = max(1, math.ceil((end - _day(first)) / 7))
    every = 1
    while span_weeks / every > most:
        every *= 2
    mondays = [first + timedelta(weeks=k) for k in range(0, span_weeks + 1, every)]
    mondays = [m for m in mondays if start <= _day(m) <= end]
    labels = []
    for k, monday in enumerate(mondays):
        new_year = k == 0 or monday.year != mondays[k - 1].year
        labels.append(f"{monday.day} {monday:%b}" + (f"\n{monday.year}" if new_year else ""))
    ax.set_xticks([_day(m) for m in mondays], labels, fontsize=7.5)


def _barh_groups(
    ax: Axes,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    xlabel: str,
) -> None:
    """Horizontal bars per category, one bar per series (base beside scenario)."""
    height = 0.8 / len(series)
    for k, (label, colour, values) in enumerate(series):
        offsets = np.arange(len(categories)) - 0.4 + height * (k + 0.5)
        bars = ax.barh(offsets, values, height=height * 0.92, color=colour, label=label)
        ax.bar_label(bars, labels=[_amount(v) for v in values], padding=2, fontsize=6.5)
    ax.set_yticks(range(len(categories)), [_wrap(c) for c in categories], fontsize=7.5)
    ax.set_ylim(len(categories) - 0.5, -0.5)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.margins(x=0.08)  # room for the values at the bars' ends
    ax.tick_params(axis="x", labelsize=7.5)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _amount(value: float) -> str:
    return "" if value == 0 else f"{value:,.2f}" if value < 10 else f"{value:,.0f}"


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(_text(text, 90), width=34)) or " "


def _series(plans: Sequence[tuple[str, Plan]]) -> list[tuple[str, str]]:
    if len(plans) == 1:
        return [(plans[0][0], SCENARIO_COLOUR)]
    return [(plans[0][0], BASE_COLOUR), (plans[1][0], SCENARIO_COLOUR)]


def _corridor_figure(
    corridors: Sequence[str], totals: Sequence[Mapping[str, _Totals]], names: Sequence[str]
) -> Figure:
    """Cost and CO2e per corridor, base beside scenario when comparing."""
    colours = [BASE_COLOUR, SCENARIO_COLOUR] if len(totals) == 2 else [SCENARIO_COLOUR]
    fig = _figure(WIDTH_IN, 1.2 + 0.42 * len(corridors) * (1.3 if len(totals) == 2 else 1.0))
    cost_ax, co2_ax = fig.subplots(1, 2, sharey=True)
    empty = _Totals()
    cost = [
        (name, colour, [t.get(c, empty).cost_usd / 1e6 for c in corridors])
        for name, colour, t in zip(names, colours, totals, strict=True)
    ]
    co2 = [
        (name, colour, [t.get(c, empty).co2e_kg / 1000 for c in corridors])
        for name, colour, t in zip(names, colours, totals, strict=True)
    ]
    _barh_groups(cost_ax, corridors, cost, "cost, million USD")
    _barh_groups(co2_ax, corridors, co2, "CO2e, tonnes")
    co2_ax.tick_params(axis="y", labelleft=False)
    if len(totals) == 2:
        cost_ax.legend(fontsize=8, frameon=False, loc="lower right")
    fig.suptitle(
        "Cost and CO2e by corridor (border crossings used)",
        x=0.01,
        ha="left",
        fontsize=11,
        fontweight="bold",
    )
    return fig


def _mode_figure(
    costs: Sequence[Mapping[str, float]], co2s: Sequence[Mapping[str, float]], names: Sequence[str]
) -> Figure:
    """Cost by linehaul mode and kind of charge; CO2e by mode."""
    colours = [BASE_COLOUR, SCENARIO_COLOUR] if len(costs) == 2 else [SCENARIO_COLOUR]
    cost_groups = [g for g in COST_GROUPS if any(c.get(g, 0) for c in costs)]
    cost_groups += sorted({g for c in costs for g in c} - set(COST_GROUPS))
    modes = [m for m in MODE_COLOURS if any(c.get(m, 0) for c in co2s)]
    modes += sorted({m for c in co2s for m in c} - set(MODE_COLOURS))
    rows = max(len(cost_groups), len(modes), 1)
    fig = _figure(WIDTH_IN, 1.3 + 0.36 * rows * (1.3 if len(costs) == 2 else 1.0))
    cost_ax, co2_ax = fig.subplots(1, 2)
    _barh_groups(
        cost_ax,
        cost_groups,
        [
            (n, col, [c.get(g, 0.0) / 1e6 for g in cost_groups])
            for n, col, c in zip(names, colours, costs, strict=True)
        ],
        "cost, million USD",
    )
    if len(costs) == 1:
        # One plan: linehaul bars in their mode's colour, as on the route maps.
        for patch, group in zip(cost_ax.patches, cost_groups, strict=True):
            patch.set_facecolor(MODE_COLOURS.get(group.split(" ")[0], "#7f7f7f"))
    _barh_groups(
        co2_ax,
        modes,
        [
            (n, col, [c.get(m, 0.0) / 1000 for m in modes])
            for n, col, c in zip(names, colours, co2s, strict=True)
        ],
        "CO2e, tonnes (moves only)",
    )
    for ax in (cost_ax, co2_ax):  # bars as thick in both panels, the axis only as long as used
        ax.spines["left"].set_bounds(len(ax.get_yticks()) - 0.5, -0.5)
        ax.set_ylim(rows - 0.5, -0.5)
    if len(costs) == 1:
        for patch, mode in zip(co2_ax.patches, modes, strict=True):
            patch.set_facecolor(MODE_COLOURS.get(mode, "#7f7f7f"))
    else:
        cost_ax.legend(fontsize=8, frameon=False, loc="lower right")
    fig.suptitle(
        "Cost by mode and charge, CO2e by mode", x=0.01, ha="left", fontsize=11, fontweight="bold"
    )
    return fig


def plot_capacity(
    network: Network,
    plan: Plan,
    fileobj: IO[bytes],
    *,
    base: Plan | None = None,
    title: str | None = None,
) -> None:
    """Draw the report's capacity heat map (with ``base``, both plans) as a PNG to ``fileobj``."""
    plans = [base, plan] if base is not None else [plan]
    grids = _grids(network, plans)
    if not grids:
        raise InputError("uses no crossing, link or service with a stated capacity", "plan")
    titles = ["Base", "Scenario"] if base is not None else [""]
    _save(_heatmap_figure(grids, titles, title or HEATMAP_TITLE), fileobj)


# -- the page ------------------------------------------------------------------------------------

# The page's template is routing/templates/report.html.j2 (package data).
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("routing", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

_TEMPLATE = _ENV.get_template("report.html.j2")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


def _usd(value: float) -> str:
    return f"{value:,.0f}"


def _signed(value: float, digits: int = 0) -> str:
    text = f"{value:+,.{digits}f}"
    return "±0" if float(f"{value:.{digits}f}") == 0 else text


def _shipment_rows(
    network: Network, plan: Plan, dates: Mapping[str, _Dates]
) -> list[dict[str, str]]:
    rows = []
    for s in plan.shipments:
        d, route = dates[s.id], s.route
        rows.append(
            {
                "id": s.id,
                "status": s.status,
                "status_label": STATUS_LABELS.get(s.status, s.status),
                "late_days": f"{s.late_days:.1f}" if s.late_days > 0 else "",
                "reason": s.reason or "",
                "lane": d.lane,
                "ready": _when(d.ready),
                "depart": _when(d.depart),
                "arrive": _when(d.arrive),
                "due": _when(d.due),
                "teu": f"{s.teu:,.1f}",
                "cost": _usd(route.cost_usd) if route else "",
                "co2e": f"{route.co2e_kg / 1000:,.2f}" if route else "",
                "modes": " + ".join(route.modes) if route else "",
                "corridor": corridor(network, route) if route else "",
            }
        )
    return rows


def _cards(plan: Plan) -> list[dict[str, str]]:
    s = plan.summary()
    return [
        {"label": "Shipments", "value": f"{s['shipments']:,}"},
        {"label": "On time", "value": f"{s['on_time']:,}"},
        {"label": "Late", "value": f"{s['late']:,}"},
        {"label": "Unplanned", "value": f"{s['unplanned']:,}"},
        {"label": "Days late, total", "value": f"{s['late_days']:,.1f}"},
        {"label": "Cost, USD", "value": _usd(s["cost_usd"])},
        {"label": "CO2e, t", "value": f"{s['co2e_kg'] / 1000:,.1f}"},
    ]


def _solver_line(plan: Plan) -> str:
    text = (
        f"Solver: {plan.status} ({plan.method}) in {plan.solve_seconds:.1f} s · objective "
        f"{_usd(plan.objective_usd)} USD (route cost + lateness + unplanned penalties) · proven "
        f"bound {_usd(plan.bound_usd)} USD ({plan.bound_kind}): no plan costs less, so the plan "
        f"is at most {plan.gap:.2%} above the best · gap over the routes generated "
        f"{plan.candidate_gap:.2%} (how far the solver may be from the best plan using only "
        "those routes)"
    )
    greedy = plan.baseline
    if greedy:
        text += (
            f" · greedy one-at-a-time baseline: objective {_usd(plan.baseline_objective_usd)} "
            f"USD, {greedy.get('late', 0)} late, {greedy.get('unplanned', 0)} unplanned"
        )
    return text


def _tone(delta: float, digits: int, *, lower_is_better: bool) -> str:
    if round(delta, digits) == 0:
        return ""
    return "better" if (delta < 0) == lower_is_better else "worse"


_COMPARED = (
    # summary key, label, digits, scale, lower is better
    ("planned", "Planned", 0, 1.0, False),
    ("on_time", "On time", 0, 1.0, False),
    ("late", "Late", 0, 1.0, True),
    ("unplanned", "Unplanned", 0, 1.0, True),
    ("late_days", "Days late, total", 1, 1.0, True),
    ("cost_usd", "Cost, USD", 0, 1.0, True),
    ("co2e_kg", "CO2e, t", 1, 1e-3, True),
)


def _comparison(base: Plan, plan: Plan) -> list[dict[str, str]]:
    before, after = base.summary(), plan.summary()
    rows = []
    for key, label, digits, scale, lower in _COMPARED:
        b, a = float(before[key]) * scale, float(after[key]) * scale
        delta = a - b
        tone = _tone(delta, digits, lower_is_better=lower)
        rows.append(
            {
                "label": label,
                "base": f"{b:,.{digits}f}",
                "scenario": f"{a:,.{digits}f}",
                "delta": _signed(delta, digits),
                "tone": tone,
            }
        )
    rows.append(
        {
            "label": "Objective, USD",
            "base": _usd(base.objective_usd),
            "scenario": _usd(plan.objective_usd),
            "delta": _signed(plan.objective_usd - base.objective_usd),
            "tone": _tone(plan.objective_usd - base.objective_usd, 0, lower_is_better=True),
        }
    )
    return rows


def _corridor_table(
    corridors: Sequence[str], totals: Sequence[Mapping[str, _Totals]]
) -> list[dict[str, Any]]:
    empty = _Totals()
    return [
        {
            "corridor": name,
            "cells": [
                {
                    "shipments": f"{t.get(name, empty).shipments:,}",
                    "teu": f"{t.get(name, empty).teu:,.1f}",
                    "cost": _usd(t.get(name, empty).cost_usd),
                    "co2e": f"{t.get(name, empty).co2e_kg / 1000:,.1f}",
                }
                for t in totals
            ],
        }
        for name in corridors
    ]


def _top_corridors(totals: Sequence[Mapping[str, _Totals]]) -> tuple[list[str], bool]:
    """The corridors carrying the most cost in any plan; whether the rest were folded together."""
    cost: dict[str, float] = defaultdict(float)
    for t in totals:
        for name, row in t.items():
            cost[name] = max(cost[name], row.cost_usd)
    ranked = sorted(cost, key=lambda name: (-cost[name], name))
    return ranked[:CORRIDORS_SHOWN], len(ranked) > CORRIDORS_SHOWN


def _fold(totals: Mapping[str, _Totals], keep: Iterable[str]) -> dict[str, _Totals]:
    kept = set(keep)
    out = {name: row for name, row in totals.items() if name in kept}
    rest = [row for name, row in totals.items() if name not in kept]
    if rest:
        out["other corridors"] = _Totals(
            shipments=sum(r.shipments for r in rest),
            teu=sum(r.teu for r in rest),
            cost_usd=sum(r.cost_usd for r in rest),
            co2e_kg=sum(r.co2e_kg for r in rest),
        )
    return out


def report_html(
    network: Network,
    plan: Plan,
    base: Plan | None = None,
    title: str | None = None,
    *,
    shipments: Sequence[Shipment] | None = None,
) -> str:
    """The report of ``plan`` as a self-contained HTML page; with ``base``, a comparison of the
    base plan (before a scenario) and ``plan`` (the scenario's).

    ``shipments``, the planned requests, adds every due date and unplanned shipments' dates.
    """
    requests = {s.id: s for s in shipments or ()}
    dates = {s.id: _dates(network, s, requests.get(s.id)) for s in plan.shipments}
    plans = [("Base", base), ("Scenario", plan)] if base is not None else [("Plan", plan)]
    names = [name for name, _ in plans]
    summary = plan.summary()

    grids = _grids(network, [p for _, p in plans])
    heatmap = lines = None
    heatmap_note = ""
    if grids:
        titles = names if base is not None else [""]
        heatmap = _uri(_heatmap_figure(grids, titles, HEATMAP_TITLE))
        lines = _uri(_capacity_lines_figure(network, plan, base))
        shown, total = len(grids[0].ids), grids[0].total_rows
        which = f"All {total}" if shown == total else f"The {shown} fullest of {total}"
        heatmap_note = (
            f"{which} capacity-limited crossings, links and services used, fullest first. A "
            "crossing or link row is one direction; a service row shows its fullest departure of "
            f"the week. Outlined cells are at least {FULL_SHARE:.0%} full."
        )

    critical = _critical(plan.shipments, dates, TIMELINE_ROWS)
    timeline = _uri(_timeline_figure(network, critical, dates))
    undated = sum(1 for r in critical if dates[r.id].ready is None)
    if len(plan.shipments) > TIMELINE_ROWS:
        then = (
            "then those on time with the least slack before their due date"
            if shipments is not None
            else "then some of those on time (the plan does not carry their due dates)"
        )
        timeline_note = (
            f"The {len(critical)} most critical of {len(plan.shipments):,} shipments: the late "
            f"ones first (most days late first), then the unplanned, {then}; drawn in order of "
            f"their ready date."
        )
    else:
        timeline_note = f"All {len(plan.shipments)} shipments, in order of their ready date."
    if undated:
        timeline_note += (
            f" {undated} unplanned shipment(s) are not drawn: the plan does not carry their "
            f"dates (pass the shipments to the report to show them)."
        )

    by_corridor = [_by_corridor(network, p) for _, p in plans]
    corridor_chart = mode_chart = None
    corridor_rows: list[dict[str, Any]] = []
    if any(by_corridor):
        top, folded = _top_corridors(by_corridor)
        shown_totals = [_fold(t, top) for t in by_corridor]
        categories = [*top, "other corridors"] if folded else top
        corridor_chart = _uri(_corridor_figure(categories, shown_totals, names))
        corridor_rows = _corridor_table(categories, shown_totals)
        modes = [_by_mode(p) for _, p in plans]
        mode_chart = _uri(_mode_figure([m[0] for m in modes], [m[1] for m in modes], names))

    changes = []
    if base is not None:
        for change in _changes(network, base, plan):
            changes.append(
                {
                    "id": change.id,
                    "base_status": change.base_status,
                    "base_status_label": STATUS_LABELS.get(change.base_status, change.base_status),
                    "base_corridor": change.base_corridor,
                    "status": change.status,
                    "status_label": STATUS_LABELS.get(change.status, change.status),
                    "corridor": change.corridor,
                    "cost": (
                        _signed(change.cost_delta_usd) if change.cost_delta_usd is not None else ""
                    ),
                    "arrive": (
                        _signed(change.arrive_delta_days, 1)
                        if change.arrive_delta_days is not None
                        else ""
                    ),
                    "late": _signed(change.late_delta_days, 1),
                    "late_tone": _tone(change.late_delta_days, 1, lower_is_better=True),
                }
            )

    stats = network.stats()
    subtitle = (
        f"{summary['shipments']:,} shipments · network of {stats['nodes']} places, "
        f"{stats['links']} links, {stats['crossings']} crossings, {stats['services']} services"
    )
    if shipments is None:
        due_note = (
            "Due dates are shown where the plan implies them (late shipments: arrival minus the "
            "days late); the plan does not carry the others."
        )
    else:
        due_note = "Ready and due are the dates requested."
    default_title = "silkroute scenario comparison" if base is not None else "silkroute plan report"
    return _TEMPLATE.render(
        title=title or default_title,
        subtitle=subtitle,
        comparison=_comparison(base, plan) if base is not None else [],
        changes=changes,
        cards=_cards(plan),
        solver=_solver_line(plan),
        plan_map=_plan_map(network, plan),
        heatmap=heatmap,
        heatmap_note=heatmap_note,
        lines=lines,
        timeline=timeline,
        timeline_note=timeline_note,
        corridor_chart=corridor_chart,
        corridor_rows=corridor_rows,
        mode_chart=mode_chart,
        plan_names=names,
        shipments=_shipment_rows(network, plan, dates),
        due_note=due_note,
    )


def write_report(
    network: Network,
    plan: Plan,
    directory: Path,
    *,
    base: Plan | None = None,
    title: str | None = None,
    shipments: Sequence[Shipment] | None = None,
) -> Path:
    """Write ``report_html`` to ``directory/index.html`` (the directory is made if missing)
    through a temporary file and a rename, so a failure never leaves half a report."""
    page = report_html(network, plan, base, title, shipments=shipments)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.html"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".index.html.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes files private; a report is for reading. (Not via the umask: reading it
        # means setting it, which races with other threads.)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
