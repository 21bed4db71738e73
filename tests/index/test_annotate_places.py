"""Names and dated sentences as indexing finds them, with the real spaCy model and the real gazetteer:
cities and countries are places whatever the NER says, and a dated sentence is quoted whole even where the
model splits it in the middle."""

from __future__ import annotations

from askfront.index.annotate import _found
from askfront.language.gazetteer import is_place
from askfront.language.nlp import load_ner

UPDATE = (
    "Coalition update\n\nSOUTHWEST ASIA, Jan. 9, 2017 — U.S. and coalition forces conducted 11 strikes. In "
    "addition, on Jan. 7, U.S. Air Force F-16 Fighting Falcons struck ISIL targets near Raqqah, destroying a "
    "vehicle. Jackson said the strikes would go on."
)


def test_gazetteer_cities_and_countries_are_places() -> None:
    assert is_place("Raqqah") and is_place("Syria") and is_place("the Netherlands") and is_place("Sirte")
    assert not is_place("Peter Cook") and not is_place("ISIL") and not is_place("Of")
    mentions, _dated = _found(load_ner()(UPDATE), UPDATE, "2017-01-09")
    kinds = {m.text: m.kind for m in mentions}
    assert kinds["Raqqah"] == "place"  # the small NER alone calls it a person
    assert kinds["Jackson"] == "person"  # a city's name too, but where a person stands ("Jackson said")


def test_a_dated_sentence_is_quoted_whole_where_the_model_splits_it() -> None:
    _mentions, dated = _found(load_ner()(UPDATE), UPDATE, "2017-01-09")
    sentences = {d.date_text: UPDATE[d.sentence_start : d.sentence_end] for d in dated}
    assert sentences["Jan. 7"] == (
        "In addition, on Jan. 7, U.S. Air Force F-16 Fighting Falcons struck ISIL targets near Raqqah, "
        "destroying a vehicle."
    )
    assert (
        sentences["Jan. 9, 2017"].startswith("SOUTHWEST ASIA") and "Coalition update" not in sentences["Jan. 9, 2017"]
    )


def test_a_region_run_into_a_persons_name_is_split() -> None:
    text = (
        "Statement\n\nForeign Office Minister for the Middle East Tobias Ellwood said the strikes went on. "
        "The Syria Democratic Forces advanced."
    )
    mentions, _dated = _found(load_ner()(text), text, "2017-01-09")
    kinds = {m.text: m.kind for m in mentions}
    assert kinds["Middle East"] == "place" and kinds["Tobias Ellwood"] == "person"
    assert "the Middle East Tobias Ellwood" not in kinds
    assert kinds["The Syria Democratic Forces"] == "organisation"  # a body, not a place and a person
    assert all(text[m.start : m.end] == m.text for m in mentions)
