"""The one vocabulary of numbers, scales and units that the reader, the rules, the figure comparison and the
reply checker share: number words, scales ("million", "bn", "m"), units and the qualifiers before a figure.

"m" after a number is million next to money ("$5m", "5m euros") or when written onto the number with
people or things after it ("2.5m people"); otherwise metres ("100 m", "a 30m-high wall", "100m from the
gate"): ``m_is_million`` is that one rule, used everywhere "m" is read.
"""

from __future__ import annotations

import re

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a dozen": 12, "dozen": 12,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9, "m": 1e6}
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
CURRENCY_WORDS = {"euro": "EUR", "dollar": "USD", "usd": "USD", "pound": "GBP", "eur": "EUR", "gbp": "GBP"}
# unit word -> (unit compared in, factor to it)
UNITS = {
    "km": ("km", 1.0), "kilometer": ("km", 1.0), "kilometre": ("km", 1.0), "mile": ("km", 1.609344),
    "mi": ("km", 1.609344), "meter": ("km", 0.001), "metre": ("km", 0.001), "m": ("km", 0.001),
    "feet": ("km", 0.0003048), "foot": ("km", 0.0003048), "ft": ("km", 0.0003048),
    "%": ("%", 1.0), "percent": ("%", 1.0), "per cent": ("%", 1.0),
    "square mile": ("km2", 2.589988), "square kilometer": ("km2", 1.0), "square kilometre": ("km2", 1.0),
    "km2": ("km2", 1.0), "sq km": ("km2", 1.0),
    **{word: (code, 1.0) for word, code in CURRENCY_WORDS.items()},
    **{symbol: (code, 1.0) for symbol, code in CURRENCY_SYMBOLS.items()},
}  # fmt: skip
DISTANCE_UNIT_WORDS = ("kilometers", "kilometres", "km", "miles", "mi", "meters", "metres", "m", "feet", "ft")
# Words before a figure and what they make of it
AT_LEAST = ("more than", "over", "at least", "upwards of", "in excess of", "greater than", "above", "no fewer than")
AT_MOST = ("up to", "fewer than", "less than", "under", "at most", "no more than", "below")
NEARLY = ("almost", "nearly", "close to", "just under")
ABOUT = ("about", "around", "approximately", "some", "roughly", "an estimated", "estimated", "circa", "c.")


def alternation(words) -> str:
    """A regex alternation of ``words``, longest first, spaces matching any white space."""
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


NUMBER_WORD_PATTERN = alternation(NUMBER_WORDS)
SCALE_PATTERN = alternation(SCALES)
DISTANCE_UNIT_PATTERN = alternation(DISTANCE_UNIT_WORDS)
_MONEY_AFTER = re.compile(rf"\s*(?:{alternation(CURRENCY_WORDS)})s?\b", re.IGNORECASE)
_MEASURE_AFTER = re.compile(r"-?\s*(?:high|tall|long|deep|wide|away|from|of|above|below|in|into|under|off)\b", re.I)
_WORD_AFTER = re.compile(r"\s+[a-z]", re.IGNORECASE)


def m_is_million(before: str, after: str, spaced: bool = False) -> bool:
    """Whether an "m" right after a number means million (see the module's note): ``before`` is the text
    before the number, ``after`` the text after the "m", ``spaced``: a space between number and "m"."""
    if before.rstrip()[-1:] in CURRENCY_SYMBOLS or _MONEY_AFTER.match(after):
        return True
    return not spaced and bool(_WORD_AFTER.match(after)) and not _MEASURE_AFTER.match(after)


# A distance as written, maybe in two units: "140 kilometers or about 85 miles", "140 km (87 mi)"
_UNIT = rf"(?:{DISTANCE_UNIT_PATTERN})"


_NUM = r"(?:\d[\d,]*(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|a few|several|dozens of|hundreds of)"


_APPROX = r"(?:(?:about|around|some|nearly|almost|roughly|approximately|over|under|more than|less than)\s+)?"


DISTANCE = re.compile(
    rf"\b{_APPROX}{_NUM}\s*-?\s*{_UNIT}\b(?:\s+(?:or|\()\s*{_APPROX}{_NUM}\s*-?\s*{_UNIT}\b\)?)?", re.IGNORECASE
)


def display(text: str) -> str:
    """Short-answer text: the words, with 'X or about Y' shown as 'X (about Y)'."""
    text = " ".join(text.split()).strip(" ,;:")
    m = re.match(r"^(.*?\S)\s+or\s+((?:about|around|some|nearly|roughly|approximately)\s+.+)$", text)
    if m and DISTANCE.fullmatch(text):
        return f"{m.group(1)} ({m.group(2)})"
    return text
