"""Answers, citations and report text as the page shows them: chat Markdown and Sources-panel HTML.

Report text never reaches the page as markup: everything quoted from a report is HTML-escaped here
(and Gradio's chat sanitiser runs on top), so a report containing ``<script>`` stays text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from askfront.answer.conversation import ABSTAIN_TEXT, NEAR_TEXT, Answer, Citation, verdict
from askfront.core.types import date_shown

if TYPE_CHECKING:
    from askfront.app.service import Service

CONTEXT = 600  # characters of report text shown around a cited passage (cut at sentence ends)
# A sentence ends at . ! ? (maybe followed by a closing quote or bracket) and white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\n+")


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-!|~>:.@])")


def escape_markdown(text: str) -> str:
    """Report text made inert for the chat's Markdown: HTML-escaped, Markdown punctuation backslashed, and
    ':', '.' and '@' too, so no web or e-mail address in a report (a title, a quote) becomes a link: only
    the recorded source address is one (``source_html``)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(re.sub(r"\s+", " ", text), quote=False))


def cite_link(turn: int, n: int) -> str:
    """[n] of answer number ``turn`` as a link; a click shows that citation in the Sources panel (see JS)."""
    return f'<a class="cite" href="#cite-{turn}-{n}">[{n}]</a>'


def cite_links(escaped: str, turn: int) -> str:
    """The [n] marks of an escaped answer as links to its citations."""
    return re.sub(r"\\\[(\d+)\\\]", lambda m: cite_link(turn, int(m.group(1))), escaped)


_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:)\]]")


def _link(url: str) -> str:
    safe = html.escape(url, quote=True)
    return f'<a href="{safe}" target="_blank" rel="noopener noreferrer">{safe}</a>'


def source_html(source: str, escape: Callable[[str], str] = html.escape) -> str:
    """A report's source: every web address in it a link whose href is the address exactly as recorded,
    the rest of the text escaped with ``escape`` (HTML for the Sources panel, Markdown for the chat: a
    Markdown-escaped address would carry its backslashes into the link, as '%5C')."""
    parts, last = [], 0
    for m in _URL_IN_TEXT.finditer(source):
        parts += [escape(source[last : m.start()]) if source[last : m.start()] else "", _link(m.group())]
        last = m.end()
    parts.append(escape(source[last:]) if source[last:] else "")
    return "".join(parts)


def citation_meta(c: Citation, where: str = "") -> str:
    """'*Title* (2016-05) · source · file, page 3, paragraph 4, characters 762-905' as chat Markdown."""
    dated = date_shown(c.date, c.date_read)
    parts = [f"*{escape_markdown(c.title)}*" + (f" ({escape_markdown(dated)})" if dated else "")]
    if c.source:
        parts.append(source_html(c.source, escape_markdown))
    place = escape_markdown(c.file)
    if c.page:
        place += f", page {c.page}"
    if c.ocr:
        place += " (read by OCR from a scan: check the original)"
    if where:
        place += f", {where}"
    parts.append(f"{place}, characters {c.start}-{c.end}")
    return " · ".join(parts)


def answer_markdown(answer: Answer, where: Callable[[Citation], str] = lambda c: "", turn: int = 0) -> str:
    """The chat message: the short answer in bold, the supporting sentence, numbered citations with
    title, date, source, page and place in the report; [n] selects the citation in the Sources panel."""
    notes = []
    if answer.resolved_question and answer.resolved_question.strip() != answer.question.strip():
        notes.append(f"*Read as: {escape_markdown(answer.resolved_question)}*")
    if answer.notice:
        notes.append(f"*{escape_markdown(answer.notice)}*")
    if answer.filters:
        from askfront.export.formats import filters_text

        notes.append(f"*Filters: {escape_markdown(filters_text(answer.filters))}*")
    if answer.reports:
        return every_report_markdown(answer, turn, notes)
    if answer.abstained:
        if answer.answer == NEAR_TEXT:  # a passage nearly answered: [1] opens it
            text = cite_links(escape_markdown(answer.answer), turn)
        elif answer.closest and answer.answer.startswith(ABSTAIN_TEXT):  # one line, naming the panel
            text = (
                escape_markdown(ABSTAIN_TEXT)
                + " *The closest passages are in the sources panel; they do not answer it.*"
            )
        else:
            text = escape_markdown(answer.answer)
        return "\n\n".join([text, *notes])
    lines = []
    if answer.short_answer and answer.answer.startswith(answer.short_answer):
        rest = answer.answer[len(answer.short_answer) :]
        lines.append(f"**{escape_markdown(answer.short_answer)}**{cite_links(escape_markdown(rest), turn)}")
    else:
        lines.append(cite_links(escape_markdown(answer.answer), turn))
    if answer.confidence:
        lines.append(f"*How sure: {escape_markdown(answer.confidence)}*")
    for c in answer.citations:
        lines.append(f"> {escape_markdown(c.quote)}")
        lines.append(f"{cite_link(turn, c.n)} {citation_meta(c, where(c))}")
    return "\n\n".join(lines + notes)


def every_report_markdown(answer: Answer, turn: int, notes: list[str]) -> str:
    """An every-report answer: the summary, then one table row per report (sorted by report date), with
    its [n] link and the conflicting figures marked."""
    from askfront.export.formats import figure_note, report_label

    lines = [escape_markdown(answer.answer), "", "| | report date | report | answer | |", "|---|---|---|---|---|"]
    for row in answer.reports:
        note = figure_note(row)
        flag = "**conflicts**" if note == "conflicts" else escape_markdown(note)
        title = escape_markdown(report_label(row)).replace("|", "\\|")
        short = escape_markdown(row["short_answer"]).replace("|", "\\|")
        dated = escape_markdown(date_shown(row["date"], row.get("date_read", ""))) or "undated"
        lines.append(f"| {cite_link(turn, row['n'])} | {dated} | {title} | {short} | {flag} |")
    return "\n".join(lines) + ("\n\n" + "\n\n".join(notes) if notes else "")


def _dated(c: Citation) -> str:
    return f" ({date_shown(c.date, c.date_read)})" if c.date else ""


def sentence_window(text: str, offset: int, lo: int, hi: int, context: int, whole: bool) -> tuple[int, int]:
    """Start and end (in ``text``, which starts at report offset ``offset``) of the context around report
    span lo..hi: about ``context`` characters each side, cut where a sentence ends. ``whole``: ``text``
    runs to the report's end (its end is a sentence boundary)."""
    cuts = sorted({m.end() for m in _SENTENCE_END.finditer(text)} | ({0} if offset == 0 else set()))
    if whole:
        cuts.append(len(text))
    left = [c for c in cuts if c <= lo - offset] or [0]
    right = [c for c in cuts if c >= hi - offset] or [len(text)]
    start = min(left, key=lambda c: abs(c - (lo - offset - context)))
    end = min(right, key=lambda c: abs(c - (hi - offset + context)))
    return start, end


def highlighted(text: str, base: int, citation: Citation, answering: bool) -> str:
    """``text`` (report offset ``base``) as HTML: the answer span marked, the rest of the quoted
    sentence tinted; closest-but-not-answering passages get their own, different look."""
    lo, hi = (citation.answer_start, citation.answer_end) if citation.answer_start is not None else (0, 0)
    if not hi or not answering:
        lo = hi = citation.start
    a, b = max(0, lo - base), max(0, hi - base)
    qa, qb = max(0, citation.start - base), max(0, citation.end - base)
    quote = "quote" if answering else "closest"
    parts = []
    for i, (x, y) in enumerate(((0, qa), (qa, a), (a, b), (b, qb), (qb, len(text)))):
        piece = html.escape(text[x:y]) if y > x else ""
        if i == 2 and piece:
            piece = f'<mark class="answer-span">{piece}</mark>'
        elif i in (1, 3) and piece:
            piece = f'<span class="{quote}" id="{"quote-start" if i == 1 else "quote-end"}">{piece}</span>'
        parts.append(piece)
    return "".join(parts)


def source_label(answer: Answer, citation: Citation) -> str:
    """What the Sources panel says of a passage: the chat's own verdict on it (``verdict``), and for an
    answer how sure askfront is."""
    said = verdict(answer.to_dict(), citation.n)
    if said == "answers":
        sure = f" How sure: {html.escape(answer.confidence)}." if answer.confidence else ""
        return f'<p class="answers">Answers the question.{sure}</p>'
    if said == "may answer":
        return (
            '<p class="not-answer">Closest passage — it may answer the question: askfront could not tell. Check it.</p>'
        )
    return '<p class="not-answer">Closest passage — it does not answer the question.</p>'


def source_header(service: Service, citation: Citation, label: str) -> str:
    where = [html.escape(citation.file)]
    if citation.page:
        where.append(f"page {citation.page}")
    place = service.where(citation)
    if place:
        where.append(place)
    where.append(f"characters {citation.start}-{citation.end}")
    source = f'<p class="origin">Source: {source_html(citation.source)}</p>' if citation.source else ""
    return (
        f"{label}<h4>[{citation.n}] {html.escape(citation.title)}{html.escape(_dated(citation))}</h4>"
        f'<p class="where">{", ".join(where)}</p>{source}'
    )


def passage_html(service: Service, citation: Citation, answer: Answer) -> str:
    """A cited passage with the report text around it, cut at sentence ends; the answer span highlighted."""
    answering = not answer.abstained
    begin = max(0, citation.start - CONTEXT - 400)
    stop = citation.end + CONTEXT + 400
    try:
        text = service.text(citation, begin, stop)
        whole = len(text) < stop - begin
    except KeyError:  # the report left the index since this answer was given
        text, begin, whole = citation.quote, citation.start, True
    a, b = sentence_window(text, begin, citation.start, citation.end, CONTEXT, whole)
    to_the_end = whole and b == len(text)
    b = a + len(text[a:b].rstrip())  # end on the sentence's last character, not on the space after it
    body = highlighted(text[a:b], begin + a, citation, answering)
    kind = "source" if answering else "source closest-source"
    return (
        f'<div class="{kind}">{source_header(service, citation, source_label(answer, citation))}'
        f'<div class="passage">{"… " if begin + a else ""}{body}{"" if to_the_end else " …"}</div></div>'
    )


def report_html(service: Service, citation: Citation, answer: Answer) -> str:
    """The whole report, with the cited span highlighted (the page scrolls to it)."""
    answering = not answer.abstained
    try:
        text = service.report_text(citation.file)
    except KeyError:
        return f"<p>{html.escape(citation.file)} is no longer in the index.</p>"
    kind = "source whole-report" if answering else "source whole-report closest-source"
    return (
        f'<div class="{kind}">{source_header(service, citation, source_label(answer, citation))}'
        f'<div class="report-text">{highlighted(text, 0, citation, answering)}</div></div>'
    )
