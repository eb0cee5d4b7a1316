"""Modelled door-to-door days on the time objective against published transit times.

    python scripts/transit_check.py [--ready 2026-12-02] [--draws 2000] [--out FILE.md]

Reads docs/data/published-transit-times.csv (one relation a row, each with where its figures
were read) and routes 1 FEU on each with the fastest objective, over the modes the published
service uses. Prints (or writes) a markdown table: modelled days, the forecast's p10-p90 band
(seeded Monte Carlo over border dwell and late services, ``routing.reliability``), the
published range, and whether the band overlaps it. A relation whose place the network does
not know, or that has no route, is listed with the reason rather than dropped.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from graphs import load_network
from graphs.errors import SilkrouteError
from routing.model import Cargo, Shipment
from routing.reliability import forecast_arrival
from routing.routes import Avoid, find_routes

TABLE = Path(__file__).resolve().parent.parent / "docs" / "data" / "published-transit-times.csv"


def rows(path: Path = TABLE) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def compare(ready: str, draws: int) -> list[str]:
    net = load_network()
    lines = [
        "| relation | modes | modelled days | p10–p90 days | published days | band meets "
        "published | crossings | published as | source |",
        "|---|---|---:|---:|---:|---|---|---|---|",
    ]
    within = overlapping = counted = 0
    for row in rows():
        low, high = float(row["published_days_low"]), float(row["published_days_high"])
        modes = [m for m in row["modes"].split(",") if m] or None
        avoid = Avoid.of(countries=[c for c in row["avoid_countries"].split(",") if c])
        published = f"{low:g}" if low == high else f"{low:g}–{high:g}"
        relation = f"{row['origin']} → {row['destination']}"
        try:
            route = find_routes(
                net,
                Shipment(row["origin"], row["destination"], Cargo(teu=2), ready=ready),
                objective="time",
                modes=modes,
                avoid=avoid,
            )[0]
        except SilkrouteError as exc:
            lines.append(
                f"| {relation} | {row['modes'] or 'any'} | – ({exc}) | – | {published} | – | – "
                f"| {row['kind']} | {row['source']} |"
            )
            continue
        days = route.transit_days
        forecast = forecast_arrival(net, route, draws=draws, seed=0).to_dict()
        p10, p90 = forecast["transit_days_p10"], forecast["transit_days_p90"]
        counted += 1
        within += low * 0.8 <= days <= high * 1.2
        meets = p10 <= high and low <= p90
        overlapping += meets
        crossings = ", ".join(route.crossings) or "–"
        lines.append(
            f"| {relation} | {row['modes'] or 'any'} | {days:.1f} | {p10:.1f}–{p90:.1f} | "
            f"{published} | {'yes' if meets else 'no'} | {crossings} | {row['kind']} | "
            f"{row['source']} |"
        )
    lines.append("")
    lines.append(
        f"Of {counted} routed relations, {overlapping} have a p10–p90 band that meets the "
        f"published range and {within} have planned days within that range widened by 20 % "
        f"either way; {len(rows()) - counted} relations could not be routed."
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready", default="2026-12-02")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--out", type=Path, help="write the table to this file")
    args = parser.parse_args()
    text = "\n".join(compare(args.ready, args.draws)) + "\n"
    heading = (
        "# Modelled transit times against published ones\n\n"
        "Made by `python scripts/transit_check.py --out docs/transit-times.md`: 1 FEU on the\n"
        f"time objective, ready {args.ready}, over the modes of the published service; the\n"
        f"p10–p90 band is the route's arrival forecast ({args.draws:,} draws, seed 0). Sources\n"
        "are in "
        "`docs/data/published-transit-times.csv`.\n\n"
    )
    if args.out:
        args.out.write_text(heading + text, encoding="utf-8")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
