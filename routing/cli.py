"""The ``silkroute`` commands of the routing package (route, plan, tours, sweep, network,
places): the only place in ``routing`` that reads and writes files. ``service.cli`` adds the
commands that run the service (``serve``, ``worker``) and is the console entry point.

Exit codes: 0 done, 1 no route / infeasible (reason on stderr), 2 bad input. Every error is one
line on stderr (a file with several bad rows: one line each), never a traceback. Text from
files and arguments is printed with control characters escaped, so an id cannot drive the
terminal; ``--json`` output is JSON as built.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graphs import Network, load_network
from graphs.errors import (
    DataPackError,
    DataPackErrors,
    InputError,
    NoRouteError,
    SilkrouteError,
    UnknownPlaceError,
)
from graphs.export import network_geojson, network_to_dict
from graphs.places import gazetteer_hints
from graphs.textfile import read_text
from routing.geojson import plan_geojson, routes_geojson
from routing.lastmile import place_name
from routing.model import Cargo, Shipment
from routing.options import option_default, option_help
from routing.plan import Plan, PlanSettings, plan, plan_deltas
from routing.route import Route, route_legs
from routing.routes import Avoid, answer_of, find_routes, thin_front
from routing.scenario import SafeScenarioLoader, apply_scenario
from routing.shipments import plan_csv, read_shipments
from routing.stopping import Stop, StoppedError

EXIT_OK, EXIT_INFEASIBLE, EXIT_BAD_INPUT = 0, 1, 2

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Plan freight on the New Silk Road: routes, batch plans, network and places.",
)
# Tables read badly folded at 80 columns; pipes and files get a fixed, wide layout.
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(highlight=False, soft_wrap=True, width=_WIDTH, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ScenarioOption = Annotated[
    Path | None, typer.Option("--scenario", help="What-if scenario file (JSON or YAML).")
]
RoadsOption = Annotated[
    Path | None, typer.Option("--roads", help="Local OSM XML road extract for the last mile.")
]
NetworkOption = Annotated[
    Path | None, typer.Option("--network", help="Network pack directory (default: bundled).")
]


# Control characters (ESC, CSI, bidirectional overrides...) in text from files or arguments.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: object) -> str:
    """``text`` safe for a terminal: control characters as visible escapes (``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))


def say(message: str, code: int) -> None:
    """Write an error to stderr, one line per line of ``message``."""
    for line in message.splitlines() or [""]:
        # Messages quote what the user typed: escape it, or "[" would be read as rich markup.
        text = escape(clean(line))
        err.print(f"[bold red]error:[/] {text}" if code == EXIT_BAD_INPUT else text)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    say(message, code)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Map silkroute's errors to messages and exit codes, in one place."""
    try:
        yield
    except NoRouteError as exc:
        fail(exc.reason, EXIT_INFEASIBLE)
    except UnknownPlaceError as exc:
        fail(str(exc))
    except DataPackErrors as exc:
        fail("\n".join(exc.lines()))
    except (DataPackError, InputError) as exc:
        fail(_flagged(exc))
    except SilkrouteError as exc:
        fail(str(exc))


# The options' own names in errors become the flags a user typed.
_FLAGS = {
    "max_transit_days": "--max-days",
    "max_cost_usd": "--max-cost-usd",
    "carbon_price_usd_per_t": "--carbon-price-usd-per-t",
    "value_usd": "--value-usd",
    "alternatives": "--alternatives",
    "objective": "--objective",
    "modes": "--modes",
    "avoid.countries": "--avoid-country",
    "avoid.nodes": "--avoid-node",
    "avoid.crossings": "--avoid-crossing",
}


def _flagged(exc: DataPackError | InputError) -> str:
    field = getattr(exc, "field", None)
    if not isinstance(exc, InputError) or not field:
        return str(exc)
    base = re.sub(r"\.\d+$", "", field)
    flag = _FLAGS.get(base)
    return f"{flag}: {exc.detail}" if flag else str(exc)


def check_output(path: Path | None, flag: str, *, directory: bool = False) -> None:
    """Stop before any work when ``path`` cannot be written (no such directory, not writable,
    a directory where a file is wanted)."""
    if path is None:
        return
    if directory:
        if path.exists() and not path.is_dir():
            fail(f"{flag}: {path} exists and is not a directory")
        target = path if path.is_dir() else path.absolute().parent
    else:
        if path.is_dir():
            fail(f"{flag}: {path} is a directory")
        if path.exists() and not os.access(path, os.W_OK):
            fail(f"{flag}: cannot write {path}: permission denied")
        target = path.absolute().parent
    if not target.is_dir():
        fail(f"{flag}: cannot write {path}: directory {target} does not exist")
    if not os.access(target, os.W_OK | os.X_OK):
        fail(f"{flag}: cannot write {path}: directory {target} is not writable")


def write_atomic(path: Path, write: Callable[[Any], None], binary: bool = False) -> None:
    """Write through a temporary file in the same directory, then rename: never half a file."""
    directory = path.resolve().parent
    if not directory.is_dir():
        fail(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; outputs are ordinary files
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        fail(f"cannot write {path}: {exc.strerror or exc}")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, lambda f: json.dump(data, f, indent=1, ensure_ascii=False))


def _load(network: Path | None, scenario: Path | None = None) -> Network:
    with user_errors():
        net = load_network(network)
        if scenario is not None:
            net = apply_scenario(net, read_scenario(scenario), file=scenario.name)
        return net


def _load_roads(path: Path | None) -> Any:
    if path is None:
        return None
    from graphs.roads import load_road_graph  # osmnx loads only when an extract is given

    with user_errors():
        return load_road_graph(path)


def read_scenario(path: Path) -> dict[str, Any]:
    """A scenario mapping from a JSON or YAML file (at most 64 MB); syntax errors are named by
    line. YAML aliases are refused: a scenario needs none, and they can multiply a small file
    into an endless one."""
    text = read_text(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=SafeScenarioLoader)
    except json.JSONDecodeError as exc:
        raise DataPackError(
            f"is not valid JSON: {exc.msg}", file=path.name, line=exc.lineno
        ) from None
    except RecursionError:
        raise DataPackError("is nested too deeply to be a scenario", file=path.name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataPackError(f"is not valid YAML: {problem}", file=path.name, line=line) from None
    if not isinstance(data, dict):
        raise DataPackError(
            "must hold a mapping (closures, capacity, dwell, tariffs)", file=path.name
        )
    return data


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


# -- route ---------------------------------------------------------------------------------------


@app.command()
def route(
    origin: str,
    destination: str,
    teu: Annotated[float | None, typer.Option(help="Containers, in TEU.")] = None,
    pieces: Annotated[int | None, typer.Option(help="Project pieces of one kind.")] = None,
    length_m: Annotated[float | None, typer.Option("--length-m")] = None,
    width_m: Annotated[float | None, typer.Option("--width-m")] = None,
    height_m: Annotated[float | None, typer.Option("--height-m")] = None,
    weight_t: Annotated[
        float | None, typer.Option("--weight-t", help="Per piece, or total gross for containers.")
    ] = None,
    objective: Annotated[str, typer.Option(help=option_help("objective"))] = option_default(
        "objective"
    ),
    ready: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today, UTC).")] = None,
    value_usd: Annotated[float | None, typer.Option("--value-usd")] = None,
    carbon_price: Annotated[
        float,
        typer.Option("--carbon-price-usd-per-t", help=option_help("carbon_price_usd_per_t")),
    ] = option_default("carbon_price_usd_per_t"),
    avoid_country: Annotated[list[str] | None, typer.Option("--avoid-country")] = None,
    avoid_node: Annotated[list[str] | None, typer.Option("--avoid-node")] = None,
    avoid_crossing: Annotated[list[str] | None, typer.Option("--avoid-crossing")] = None,
    modes: Annotated[
        str | None, typer.Option(help=option_help("modes") + " E.g. rail,road.")
    ] = None,
    max_days: Annotated[
        float | None, typer.Option("--max-days", help=option_help("max_transit_days"))
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost-usd", help=option_help("max_cost_usd"))
    ] = None,
    alternatives: Annotated[int, typer.Option(help=option_help("alternatives"))] = option_default(
        "alternatives"
    ),
    pareto: Annotated[bool, typer.Option("--pareto", help=option_help("pareto"))] = False,
    due: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: forecasts give the chance to arrive by then.")
    ] = None,
    on_time: Annotated[float | None, typer.Option("--on-time", help=option_help("on_time"))] = None,
    draws: Annotated[int, typer.Option(help=option_help("draws"))] = option_default("draws"),
    seed: Annotated[int, typer.Option(help=option_help("seed"))] = option_default("seed"),
    plot_arrival: Annotated[
        Path | None,
        typer.Option("--plot-arrival", help="Draw the best route's arrival distribution (PNG)."),
    ] = None,
    pareto_step: Annotated[
        float,
        typer.Option(
            "--pareto-step",
            min=0,
            max=100,
            help="With --pareto: show a route of the same crossings and modes only when it "
            "costs this many percent less than the one before; 0 shows the whole front.",
        ),
    ] = 10.0,
    wide: Annotated[
        bool, typer.Option("--wide", help="Every step on its own line, with its service.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the HTTP answer JSON.")] = False,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Write routes.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw a PNG map.")] = None,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="Search seconds; a stopped search shows its best."),
    ] = None,
    network: NetworkOption = None,
    scenario: ScenarioOption = None,
    roads: RoadsOption = None,
) -> None:
    """Route one shipment from ORIGIN to DESTINATION (a place, or a site as "lat,lon").

    Avoided countries are ISO alpha-2 or alpha-3 codes or English names (RU, RUS, Russia).
    """
    check_output(geojson, "--geojson")
    check_output(plot, "--plot")
    check_output(plot_arrival, "--plot-arrival")
    if time_limit is not None and not 0 < time_limit <= 3600:
        fail("--time-limit: must be between 0 and 3600 seconds")
    net = _load(network, scenario)
    road_graph = _load_roads(roads)
    routes: list[Route] = []
    reason: str | None = None
    with user_errors():
        cargo = Cargo(
            teu=teu if teu is not None or pieces is not None else 1.0,
            pieces=pieces,
            weight_t=weight_t,
            length_m=length_m,
            width_m=width_m,
            height_m=height_m,
        )
        shipment = Shipment(
            origin=origin,
            destination=destination,
            cargo=cargo,
            value_usd=value_usd,
            ready=ready if ready else datetime.now(UTC).date(),
            due=due,
        )
        try:
            routes = find_routes(
                net,
                shipment,
                objective=objective,  # type: ignore[arg-type]  # (RouteOptions checks it)
                alternatives=alternatives,
                pareto=pareto,
                avoid=Avoid.of(
                    countries=_split(avoid_country),
                    nodes=_split(avoid_node),
                    crossings=_split(avoid_crossing),
                ),
                modes=_split([modes]) if modes else None,
                max_transit_days=max_days,
                max_cost_usd=max_cost,
                carbon_price_usd_per_t=carbon_price,
                on_time=on_time,
                draws=draws,
                seed=seed,
                roads=road_graph,
                stop=Stop(time_limit) if time_limit is not None else None,
            )
        except NoRouteError as exc:
            reason = exc.reason
        except StoppedError as exc:
            fail(f"no route found within --time-limit {time_limit:g} s ({exc})", EXIT_INFEASIBLE)
    front_size = getattr(routes, "front_size", None)
    if pareto and not as_json:
        routes = thin_front(routes, pareto_step / 100)
    if geojson is not None:
        write_json(geojson, routes_geojson(net, routes))
    if plot is not None and routes:
        from routing.plot import plot_routes  # matplotlib loads only when a plot is asked for

        write_atomic(plot, lambda f: plot_routes(net, routes, f), binary=True)
    if plot_arrival is not None and routes and routes[0].forecast is not None:
        from routing.charts import arrival_chart

        best, forecast = routes[0], routes[0].forecast
        title = f"{best.origin} → {best.destination}: arrival over {forecast.draws:,} draws"
        write_atomic(
            plot_arrival, lambda f: arrival_chart(forecast, best.ready, f, title=title), binary=True
        )
    if as_json:
        out.print_json(json.dumps(answer_of(routes, reason)), indent=1)
    else:
        for rank, found in enumerate(routes):
            print_route(net, found, title=_title(rank, pareto, len(routes)), wide=wide)
        if front_size is not None and front_size > len(routes):
            out.print(
                f"The Pareto front has {front_size} routes; {front_size - len(routes)} more are "
                "near-duplicates or within --pareto-step of a route shown (--json lists the rest)."
            )
        if routes and not routes[0].exact:
            out.print("Stopped at the time limit: the routes shown are not proven best.")
    if reason is not None:
        fail(reason, EXIT_INFEASIBLE)


def _title(rank: int, pareto: bool, count: int) -> str:
    if pareto:
        return f"Pareto route {rank + 1} of {count}"
    return "Best route" if rank == 0 else f"Alternative {rank}"


def route_table(net: Network, found: Route, title: str) -> Table:
    """The steps of a route as a table: when, what, where, hours, cost and CO2e."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for column, justify in (
        ("start (UTC)", "left"),
        ("step", "left"),
        ("where", "left"),
        ("via", "left"),
        ("hours", "right"),
        ("cost USD", "right"),
        ("CO2e kg", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for step in found.steps:
        if step.kind == "move":
            assert step.from_node and step.to_node
            where = f"{place_name(net, step.from_node)} → {place_name(net, step.to_node)}"
            via = f"{step.mode} {step.service or step.link}"
        elif step.kind == "border":
            crossing = net.crossings[step.crossing or ""]
            where = crossing.name
            via = "; ".join(filter(None, (step.service and f"on {step.service}", step.note)))
            via = via or "border"
        else:
            where = place_name(net, step.node or "")
            via = step.note
        table.add_row(
            step.start.strftime("%Y-%m-%d %H:%M"),
            step.kind,
            clean(where),
            clean(via),
            f"{step.hours:.1f}",
            f"{step.cost_usd:,.0f}",
            f"{step.co2e_kg:,.0f}",
        )
    return table


def route_summary(found: Route) -> str:
    costs = ", ".join(f"{k} {v:,.0f}" for k, v in found.cost_breakdown().items())
    hours = ", ".join(f"{k} {v:.1f}" for k, v in found.time_breakdown().items())
    return (
        f"{found.origin} → {found.destination}: {found.transit_days:.1f} days door to door, "
        f"${found.cost_usd:,.0f}, {found.co2e_kg / 1000:,.2f} t CO2e, "
        f"{found.distance_km:,.0f} km, arrive {found.arrive:%Y-%m-%d %H:%M} UTC\n"
        f"  countries {'-'.join(found.countries)}; modes {', '.join(found.modes)}; "
        f"crossings {', '.join(found.crossings) or 'none'}\n"
        f"  cost USD: {costs}\n  hours: {hours}\n"
        f"  generalized cost ${found.generalized_usd:,.0f}{_forecast_text(found)}"
    )


def _forecast_text(found: Route) -> str:
    forecast = found.forecast
    if forecast is None:
        return ""
    text = (
        f"\n  arrival p10/p50/p90 {forecast.p10:%b %d %H:%M}, {forecast.p50:%b %d %H:%M}"
        f", {forecast.p90:%b %d %H:%M} ({forecast.draws:,} draws)"
    )
    if forecast.due is not None and forecast.on_time_probability is not None:
        text += f"\n  on time by {forecast.due:%Y-%m-%d}: {forecast.on_time_probability:.0%}"
    return text


def print_route(net: Network, found: Route, title: str, wide: bool = False) -> None:
    if wide:
        out.print(route_table(net, found, title))
        out.print("\n".join(clean(line) for line in route_summary(found).split("\n")))
    else:
        out.print(compact_route_table(net, found, title), width=_narrow())
        summary = compact_summary(found).split("\n")
        out.print("\n".join(clean(line) for line in summary), width=_narrow())
    out.print()


def _narrow() -> int:
    """Compact tables fit 80 columns, or the terminal when it is narrower."""
    return min(80, out.width)


def _short_place(net: Network, node_id: str) -> str:
    """A place's name without its bracketed detail: "Xi'an International Port"."""
    name = place_name(net, node_id)
    return name.split(" (")[0] if " (" in name and not name.startswith("site") else name


def compact_route_table(net: Network, found: Route, title: str) -> Table:
    """One line per leg: when it starts, what it is, how far, how long and what it costs."""
    head = (
        f"{title}: {found.transit_days:.1f} days, ${found.cost_usd:,.0f}, "
        f"{found.distance_km:,.0f} km, {found.co2e_kg / 1000:,.2f} t CO2e"
    )
    table = Table(title=clean(head), title_justify="left", box=None, pad_edge=False)
    table.add_column("start UTC", no_wrap=True, min_width=11)
    table.add_column("leg", overflow="ellipsis", no_wrap=True, max_width=_LEG_WIDTH)
    table.add_column("by", no_wrap=True, min_width=6)
    for column, width in (("km", 6), ("hours", 6), ("USD", 6)):
        table.add_column(column, justify="right", no_wrap=True, min_width=width)
    for leg in route_legs(found.steps):
        first, last = leg[0], leg[-1]
        km = sum(step.distance_km for step in leg)
        if first.kind == "move":
            assert first.from_node and last.to_node
            what = f"{_short_place(net, first.from_node)} → {_short_place(net, last.to_node)}"
            by = first.mode or "move"
        elif first.kind == "border":
            crossing = net.crossings[first.crossing or ""]
            what = crossing.name.split(" (")[0] + (f": {first.note}" if first.note else "")
            by = "border"
        else:
            what = f"{_short_place(net, first.node or '')}: {first.note}".rstrip(": ")
            by = first.kind
        table.add_row(
            first.start.strftime("%m-%d %H:%M"),
            clean(what),
            clean(by),
            f"{km:,.0f}" if km else "",
            f"{sum(step.hours for step in leg):.1f}",
            f"{sum(step.cost_usd for step in leg):,.0f}",
        )
    return table


# 80 columns less the others (start 11, by 6, km 6, hours 6, USD 6) and the gaps between them.
_LEG_WIDTH = 35


def compact_summary(found: Route) -> str:
    crossings = ", ".join(dict.fromkeys(found.crossings)) or "none"
    text = (
        f"{found.origin} → {found.destination}, arrive {found.arrive:%Y-%m-%d %H:%M} UTC; "
        f"{'-'.join(found.countries)}; crossings {crossings}"
    )
    wrapped = textwrap.fill(text, width=_narrow(), subsequent_indent="  ", break_on_hyphens=False)
    return wrapped + _forecast_text(found)


# -- plan ----------------------------------------------------------------------------------------


@app.command("plan")
def plan_command(
    shipments_csv: Annotated[Path, typer.Argument(metavar="SHIPMENTS.csv|.xlsx")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the plan: OUT.json, OUT.csv or OUT.xlsx."),
    ] = None,
    geojson: Annotated[
        Path | None, typer.Option("--geojson", help="Write the planned routes as GeoJSON.")
    ] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver seconds.")] = 30.0,
    compare: Annotated[
        bool, typer.Option("--compare", help="With --scenario: also plan the base, show deltas.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report into this directory.")
    ] = None,
    network: NetworkOption = None,
    scenario: ScenarioOption = None,
    relative_gap: Annotated[
        float, typer.Option("--relative-gap", help="Stop within this share of the proven bound.")
    ] = PlanSettings.relative_gap,
    split: Annotated[
        bool, typer.Option("--split", help="Every container shipment may travel in lots.")
    ] = False,
    min_lot_teu: Annotated[
        float, typer.Option("--min-lot-teu", help="Smallest lot of a split shipment.")
    ] = PlanSettings.min_lot_teu,
    horizon_weeks: Annotated[
        int, typer.Option("--horizon-weeks", help="Latest start: ready + this many weeks.")
    ] = PlanSettings.horizon_weeks,
    late_usd_per_teu_day: Annotated[
        float, typer.Option("--late-usd-per-teu-day", help="Penalty per TEU per day late.")
    ] = PlanSettings.late_usd_per_teu_day,
    unplanned_usd_per_teu: Annotated[
        float, typer.Option("--unplanned-usd-per-teu", help="Penalty per TEU left unplanned.")
    ] = PlanSettings.unplanned_usd_per_teu,
    master: Annotated[
        str, typer.Option("--master", help="Integer plan solver: mip (HiGHS) or cp-sat.")
    ] = PlanSettings.master,
) -> None:
    """Plan many shipments together against shared capacity."""
    if output is not None and output.suffix.lower() not in (".json", ".csv", ".xlsx"):
        fail(f"-o: '{output}' must end in .json, .csv or .xlsx")
    check_output(output, "-o")
    check_output(geojson, "--geojson")
    check_output(report, "--report", directory=True)
    if not 0 < time_limit <= 3600:
        fail("--time-limit: must be between 0 and 3600 seconds")
    if compare and scenario is None:
        fail("--compare needs --scenario")
    base_net = _load(network)
    net = _load(network, scenario)
    with user_errors():
        try:
            settings = PlanSettings.from_mapping(
                {
                    "relative_gap": relative_gap,
                    "split": split,
                    "min_lot_teu": min_lot_teu,
                    "horizon_weeks": horizon_weeks,
                    "late_usd_per_teu_day": late_usd_per_teu_day,
                    "unplanned_usd_per_teu": unplanned_usd_per_teu,
                    "master": master,
                }
            )
        except InputError as exc:
            option = (exc.field or "").removeprefix("settings.").replace("_", "-")
            fail(f"--{option}: {exc.detail}")
        shipments = _read_shipments_file(shipments_csv, net)
        result = _plan_with_progress(net, shipments, time_limit, "plan", settings)
        base = (
            _plan_with_progress(base_net, shipments, time_limit, "base", settings)
            if compare
            else None
        )
    print_plan_summary(net, result)
    if base is not None:
        out.print()
        out.print(compare_plans(base, result))
    if output is not None:
        if output.suffix.lower() == ".csv":
            text = plan_csv(result, shipments)
            write_atomic(output, lambda f: f.write(text))
        elif output.suffix.lower() == ".xlsx":
            from routing.spreadsheet import write_plan_xlsx

            write_atomic(
                output,
                lambda f: write_plan_xlsx(f, net, result, shipments, base=base),
                binary=True,
            )
        else:
            data = result.to_dict()
            if base is not None:
                data["comparison"] = plan_deltas(base, result)
            write_json(output, data)
        out.print(f"wrote {clean(output)}")
    if geojson is not None:
        write_json(geojson, plan_geojson(net, result))
        out.print(f"wrote {clean(geojson)}")
    if report is not None:
        from routing.report import write_report  # matplotlib loads only for a report

        try:
            path = write_report(net, result, report, base=base, shipments=shipments)
        except OSError as exc:
            fail(f"--report: cannot write {report}: {exc.strerror or exc}")
        out.print(f"wrote {clean(path)}")
    if result.summary()["planned"] == 0:
        raise typer.Exit(EXIT_INFEASIBLE)


@app.command("sweep")
def sweep_command(
    shipments_csv: Annotated[Path, typer.Argument(metavar="SHIPMENTS.csv")],
    draws: Annotated[int, typer.Option(help="Random worlds to draw (1-100,000).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the draws.")] = 0,
    close_probability: Annotated[
        float,
        typer.Option(
            "--close-probability",
            help="Chance that a crossing is closed in any one ISO week (a stress test).",
        ),
    ] = 0.0,
    scheduler: Annotated[
        str | None,
        typer.Option(
            envvar="SILKROUTE_DASK_SCHEDULER",
            help=(
                "Dask scheduler address; default: a local cluster for this sweep; "
                "'inline' runs the draws in this process."
            ),
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes of the local cluster.")
    ] = 2,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Planner seconds.")] = 30.0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write JSON.")] = None,
    tornado: Annotated[
        Path | None, typer.Option("--tornado", help="Draw what made shipments late (PNG).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sweep as JSON.")] = False,
    network: NetworkOption = None,
    scenario: ScenarioOption = None,
) -> None:
    """Plan the shipments, then replay the plan over random draws of border dwell, late
    departures and closures: lateness, cost and the crossings that cause it."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from routing.sweep import exposures, sweep

    check_output(output, "-o")
    check_output(tornado, "--tornado")
    if not 0 < time_limit <= 3600:
        fail("--time-limit: must be between 0 and 3600 seconds")
    net = _load(network, scenario)
    with user_errors():
        shipments = _read_shipments_file(shipments_csv, net)
        settings = PlanSettings()
        result = _plan_with_progress(net, shipments, time_limit, "plan", settings)
        stakes = exposures(result, shipments)
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task(f"sweep: {draws:,} draws", total=1)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            swept = sweep(
                net,
                stakes,
                draws=draws,
                seed=seed,
                close_probability=close_probability,
                late_usd_per_teu_day=settings.late_usd_per_teu_day,
                scheduler=scheduler,
                workers=workers,
                progress=progress,
            )
    data = swept.to_dict()
    if output is not None:
        write_json(output, data)
    if tornado is not None:
        from routing.charts import tornado_chart

        write_atomic(tornado, lambda f: tornado_chart(swept, f), binary=True)
    if as_json:
        out.print_json(json.dumps(data), indent=1)
        return
    out.print(_sweep_text(data, len(shipments)))


def _sweep_text(data: dict[str, Any], shipments: int) -> str:
    late, usd = data["late_shipments"], data["lateness_usd"]
    lines = [
        f"{data['draws']:,} draws (seed {data['seed']}) over {len(data['shipments'])} planned "
        f"routes of {shipments} shipments, in {data['solve_seconds']:.1f} s",
        f"  late shipments: expected {data['expected_late_shipments']:.1f}; p50 {late['p50']:g}, "
        f"p90 {late['p90']:g}",
        f"  lateness penalty: p50 ${usd['p50']:,.0f}, p90 ${usd['p90']:,.0f}",
        "  what made shipments late (late days per draw):",
    ]
    lines += [
        f"    {driver['id']}: {driver['late_days_mean']:.2f}"
        for driver in data["drivers"][:6]
        if driver["late_days_mean"] > 0
    ]
    risky = sorted(
        (s for s in data["shipments"] if s["on_time_probability"] is not None),
        key=lambda s: s["on_time_probability"],
    )[:8]
    if risky:
        lines.append("  least sure to be on time:")
        lines += [
            f"    {s['id']}: {s['on_time_probability']:.0%} on time, late p90 "
            f"{s['late_days_p90']:.1f} days"
            for s in risky
        ]
    return "\n".join(escape(clean(line)) for line in lines)


def _read_shipments_file(path: Path, net: Network) -> list[Any]:
    if path.suffix.lower() == ".xlsx":
        from routing.spreadsheet import shipment_lines

        try:
            with path.open("rb") as stream:
                return read_shipments(shipment_lines(stream, path.name), net, file=path.name)
        except OSError as exc:
            raise DataPackError(f"cannot be read ({exc.strerror})", file=path.name) from None
    text = read_text(path)  # at most 64 MB, a byte-order mark dropped
    return read_shipments(io.StringIO(text, newline=""), net, file=path.name)


def _plan_with_progress(
    net: Network, shipments: list[Any], time_limit: float, label: str, settings: PlanSettings
) -> Plan:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        routing_task = bar.add_task(f"{label}: routing shipments", total=len(shipments))
        solving_task = bar.add_task(
            f"{label}: solving (up to {time_limit:g} s)", total=1, visible=False
        )

        def progress(phase: str, done: int, total: int) -> None:
            if phase == "routing":
                bar.update(routing_task, completed=done)
            else:
                bar.update(solving_task, visible=True, completed=done)

        return plan(net, shipments, time_limit_s=time_limit, settings=settings, progress=progress)


def print_plan_summary(net: Network, result: Plan) -> None:
    summary = result.summary()
    _print_wrapped(
        f"plan {result.status} ({result.method}): {summary['planned']}/{summary['shipments']} "
        f"planned, {summary['on_time']} on time, {summary['late']} late "
        f"({summary['late_days']:.1f} days), {summary['unplanned']} unplanned"
    )
    _print_wrapped(
        f"  cost ${summary['cost_usd']:,.0f}, CO2e {summary['co2e_kg'] / 1000:,.1f} t; "
        f"solved in {result.solve_seconds:.1f} s"
    )
    _print_wrapped(
        f"  objective ${result.objective_usd:,.0f}; proven bound ${result.bound_usd:,.0f} "
        f"({result.bound_kind}), gap {result.gap:.2%}; gap over the routes generated "
        f"{result.candidate_gap:.2%}; greedy baseline ${result.baseline_objective_usd:,.0f}"
    )
    table = Table(title="Busiest resources", title_justify="left")
    for column in ("resource", "period", "TEU", "capacity", "use"):
        if column in ("resource", "period"):
            table.add_column(column, overflow="ellipsis", no_wrap=True, max_width=30)
        else:
            table.add_column(column, justify="right", no_wrap=True, min_width=len(column) + 1)
    for resource, used in result.busiest(8):
        name = net.crossings[resource.id].name if resource.id in net.crossings else resource.id
        table.add_row(
            clean(name),
            resource.period,
            f"{used:,.0f}",
            f"{resource.capacity_teu:,.0f}",
            f"{used / resource.capacity_teu:.0%}",
        )
    out.print(table, width=_narrow())
    unplanned = [s for s in result.shipments if s.status == "unplanned"][:10]
    for item in unplanned:
        out.print(f"  unplanned {clean(item.id)}: {clean(item.reason)}")


def _print_wrapped(text: str) -> None:
    """A line of prose folded to 80 columns, continued with an indent."""
    out.print(textwrap.fill(text, width=_narrow(), subsequent_indent="    "))


def compare_plans(base: Plan, scenario: Plan) -> str:
    """What the scenario changes: totals, then each shipment whose arrival, lateness, status or
    corridor moved (up to 20), in lines that fit 80 columns."""
    deltas = plan_deltas(base, scenario)
    lines = [
        f"scenario vs base: cost {deltas['cost_usd_delta']:+,.0f} USD, lateness "
        f"{deltas['late_days_delta']:+.1f} days, late shipments {deltas['late_delta']:+d},",
        f"  unplanned {deltas['unplanned_delta']:+d}, "
        f"CO2e {deltas['co2e_kg_delta'] / 1000:+,.1f} t; arrivals: "
        f"{deltas['arrivals_later']} later, {deltas['arrivals_earlier']} earlier "
        f"({deltas['arrival_delta_days']:+.1f} days in all)",
        f"  {len(deltas['changed_shipments'])} shipment(s) changed corridor or status",
    ]
    moved = [
        d
        for d in deltas["shipments"]
        if abs(d["arrival_delta_days"] or 0) > 1 / 24
        or d["late_days_delta"]
        or d["base"]["status"] != d["scenario"]["status"]
        or d["base"]["crossings"] != d["scenario"]["crossings"]
    ]
    moved.sort(key=lambda d: (-abs(d["late_days_delta"]), -abs(d["arrival_delta_days"] or 0)))
    if moved:
        lines.append(f"  {'shipment':<14} {'arrival':>9} {'lateness':>9}  corridor or status")
    for change in moved[:20]:
        was, now = change["base"], change["scenario"]
        arrival = change["arrival_delta_days"]
        lateness = change["late_days_delta"]
        line = (
            f"  {clean(change['id'])[:14]:<14} "
            f"{'' if arrival is None else f'{arrival:+.1f} d':>9} "
            f"{f'{lateness:+.1f} d' if abs(lateness) >= 0.05 else '0.0 d':>9}  "
            f"{clean(_corridor_change(was, now))}"
        )
        lines.extend(
            textwrap.wrap(line, width=80, subsequent_indent=" " * 37, break_on_hyphens=False)
        )
    if len(moved) > 20:
        lines.append(f"  … and {len(moved) - 20} more (all in -o OUT.json or OUT.xlsx)")
    return "\n".join(lines)


def _corridor_change(was: dict[str, Any], now: dict[str, Any]) -> str:
    """The crossings left (-) and taken (+), or the change of status."""
    if was["status"] != now["status"] and (
        was["status"] == "unplanned" or now["status"] == "unplanned"
    ):
        return f"{was['status']} → {now['status']}"
    left = [c for c in was["crossings"] if c not in now["crossings"]]
    taken = [c for c in now["crossings"] if c not in was["crossings"]]
    change = " ".join([*(f"-{c}" for c in left), *(f"+{c}" for c in taken)]) or "same crossings"
    if was["status"] != now["status"]:
        change += f"; {was['status']} → {now['status']}"
    return change


# -- tours ---------------------------------------------------------------------------------------


@app.command()
def tours(
    deliveries_csv: Annotated[Path, typer.Argument(metavar="DELIVERIES.csv")],
    depot: Annotated[str, typer.Option(help="Railhead: a place, or coordinates 'lat,lon'.")],
    trucks: Annotated[int | None, typer.Option(min=1, max=500, help="One-type fleet size.")] = None,
    payload_t: Annotated[
        float | None, typer.Option("--payload-t", help="Payload per truck, t.")
    ] = None,
    oversize_trucks: Annotated[
        int, typer.Option("--oversize-trucks", min=0, help="Trucks able to carry oversize.")
    ] = 0,
    trucks_csv: Annotated[
        Path | None, typer.Option("--trucks-csv", help="Truck types (replaces --trucks).")
    ] = None,
    max_trips: Annotated[
        int, typer.Option("--max-trips", min=1, max=20, help="Trips per truck and day.")
    ] = 1,
    reload_hours: Annotated[
        float, typer.Option("--reload-hours", min=0, max=12, help="Loading time per trip, h.")
    ] = 0.0,
    driver_rules: Annotated[
        bool, typer.Option("--driver-rules/--no-driver-rules", help="AETR drivers' hours.")
    ] = True,
    extended_day: Annotated[
        bool, typer.Option("--extended-day", help="Allow 10 h of driving (twice a week).")
    ] = False,
    speed_kph: Annotated[float, typer.Option("--speed-kph", min=1, max=120)] = 50.0,
    cost_usd_per_km: Annotated[float, typer.Option("--cost-usd-per-km", min=0)] = 1.5,
    objective: Annotated[str, typer.Option(help="cost or distance.")] = "cost",
    time_limit: Annotated[float, typer.Option("--time-limit")] = 10.0,
    seed: Annotated[int, typer.Option(min=0, help="Search seed.")] = 0,
    iterations: Annotated[
        int | None,
        typer.Option(min=1, max=1_000_000, help="Stop after N iterations: a repeatable answer."),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write JSON.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw the tours (PNG).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    roads: RoadsOption = None,
    network: NetworkOption = None,
) -> None:
    """Delivery tours from a railhead to sites: trucks of several types, several trips a day,
    drivers' hours, time windows and crane slots."""
    from routing.deliveries import read_delivery_table, read_trucks, tours_answer
    from routing.lastmile import place_coordinates
    from routing.tours import AETR, DriverRules

    if not 0 < time_limit <= 600:
        fail("--time-limit: must be between 0 and 600 seconds")
    if trucks_csv is None and (trucks is None or payload_t is None):
        fail("give --trucks and --payload-t, or --trucks-csv")
    if trucks_csv is not None and (trucks is not None or payload_t is not None):
        fail("--trucks-csv replaces --trucks and --payload-t; give one or the other")
    check_output(output, "-o")
    check_output(plot, "--plot")
    net = _load(network)
    road_graph = _load_roads(roads)
    with user_errors():
        table = read_delivery_table(_text_lines(deliveries_csv), file=deliveries_csv.name)
        fleet = None
        if trucks_csv is not None:
            fleet = read_trucks(_text_lines(trucks_csv), file=trucks_csv.name)
        rules = DriverRules(extended_day=True) if extended_day else AETR
        with err.status(f"solving tours (up to {time_limit:g} s)", spinner="dots"):
            data = tours_answer(
                net,
                depot,
                table.deliveries,
                trucks=trucks or 1,
                payload_t=payload_t or 1.0,
                oversize_trucks=oversize_trucks,
                speed_kph=speed_kph,
                cost_usd_per_km=cost_usd_per_km,
                objective=objective,
                time_limit_s=time_limit,
                roads=road_graph,
                truck_types=fleet,
                max_trips=max_trips,
                reload_hours=reload_hours,
                rules=rules if driver_rules else None,
                crane_slots=table.crane_slots,
                seed=seed,
                iterations=iterations,
            )
        if plot is not None:
            from routing.tours.plot import plot_tours

            where = place_coordinates(net, depot)
            write_atomic(plot, lambda f: plot_tours(data, where, table.deliveries, f), binary=True)
    if output is not None:
        write_json(output, data)
    if as_json:
        out.print_json(json.dumps(data), indent=1)
    else:
        out.print(_tours_text(data, len(table.deliveries)))
    if data["served"] == 0:
        raise typer.Exit(EXIT_INFEASIBLE)


def _text_lines(path: Path) -> io.StringIO:
    """A CSV file's lines, read with the size limit (a byte-order mark is dropped later)."""
    return io.StringIO(read_text(path), newline="")


def _tours_text(data: dict[str, Any], asked: int) -> str:
    lines = [
        f"{data['served']} of {asked} deliveries on {data['trucks_used']} truck(s), "
        f"{data['trips']} trip(s): {data['distance_km']:,.1f} km, ${data['cost_usd']:,.0f} "
        f"({data['status']}, {data['engine']}; distances {data['distances']})"
    ]
    for truck in data["trucks"]:
        lines.append(
            f"  {truck['truck']}: {truck['distance_km']:,.1f} km, {truck['driving_h']:.1f} h "
            f"driving, {truck['start_h']:.1f}-{truck['end_h']:.1f} h"
        )
        for trip in truck["trips"]:
            stops = " → ".join(stop["delivery"] for stop in trip["stops"])
            breaks = f", {len(trip['breaks'])} break(s)" if trip["breaks"] else ""
            lines.append(
                f"    trip {trip['trip']}: {stops} ({trip['load_t']:g} t, "
                f"{trip['depart_h']:.1f}-{trip['return_h']:.1f} h{breaks})"
            )
    lines += [f"  unserved {item['delivery']}: {item['reason']}" for item in data["unserved"]]
    lines += [f"  note: {note}" for note in data["notes"]]
    return "\n".join(escape(clean(line)) for line in lines)


# -- network and places --------------------------------------------------------------------------


@app.command("network")
def network_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print every record as JSON.")] = False,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Write GeoJSON.")] = None,
    check: Annotated[Path | None, typer.Option("--check", help="Validate a pack dir.")] = None,
    network: NetworkOption = None,
) -> None:
    """Show, export or validate a network pack."""
    check_output(geojson, "--geojson")
    net = _load(check or network)
    if check is not None:
        stats = ", ".join(f"{v} {k}" for k, v in net.stats().items())
        out.print(f"{clean(check)}: valid network pack ({stats})")
        return
    if geojson is not None:
        write_json(geojson, network_geojson(net))
    if as_json:
        sys.stdout.write(json.dumps(network_to_dict(net), ensure_ascii=False) + "\n")
        return
    if geojson is None:
        stats = ", ".join(f"{v} {k}" for k, v in net.stats().items())
        out.print(f"network {clean(net.source)}: {stats}")


@app.command()
def places(
    query: Annotated[str, typer.Argument()] = "",
    country: Annotated[
        str | None, typer.Option("--country", help="Only this country (ISO code or name).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind (rail_terminal, sea_port...).")
    ] = None,
    network: NetworkOption = None,
) -> None:
    """List places matching QUERY (all places without one). Exits 1 when nothing matches."""
    net = _load(network)
    with user_errors():
        found = net.places.search(query, country=country, kind=kind)
    if not found:
        suggestions = net.places.suggest(query) + gazetteer_hints(query)
        hint = f"; closest: {', '.join(suggestions)}" if suggestions else ""
        fail(f"no place matches '{query}'{hint}", EXIT_INFEASIBLE)
    table = Table(show_header=True, box=None, pad_edge=False)
    for column in ("id", "name", "country", "kind", "modes", "aliases"):
        # ids are what --avoid-node and the API take: never cut; names and aliases fold
        table.add_column(column, no_wrap=column not in ("name", "aliases"))
    for node in found:
        table.add_row(
            clean(node.id),
            clean(node.name),
            node.country,
            node.kind,
            ",".join(sorted(node.modes)),
            clean(", ".join(node.aliases)),
        )
    out.print(table, width=_narrow())


def main(command: typer.Typer = app) -> None:
    """Run ``command`` (these commands, or ``service.cli``'s, which add the service's) as the
    console entry point: every error one line on stderr (exit 2 bad input, 1 no route or
    nothing plannable), never a traceback; ``SILKROUTE_DEBUG=1`` shows one for a bug."""
    try:
        code = command(standalone_mode=False)
    except typer.TyperException as exc:  # a bad flag or value, before any command ran
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        say(f"{where}{' '.join(exc.format_message().split())} (see --help)", EXIT_BAD_INPUT)
        code = EXIT_BAD_INPUT
    except typer.Abort:
        say("error: interrupted", EXIT_INFEASIBLE)
        code = 130
    except BrokenPipeError:  # the reader went away (``| head``): nothing left to say
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (stays open until exit)
        code = EXIT_INFEASIBLE
    except SilkrouteError as exc:
        say(str(exc), EXIT_BAD_INPUT)
        code = EXIT_BAD_INPUT
    except MemoryError:
        say("out of memory; give smaller inputs or raise the machine's memory", EXIT_INFEASIBLE)
        code = EXIT_INFEASIBLE
    except Exception as exc:
        if os.environ.get("SILKROUTE_DEBUG"):
            raise
        say(
            f"error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
            "please report it (SILKROUTE_DEBUG=1 shows where)",
            EXIT_INFEASIBLE,
        )
        code = EXIT_INFEASIBLE
    sys.exit(code or 0)
