"""Countries as users name them: ISO 3166 alpha-2 (``RU``), alpha-3 (``RUS``) or English name
(``Russia``, ``Russian Federation``), all resolved to the alpha-2 code the network uses.

An avoided country that resolves to nothing is an error naming the closest valid ones: for a
shipper under sanctions rules, a silently ignored ``--avoid-country`` is the worst failure.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import pycountry

from graphs.errors import InputError

# Short English names in everyday use that ISO's names and pycountry's common names miss.
_EVERYDAY_NAMES = {
    "russia": "RU",
    "turkey": "TR",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "usa": "US",
    "america": "US",
    "czech republic": "CZ",
    "kyrgyz republic": "KG",
    "macedonia": "MK",
    "holland": "NL",
    # Kosovo's code is user-assigned, not ISO's, but in common use (and in network packs)
    "xk": "XK",
    "kosovo": "XK",
}
MAX_NAME_LENGTH = 60


def _key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join("".join(c if c.isalnum() else " " for c in plain.casefold()).split())


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Every accepted spelling (normalised) to its alpha-2 code."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        names = [country.alpha_2, country.alpha_3, country.name]
        for extra in ("common_name", "official_name"):
            value = getattr(country, extra, None)
            if value:
                names.append(value)
        for name in names:
            index.setdefault(_key(name), code)
    # "Iran, Islamic Republic of" is also "Iran", unless the short name is shared ("Korea, ...").
    short: dict[str, set[str]] = {}
    for country in pycountry.countries:
        key = _key(country.name.split(",")[0].split(" (")[0])
        short.setdefault(key, set()).add(country.alpha_2)
    for key, codes in short.items():
        if len(codes) == 1:
            index.setdefault(key, next(iter(codes)))
    for name, code in _EVERYDAY_NAMES.items():
        index[_key(name)] = code
    return index


def _label(code: str) -> str:
    if code == "XK":
        return "XK (Kosovo)"
    country = pycountry.countries.get(alpha_2=code)
    name = getattr(country, "common_name", None) or getattr(country, "name", None)
    return f"{code} ({name})" if name else code


def closest_countries(text: str, limit: int = 3) -> list[str]:
    """The valid countries nearest to ``text``, as ``"RU (Russian Federation)"``."""
    index = _index()
    key = _key(text)
    found = difflib.get_close_matches(key, list(index), n=limit * 4, cutoff=0.5)
    codes = list(dict.fromkeys(index[name] for name in found))
    if not codes and len(key) <= 3:  # a mistyped code: codes that share its first letter
        codes = sorted({code for name, code in index.items() if name[:1] == key[:1]})[:limit]
    return [_label(code) for code in codes[:limit]]


def country_code(text: object, field: str, known: Iterable[str] = ()) -> str:
    """The alpha-2 code ``text`` names; ``known`` adds codes a network uses beyond ISO's."""
    if not isinstance(text, str):
        raise InputError(f"{text!r:.60} is not a country", field)
    if len(text) > MAX_NAME_LENGTH:
        raise InputError(f"'{text[:40]}...' is longer than any country's name", field)
    stripped = text.strip()
    upper = stripped.upper()
    if upper in set(known):
        return upper
    code = _index().get(_key(stripped))
    if code is not None:
        return code
    closest = closest_countries(stripped)
    hint = f"; closest: {', '.join(closest)}" if closest else ""
    raise InputError(
        f"'{stripped}' is not a country (give an ISO code such as RU or RUS, or an English "
        f"name){hint}",
        field,
    )


def country_codes(texts: Iterable[object], field: str, known: Iterable[str] = ()) -> frozenset[str]:
    """Alpha-2 codes for each of ``texts``; the error's field names the bad item's index."""
    extra = frozenset(known)
    return frozenset(
        country_code(text, f"{field}.{i}", extra)
        for i, text in enumerate(texts)
        if not isinstance(text, str) or text.strip()
    )
