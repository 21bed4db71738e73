"""Exact-text search across every report: the exhaustive hit list a journalist checks a name against.

Unlike the ranked passage search, this finds every occurrence: a query is words and "quoted phrases",
each matched as whole words, case- and accent-insensitive, curly and straight apostrophes alike
(Da\u2019esh with a curly apostrophe finds "DA'ESH" and "Da'esh"; "Sirte" does not find "Sirtean").
A report matches when it holds every term (``any_term=True``: at least one, for the spellings of one
name). Reports come newest first, undated last, each with its number of hits and where they are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from askfront.core.arabic import fold_arabic
from askfront.core.cache import LRU
from askfront.core.errors import ConfigError
from askfront.core.types import date_key, in_files
from askfront.core.visible import visible

MAX_QUERY_CHARS = 500  # a search is a few words or a phrase
SNIPPET_CHARS = 80  # report text shown each side of a hit
SNIPPETS_SHOWN = 5  # hits shown with their text per report (all are counted)
FOLDED_KEPT = 64  # reports whose folded text is kept between searches
_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u02bc\u2032\u00b4`"), "'")
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_folded: LRU = LRU(FOLDED_KEPT)


def fold_char(c: str) -> str:
    """One character as search compares it: lower case, accents removed, apostrophes straight, Arabic
    diacritics removed and letter variants made one (core.arabic)."""
    c = fold_arabic(c.translate(_APOSTROPHES))
    decomposed = unicodedata.normalize("NFKD", c)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded (``fold_char``) and, when folding changed its length, where each folded
    character came from in ``text`` (None: the same place)."""
    if text.isascii():
        return text.lower().replace("`", "'"), None
    pieces, origin, same = [], [], True
    for i, c in enumerate(text):
        f = fold_char(c) if not c.isascii() or c == "`" else c.lower()
        same = same and len(f) == 1
        pieces.append(f)
        origin.extend([i] * len(f))
    folded = "".join(pieces)
    return folded, None if same else origin


def terms(query: str) -> list[Term]:
    """The folded terms of a query: each "quoted phrase" and each other word (ConfigError when none)."""
    if len(query) > MAX_QUERY_CHARS:
        raise ConfigError(f"the search is longer than {MAX_QUERY_CHARS} characters; search for a word or a phrase")
    found = []
    for m in _TERM.finditer(visible(query)):  # a soft hyphen pasted in a name finds the name
        words = (m.group(1) if m.group(1) is not None else m.group(2)).strip(" .,;:!?()[]")
        if words.strip():
            found.append(Term(fold(" ".join(words.split()))[0]))
    if not found:
        raise ConfigError('nothing to search for: give a word or a "quoted phrase"')
    return found


_ACRONYM = re.compile(r"[A-Z]{2,4}")  # "US", "IS", "UN": names only in capitals ("us", "is" are words)


@dataclass(frozen=True)
class Term:
    """One thing to find: folded words matched in the folded text, or (``exact``) as written."""

    words: str
    exact: bool = False

    @property
    def pattern(self) -> re.Pattern:
        """A whole-word match, any run of white space between the words."""
        body = r"\s+".join(re.escape(word) for word in self.words.split())
        return re.compile(rf"(?<!\w){body}(?!\w)")


def name_terms(names: list[str]) -> list[Term]:
    """The spellings of one name as terms: a short all-capitals one ("US") matched as written."""
    out = [Term(n, True) if _ACRONYM.fullmatch(n) else Term(fold(" ".join(n.split()))[0]) for n in names]
    return list(dict.fromkeys(t for t in out if t.words.strip()))


@dataclass(frozen=True)
class TextHit:
    start: int  # in the report's text
    end: int
    before: str  # report text around the hit, on one line
    text: str
    after: str


@dataclass
class ReportMatches:
    path: str
    title: str
    date: str
    count: int
    hits: list[TextHit] = field(default_factory=list)  # the first SNIPPETS_SHOWN, with their text
    date_read: str = ""  # how the date was read from the report ('' from metadata; core.types.DATE_READ)


def _folded_text(index, path: str) -> tuple[str, str, list[int] | None]:
    def compute():
        text = index.document(path).text
        return (text, *fold(text))

    return _folded.get_or((str(index.folder), path), compute)


_WORD = re.compile(r"\w+")
_words: LRU = LRU(2)  # index version -> (its reports, {folded word: reports holding it})


def _word_reports(index) -> tuple[list[tuple[str, str, str]], dict[str, set[str]]]:
    """The index's (path, title, date) of every report, and which reports hold each (folded) word: a
    search reads only the reports that hold all of a term's words, so a name is checked against a few
    reports, not the whole corpus. Both once per index version (the names table searches for hundreds)."""

    def compute():
        documents = index.documents()
        found: dict[str, set[str]] = {}
        for path, _title, _date in documents:
            for word in set(_WORD.findall(_folded_text(index, path)[1])):
                found.setdefault(word, set()).add(path)
        return documents, found

    return _words.get_or(str(index.folder), compute)


def _candidates(index, term: Term) -> set[str]:
    words = _word_reports(index)[1]
    needed = _WORD.findall(fold(term.words)[0])
    return set.intersection(*(words.get(w, set()) for w in needed)) if needed else set()


def spans(text: str, folded: str, origin: list[int] | None, wanted: list[Term]) -> list[tuple[int, int]]:
    """Every match of the terms, as start..end in ``text``, in text order; where matches overlap ("the
    Islamic State", "Islamic State") the one starting first, then the longest, is the hit."""
    out = set()
    for term in wanted:
        for m in term.pattern.finditer(text if term.exact else folded):
            if origin is None or term.exact:
                out.add((m.start(), m.end()))
            else:
                out.add((origin[m.start()], origin[m.end() - 1] + 1))
    kept: list[tuple[int, int]] = []
    for start, end in sorted(out, key=lambda s: (s[0], -s[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _hit(text: str, start: int, end: int) -> TextHit:
    """A hit with the text around it on one line; ``before`` and ``after`` keep one space where the report
    has one next to the hit, so "ISIL's" is not shown as "ISIL 's"."""
    before, after = text[max(0, start - SNIPPET_CHARS) : start], text[end : end + SNIPPET_CHARS]
    before = " ".join(before.split()) + (" " if before[-1:].isspace() else "")
    after = (" " if after[:1].isspace() else "") + " ".join(after.split())
    return TextHit(start, end, before, " ".join(text[start:end].split()), after)


def _apart(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The hits whose snippets show new text: a hit inside the last shown snippet's text is left out
    of the list (it is counted, and marked when the report is opened), so no sentence is shown twice."""
    shown: list[tuple[int, int]] = []
    for start, end in found:
        if not shown or start >= shown[-1][1] + SNIPPET_CHARS:
            shown.append((start, end))
    return shown


def search_reports(
    index, query: str | list[Term], any_term: bool = False, files: tuple[str, ...] = ()
) -> list[ReportMatches]:
    """Every report holding the query's terms (all of them, or ``any_term``), newest first, with counts;
    ``files``: only these reports (corpus paths or folders)."""
    wanted = terms(query) if isinstance(query, str) else query
    each = [_candidates(index, t) for t in wanted]
    candidates = set.union(*each) if any_term else set.intersection(*each)
    out = []
    for path, title, date in _word_reports(index)[0]:
        if path not in candidates or (files and not in_files(path, files)):
            continue
        text, folded, origin = _folded_text(index, path)
        if any_term:
            found = spans(text, folded, origin, wanted)
        else:
            each = [spans(text, folded, origin, [t]) for t in wanted]
            found = sorted({s for group in each for s in group}) if all(each) else []
        if found:
            hits = [_hit(text, a, b) for a, b in _apart(found)[:SNIPPETS_SHOWN]]
            out.append(ReportMatches(path, title, date, len(found), hits, index.manifest.dates_read.get(path, "")))
    out.sort(key=lambda r: r.path)
    out.sort(key=lambda r: date_key(r.date), reverse=True)
    return out


def all_spans(index, path: str, query: str | list[Term]) -> list[tuple[int, int]]:
    """Every hit of the query's terms in one report (for highlighting the whole report)."""
    text, folded, origin = _folded_text(index, path)
    return spans(text, folded, origin, terms(query) if isinstance(query, str) else query)
