"""What every report says: one question answered by each report on its own, side by side, sorted by
report date, with the figures compared and the ones that disagree flagged.

The passages of a deep retrieval (``POOL`` passages) are grouped by report; the conversation's answerer
reads each report's best ``PER_REPORT`` passages on their own, so each row is that report's answer with
its citation. Reports that were searched and do not answer are counted.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from askfront.analysis.figures import Figure, conflicts, other_periods, parse_figure, period, same_event, spread
from askfront.answer.conversation import ABSTAIN_TEXT, Answer, Citation
from askfront.core.types import date_key
from askfront.language.counts import asked, counted

if TYPE_CHECKING:
    from askfront.answer.conversation import Conversation
    from askfront.core.types import Filters, Hit

PER_REPORT = 3  # passages of one report its answer is read from (as the reader reads the top 3-5)
# Passages retrieved across the corpus: PER_REPORT for every report searched, at least POOL, at most
# MAX_POOL (the reader then reads up to ~100 reports, a few seconds on 2 cores). In a larger corpus a
# report whose best passage ranks below MAX_POOL is counted among those that do not answer.
POOL, MAX_POOL = 60, 300


def every_report(
    conversation: Conversation, question: str, history: list[Answer] | None = None, filters: Filters | None = None
) -> Answer:
    """Each report's answer to ``question`` (within ``filters``), as the rows of one Answer."""
    started = time.perf_counter()
    resolved = conversation.resolve(question, history)
    retriever = conversation.retriever
    copies = retriever.index.manifest.copies  # a story filed twice is one report here
    searched = len({copies.get(p, p) for p in retriever.reports_within(filters)})
    hits = retriever.search(resolved, top_k=min(MAX_POOL, max(POOL, PER_REPORT * searched)), filters=filters)
    by_report: dict[str, list[Hit]] = {}  # story -> the passages of its first copy retrieved
    also: dict[str, set[str]] = {}  # story -> its other copies retrieved
    for hit in hits:
        story = hit.record.copy_of or hit.record.path
        group = by_report.setdefault(story, [])
        if group and group[0].record.path != hit.record.path:
            also.setdefault(story, set()).add(hit.record.path)
        elif len(group) < PER_REPORT:
            group.append(hit)
    rows: list[tuple[Answer, Citation, list[str]]] = []
    for story, group in by_report.items():
        answer = conversation.answerer.answer(question, resolved, group)
        if not answer.abstained and answer.citations:
            rows.append((answer, answer.citations[0], sorted(also.get(story, ()))))
    rows.sort(key=lambda row: (not date_key(row[1].date), date_key(row[1].date)))  # undated last
    figures = [parse_figure(a.short_answer) for a, _, _ in rows]
    things = [_counted(c) for _, c, _ in rows]
    periods = [period(c.quote) for _, c, _ in rows]
    asks = asked(resolved)  # a figure of something else (aircraft for strikes) is listed, never compared
    other = [bool(asks and thing and thing != asks) for thing in things]
    compared = [None if apart else f for f, apart in zip(figures, other, strict=True)]
    # where and when: a figure over a stated period ("since August 2014") is not placed by the dates it names
    events = [_event(retriever.index, c, bool(p)) for (_, c, _), p in zip(rows, periods, strict=True)]
    flags = conflicts(compared, things, periods, events)
    elsewhen = other_periods(compared, things, periods, events)
    citations, table = [], []
    for n, ((answer, cited, copied), figure) in enumerate(zip(rows, figures, strict=True), 1):
        citation = Citation(**{**vars(cited), "n": n})
        citations.append(citation)
        row = _row(answer, citation, figure, flags[n - 1])
        places, dates = events[n - 1]
        extra = {"counts": things[n - 1], "period": periods[n - 1], "other_period": elsewhen[n - 1], "copies": copied,
                 "other_thing": things[n - 1] if other[n - 1] else "", "places": sorted(places), "dates": sorted(dates),
                 "other_event": _elsewhere(n - 1, compared, things, events)}  # fmt: skip
        table.append({**row, **extra})
    disagree = spread([f for f, flag in zip(figures, flags, strict=True) if flag])
    result = _summary(question, resolved, table, citations, searched, disagree)
    conversation.note_filters(result, filters)
    result.timings = {"total_ms": (time.perf_counter() - started) * 1000}
    return result


def _event(index, c: Citation, over_a_period: bool) -> tuple[frozenset[str], frozenset[str]]:
    """Where and when the cited sentence puts its figure, as far as it says: the places (gazetteer or NER)
    and, unless the figure is over a stated period, the resolved dates named in the quote. Empty when it
    names none (then it matches any event)."""
    found = index.annotations_of(c.file)
    if not found:
        return frozenset(), frozenset()
    mentions, dated = found
    places = frozenset(m.key for m in mentions if m.kind == "place" and c.start <= m.start and m.end <= c.end)
    if over_a_period:
        return places, frozenset()
    return places, frozenset(d.iso for d in dated if c.start <= d.start and d.end <= c.end)


def _elsewhere(i: int, figures: list, things: list[str], events: list) -> bool:
    """Whether row ``i``'s figure would be compared with another's but is about another place or date."""
    return figures[i] is not None and any(
        j != i and figures[j] is not None and things[j] == things[i] and not same_event(events[i], events[j])
        for j in range(len(figures))
    )


def _counted(c: Citation) -> str:
    """What the cited figure counts ('killed', 'strikes'), read from its sentence around the answer."""
    if c.answer_start is None or c.answer_end is None:
        return ""
    return counted(c.quote, c.answer_start - c.start, c.answer_end - c.start)


def _row(answer: Answer, c: Citation, figure: Figure | None, conflicting: bool) -> dict[str, Any]:
    return {
        "n": c.n,
        "file": c.file,
        "title": c.title,
        "date": c.date,
        "date_read": c.date_read,
        "source": c.source,
        "short_answer": answer.short_answer,
        "attribution": answer.attribution,
        "quote": c.quote,
        "start": c.start,
        "end": c.end,
        "page": c.page,
        "figure": figure.value if figure else None,
        "unit": figure.unit if figure else "",
        "conflicting": conflicting,
    }


def _summary(
    question: str, resolved: str, table: list[dict], citations: list[Citation], searched: int, disagree: str
) -> Answer:
    silent = searched - len(table)
    if not table:
        text = f"{ABSTAIN_TEXT} None of the {searched} reports searched answers it."
        return Answer(question, text, "", abstained=True, resolved_question=resolved)
    text = f"{len(table)} of {searched} report{'s' if searched != 1 else ''} answer"
    text += f" ({silent} do{'es' if silent == 1 else ''} not)" if silent else ""
    if disagree:
        text += f"; their figures disagree: {disagree}."
        notice = f"Conflicting figures: {disagree}. Check each source before publishing."
    elif any(r["other_period"] for r in table):
        spans = "; ".join(
            f"{r['short_answer']} {r['period'] or '(no period stated)'}" for r in table if r["other_period"]
        )
        text += f"; their figures cover different periods: {spans}."
        notice = ""
    else:
        compared = [r for r in table if r["figure"] is not None and not (r["other_thing"] or r["other_event"])]
        text += "; their figures agree." if len(compared) > 1 else "."
        notice = ""
    apart = sum(bool(r["other_thing"] or r["other_event"]) for r in table)
    if apart:
        text += (
            f" {apart} figure{' is' if apart == 1 else 's are'} about another thing or event (place, date) "
            "and listed apart, not compared."
        )
    return Answer(
        question, text, "", citations, resolved_question=resolved, reports=table, notice=notice, supported=True
    )
