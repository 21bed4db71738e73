"""Text as a reader sees it: the characters that change what is displayed without being seen are removed
when a report is read, so every later stage (quotes, spans, titles, search, names) works on the same text
the journalist reads, and stored character offsets refer to that text.

Removed: bidirectional controls (a right-to-left override makes "91" display as "19"), zero-width
characters and soft hyphens (invisible inside "Haf\u00adtar", they hide a name from exact search), the
byte-order mark inside a text, C1 controls (U+0080-U+009F: U+009B is a terminal escape) and C0 controls
other than tab, line feed, carriage return and form feed. Unicode line/paragraph separators become line
feeds (same length).
"""

from __future__ import annotations

import bisect
import re

# U+061C Arabic letter mark, U+200E/F LRM/RLM, U+202A-E embeddings and overrides, U+2066-9 isolates.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# U+00AD soft hyphen, U+180E Mongolian vowel separator, U+200B-D zero-width space/non-joiner/joiner,
# U+2060-4 word joiner and invisible operators, U+FEFF byte-order mark / zero-width no-break space.
ZERO_WIDTH = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
_C0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r\f")
_C1 = "".join(chr(c) for c in range(0x7F, 0xA0))  # DEL and the 8-bit controls
_HIDDEN = re.compile(f"[{re.escape(BIDI_CONTROLS + ZERO_WIDTH + _C0 + _C1)}]")
_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n"})


def visible(text: str) -> str:
    """``text`` without the characters that change what is shown without being seen (see the module)."""
    return _HIDDEN.sub("", text).translate(_SEPARATORS)


def visible_with_offsets(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    """``visible(text)``, and ``offsets`` into ``text`` moved to the same places in the visible text (a
    PDF's page starts): each offset moves back by the hidden characters before it."""
    removed = [m.start() for m in _HIDDEN.finditer(text)]
    if not removed:
        return text.translate(_SEPARATORS), list(offsets)
    return visible(text), [o - bisect.bisect_left(removed, o) for o in offsets]


def count_hidden(text: str) -> int:
    """How many characters of ``text`` ``visible`` removes."""
    return sum(1 for _ in _HIDDEN.finditer(text))
