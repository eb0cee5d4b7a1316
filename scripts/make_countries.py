"""Build routing/data/countries.geojson, the country outlines drawn on every map.

Source: Natural Earth 1:50m Admin 0 countries (public domain), version 4.1.0, as redistributed in
TopoJSON by the npm package world-atlas 2.0.2 (file countries-50m.json). Get it with
``npm pack world-atlas@2.0.2`` and unpack the tarball, then:

    python scripts/make_countries.py package/countries-50m.json routing/data/countries.geojson

The outlines are cut to the window the network lives in (Europe to the Pacific, the Gulf to the
Arctic), simplified to about 3 km and written with two decimals (about 1 km): a few hundred
kilobytes instead of several megabytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import shapely

WINDOW = (-25.0, -12.0, 160.0, 80.0)  # lon_min, lat_min, lon_max, lat_max
TOLERANCE_DEG = 0.03
DIGITS = 2


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """The topology's arcs as absolute (lon, lat) points: undo the delta coding and quantising."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indices: list[int]) -> list[tuple[float, float]]:
    """One closed ring from arc indices; ``~i`` (negative) means arc ``i`` walked backwards."""
    points: list[tuple[float, float]] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def polygons(arcs: list[list[tuple[float, float]]], geometry: dict[str, Any]) -> Any:
    parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
    built = []
    for rings in parts:
        shell, *holes = (ring(arcs, r) for r in rings)
        built.append(shapely.Polygon(shell, holes))
    return shapely.make_valid(shapely.MultiPolygon(built))


def rounded(geometry: Any) -> Any:
    def coords(part: Any) -> list[list[float]]:
        return [[round(x, DIGITS), round(y, DIGITS)] for x, y in part.coords]

    polys = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"]
    shapes = [[coords(p.exterior), *(coords(h) for h in p.interiors)] for p in polys]
    if len(shapes) == 1:
        return {"type": "Polygon", "coordinates": shapes[0]}
    return {"type": "MultiPolygon", "coordinates": shapes}


def main(source: Path, target: Path) -> None:
    topology = json.loads(source.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    window = shapely.box(*WINDOW)
    features = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        shape = shapely.intersection(polygons(arcs, geometry), window)
        shape = shapely.simplify(shape, TOLERANCE_DEG, preserve_topology=True)
        if shape.is_empty or shape.area < 0.01:
            continue
        label = shapely.Point(shape.representative_point())
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": geometry["properties"]["name"],
                    "iso_n3": geometry.get("id"),
                    "label": [round(label.x, DIGITS), round(label.y, DIGITS)],
                },
                "geometry": rounded(shape),
            }
        )
    features.sort(key=lambda f: f["properties"]["name"])
    collection = {
        "type": "FeatureCollection",
        "source": "Natural Earth 1:50m Admin 0 countries v4.1.0 (public domain), via the npm "
        "package world-atlas 2.0.2 countries-50m.json; cut to lon -25..160, lat -12..80, "
        "simplified 0.03 deg, scripts/make_countries.py",
        "features": features,
    }
    target.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(features)} countries, {target.stat().st_size / 1024:.0f} KiB -> {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
