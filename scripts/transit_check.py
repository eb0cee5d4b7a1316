"""Modelled door-to-door days on the time objective against published transit times.

    python scripts/transit_check.py [--ready 2026-12-02] [--out docs/transit-times.md]

Reads docs/data/published-transit-times.csv (one relation a row, each with where its figures
were read) and routes 1 FEU on each with the fastest objective, over the modes the published
service uses. Prints (or writes) a markdown table: modelled days, the published range, and the
modelled days as a share of the published range's middle. A relation whose place the network
does not know, or that has no route, is listed with the reason rather than dropped.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from graphs import load_network
from graphs.errors import SilkrouteError
from routing.model import Cargo, Shipment
from routing.routes import Avoid, find_routes

TABLE = Path(__file__).resolve().parent.parent / "docs" / "data" / "published-transit-times.csv"


def rows(path: Path = TABLE) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def compare(ready: str) -> list[str]:
    net = load_network()
    lines = [
        "| relation | modes | modelled days | published days | modelled / published middle "
        "| crossings | published as | source |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    within = counted = 0
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
                f"| {relation} | {row['modes'] or 'any'} | – ({exc}) | {published} | – | – "
                f"| {row['kind']} | {row['source']} |"
            )
            continue
        days = route.transit_days
        counted += 1
        within += low * 0.8 <= days <= high * 1.2
        crossings = ", ".join(route.crossings) or "–"
        lines.append(
            f"| {relation} | {row['modes'] or 'any'} | {days:.1f} | {published} | "
            f"{days / ((low + high) / 2):.2f} | {crossings} | {row['kind']} | {row['source']} |"
        )
    lines.append("")
    lines.append(
        f"{within} of {counted} routed relations fall within the published range widened by "
        f"20 % either way; {len(rows()) - counted} relations could not be routed."
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready", default="2026-12-02")
    parser.add_argument("--out", type=Path, help="write the table to this file")
    args = parser.parse_args()
    text = "\n".join(compare(args.ready)) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
