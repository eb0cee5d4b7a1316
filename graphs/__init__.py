"""The silkroute network: data pack, typed records, loading, validation and the routing graph."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from graphs.errors import (
    DataPackError as DataPackError,
)
from graphs.errors import (
    InputError as InputError,
)
from graphs.errors import (
    NoRouteError as NoRouteError,
)
from graphs.errors import (
    SilkrouteError as SilkrouteError,
)
from graphs.errors import (
    UnknownPlaceError as UnknownPlaceError,
)
from graphs.network import Network as Network
from graphs.network import build_network as build_network
from graphs.pack import BUNDLED_PACK as BUNDLED_PACK
from graphs.pack import read_pack as read_pack
from graphs.places import normalize as normalize
from graphs.records import Crossing as Crossing
from graphs.records import Link as Link
from graphs.records import Node as Node
from graphs.records import Service as Service


def load_network(path: str | Path | None = None) -> Network:
    """Load and validate a network pack: the bundled one by default, or a directory.

    Raises ``DataPackError`` naming file, line and column for anything wrong in the pack.
    Packs are cached by path and file modification times; a network is immutable.
    """
    directory = Path(path) if path is not None else BUNDLED_PACK
    directory = directory.expanduser().resolve()
    if not directory.is_dir():
        raise DataPackError(f"network pack '{path}' is not a directory")
    stamp = tuple(sorted((p.name, _modified_ns(p)) for p in directory.glob("*.csv")))
    return _load_cached(directory, stamp)


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:  # a dangling link: the pack reader names it
        return -1


@lru_cache(maxsize=8)
def _load_cached(directory: Path, stamp: tuple[tuple[str, int], ...]) -> Network:
    return build_network(read_pack(directory), source=str(directory))


# OSM road graphs pull in osmnx and geopandas (seconds to import): loaded on first use.
_ROADS = ("RoadGraph", "RoadLeg", "SnappedPoint", "load_road_graph", "road_leg")


def __getattr__(name: str) -> object:
    if name in _ROADS:
        from graphs import roads

        return getattr(roads, name)
    raise AttributeError(f"module 'graphs' has no attribute {name!r}")
