"""What a figure counts, by the word that names it near the figure ('killed', 'wounded', 'strikes', else
the noun after it), and what a question asks to count: killed and wounded are never the same figure.
Every-report comparisons (analysis.figures) and the reader's answer kinds (answer.reader.kinds) use it."""

from __future__ import annotations

import re

from askfront.language.numbers import NUMBER_WORD_PATTERN

_COUNTED = {
    "killed": ("killed", "dead", "died", "deaths", "death toll", "lives", "fatalities", "executed", "massacred"),
    "wounded": ("wounded", "injured", "hurt"),
    "missing": ("missing",),
    "casualties": ("casualties",),
    "detained": ("captured", "arrested", "detained", "prisoners", "hostages", "abducted", "kidnapped"),
    "displaced": ("displaced", "fled", "refugees", "evacuated", "homeless"),
    "strikes": ("strikes", "airstrikes", "air strikes", "raids", "sorties", "bombings", "attacks"),
}  # fmt: skip
_COUNTED_WORD = re.compile(
    r"\b(" + "|".join(re.escape(w) for words in _COUNTED.values() for w in words) + r")\b", re.IGNORECASE
)
_KIND_OF = {w: kind for kind, words in _COUNTED.items() for w in words}
_NEXT_FIGURE = re.compile(rf"\d|\b(?:{NUMBER_WORD_PATTERN})\b|[.;]\s", re.IGNORECASE)
_BOTH = re.compile(r"\s*(?:,|and|or|and/or)\s+(killed|dead|died|wounded|injured|hurt)\b", re.IGNORECASE)
# Things a figure right before them counts, whatever counted word follows later in the sentence.
_THING = re.compile(
    r"\s+(?:[A-Za-z-]+\s+)?(aircraft|planes|jets|drones|helicopters|vehicles|trucks|tanks|ships|boats|buildings|"
    r"villages|towns|cities|bombs|missiles|rockets|countries|nations|fighter jets)\b",
    re.IGNORECASE,
)
_FILLER = {"of", "the", "more", "people", "members", "other", "some", "about", "than", "and", "a", "an"}


def counted(sentence: str, start: int, end: int) -> str:
    """What the figure at ``start``..``end`` of ``sentence`` counts: 'killed', 'wounded', 'strikes' …
    from the words after it up to the next figure (or, failing that, just before it), else the first
    word after it ('trucks' -> 'truck'), '' when nothing follows."""
    rest = sentence[end:]
    thing = _THING.match(rest)  # '16 aircraft in the strikes' counts aircraft, not strikes
    if thing:
        return thing.group(1).lower().removesuffix("s")
    stop = _NEXT_FIGURE.search(rest)
    window = rest[: stop.start() if stop else 80][:80]
    found = (
        _COUNTED_WORD.search(window)
        or _COUNTED_WORD.search(sentence[max(0, start - 40) : start])
        or _COUNTED_WORD.search(sentence[start:end])  # an answer that names it: 'killed at least 28'
    )
    if found:
        kind = _KIND_OF[" ".join(found.group(1).lower().split())]
        both = _BOTH.match(found.string[found.end() :])  # 'killed and injured': neither killed nor wounded alone
        return "casualties" if both and {kind, _KIND_OF[both.group(1).lower()]} == {"killed", "wounded"} else kind
    words = [w for w in re.findall(r"[a-z]+", window.lower()) if w not in _FILLER]
    return words[0].removesuffix("s") if words else ""


# A population is counted in people: "one of three towns" does not answer "What is the population of X?".
_PLURAL_AFTER_FIGURE = re.compile(
    rf"(?:\d[\d,.]*|\b(?:{NUMBER_WORD_PATTERN})\b)(?:\s+(?:hundred|thousand|million|billion))?\s+([a-z]+s)\b", re.I
)
PEOPLE = frozenset({"", "people", "person", "resident", "inhabitant", "population", "citizen", "civilian"})


def asked(question: str) -> str:
    """What a quantity question asks to count: a kind of ``_COUNTED`` named in it ('How many were
    wounded' -> 'wounded'), 'population', or '' (no kind to check)."""
    found = _COUNTED_WORD.search(question)
    if found:
        return _KIND_OF[" ".join(found.group(1).lower().split())]
    return "population" if re.search(r"\b(?:population|inhabitants|residents)\b", question, re.I) else ""


def counts_asked(question_asks: str, sentence: str, start: int, end: int) -> bool:
    """Whether the figure at ``start``..``end`` of ``sentence`` can count what the question asks: a
    casualty or strike figure of another kind cannot ('killed at least 28' for 'how many wounded'), nor a
    figure of towns for a population."""
    if not question_asks:
        return True
    if question_asks == "population":  # a plural noun right after a figure of the answer says what it counts
        nouns = _PLURAL_AFTER_FIGURE.findall(sentence[start : end + 40])
        return not nouns or nouns[0].removesuffix("s") in PEOPLE or nouns[0] == "people"
    thing = counted(sentence, start, end)
    return thing not in _COUNTED or thing == question_asks
