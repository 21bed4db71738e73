"""Totals and parts: a question that names one part of an explicit breakdown in a sentence ("34 strikes on
January 8: 23 strikes in Syria and 11 strikes in Iraq" asked "... in Syria ...") is answered with that part."""

from __future__ import annotations

import re
from collections.abc import Sequence

from askfront.answer.reader.kinds import sentence_bounds

# A figure followed by up to three lower-case words and a place: "23 strikes in Syria", "11 in Iraq".
_PART = re.compile(r"\s*(?:[a-z]+\s+){0,3}?(in|at|near|around|outside|from|for)\s+((?:[A-Z][\w'-]+\s?)+)")
_FIGURE_PART = re.compile(r"\d[\d,.]*" + _PART.pattern)


def part_named(question: str, pool: Sequence) -> int | None:
    """Which of ``pool`` (candidate, text) is the part of an explicit breakdown that the question names:
    "34 strikes on January 8: 23 strikes in Syria and 11 strikes in Iraq" asked "... in Syria ..." gives
    the candidate "23". A breakdown is a sentence in which two or more figures are followed by the same
    preposition and different places; None when there is none, or the question names none of its parts."""
    named = set()
    for i, (c, _t) in enumerate(pool):
        a, b, _ = c.span()
        m = _PART.match(c.text, b, b + 80)
        if not m or not re.search(rf"\b{m.group(1)}\s+{re.escape(m.group(2).strip())}\b", question):
            continue
        s, e = sentence_bounds(c.text, a, b)
        places = {p.group(2).strip() for p in _FIGURE_PART.finditer(c.text, s, e) if p.group(1) == m.group(1)}
        if len(places) >= 2:
            named.add(i)
    return named.pop() if len(named) == 1 else None
