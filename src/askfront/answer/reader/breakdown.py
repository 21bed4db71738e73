"""Totals and parts: a question that names one part of an explicit breakdown in a sentence ("34 strikes on
January 8: 23 strikes in Syria and 11 strikes in Iraq" asked "... in Syria ...") is answered with that part."""

from __future__ import annotations

import re
from collections.abc import Sequence

from askfront.answer.reader.kinds import sentence_bounds

# A figure followed by up to three lower-case words and a place: "23 strikes in Syria", "11 in Iraq".
_PREPOSITIONS = r"(in|at|near|around|outside|from|for)"
_PART = re.compile(r"\s*(?:[a-z]+\s+){0,3}?" + _PREPOSITIONS + r"\s+((?:[A-Z][\w'-]+ ?)+)")
# A place that opens the clause of a figure: "In Syria, coalition forces conducted 23 strikes".
_PLACE_BEFORE = re.compile(r"\b(?i:" + _PREPOSITIONS + r")\s+((?:[A-Z][\w'-]+ ?)+)[^\d.;:\n]{0,60}$")
_FIGURE = re.compile(r"\d[\d,.]*")


def place_of(text: str, s: int, a: int, b: int) -> tuple[str, str] | None:
    """(preposition, place) of the figure ``text[a:b]`` in the sentence starting at ``s``: the place after
    it ("23 strikes in Syria") or opening its clause ("In Syria, forces conducted 23 strikes")."""
    m = _PART.match(text, b, b + 80)
    if m:
        return m.group(1).lower(), m.group(2).strip()
    m = _PLACE_BEFORE.search(text, max(s, a - 80), a)
    return (m.group(1).lower(), m.group(2).strip()) if m else None


def _around(text: str, a: int, b: int) -> tuple[int, int, int]:
    """(sentence start, a, b) for ``place_of``."""
    return sentence_bounds(text, a, b)[0], a, b


def part_named(question: str, pool: Sequence) -> int | None:
    """Which of ``pool`` (candidate, text) is the part of an explicit breakdown that the question names:
    "34 strikes on January 8: 23 strikes in Syria and 11 strikes in Iraq" asked "... in Syria ..." gives
    the candidate "23". A breakdown is a passage in which two or more figures have the same preposition
    and different places; None when there is none, or the question names none of its parts."""
    named = set()
    for i, (c, _t) in enumerate(pool):
        a, b, _ = c.span()
        found = place_of(c.text, *_around(c.text, a, b))
        if not found or not re.search(rf"\b{found[0]}\s+{re.escape(found[1])}\b", question, re.I):
            continue
        # the breakdown's parts: in this sentence, or in the passage's other sentences ("In Syria, forces
        # conducted 23 strikes ... In Iraq, forces conducted 11 strikes")
        places = {place_of(c.text, *_around(c.text, f.start(), f.end())) for f in _FIGURE.finditer(c.text)}
        if len({p[1] for p in places if p and p[0] == found[0]}) >= 2:
            named.add(i)
    return named.pop() if len(named) == 1 else None
