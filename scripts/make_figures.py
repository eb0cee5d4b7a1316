"""Draw the README figures: a route with its alternatives, and the whole network.

Usage: ``python scripts/make_figures.py [--network DIR] [--out docs/figures]
[--origin "Xi'an" --destination Tashkent --alternatives 2 --teu 4 --ready 2026-12-01]``

Writes ``route-<origin id>-<destination id>.png`` and ``network.png``; the same network and
arguments give the same bytes, so regenerated figures only change in git when the map does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from graphs import load_network
from graphs.errors import SilkrouteError
from routing.model import Cargo, Shipment
from routing.plot import plot_network, plot_routes
from routing.routes import find_routes

ROOT = Path(__file__).resolve().parent.parent


def write_figure(path: Path, draw: Callable[[IO[bytes]], None]) -> None:
    """Through a temporary file and a rename, so a failed run leaves the old figure intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            draw(f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a figure is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, default=None, help="pack (default: bundled)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--origin", default="Xi'an")
    parser.add_argument("--destination", default="Tashkent")
    parser.add_argument("--alternatives", type=int, default=2)
    parser.add_argument("--teu", type=float, default=4.0)
    parser.add_argument("--ready", default="2026-12-01", help="YYYY-MM-DD, fixed for stable output")
    args = parser.parse_args(argv)

    try:
        network = load_network(args.network)
        shipment = Shipment(args.origin, args.destination, Cargo(teu=args.teu), ready=args.ready)
        routes = find_routes(network, shipment, alternatives=args.alternatives)
    except SilkrouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    name = f"route-{routes[0].origin}-{routes[0].destination}.png"  # node ids are slugs
    write_figure(args.out / name, lambda f: plot_routes(network, routes, f))
    write_figure(args.out / "network.png", lambda f: plot_network(network, f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
