"""The ``silkroute`` command: the only place in ``routing`` that reads and writes files.

Exit codes: 0 done, 1 no route / infeasible (reason on stderr), 2 bad input.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
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
    InputError,
    NoRouteError,
    SilkrouteError,
    UnknownPlaceError,
)
from graphs.export import network_geojson, network_to_dict
from routing.geojson import routes_geojson
from routing.lastmile import place_name
from routing.model import OBJECTIVES, Cargo, Objective, Shipment
from routing.plan import Plan, plan, plan_deltas
from routing.route import Route
from routing.routes import Avoid, find_routes
from routing.scenario import apply_scenario
from routing.shipments import plan_csv, read_shipments

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


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    # Messages quote what the user typed: escape it, or "[" would be read as rich markup.
    text = escape(message)
    err.print(f"[bold red]error:[/] {text}" if code == EXIT_BAD_INPUT else text)
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
    except (DataPackError, InputError) as exc:
        fail(str(exc))
    except SilkrouteError as exc:
        fail(str(exc))


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
    """A scenario mapping from a JSON or YAML file; syntax errors are named by line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataPackError("is not UTF-8 text", file=path.name) from None
    except OSError as exc:
        raise DataPackError(f"cannot be read ({exc.strerror})", file=path.name) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DataPackError(
            f"is not valid JSON: {exc.msg}", file=path.name, line=exc.lineno
        ) from None
    except RecursionError:
        raise DataPackError("is nested too deeply to be a scenario", file=path.name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DataPackError(f"is not valid YAML: {exc}", file=path.name, line=line) from None
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
    objective: Annotated[str, typer.Option(help="cost, time, co2e or balanced.")] = "cost",
    ready: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today, UTC).")] = None,
    value_usd: Annotated[float | None, typer.Option("--value-usd")] = None,
    carbon_price: Annotated[float, typer.Option("--carbon-price-usd-per-t")] = 0.0,
    avoid_country: Annotated[list[str] | None, typer.Option("--avoid-country")] = None,
    avoid_node: Annotated[list[str] | None, typer.Option("--avoid-node")] = None,
    avoid_crossing: Annotated[list[str] | None, typer.Option("--avoid-crossing")] = None,
    modes: Annotated[str | None, typer.Option(help="Allowed modes, e.g. rail,road.")] = None,
    max_days: Annotated[float | None, typer.Option("--max-days")] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost-usd")] = None,
    alternatives: Annotated[int, typer.Option(min=0, max=10)] = 0,
    pareto: Annotated[bool, typer.Option("--pareto")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the HTTP answer JSON.")] = False,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Write routes.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw a PNG map.")] = None,
    network: NetworkOption = None,
    scenario: ScenarioOption = None,
    roads: RoadsOption = None,
) -> None:
    """Route one shipment from ORIGIN to DESTINATION (a place, or a site as "lat,lon")."""
    net = _load(network, scenario)
    road_graph = _load_roads(roads)
    if objective not in OBJECTIVES:
        fail(f"--objective: '{objective}' is not one of {', '.join(OBJECTIVES)}")
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
        )
        try:
            routes = find_routes(
                net,
                shipment,
                objective=_objective(objective),
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
                roads=road_graph,
            )
        except NoRouteError as exc:
            reason = exc.reason
    if geojson is not None:
        write_json(geojson, routes_geojson(net, routes))
    if plot is not None and routes:
        from routing.plot import plot_routes  # matplotlib loads only when a plot is asked for

        write_atomic(plot, lambda f: plot_routes(net, routes, f), binary=True)
    if as_json:
        answer = {"routes": [r.to_dict() for r in routes], "infeasible_reason": reason}
        out.print_json(json.dumps(answer), indent=1)
    else:
        for rank, found in enumerate(routes):
            print_route(net, found, title=_title(rank, pareto, len(routes)))
    if reason is not None:
        fail(reason, EXIT_INFEASIBLE)


def _objective(name: str) -> Objective:
    for known in OBJECTIVES:
        if known == name:
            return known
    fail(f"--objective: '{name}' is not one of {', '.join(OBJECTIVES)}")


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
            where,
            via,
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
        f"  generalized cost ${found.generalized_usd:,.0f}"
    )


def print_route(net: Network, found: Route, title: str) -> None:
    out.print(route_table(net, found, title))
    out.print(route_summary(found))
    out.print()


# -- plan ----------------------------------------------------------------------------------------


@app.command("plan")
def plan_command(
    shipments_csv: Annotated[Path, typer.Argument(metavar="SHIPMENTS.csv")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the plan: OUT.json or OUT.csv.")
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
) -> None:
    """Plan many shipments together against shared capacity."""
    if output is not None and output.suffix.lower() not in (".json", ".csv"):
        fail(f"-o: '{output}' must end in .json or .csv")
    if not 0 < time_limit <= 3600:
        fail("--time-limit: must be between 0 and 3600 seconds")
    if compare and scenario is None:
        fail("--compare needs --scenario")
    base_net = _load(network)
    net = _load(network, scenario)
    with user_errors():
        shipments = _read_shipments_file(shipments_csv, net)
        result = _plan_with_progress(net, shipments, time_limit, "plan")
        base = _plan_with_progress(base_net, shipments, time_limit, "base") if compare else None
    print_plan_summary(net, result)
    if base is not None:
        out.print()
        out.print(compare_plans(base, result))
    if output is not None:
        if output.suffix.lower() == ".csv":
            text = plan_csv(result)
            write_atomic(output, lambda f: f.write(text))
        else:
            data = result.to_dict()
            if base is not None:
                data["comparison"] = plan_deltas(base, result)
            write_json(output, data)
        out.print(f"wrote {output}")
    if report is not None:
        from routing.report import write_report  # matplotlib loads only for a report

        try:
            path = write_report(net, result, report, base=base, shipments=shipments)
        except OSError as exc:
            fail(f"--report: cannot write {report}: {exc.strerror or exc}")
        out.print(f"wrote {path}")
    if result.summary()["planned"] == 0:
        raise typer.Exit(EXIT_INFEASIBLE)


def _read_shipments_file(path: Path, net: Network) -> list[Any]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return read_shipments(handle, net, file=path.name)
    except UnicodeDecodeError:
        raise DataPackError("is not UTF-8 text", file=path.name) from None
    except OSError as exc:
        raise DataPackError(f"cannot be read ({exc.strerror})", file=path.name) from None


def _plan_with_progress(net: Network, shipments: list[Any], time_limit: float, label: str) -> Plan:
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

        return plan(net, shipments, time_limit_s=time_limit, progress=progress)


def print_plan_summary(net: Network, result: Plan) -> None:
    summary = result.summary()
    out.print(
        f"plan {result.status} ({result.method}): {summary['planned']}/{summary['shipments']} "
        f"planned, {summary['on_time']} on time, {summary['late']} late "
        f"({summary['late_days']:.1f} days), {summary['unplanned']} unplanned"
    )
    out.print(
        f"  cost ${summary['cost_usd']:,.0f}, CO2e {summary['co2e_kg'] / 1000:,.1f} t; objective "
        f"${result.objective_usd:,.0f}, bound ${result.bound_usd:,.0f}, gap {result.gap:.2%}, "
        f"solved in {result.solve_seconds:.1f} s; "
        f"greedy baseline ${result.baseline_objective_usd:,.0f}"
    )
    table = Table(title="Busiest resources", title_justify="left")
    for column in ("resource", "period", "used TEU", "capacity TEU", "use"):
        table.add_column(column, justify="left" if column in ("resource", "period") else "right")
    for resource, used in result.busiest(8):
        name = net.crossings[resource.id].name if resource.id in net.crossings else resource.id
        table.add_row(
            name,
            resource.period,
            f"{used:,.0f}",
            f"{resource.capacity_teu:,.0f}",
            f"{used / resource.capacity_teu:.0%}",
        )
    out.print(table)
    unplanned = [s for s in result.shipments if s.status == "unplanned"][:10]
    for item in unplanned:
        out.print(f"  unplanned {item.id}: {item.reason}")


def compare_plans(base: Plan, scenario: Plan) -> str:
    deltas = plan_deltas(base, scenario)
    lines = [
        f"scenario vs base: cost {deltas['cost_usd_delta']:+,.0f} USD, lateness "
        f"{deltas['late_days_delta']:+.1f} days, late shipments {deltas['late_delta']:+d}, "
        f"unplanned {deltas['unplanned_delta']:+d}, CO2e {deltas['co2e_kg_delta'] / 1000:+,.1f} t",
        f"  {len(deltas['changed_shipments'])} shipment(s) changed corridor or status",
    ]
    for change in deltas["changed_shipments"][:10]:
        was, now = change["base"], change["scenario"]
        lines.append(
            f"  {change['id']}: {','.join(was['crossings']) or was['status']} → "
            f"{','.join(now['crossings']) or now['status']}"
        )
    return "\n".join(lines)


# -- tours ---------------------------------------------------------------------------------------


@app.command()
def tours(
    deliveries_csv: Annotated[Path, typer.Argument(metavar="DELIVERIES.csv")],
    depot: Annotated[str, typer.Option(help="Depot: a place, or coordinates 'lat,lon'.")],
    trucks: Annotated[int, typer.Option(min=1, max=500)],
    payload_t: Annotated[float, typer.Option("--payload-t", help="Payload per truck, t.")],
    oversize_trucks: Annotated[
        int, typer.Option("--oversize-trucks", min=0, help="Trucks able to carry oversize.")
    ] = 0,
    speed_kph: Annotated[float, typer.Option("--speed-kph")] = 50.0,
    cost_usd_per_km: Annotated[float, typer.Option("--cost-usd-per-km")] = 1.5,
    objective: Annotated[str, typer.Option(help="cost or distance.")] = "cost",
    time_limit: Annotated[float, typer.Option("--time-limit")] = 10.0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write JSON.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    roads: RoadsOption = None,
    network: NetworkOption = None,
) -> None:
    """Delivery tours from a depot (railhead) to sites, with OR-Tools' routing solver."""
    from routing.deliveries import read_deliveries, tours_answer

    if not 0 < time_limit <= 600:
        fail("--time-limit: must be between 0 and 600 seconds")
    net = _load(network)
    road_graph = _load_roads(roads)
    with user_errors():
        try:
            with deliveries_csv.open(encoding="utf-8", newline="") as handle:
                drops = read_deliveries(handle, file=deliveries_csv.name)
        except UnicodeDecodeError:
            raise DataPackError("is not UTF-8 text", file=deliveries_csv.name) from None
        except OSError as exc:
            raise DataPackError(
                f"cannot be read ({exc.strerror})", file=deliveries_csv.name
            ) from None
        data = tours_answer(
            net,
            depot,
            drops,
            trucks=trucks,
            payload_t=payload_t,
            oversize_trucks=oversize_trucks,
            speed_kph=speed_kph,
            cost_usd_per_km=cost_usd_per_km,
            objective=objective,
            time_limit_s=time_limit,
            roads=road_graph,
        )
    if output is not None:
        write_json(output, data)
    if as_json:
        out.print_json(json.dumps(data), indent=1)
    else:
        out.print(
            f"{data['served']} of {len(drops)} deliveries on {data['trucks_used']} truck(s): "
            f"{data['distance_km']:,.1f} km, ${data['cost_usd']:,.0f} ({data['status']}; "
            f"distances {data['distances']})"
        )
        for tour in data["tours"]:
            stops = " → ".join(stop["delivery"] for stop in tour["stops"])
            out.print(
                f"  truck {tour['truck']}: {stops} ({tour['distance_km']:,.1f} km, "
                f"{tour['load_t']:g} t, back at {tour['end_h']:.1f} h)"
            )
        for item in data["unserved"]:
            out.print(f"  unserved {item['delivery']}: {item['reason']}")
    if data["served"] == 0:
        raise typer.Exit(EXIT_INFEASIBLE)


# -- network and places --------------------------------------------------------------------------


@app.command("network")
def network_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print every record as JSON.")] = False,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Write GeoJSON.")] = None,
    check: Annotated[Path | None, typer.Option("--check", help="Validate a pack dir.")] = None,
    network: NetworkOption = None,
) -> None:
    """Show, export or validate a network pack."""
    net = _load(check or network)
    if check is not None:
        stats = ", ".join(f"{v} {k}" for k, v in net.stats().items())
        out.print(f"{check}: valid network pack ({stats})")
        return
    if geojson is not None:
        write_json(geojson, network_geojson(net))
    if as_json:
        sys.stdout.write(json.dumps(network_to_dict(net), ensure_ascii=False) + "\n")
        return
    if geojson is None:
        stats = ", ".join(f"{v} {k}" for k, v in net.stats().items())
        out.print(f"network {net.source}: {stats}")


@app.command()
def places(
    query: Annotated[str, typer.Argument()] = "",
    network: NetworkOption = None,
) -> None:
    """List places matching QUERY (all places without one). Exits 1 when nothing matches."""
    net = _load(network)
    found = net.places.search(query)
    if not found:
        suggestions = net.places.suggest(query)
        hint = f"; closest: {', '.join(suggestions)}" if suggestions else ""
        fail(f"no place matches '{query}'{hint}", EXIT_INFEASIBLE)
    table = Table(show_header=True)
    for column in ("id", "name", "country", "kind", "modes", "aliases"):
        table.add_column(column)
    for node in found:
        table.add_row(
            node.id,
            node.name,
            node.country,
            node.kind,
            ",".join(sorted(node.modes)),
            ", ".join(node.aliases),
        )
    out.print(table)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default 127.0.0.1, or SILKROUTE_HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port (default 8000, or SILKROUTE_PORT)."),
    ] = None,
    network: NetworkOption = None,
) -> None:
    """Run the HTTP service (API, /docs, the map page) under uvicorn; SILKROUTE_* settings."""
    import copy

    import uvicorn  # the service and its web stack load only for this command
    from pydantic import ValidationError

    from service.app import create_app
    from service.settings import Settings
    from service.worker import job_workers

    overrides: dict[str, Any] = {"host": host, "port": port, "network_dir": network}
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"settings: {problems}")
    _load(settings.network_dir)  # a bad pack stops here with its file, line and column
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["silkroute"] = {"handlers": ["default"], "level": "INFO"}
    with job_workers(settings):  # SILKROUTE_JOB_WORKERS of them, stopped when the server stops
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            limit_concurrency=settings.max_connections,
            http="httptools",  # the C parser: about half the CPU of h11 per request
            access_log=settings.access_log,
            log_config=log_config,
            timeout_graceful_shutdown=10,
        )


@app.command()
def worker() -> None:
    """Run long jobs (plans, tours) from the job database (SILKROUTE_DATABASE_URL) until SIGTERM."""
    from pydantic import ValidationError

    from service.settings import Settings
    from service.worker import main as work

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        fail(f"settings: {problems}")
    raise typer.Exit(work(settings))


def main() -> None:
    """Console entry point."""
    app()
