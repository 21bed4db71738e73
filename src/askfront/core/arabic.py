"""Arabic text as search compares it: the short vowels and other diacritics (harakat, shadda, sukun,
superscript alef), the tatweel that only stretches a word, and the common spelling variants (alef with
hamza or madda or wasla as bare alef, alef maqsura as ya, ta marbuta as ha) fold together, so a city
written with ta marbuta finds it written with ha, with or without vowel marks. And whether a text is
mostly Arabic, for the parts of askfront that can only read English (the reader)."""

from __future__ import annotations

_ALEF, _YA, _HA = "\u0627", "\u064a", "\u0647"
_VARIANTS = str.maketrans({
    "\u0623": _ALEF, "\u0625": _ALEF, "\u0622": _ALEF, "\u0671": _ALEF,  # alef with hamza, madda, wasla
    "\u0649": _YA,  # alef maqsura
    "\u0629": _HA,  # ta marbuta
    "\u0640": None,  # tatweel
})  # fmt: skip
_MARKS = {chr(c) for c in (*range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE))}


def fold_arabic(text: str) -> str:
    """``text`` with Arabic diacritics and tatweel removed and letter variants made one (other text as is)."""
    if text.isascii():
        return text
    return "".join(c for c in text.translate(_VARIANTS) if c not in _MARKS)


def arabic_share(text: str) -> float:
    """The share of the letters of ``text`` that are Arabic (0 when it has no letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum("\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" for c in letters) / len(letters)


def is_arabic(text: str) -> bool:
    return arabic_share(text) > 0.5
