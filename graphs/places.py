"""Resolving what a planner types ("Xian", "HORGOS", "Łódź") to a node."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from graphs.errors import DataPackError, InputError, UnknownPlaceError
from graphs.records import NODE_KINDS, Node

if TYPE_CHECKING:
    from graphs.gazetteer import City

# Letters that Unicode decomposition leaves alone but a planner types without the mark.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "đ": "d", "ı": "i", "ə": "a"})


def normalize(text: str) -> str:
    """Lower-case, strip accents and punctuation: ``"Xi'an" -> "xian"``, ``"Łódź" -> "lodz"``."""
    if text.isascii():  # the common case, without Unicode decomposition
        return "".join(filter(str.isalnum, text.lower()))
    folded = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


def _place_filter(country: str | None, kind: str | None) -> Callable[[Node], bool]:
    """A test for ``search``'s filters; ``InputError`` naming the filter for a bad value."""
    code = None
    if country is not None and country.strip():
        from graphs.gazetteer import country_code

        code = country_code(country)
        if code is None:
            raise InputError(f"'{country}' is not a country name or ISO 3166 code", "country")
    if kind is not None and kind.strip():
        kind = kind.strip().lower()
        if kind not in NODE_KINDS:
            raise InputError(f"'{kind}' is not a kind of place ({', '.join(NODE_KINDS)})", "kind")
    else:
        kind = None

    def wanted(node: Node) -> bool:
        return (code is None or node.country == code) and (kind is None or node.kind == kind)

    return wanted


class _HasPlaces(Protocol):
    @property
    def places(self) -> PlaceIndex: ...


class PlaceIndex:
    """Id, name and alias lookup, ignoring case, accents and punctuation."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self._nodes = {node.id: node for node in nodes}
        self._keys: dict[str, str] = {}
        owners: dict[str, str] = {}
        for node in self._nodes.values():
            for label in (node.id, node.name, *node.aliases):
                key = normalize(label)
                if not key:
                    continue
                owner = owners.get(key)
                if owner is not None and owner != node.id:
                    raise DataPackError(
                        f"name or alias '{label}' of {node.id} is also a name of {owner}",
                        file="nodes.csv",
                        column="aliases",
                    )
                owners[key] = node.id
                self._keys[key] = node.id

    def resolve(self, query: str) -> Node:
        """The node a query names; ``UnknownPlaceError`` with suggestions otherwise."""
        if query in self._nodes:
            return self._nodes[query]
        node_id = self._keys.get(normalize(query))
        if node_id is None:
            raise UnknownPlaceError(query, self.suggest(query))
        return self._nodes[node_id]

    def suggest(self, query: str, limit: int = 5) -> list[str]:
        """Names of the known places closest to ``query``."""
        key = normalize(query)
        found: list[str] = []
        if key:
            found += [node_id for k, node_id in self._keys.items() if key in k or k in key]
            close = difflib.get_close_matches(key, list(self._keys), n=limit * 2, cutoff=0.6)
            found += [self._keys[k] for k in close]
        unique = list(dict.fromkeys(found))
        return [self._nodes[node_id].name for node_id in unique[:limit]]

    def search(
        self, query: str = "", *, country: str | None = None, kind: str | None = None
    ) -> list[Node]:
        """Every node matching ``query`` (all nodes for an empty query), best first; only those
        of ``country`` (ISO code or name) and ``kind`` when given."""
        wanted = _place_filter(country, kind)
        key = normalize(query)
        if not key:
            everything = sorted(self._nodes.values(), key=lambda node: (node.country, node.name))
            return [node for node in everything if wanted(node)]
        exact = [node_id for k, node_id in self._keys.items() if k == key]
        partial = [node_id for k, node_id in self._keys.items() if key in k]
        close = [
            self._keys[k] for k in difflib.get_close_matches(key, list(self._keys), n=5, cutoff=0.7)
        ]
        found = [self._nodes[node_id] for node_id in dict.fromkeys(exact + partial + close)]
        return [node for node in found if wanted(node)]


def locate(places: PlaceIndex | _HasPlaces, text: str) -> Node | City:
    """The pack place ``text`` names, else the gazetteer city (pack places always win).

    ``"Suzhou, CN"`` is the pack's Suzhou when that place is in CN. Raises ``UnknownPlaceError``
    (with the closest pack and gazetteer names) or ``AmbiguousPlaceError`` (with the candidates).
    """
    index = places if isinstance(places, PlaceIndex) else places.places
    try:
        return index.resolve(text)
    except UnknownPlaceError as unknown:
        from graphs.gazetteer import gazetteer, split_country

        name, country = split_country(text)
        if country is not None:
            try:
                node = index.resolve(name)
            except UnknownPlaceError:
                pass
            else:
                if node.country == country:
                    return node
        try:
            city = gazetteer().lookup(text)
        except UnknownPlaceError as missing:
            if type(missing) is not UnknownPlaceError:
                raise  # ambiguous: the candidates say more than pack suggestions
            hints = list(dict.fromkeys([*unknown.suggestions, *missing.suggestions]))
            raise UnknownPlaceError(text, hints[:8]) from None
        # Another name of a city the pack holds ("Tashkend", "Cologne"): the pack's place.
        try:
            node = index.resolve(city.name)
        except UnknownPlaceError:
            return city
        return node if node.country == city.country else city


def gazetteer_hints(text: str, limit: int = 5) -> list[str]:
    """Gazetteer cities ``text`` names, as ``"Zwickau, DE (pop. ...) - routes as a site"``; for
    a search of the pack that found nothing."""
    from graphs.gazetteer import gazetteer, split_country

    name, country = split_country(text)
    if not normalize(name):
        return []
    found = gazetteer().candidates(name, country)[:limit]
    return [f"{city.describe()} - not in the pack, routes by name as a site" for city in found]
