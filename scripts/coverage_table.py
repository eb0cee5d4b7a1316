"""How far the bundled pack and the gazetteer reach: cities per country that route by name, and
the longest road legs of sites over a grid of China–Europe city pairs.

    python scripts/coverage_table.py [--origins 20] [--destinations 24] [--objective cost]

Prints the markdown tables of docs/coverage.md. A city "routes by name" when its name alone (or
"City, CC") picks it (or a pack place of that country) and a terminal that takes trucks lies within
the last-mile limit; the road leg is the great-circle distance to the nearest such terminal times
the detour factor, as a site's road leg is measured without an OSM extract.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from graphs import load_network
from graphs.errors import SilkrouteError
from graphs.gazetteer import COVERED_COUNTRIES, City, gazetteer
from graphs.places import locate
from routing.lastmile import DETOUR_FACTOR, MAX_LAST_MILE_KM, OPEN_BORDERS, site_anchors
from routing.model import Cargo, Shipment
from routing.routes import find_routes

# The EU with the EEA and Switzerland (less the microstates), the UK, Serbia and Turkey.
EUROPE = (OPEN_BORDERS - {"IS", "LI", "AD", "MC", "SM", "VA"}) | {"GB", "RS", "TR"}


def by_name(net: object, city: City) -> str:
    """``"name"`` when the bare name picks this city (or a pack place of its country),
    ``"City, CC"`` when the country is needed, ``""`` when neither does."""
    for text, how in ((city.name, "name"), (city.label, "City, CC")):
        try:
            found = locate(net, text)  # type: ignore[arg-type]
        except SilkrouteError:
            continue
        if isinstance(found, City):
            if found.geonameid == city.geonameid:
                return how
        elif found.country == city.country:
            return how
    return ""


def country_table(net: object) -> list[str]:
    rows: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
    for city in gazetteer().cities:
        if city.country not in COVERED_COUNTRIES:
            continue
        anchors = site_anchors(net, city.lat, city.lon, city.country)  # type: ignore[arg-type]
        leg = anchors[0][0] * DETOUR_FACTOR if anchors else None
        rows[city.country].append((by_name(net, city), leg))
    lines = [
        "| country | cities (GeoNames, pop. ≥ 15,000) | by name alone | with `City, CC` | "
        f"joined to a terminal ≤ {MAX_LAST_MILE_KM:g} km | route by name | median road leg km | "
        "longest road leg km |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals = [0, 0, 0, 0, 0]
    for country in sorted(rows):
        entries = rows[country]
        legs = [leg for _, leg in entries if leg is not None]
        counts = [
            len(entries),
            sum(how == "name" for how, _ in entries),
            sum(how == "City, CC" for how, _ in entries),
            len(legs),
            sum(bool(how) and leg is not None for how, leg in entries),
        ]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        median = f"{statistics.median(legs):.0f}" if legs else "–"
        longest = f"{max(legs):.0f}" if legs else "–"
        lines.append(
            f"| {country} | " + " | ".join(map(str, counts)) + f" | {median} | {longest} |"
        )
    lines.append("| **all** | " + " | ".join(f"**{n}**" for n in totals) + " | | |")
    return lines


def grid(net: object, origins: int, destinations: int, objective: str) -> list[str]:
    """Routes between the largest city of each of the first Chinese provinces and the largest
    city of each European country; the longest first and last road legs."""
    cities = gazetteer().cities
    largest: dict[str, City] = {}
    for city in sorted(cities, key=lambda c: -c.population):
        if city.country == "CN":
            largest.setdefault(f"CN-{city.admin1}", city)
        elif city.country in EUROPE:
            largest.setdefault(city.country, city)
    chinese = [c for k, c in largest.items() if k.startswith("CN-")][:origins]
    european = [c for k, c in largest.items() if not k.startswith("CN-")][:destinations]
    firsts: list[tuple[float, str]] = []
    lasts: list[tuple[float, str]] = []
    failures: list[str] = []
    started = time.perf_counter()
    for origin in chinese:
        for destination in european:
            ship = Shipment(
                f"{origin.lat:.4f},{origin.lon:.4f}",
                f"{destination.lat:.4f},{destination.lon:.4f}",
                Cargo(teu=2),
                ready="2026-12-02",
            )
            pair = f"{origin.label} → {destination.label}"
            try:
                route = find_routes(net, ship, objective)[0]  # type: ignore[arg-type]
            except SilkrouteError as exc:
                failures.append(f"{pair}: {exc}")
                continue
            moves = [step for step in route.steps if step.kind == "move"]
            firsts.append((moves[0].distance_km, pair))
            lasts.append((moves[-1].distance_km, pair))
    seconds = time.perf_counter() - started
    lines = [
        f"{len(chinese)} Chinese cities (the largest of each province first) × {len(european)} "
        f"European cities (the largest of each country), objective `{objective}`, by coordinates "
        f"(city centres): {len(firsts)} routes found, {len(failures)} without a route, in "
        f"{seconds:.0f} s.",
        "",
        "| road leg | longest km | pair | median km | 90th percentile km |",
        "|---|---:|---|---:|---:|",
    ]
    for name, legs in (
        ("first (origin site → terminal)", firsts),
        ("last (terminal → site)", lasts),
    ):
        if not legs:
            continue
        km = sorted(leg for leg, _ in legs)
        worst = max(legs)
        lines.append(
            f"| {name} | {worst[0]:.0f} | {worst[1]} | {statistics.median(km):.0f} | "
            f"{km[int(0.9 * (len(km) - 1))]:.0f} |"
        )
    lines += [f"- no route: {failure}" for failure in failures[:10]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origins", type=int, default=20)
    parser.add_argument("--destinations", type=int, default=24)
    parser.add_argument("--objective", default="cost")
    args = parser.parse_args()
    net = load_network()
    print("## Cities per country that route by name\n")
    print("\n".join(country_table(net)))
    print("\n## Road legs over a grid of China–Europe pairs\n")
    print("\n".join(grid(net, args.origins, args.destinations, args.objective)))


if __name__ == "__main__":
    main()
