"""Answer types: what kind of answer a question asks for, and whether a span can be one.

A "how old" question needs an age, "how many/much" a quantity, "what year" or "when" a date or time, "how
far" a distance, "who"/"where" something that is not a bare number or date; a span of the wrong type is
not the answer (the reader takes its next span of the right type, or abstains). The answer checker
(``check.py``) reads the candidates that pass; these rules stay as a guard before it.
"""

from __future__ import annotations

import re

from askfront.language.dates import MONTH_PATTERN

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|"
    r"thousands?|millions?|billions?|trillions?|dozens?|several|a\s+few|half|twice"
)
NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_MONTH = re.compile(rf"\b(?:{MONTH_PATTERN})\b\.?", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\b\d{1,4}\s*(?:BC|BCE|AD|CE)\b")
_TIME_WORDS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|spring|summer|autumn|fall|winter|"
    r"century|centuries|decade|decades|year|years|month|months|week|weeks|day|days|night|morning|evening|"
    r"afternoon|dawn|noon|midnight|hours?|minutes?|era|age|period|dynasty|reign|war|ago|later|earlier|"
    r"after|before|during|until|since|following|prior|when|while|once|then|early|late|mid|modern|ancient|"
    r"medieval|[a-z]+ian|[a-z]+ic)\b|\d",
    re.IGNORECASE,
)
_RELATIVE_DAY = re.compile(r"^(?:today|yesterday|tomorrow|now|recently|currently|this\s+week)$", re.IGNORECASE)
_DISTANCE_UNIT = re.compile(
    r"\b(?:kilomet(?:er|re)s?|km|miles?|mi|met(?:er|re)s?|m|feet|foot|ft|yards?|nautical|blocks?)\b", re.IGNORECASE
)
_AGE = re.compile(r"\b(?:years?|months?)\s+old\b|\baged?\b|\bage\s+of\b", re.IGNORECASE)


# What a question asks for: the first pattern that matches, in this order ("At what age ... how many" is an age).
_ASKS = (
    (re.compile(r"\bhow\s+old\b|\bwhat\s+(?:was|is|were|are)\s+(?:the\s+)?(?:\w+\s+)?age\b|"
                r"\bat\s+what\s+age\b"), "age"),
    (re.compile(r"\bhow\s+far\b|\bwhat\s+(?:is|was)\s+the\s+distance\b"), "distance"),
    (re.compile(r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:percentage|percent|proportion|share|number)\s+of\b|"
                r"\bwhat\s+(?:is|was)\s+the\s+population\b"), "quantity"),
    (re.compile(r"\b(?:what|which|in\s+what|in\s+which)\s+year\b|\byear\s+(?:did|was|were)\b"), "year"),
    (re.compile(r"\b(?:what|which|on\s+what|on\s+which)\s+(?:date|day)\b"), "date"),
    (re.compile(r"^(?:\w+\s+){0,2}when\b"), "time"),
    (re.compile(r"^(?:\w+\s+){0,2}(?:who|whom|where)\b"), "entity"),
)  # fmt: skip


def expected_type(question: str) -> str:
    """What kind of answer the question asks for: age, quantity, distance, year, date, time, entity or ''
    (anything: 'what', 'which', 'why', 'how' + adjective...)."""
    q = " ".join(question.lower().split())
    return next((kind for pattern, kind in _ASKS if pattern.search(q)), "")


def is_date(span: str) -> bool:
    """A calendar date or year ('Jan. 7', '4 February 2015', '1998')."""
    return bool(_MONTH.search(span) or _YEAR.search(span))


def fits(kind: str, span: str) -> bool:
    """Whether ``span`` can be an answer of ``kind`` (see ``expected_type``)."""
    text = " ".join(span.split())
    if not kind or not text:
        return bool(text)
    if kind == "age":
        return bool(NUMBER.search(text)) and (not is_date(text) or bool(_AGE.search(text)))
    if kind == "quantity":
        return bool(NUMBER.search(text)) and not (_MONTH.search(text) and not re.search(r"\d{2,}", text))
    if kind == "distance":  # a figure, or a place reached ("as far as Ras Lanuf")
        if re.match(r"(?:as\s+far\s+as|up\s+to|to|near|outside)\s+[A-Z]", text):
            return True
        return bool(NUMBER.search(text)) and (bool(_DISTANCE_UNIT.search(text)) or not is_date(text))
    if kind == "year":
        return bool(re.search(r"\d", text))
    if kind == "date":
        return bool(re.search(r"\d", text) or _MONTH.search(text)) and not _RELATIVE_DAY.match(text)
    if kind == "time":
        return bool(_TIME_WORDS.search(text) or _MONTH.search(text)) and not _RELATIVE_DAY.match(text)
    if kind == "entity":
        # who/where: anything but a bare number or date
        bare = re.sub(
            rf"\d[\d,.:/-]*|\b(?:{MONTH_PATTERN})\b\.?|\b(?:st|nd|rd|th|of|and|the|on|in)\b", "", text, flags=re.I
        )
        return bool(re.search(r"[A-Za-z]{2,}", bare))
    return True


def counts_fit(question: str, kind: str, sentence: str, start: int, end: int) -> bool:
    """For a quantity question, whether the figure at ``start``..``end`` of its ``sentence`` counts what
    the question asks ('killed at least 28' does not answer 'how many wounded'; 'one of three towns' is
    not a population; see ``language.counts``)."""
    from askfront.language.counts import asked, counts_asked

    return kind != "quantity" or counts_asked(asked(question), sentence, start, end)


_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]?\s+|\n\s*\n")


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Characters of the sentence(s) of ``text`` holding characters start..end (a cheap split; no parser)."""
    begin = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        begin = m.end()
    m = _SENTENCE_END.search(text, end)
    return begin, m.start() + 1 if m else len(text)
