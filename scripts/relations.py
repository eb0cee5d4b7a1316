"""Modelled door-to-door days and cost on well-known relations, next to published figures.

    python scripts/relations.py [--ready 2026-12-02]

Prints the markdown table the README carries. Published figures are from
shared/reference/corridor-facts.md (each with where it was read).
"""

from __future__ import annotations

import argparse

from graphs import load_network
from routing.model import Cargo, Shipment
from routing.routes import Avoid, find_routes

# (relation, origin, destination, cargo, options, published figure, source)
RELATIONS: list[tuple[str, str, str, Cargo, dict[str, object], str, str]] = [
    ("China–Europe rail, northern (Chongqing–Duisburg)", "Chongqing", "Duisburg", Cargo(teu=2),
     {"modes": ["rail"]}, "~$3,240 per FEU (ERA index 2024); ~1,000-1,200 km/day",
     "searates ERA index; railfreight.com 2018-08-02"),
    ("China–Europe rail via Mongolia (Zhengzhou–Hamburg via Erenhot)", "Zhengzhou", "Hamburg",
     Cargo(teu=2), {"modes": ["rail"], "avoid": Avoid.of(countries=["KZ"])},
     "Erenhot median border time 44.4 h", "CAREC CPMM 2022"),
    ("China–Central Asia rail (Xi'an–Almaty)", "Xi'an", "Almaty", Cargo(teu=2),
     {"modes": ["rail"]}, "$5,350-5,700 per 40HQ China→Almaty/Aktau; 941 km/day in KZ",
     "report.az TMTM cost; railfreight.com 2018"),
    ("China–Uzbekistan rail (Xi'an–Tashkent)", "Xi'an", "Tashkent", Cargo(teu=2),
     {"modes": ["rail"]}, "Khorgos rail median border 34.8 h", "CAREC CPMM 2022"),
    ("Middle Corridor over the Caspian (Xi'an–Tbilisi, avoiding RU)", "Xi'an", "Tbilisi",
     Cargo(teu=2), {"avoid": Avoid.of(countries=["RU"]), "modes": ["rail", "ferry"]},
     "up to 1.5x the northern route's price; Alat–Aktau 18-20 h sailing",
     "trend.az 3863627; travel reports"),
    ("Road over Khorgos (Urumqi–Almaty)", "Urumqi", "Almaty", Cargo(teu=2),
     {"modes": ["road"]}, "$945 per 500 km per 20 t; road border 9.9 h / $208",
     "CAREC CPMM 2022"),
    ("Road over Irkeshtam (Kashgar–Osh)", "Kashgar", "Osh", Cargo(teu=2), {"modes": ["road"]},
     "Kashgar–Uzbekistan 2 days by road (was 8-10)", "silkroadnews.org"),
    ("Sea Shanghai–Rotterdam", "Shanghai", "Rotterdam", Cargo(teu=2), {"modes": ["sea"]},
     "$2,392 per FEU (Drewry WCI Apr 2025); 10,600 nm via Suez",
     "Drewry WCI; porteconomicsmanagement.org"),
    ("Sea Shanghai–Poti", "Shanghai", "Poti", Cargo(teu=2), {"modes": ["sea"]},
     "$2,000-2,500 per 40 ft", "report.az"),
    ("Blade 77 m Baiyin–Zarafshan wind farm (road)", "Baiyin", "zarafshan-wind",
     Cargo(pieces=1, length_m=77, width_m=4.2, height_m=4.5, weight_t=25), {},
     "via Khorgos and Kazakhstan, or Irkeshtam (500 km shorter, 3-5 days faster)",
     "azernews 211167; kun.uz 2023-01-07"),
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready", default="2026-12-02")
    args = parser.parse_args()
    net = load_network()
    print("| relation | modelled days | modelled USD | per FEU | crossings | published | source |")
    print("|---|---:|---:|---:|---|---|---|")
    for name, origin, destination, cargo, options, published, source in RELATIONS:
        ship = Shipment(origin, destination, cargo, ready=args.ready)
        route = find_routes(net, ship, **options)[0]  # type: ignore[arg-type]
        per_feu = f"{route.cost_usd:,.0f}" if cargo.teu == 2 else "–"
        crossings = ", ".join(c.removesuffix(":rev") for c in route.crossings) or "–"
        print(
            f"| {name} | {route.transit_days:.1f} | {route.cost_usd:,.0f} | {per_feu} | "
            f"{crossings} | {published} | {source} |"
        )


if __name__ == "__main__":
    main()
