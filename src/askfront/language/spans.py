"""Widening a marked span to what it is part of: a whole quantity ("over 9 billion euros"), whole words,
a whole name or military unit ("Capt. Christophe Cluzel"), balanced brackets."""

from __future__ import annotations

import re

from askfront.language.numbers import DISTANCE, SCALE_PATTERN

SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]?\s+")


_QUALIFIER = re.compile(
    r"(?:(?:more|less|fewer)\s+than|over|under|up\s+to|at\s+least|at\s+most|about|around|nearly|almost|some|"
    r"roughly|approximately|an\s+estimated|as\s+(?:many|much)\s+as|close\s+to|just\s+over|just\s+under)\s+$",
    re.IGNORECASE,
)


_NUMBER = (
    r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|a\s+hundred|dozens?|hundreds|thousands|millions)"
)


_SCALE = rf"(?:{SCALE_PATTERN})"  # the shared vocabulary (askfront.language.numbers)


_UNIT = (
    r"(?:(?:square\s+|sq\.?\s+|cubic\s+)?(?:kilometers|kilometres|km|miles|mi|meters|metres|feet|acres|hectares)|"
    r"euros?|dollars?|pounds?|US\s+dollars|barrels|tons|tonnes|per\s*cent|percent|%)"
)


_LEFT_OF_NUMBER = re.compile(r"(?:[$€£]\s?|(?:US|USD|EUR|GBP)\s?\$?)$")


_RIGHT_OF_NUMBER = re.compile(rf"^(?:\s*-?\s*{_SCALE}\b)?(?:\s*{_UNIT}(?![\w-]))?", re.IGNORECASE)


def whole_quantity(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``text[start:end]`` to the whole quantity it is part of: '9 billion' in 'over 9 billion euros'
    becomes 'over 9 billion euros', '5 million' in 'up to $5 million' becomes 'up to $5 million'.
    Spans that are not quantities are returned as they are."""
    span = text[start:end]
    if not re.search(rf"\d|\b{_NUMBER}\b|\b{_SCALE}\b", span, re.IGNORECASE):
        return start, end
    # a bare scale word ("billion") takes in the number before it
    m = re.search(rf"({_NUMBER}[\s-]*)$", text[max(0, start - 24) : start], re.IGNORECASE)
    if re.match(rf"^{_SCALE}\b", span, re.IGNORECASE) and m:
        start -= len(m.group(1))
    if re.search(rf"(?:\d|\b{_NUMBER}|\b{_SCALE})$", text[start:end], re.IGNORECASE):
        right = _RIGHT_OF_NUMBER.match(text[end:])
        if right and right.group(0).strip():
            end += len(right.group(0))
    left = _LEFT_OF_NUMBER.search(text[max(0, start - 6) : start])
    if left and re.match(r"\d", text[start:end]):
        start -= len(left.group(0))
    qualifier = _QUALIFIER.search(text[max(0, start - 24) : start])
    if qualifier and not re.match(
        r"(?:more|less|fewer|over|under|up|at|about|around|nearly|almost|some|roughly|approximately|"
        r"an|as|close|just)\b",
        text[start:end],
        re.IGNORECASE,
    ):
        start -= len(qualifier.group(0))
    # a figure given in two units is one answer: "140 kilometers or about 85 miles"
    for m in DISTANCE.finditer(text, max(0, start - 40), min(len(text), end + 60)):
        if m.start() <= start and end <= m.end():
            return m.start(), m.end()
    return start, end


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span that starts or ends inside a word ('Al-Marsoo' of 'Al-Marsoos': the reader works on
    word pieces) to whole words."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


_TITLES = (
    r"(?:Capt|Lt|Col|Gen|Maj|Sgt|Cpl|Pvt|Pfc|Spc|Adm|Cmdr|Cdr|Brig|Lt\.\s?Col|Lt\.\s?Gen|Maj\.\s?Gen|"
    r"Brig\.\s?Gen|Rear\s+Adm|Vice\s+Adm|Staff\s+Sgt|Sgt\.\s+Maj|Dr|Gov|Sen|Rep|Amb|Insp|Supt)\.?"
)


_TITLE_BEFORE = re.compile(rf"\b(?:{_TITLES}\s+)+$")


_UNIT_NOUN = r"(?:Battalion|Regiment|Brigade|Division|Company|Squadron|Group|Corps|Wing|Fleet|Battery|Command)"


_UNIT_AFTER = re.compile(rf"^,\s+(?:\d+(?:st|nd|rd|th)\s+)?(?:[A-Z][\w-]*\s+){{0,4}}{_UNIT_NOUN}\b")


_NAME_AFTER = re.compile(r"^\s(?:[A-Z][a-z][\w'\u2019-]*)(?:\s(?:[A-Z][a-z][\w'\u2019-]*)){0,2}\b")


def whole_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span that sits inside a longer name or unit to all of it: 'Christophe' of 'Capt. Christophe
    Cluzel' -> the whole name with its rank, '2nd Battalion' of '2nd Battalion, 5th Special Forces Group'
    -> the whole unit. Spans that are not names are returned as they are."""
    span = text[start:end]
    if not span or (not span[0].isupper() and not span[0].isdigit()):
        return start, end
    if re.search(rf"\b{_UNIT_NOUN}$", span):
        unit = _UNIT_AFTER.match(text[end:])
        if unit:
            end += unit.end()
    elif span[-1].isalpha() and span.split()[-1][0].isupper():
        after = _NAME_AFTER.match(text[end:])
        if after and not re.match(r"^[,.;:]", text[end:]):
            end += after.end()
    title = _TITLE_BEFORE.search(text[max(0, start - 30) : start])
    if title and span[0].isupper():
        start -= len(title.group(0))
    return start, end


def balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the other half of a bracket the span opens or closes ('HoR) government' -> '(HoR) government');
    a bracket whose other half is far away is left out instead."""
    piece = text[start:end]
    if piece.count(")") > piece.count("("):
        opening = text.rfind("(", max(0, start - 40), start)
        if opening >= 0:
            return opening, end
        return start, start + piece.rfind(")") if piece.rfind(")") > 0 else end
    if piece.count("(") > piece.count(")"):
        closing = text.find(")", end, end + 40)
        if closing >= 0:
            return start, closing + 1
        return start, start + piece.rfind("(") if piece.rfind("(") > 0 else end
    return start, end
