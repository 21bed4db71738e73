"""Figures in short answers, normalised so that reports can be compared: "seven" = 7, "almost 8,000",
"more than 60", "at least 28", "19 wounded", "140 kilometers (about 85 miles)", "over 9 billion euros".

Each figure is an interval: "more than 60" is (60, ∞), "up to 5" is [0, 5], "almost 8,000" is [7,200, 8,000],
"about 85" is [76.5, 93.5], a bare number is itself. Two figures disagree when their intervals do not meet.
Distances are compared in kilometres, so "85 miles" meets "about 140 kilometers".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from askfront.language.dates import MONTH_PATTERN
from askfront.language.numbers import (
    ABOUT,
    AT_LEAST,
    AT_MOST,
    NEARLY,
    NUMBER_WORD_PATTERN,
    NUMBER_WORDS,
    SCALE_PATTERN,
    SCALES,
    UNITS,
    m_is_million,
)

# How far "about", "almost" … reach, as a share of the figure: wide enough that reports rounding
# differently ("about 140" vs "137") agree, narrow enough that 34 and 300 never do.
APPROX = 0.1

_NUMBER = re.compile(  # digits not run into other digits or words ("F16", "5th"), but "2.5m" and "3bn" are whole
    rf"(?P<currency>[$€£])?\s?(?P<num>(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![.,]?\d|(?!(?:{SCALE_PATTERN})\b)\w)"
    rf"|\b(?:{NUMBER_WORD_PATTERN})(?:[- ](?:{NUMBER_WORD_PATTERN}))?\b)"
    rf"(?:\s?(?P<scale>{SCALE_PATTERN})\b)?",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(rf"\b(?:{MONTH_PATTERN})\.?\s*$|^\s*(?:{MONTH_PATTERN})\b|^(?:st|nd|rd|th)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    """A normalised figure: ``value`` as stated, [``low``, ``high``] what it allows, ``unit`` ('' = a count)."""

    text: str
    value: float
    low: float
    high: float
    unit: str = ""

    def meets(self, other: Figure) -> bool:
        """Can both be true? (Their intervals overlap; counts and one unit compare only with their like.)"""
        if self.unit != other.unit:
            return True  # not comparable: never flagged as a conflict
        return self.low <= other.high * (1 + 1e-9) and other.low <= self.high * (1 + 1e-9)


def _metres(match: re.Match, text: str) -> bool:
    """Is the figure's "m" the unit metres (not million)? The one rule: language.numbers.m_is_million."""
    scale = (match.group("scale") or "").lower()
    if scale != "m":
        return False
    spaced = match.start("scale") > match.end("num")
    return not m_is_million(text[: match.start("num")], text[match.end() :], spaced)


def _number(match: re.Match, metres: bool) -> float | None:
    raw = match.group("num").lower().replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        parts = re.split(r"[- ]", raw)
        if raw in NUMBER_WORDS:
            value = float(NUMBER_WORDS[raw])
        elif all(p in NUMBER_WORDS for p in parts):
            value = float(sum(NUMBER_WORDS[p] for p in parts))  # twenty-five
        else:
            return None
    if metres:
        return value  # "100 m": the unit (see parse_figure)
    return value * SCALES.get((match.group("scale") or "").lower(), 1)


def parse_figure(text: str) -> Figure | None:
    """The first figure in ``text`` (a short answer), or None when it states none."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    metres = _metres(match, text)
    value = _number(match, metres)
    if value is None:
        return None
    before = text[: match.start()].lower().strip()
    after = text[match.end() :].lower().strip()
    if metres:
        after = "m " + after
    if _DATE_LIKE.search(text[: match.start()]) or _DATE_LIKE.search(after):
        return None  # "May 5", "5 May", "5th": a date, not a figure
    if re.fullmatch(r"(1[89]|20)\d\d", match.group("num")) and not match.group("scale") and not after:
        return None  # a year
    unit, factor = "", 1.0
    if match.group("currency"):
        unit, factor = UNITS[match.group("currency")]
    else:
        for word, (name, times) in sorted(UNITS.items(), key=lambda kv: -len(kv[0])):
            if re.match(rf"{re.escape(word)}s?\b", after) or (word == "%" and after.startswith("%")):
                unit, factor = name, times
                break
    value *= factor
    low, high = value, value
    if before.endswith(AT_LEAST):
        high = math.inf
    elif before.endswith(AT_MOST):
        low = 0.0
    elif before.endswith(NEARLY):
        low = value * (1 - APPROX)
    elif before.endswith(ABOUT):
        low, high = value * (1 - APPROX), value * (1 + APPROX)
    return Figure(text.strip(), value, low, high, unit)


_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_PERIODS = (  # a stated time span of a figure, normalised: figures over different spans are not in conflict
    re.compile(  # 'since the start of the year', 'since August 2014', 'since Monday': quoted whole
        r"\b(since\s+(?:the\s+)?(?:(?:start|beginning|end|launch|fall|liberation|capture)\s+of\s+(?:the\s+)?)?"
        r"[\w'-]+(?:\s+(?!and\b|said\b|the\b|when\b|as\b)[\w'-]+){0,2})", re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:in|over|during)\s+the\s+((?:past|last|previous)\s+(?:[\w-]+\s+)?"
        r"(?:hours?|days?|weeks?|months?|years?))\b", re.IGNORECASE,
    ),
    re.compile(r"\b((?:this|last)\s+(?:week|month|year)|yesterday|today|overnight)\b", re.IGNORECASE),
    re.compile(rf"\b(?:on|last)\s+({_WEEKDAY})\b", re.IGNORECASE),
    re.compile(r"\b((?:a|per)\s+(?:day|week|month)|daily|weekly|monthly)\b", re.IGNORECASE),
    re.compile(r"\b(?:in|during)\s+((?:19|20)\d\d)\b"),
)  # fmt: skip
_SAID = re.compile(r"\b(?:said|says|told|announced|reported|added)\s+(?:on\s+)?$", re.IGNORECASE)


def period(sentence: str) -> str:
    """The time span the sentence states for its figures ('since monday', 'past 24 hours'), or ''; when
    something was said ("said on Thursday") is not a period."""
    for pattern in _PERIODS:
        for found in pattern.finditer(sentence):
            if not _SAID.search(sentence[max(0, found.start() - 20) : found.start()]):
                return " ".join(found.group(found.lastindex or 0).split())
    return ""


Event = tuple[frozenset[str], frozenset[str]]  # the places and dates a figure's sentence names


def conflicts(
    figures: list[Figure | None],
    things: list[str] | None = None,
    periods: list[str] | None = None,
    events: list[Event] | None = None,
) -> list[bool]:
    """For each figure, whether it disagrees with another that counts the same thing (``things``) over the
    same stated period (``periods``) of the same event (``events``: place and date); None never does."""
    return _disagreeing(figures, things, periods, events, same_period=True)


def other_periods(
    figures: list[Figure | None], things: list[str], periods: list[str], events: list[Event] | None = None
) -> list[bool]:
    """For each figure, whether it differs from a figure of the same thing and event stated over another
    period (shown as 'different periods', not as a conflict)."""
    return _disagreeing(figures, things, periods, events, same_period=False)


def same_event(a: Event, b: Event) -> bool:
    """Whether two figures may be about one event as far as their sentences say: no two different places
    and no two different dates (a sentence that names none matches any)."""
    return all(not x or not y or bool(x & y) for x, y in zip(a, b, strict=True))


def _disagreeing(figures, things, periods, events, same_period: bool) -> list[bool]:
    things = things or [""] * len(figures)
    spans = [p.casefold() for p in periods or [""] * len(figures)]
    events = events or [(frozenset(), frozenset())] * len(figures)
    return [
        a is not None
        and any(
            b is not None
            and j != i
            and things[i] == things[j]
            and same_event(events[i], events[j])
            and (spans[i] == spans[j]) == same_period
            and not a.meets(b)
            for j, b in enumerate(figures)
        )
        for i, a in enumerate(figures)
    ]


def spread(figures: list[Figure | None]) -> str:
    """'34 to almost 8,000': the smallest and the largest figure as the reports state them."""
    known = [f for f in figures if f is not None]
    if len(known) < 2:
        return ""
    low, high = min(known, key=lambda f: f.value), max(known, key=lambda f: f.value)
    return f"{low.text} to {high.text}"
