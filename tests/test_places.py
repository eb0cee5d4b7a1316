"""Place resolution by id, name or alias, ignoring case, accents and punctuation."""

from __future__ import annotations

import pytest

from graphs import Network, UnknownPlaceError, normalize


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Xi'an", "xian"),
        ("XIAN", "xian"),
        ("Łódź", "lodz"),
        ("Ürümqi", "urumqi"),
        ("Baku-port", "bakuport"),
    ],
)
def test_normalize_folds_case_accents_and_punctuation(text: str, key: str) -> None:
    assert normalize(text) == key


@pytest.mark.parametrize("query", ["alpha", "Alpha City", "ALPHA-CITY", "alfa", "Álpha", " alpha "])
def test_resolves_ids_names_and_aliases(tiny: Network, query: str) -> None:
    assert tiny.resolve(query).id == "alpha"


def test_unknown_place_suggests_the_closest(tiny: Network) -> None:
    with pytest.raises(UnknownPlaceError) as caught:
        tiny.resolve("Gama Hub")
    assert "Gamma Hub" in caught.value.suggestions
    assert "did you mean Gamma Hub" in str(caught.value)
    assert isinstance(caught.value, KeyError)


def test_search_lists_partial_matches(tiny: Network) -> None:
    assert {n.id for n in tiny.places.search("border")} == {"border-cn", "border-kz"}
    assert len(tiny.places.search("")) == 5
    assert tiny.places.search("zzzz") == []
