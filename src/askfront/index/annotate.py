"""Finding names and dated sentences in reports when they are indexed: spaCy NER over each report (in
pieces of at most PIECE_CHARS, so any length within the size limit is read), in worker processes for
large builds; a report that fails is its own one-line error."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from askfront.core.errors import one_line
from askfront.language.dates import resolve_date
from askfront.language.gazetteer import is_place
from askfront.language.names import KINDS, MAX_NAME, Dated, Mention, entity_key
from askfront.language.nlp import load_ner

if TYPE_CHECKING:
    from askfront.core.types import Document


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
    itself when a thread is started (tests/analysis/test_every_report_names_timeline.py checks both).
    Where there is no such flag (not glibc) nothing is done."""
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
            for span, kind in _split(ent):
                key, name = entity_key(span.text.strip()), span.text.strip()
                if key and not key.isdigit():
                    mentions.append(Mention(span.start_char, span.end_char, name, kind or _kind(span, name), key))
        elif ent.label_ == "DATE":
            iso = resolve_date(ent.text, report_date)
            if iso:
                first, last = _sentence(text, *_whole(ent.sent), ent.start_char)
                dated.append(Dated(ent.start_char, ent.end_char, first, last, ent.text, iso))
    return mentions, dated


def _split(ent) -> list[tuple]:
    """The entity, or a place and a person the NER ran together ("the Middle East Tobias Ellwood" in
    "Minister for the Middle East Tobias Ellwood"): a region or gazetteer place, then two or more
    capitalised words, is split there. Each with its kind ('' when ``_kind`` decides)."""
    tokens = [t for t in ent if not (t.i == ent.start and t.lower_ == "the")]
    for cut in range(len(tokens) - 2, 0, -1):
        head, rest = tokens[:cut], tokens[cut:]
        place = " ".join(t.text for t in head)
        named = len(rest) <= 3 and all(t.is_title and t.is_alpha and t.lower_ not in _BODIES for t in rest)
        if named and (place.lower() in REGIONS or is_place(place)):
            doc = ent.doc
            return [(doc[head[0].i : head[-1].i + 1], "place"), (doc[rest[0].i : rest[-1].i + 1], "person")]
    return [(ent, "")]


# Words that make a run of capitalised words a body, not a person ("Syria Democratic Forces").
_BODIES = {"forces", "force", "army", "council", "party", "front", "ministry", "brigade", "brigades", "group",
           "committee", "office", "state", "government", "militia", "guard", "police", "command", "movement",
           "union", "league", "coalition", "authority", "agency", "bank", "news", "times", "post", "press"}  # fmt: skip
# Regions named in conflict reports that are no city or country of the gazetteer.
REGIONS = {"middle east", "near east", "gulf", "persian gulf", "levant", "sahel", "maghreb", "horn of africa",
           "north africa", "west africa", "east africa", "central asia", "caucasus", "balkans", "europe", "africa",
           "asia", "kurdistan", "darfur", "sinai", "gaza strip", "west bank"}  # fmt: skip


def _kind(ent, name: str) -> str:
    """person, organisation or place: a gazetteer city or country is a place whatever the NER says, except
    that a "person" must also stand where a place does ("near Raqqah"), so "Jackson said" stays a person."""
    kind = KINDS[ent.label_]
    if kind == "place" or not is_place(name):
        return kind
    if kind == "person" and (ent.start == 0 or ent.doc[ent.start - 1].lower_ not in _BEFORE_PLACES):
        return kind
    return "place"


_BEFORE_PLACES = {"in", "near", "at", "from", "to", "outside", "into", "around", "toward", "towards", "across",
                  "of", "inside", "north", "south", "east", "west", "via", "through"}  # fmt: skip


def _whole(sent) -> tuple[int, int]:
    """The characters of spaCy sentence ``sent`` joined with its neighbours where the model split a sentence
    without an ending between them ("… U.S. Air Force F-16 | Fighting Falcons struck …")."""
    doc, first, last = sent.doc, sent.start, sent.end
    while first > 0 and not _ends(doc[first - 1]):
        first = doc[first - 1].sent.start
    while last < len(doc) and not _ends(doc[last - 1]):
        last = doc[last].sent.end
    return doc[first].idx, doc[last - 1].idx + len(doc[last - 1])


def _ends(token) -> bool:
    """Whether a sentence may end after ``token``: closing punctuation, a line break, or white space alone."""
    return token.is_space or "\n" in token.whitespace_ or token.text[-1:] in _ENDINGS


_ENDINGS = set('.!?…:;"”\u2019)]')  # and the closing quotes


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
