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

from askfront.entities import MONTH_PATTERN

# How far "about", "almost" … reach, as a share of the figure: wide enough that reports rounding
# differently ("about 140" vs "137") agree, narrow enough that 34 and 300 never do.
APPROX = 0.1

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a dozen": 12, "dozen": 12,
}  # fmt: skip
_SCALE = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9, "m": 1e6}
_LOWER = ("more than", "over", "at least", "upwards of", "in excess of", "greater than", "above", "no fewer than")
_UPPER = ("up to", "fewer than", "less than", "under", "at most", "no more than", "below")
_NEAR_BELOW = ("almost", "nearly", "close to", "just under")
_NEAR = ("about", "around", "approximately", "some", "roughly", "an estimated", "estimated", "circa", "c.")
# unit word -> (unit, factor to it). Other words after a number ("wounded", "strikes") are counts.
_UNITS = {
    "km": ("km", 1.0), "kilometer": ("km", 1.0), "kilometre": ("km", 1.0), "mile": ("km", 1.609344),
    "meter": ("km", 0.001), "metre": ("km", 0.001), "%": ("%", 1.0), "percent": ("%", 1.0), "per cent": ("%", 1.0),
    "euro": ("EUR", 1.0), "€": ("EUR", 1.0), "dollar": ("USD", 1.0), "$": ("USD", 1.0), "usd": ("USD", 1.0),
    "square mile": ("km2", 2.589988), "square kilometer": ("km2", 1.0), "square kilometre": ("km2", 1.0),
    "km2": ("km2", 1.0), "sq km": ("km2", 1.0),
}  # fmt: skip
_WORD_NUMBER = "|".join(sorted((re.escape(w) for w in _SMALL), key=len, reverse=True))
_SCALES = "|".join(_SCALE)
_NUMBER = re.compile(  # digits not run into other digits or words ("F16", "5th"), but "2.5m" and "3bn" are whole
    rf"(?P<currency>[$€])?\s?(?P<num>(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![.,]?\d|(?!(?:{_SCALES})\b)\w)"
    rf"|\b(?:{_WORD_NUMBER})(?:[- ](?:{_WORD_NUMBER}))?\b)"
    rf"(?:\s?(?P<scale>{_SCALES})\b)?",
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


def _number(match: re.Match) -> float | None:
    raw = match.group("num").lower().replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        parts = re.split(r"[- ]", raw)
        joined = raw if raw in _SMALL else None
        if joined is not None:
            value = float(_SMALL[joined])
        elif all(p in _SMALL for p in parts):
            value = float(sum(_SMALL[p] for p in parts))  # twenty-five
        else:
            return None
    scale = (match.group("scale") or "").lower()
    return value * _SCALE.get(scale, 1)


def parse_figure(text: str) -> Figure | None:
    """The first figure in ``text`` (a short answer), or None when it states none."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = _number(match)
    if value is None:
        return None
    before = text[: match.start()].lower().strip()
    after = text[match.end() :].lower().strip()
    if _DATE_LIKE.search(text[: match.start()]) or _DATE_LIKE.search(after):
        return None  # "May 5", "5 May", "5th": a date, not a figure
    if re.fullmatch(r"(1[89]|20)\d\d", match.group("num")) and not match.group("scale") and not after:
        return None  # a year
    unit, factor = "", 1.0
    if match.group("currency"):
        unit, factor = _UNITS[match.group("currency")]
    else:
        for word, (name, times) in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
            if re.match(rf"{re.escape(word)}s?\b", after) or (word == "%" and after.startswith("%")):
                unit, factor = name, times
                break
    value *= factor
    low, high = value, value
    if before.endswith(_LOWER):
        high = math.inf
    elif before.endswith(_UPPER):
        low = 0.0
    elif before.endswith(_NEAR_BELOW):
        low = value * (1 - APPROX)
    elif before.endswith(_NEAR):
        low, high = value * (1 - APPROX), value * (1 + APPROX)
    return Figure(text.strip(), value, low, high, unit)


def conflicts(figures: list[Figure | None]) -> list[bool]:
    """For each figure, whether it disagrees with at least one other (None never does)."""
    flags = []
    for i, a in enumerate(figures):
        flags.append(a is not None and any(b is not None and j != i and not a.meets(b) for j, b in enumerate(figures)))
    return flags


def spread(figures: list[Figure | None]) -> str:
    """'34 to almost 8,000': the smallest and the largest figure as the reports state them."""
    known = [f for f in figures if f is not None]
    if len(known) < 2:
        return ""
    low, high = min(known, key=lambda f: f.value), max(known, key=lambda f: f.value)
    return f"{low.text} to {high.text}"
