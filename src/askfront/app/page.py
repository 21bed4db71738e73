"""The browser chat (Gradio): answers with citations, the cited passages highlighted, corpus management.

Report text never reaches the page as markup: everything quoted from a report is HTML-escaped here
(and Gradio's chat sanitiser runs on top), so a report containing ``<script>`` stays text.
"""

from __future__ import annotations

import functools
import html
import os
import re
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

# No usage statistics leave the machine; set before gradio is imported.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from askfront.analysis.views import timeline_csv as views_csv
from askfront.analysis.views import timeline_note
from askfront.answer.conversation import ABSTAIN_TEXT, NEAR_TEXT, Answer, Citation
from askfront.app.search_panel import hit_list, matches_html, search_panel
from askfront.app.service import Service, safe_upload_name
from askfront.core.config import Settings
from askfront.core.errors import AskfrontError, ConfigError, one_line
from askfront.core.types import Filters
from askfront.ingest.reports import SUFFIXES
from askfront.language.entities import NAME_KINDS

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["Service", "build_ui", "launch_settings", "safe_upload_name", "serve"]

CONTEXT = 600  # characters of report text shown around a cited passage (cut at sentence ends)
NAMES_SHOWN = 500  # names listed in the names panel (most mentioned first)
TIMELINE_SHOWN = 1000  # timeline rows shown in the page (the CSV has all)
UPLOAD_CEILING = 5  # times max_file_mb that the web server receives at all (see serve)
REFRESH_S = 2.0  # how often a tab checks whether another tab (or the CLI via this app) rebuilt the index
# A sentence ends at . ! ? (maybe followed by a closing quote or bracket) and white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\n+")


def escape_markdown(text: str) -> str:
    """Report text made inert for the chat's Markdown: HTML-escaped, Markdown punctuation backslashed."""
    return re.sub(r"([\\`*_{}\[\]()#+\-!|~>])", r"\\\1", html.escape(re.sub(r"\s+", " ", text), quote=False))


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
    parts = [f"*{escape_markdown(c.title)}*" + (f" ({escape_markdown(c.date)})" if c.date else "")]
    if c.source:
        parts.append(source_html(c.source, escape_markdown))
    place = escape_markdown(c.file)
    if c.page:
        place += f", page {c.page}"
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
    from askfront.export.formats import figure_note

    lines = [escape_markdown(answer.answer), "", "| | report date | report | answer | |", "|---|---|---|---|---|"]
    for row in answer.reports:
        note = figure_note(row)
        flag = "**conflicts**" if note == "conflicts" else escape_markdown(note)
        title = escape_markdown(row["title"] or row["file"]).replace("|", "\\|")
        short = escape_markdown(row["short_answer"]).replace("|", "\\|")
        lines.append(f"| {cite_link(turn, row['n'])} | {row['date'] or 'undated'} | {title} | {short} | {flag} |")
    return "\n".join(lines) + ("\n\n" + "\n\n".join(notes) if notes else "")


def _dated(c: Citation) -> str:
    return f" ({c.date})" if c.date else ""


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


def source_header(service: Service, citation: Citation, answering: bool) -> str:
    label = "" if answering else '<p class="not-answer">Closest passage — it does not answer the question.</p>'
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


def passage_html(service: Service, citation: Citation, answering: bool) -> str:
    """A cited passage with the report text around it, cut at sentence ends; the answer span highlighted."""
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
        f'<div class="{kind}">{source_header(service, citation, answering)}'
        f'<div class="passage">{"… " if begin + a else ""}{body}{"" if to_the_end else " …"}</div></div>'
    )


def report_html(service: Service, citation: Citation, answering: bool) -> str:
    """The whole report, with the cited span highlighted (the page scrolls to it)."""
    try:
        text = service.report_text(citation.file)
    except KeyError:
        return f"<p>{html.escape(citation.file)} is no longer in the index.</p>"
    kind = "source whole-report" if answering else "source whole-report closest-source"
    return (
        f'<div class="{kind}">{source_header(service, citation, answering)}'
        f'<div class="report-text">{highlighted(text, 0, citation, answering)}</div></div>'
    )


CSS = """
.source .passage { white-space: pre-wrap; line-height: 1.5; max-height: 420px; overflow-y: auto; }
.source .report-text { white-space: pre-wrap; line-height: 1.5; max-height: 640px; overflow-y: auto; }
.source .quote { background: #fff3b0; }
.source mark.answer-span { background: #ffd54f; font-weight: 600; }
.source .closest { background: transparent; border-bottom: 2px dashed #9e9e9e; color: #444; }
.closest-source { border-left: 4px solid #9e9e9e; padding-left: 8px; }
.source .not-answer { color: #b00020; font-weight: 600; }
.source .where, .source .origin { color: #555; font-size: 0.9em; margin: 0; }
#chat a.cite { font-weight: 600; text-decoration: none; }
#chat table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; }
#chat th, #chat td { word-break: normal !important; overflow-wrap: normal !important; hyphens: none; }
#chat th { white-space: nowrap; }
#chat td { min-width: 3.5em; vertical-align: top; }
#reports-table td, #reports-table th { word-break: normal !important; overflow-wrap: anywhere; }
.askfront-hidden { display: none !important; }
.hit-list .snippet a.hit { color: inherit; text-decoration: none; display: block; }
.hit-list .snippet a.hit:hover { background: #f3f3f3; }
.hit-list mark, .report-text mark.hit { background: #fff3b0; }
.hit-list .hits { color: #555; font-weight: normal; }
#active-filter { background: #fff8e1; border-left: 4px solid #f9a825; padding: 2px 8px; }
@media (max-width: 700px) {
  #chat { height: 360px !important; }
  #sources > * { order: 2; }
  #sources > #passage { order: 1; }
}
"""

# Runs once when the page loads: [n] links in the chat select citation n; a shown passage scrolls to its
# highlighted span inside its box.
JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const found = (link.getAttribute("href") || "").match(/cite-(\\d+)-(\\d+)/);
    const box = document.querySelector("#cite-pick textarea, #cite-pick input");
    if (!found || !box) return;
    box.value = `${found[1]}:${found[2]}:${Date.now()}`;  // always a change, even for the same [n]
    box.dispatchEvent(new Event("input", { bubbles: true }));
    document.querySelector("#passage")?.scrollIntoView({ block: "nearest" });
  }, true);
  document.addEventListener("click", (event) => {  // a hit in a search list: that report, at the hit
    const link = event.target.closest && event.target.closest("a.hit");
    if (!link) return;
    event.preventDefault();
    const found = (link.getAttribute("href") || "").match(/hit-(\\d+)-(\\d+)-(\\d+)/);
    const panel = link.closest("#search-panel, #names-panel");
    const box = panel && panel.querySelector(".hit-pick textarea, .hit-pick input");
    if (!found || !box) return;
    box.value = `${found[1]}:${found[2]}:${found[3]}:${Date.now()}`;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }, true);
}
"""
SCROLL_JS = """
(...args) => {
  setTimeout(() => {
    const boxes = "#passage .passage, #report-view .report-text, .hit-report-view .report-text";
    for (const box of document.querySelectorAll(boxes)) {
      const mark = box.querySelector("mark.answer-span, .quote, .closest");
      if (mark) box.scrollTop = mark.offsetTop - box.offsetTop - box.clientHeight / 3;
    }
  }, 50);
  return args;
}
"""

# After an answer: the chat scrolls so the new answer's first line (its bold short answer) is at the top
# of the chat box, and on a phone the page scrolls to it too (Gradio's own autoscroll, off, would show the
# answer's last line: on a phone the answer itself went out of view).
ANSWER_JS = """
(...args) => {
  const show = () => {
    const bots = document.querySelectorAll("#chat .message.bot, #chat [data-testid='bot']");
    const last = bots[bots.length - 1];
    if (!last) return;
    let box = last.parentElement;
    const scrolls = (el) =>
      el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(el).overflowY);
    while (box && box !== document.body && !scrolls(box)) box = box.parentElement;
    if (box && box !== document.body) {
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    }
    const top = last.getBoundingClientRect().top;
    if (window.innerWidth < 700 && (top < 0 || top > window.innerHeight * 0.6)) window.scrollBy(0, top - 60);
  };
  setTimeout(show, 150);
  setTimeout(show, 600);
  return args;
}
"""


def page_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A listener whose failures reach the page as the one line the CLI would print (never a bare "Error")."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AskfrontError as err:
            raise gr.Error(f"askfront: error: {err}", print_exception=False) from None
        except Exception as err:  # a bug: the line in the page, the traceback in the terminal
            traceback.print_exc(file=sys.stderr)
            raise gr.Error(f"askfront: error: unexpected {type(err).__name__}: {one_line(err)}") from None

    return wrapper


def build_ui(service: Service, logout: bool = False) -> gr.Blocks:
    """The Gradio Blocks app over ``service`` (``logout``: show a log-out link, when a login is required)."""
    import gradio as gr

    from askfront.export import formats as export

    def citations_of(answer: Answer | None) -> list[Citation]:
        if answer is None:
            return []
        return answer.citations or answer.closest

    def choices_of(answer: Answer | None) -> list[str]:
        return [f"[{c.n}] {c.title}" for c in citations_of(answer)]

    def chosen(answer: Answer | None, choice: str | None) -> Citation | None:
        found = citations_of(answer)
        return next((c for c in found if choice and choice.startswith(f"[{c.n}]")), found[0] if found else None)

    def show(answer: Answer | None, choice: str | None) -> str:
        citation = chosen(answer, choice)
        if citation is None:
            return "<p>Sources of the latest answer appear here.</p>"
        return passage_html(service, citation, answering=not answer.abstained)

    def exports(history: list[Answer]) -> tuple[str, str | None, str | None]:
        """The conversation as Markdown (shown) and as dated .md and .csv files to download."""
        if not history:
            return "", None, None
        answers = [a.to_dict() for a in history]
        text = export.markdown(answers)
        md = service.export(text, export.dated_name("md"))
        csv = service.export(export.to_csv(answers), export.dated_name("csv"))
        return text, str(md), str(csv)

    def index_view() -> tuple:
        """Status line, reports table, report filters and pickers, names and timeline as the live index has
        them (the outputs ``view`` lists, in its order)."""
        rows = service.reports()
        table = [[r.title, r.date or "undated", r.source, r.passages] for r in rows]
        titles = [(f"{r.title} ({r.path})" if r.title != r.path else r.path, r.path) for r in rows]
        names, picks = name_list("all")
        return (
            service.status(),
            table,
            gr.update(choices=titles),
            gr.update(choices=[r.path for r in rows]),
            service.generation,
            names,
            picks,
            gr.update(choices=[("", ""), *picks["choices"]]),
            gr.update(choices=titles),
            *timeline_view("", ()),
        )

    @page_errors
    def refresh(seen: int):
        if seen == service.generation:
            return (gr.skip(),) * len(view)
        return index_view()

    def turn_of(question, chat, history, files, since, until, every: bool):
        question = (question or "").strip()
        if not question and every and history:  # "Every report" on the last question asked
            question = history[-1].question
        if not question:
            return (gr.skip(),) * 10
        try:
            filters = Filters(tuple(files or ()), (since or "").strip(), (until or "").strip())
            ask = service.every_report if every else service.ask
            answer = ask(question, history=history[-4:], filters=filters)
        except AskfrontError as err:  # a bad filter date, a damaged index: said in the chat, in one line
            answer = Answer(question, f"askfront: error: {err}", "", abstained=True)
        reply = answer_markdown(answer, service.where, turn=len(history))
        chat = [*chat, {"role": "user", "content": escape_markdown(question)},
                {"role": "assistant", "content": reply}]  # fmt: skip
        history = [*history, answer]
        choices = choices_of(answer)
        return (
            "",
            chat,
            history,
            gr.update(choices=choices, value=choices[0] if choices else None),
            show(answer, None),
            *exports(history),
            "",
            len(history) - 1,
        )

    def shown_answer(history: list[Answer], turn: int) -> Answer | None:
        """The answer whose citations the Sources panel lists (the latest, or one picked by its [n])."""
        return history[turn] if history and -len(history) <= turn < len(history) else None

    @page_errors
    def chat_turn(question, chat, history, files, since, until):
        return turn_of(question, chat, history, files, since, until, every=False)

    @page_errors
    def every_turn(question, chat, history, files, since, until):
        return turn_of(question, chat, history, files, since, until, every=True)

    @page_errors
    def name_list(kind):
        rows = [r for r in service.names() if not kind or kind == "all" or r.kind == kind]
        table = [[r.name, r.kind, r.mentions, r.reports] for r in rows[:NAMES_SHOWN]]
        return table, gr.update(choices=[(f"{r.name} ({r.kind})", r.key) for r in rows[:NAMES_SHOWN]])

    @page_errors
    def name_detail(key):
        if not key:
            return "<p>Pick a name to see where the reports mention it.</p>", [], ""
        wanted = service.name_terms(key)
        matches = service.name_reports(key)
        spelled = ", ".join(sorted({t.words for t in wanted}))
        return matches_html(matches, f"{key} (as {spelled})"), [(m.path, wanted) for m in matches], ""

    @page_errors
    def filter_line(files, since, until):
        """The filters that are on, beside the question box, with the button that clears them."""
        text = export.filters_text({"files": list(files or ()), "since": since or "", "until": until or ""})
        return (
            gr.update(value=f"Questions go only to {escape_markdown(text)}" if text else "", visible=bool(text)),
            gr.update(visible=bool(text)),
        )

    @page_errors
    def restrict_to(key):
        if not key:
            raise ConfigError("pick a name first")
        paths = service.reports_naming(key)
        return gr.update(value=paths), f"Questions now go to the {len(paths)} reports that mention it."

    @page_errors
    def timeline_view(key, files):
        rows = service.timeline(key or "", tuple(files or ()))
        table = [[r.iso, r.date_text, r.sentence, r.title, r.path] for r in rows[:TIMELINE_SHOWN]]
        path = service.export(views_csv(rows), f"askfront-timeline-{datetime.now():%Y-%m-%d-%H%M%S}.csv")
        return table, str(path), timeline_note(rows, TIMELINE_SHOWN)

    @page_errors
    def pick(history, turn, choice):
        return show(shown_answer(history, turn), choice)

    @page_errors
    def pick_from_chat(history, value):
        """[n] clicked in the chat ('turn:n:…'): that answer's citations, citation n shown."""
        try:
            turn, n = (int(part) for part in (value or "").split(":")[:2])
            answer = history[turn]
        except (ValueError, IndexError):
            return gr.skip(), gr.skip(), gr.skip()
        choices = choices_of(answer)
        choice = next((c for c in choices if c.startswith(f"[{n}]")), None)
        return gr.update(choices=choices, value=choice), show(answer, choice), turn

    @page_errors
    def open_report(history, turn, choice):
        answer = shown_answer(history, turn)
        citation = chosen(answer, choice)
        if citation is None:
            return "<p>Ask a question first: the report of the chosen citation opens here.</p>"
        return report_html(service, citation, answering=not answer.abstained)

    @page_errors
    def upload(paths, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's progress bar)
        """Added reports are indexed at once, no second click; the result shows beside the upload box."""
        message = service.add_reports([str(p) for p in paths or []])
        if "\nAdded " in f"\n{message}":
            progress(0, desc="Indexing the new reports")
            message += "\n" + service.rebuild()
        return message, None, *index_view()  # the upload box is emptied: the next upload never re-adds these

    @page_errors
    def rebuild(progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's way to show a progress bar)
        progress(0, desc="Reading reports")
        return service.rebuild(), *index_view()

    @page_errors
    def pick_report(rel):
        row = next((r for r in service.reports() if r.path == rel), None)
        if row is None:
            return "", "", ""
        return row.title, row.date, row.source

    @page_errors
    def save_metadata(rel, title, date, source):
        if not rel:
            raise ConfigError("choose a report first")
        return service.set_metadata(rel, title or "", date or "", source or ""), *index_view()

    @page_errors
    def ask_delete(rel):
        if not rel:
            raise ConfigError("choose a report first")
        return gr.update(value=f"Delete **{escape_markdown(rel)}**? It moves to the corpus's trash folder.",
                         visible=True), gr.update(visible=True)  # fmt: skip

    @page_errors
    def delete_report(rel):
        if not rel:
            raise ConfigError("choose a report first")
        message = service.delete_report(rel)
        return message, gr.update(visible=False), gr.update(visible=False), gr.update(visible=True), *index_view()

    @page_errors
    def undo_delete():
        message = service.undo_delete()
        return message, gr.update(visible=service.can_undo), *index_view()

    @page_errors
    def replace_report(rel, path):
        if not rel or not path:
            raise ConfigError("choose a report and the file that replaces it")
        return service.replace_report(rel, str(path)), None, *index_view()

    @page_errors
    def api_ask(question: str) -> dict:
        """One question, no conversation: the answer object as JSON (for scripts and load tests)."""
        return service.ask(question).to_dict()

    examples = service.examples()
    # Gradio's own copies of uploads and downloads are removed after an hour (checked hourly).
    with gr.Blocks(title="askfront", delete_cache=(3600, 3600)) as app:
        with gr.Row():
            gr.Markdown("## askfront — ask the reports\nAnswers are quoted from your reports, with their source.")
            if logout:
                gr.Button("Log out", link="/logout", size="sm", scale=0, elem_id="logout")
        status = gr.Markdown(service.status, elem_id="index-status")  # a callable: fresh on every page load
        history = gr.State([])
        seen = gr.State(service.generation)
        turn = gr.State(-1)  # which answer the Sources panel shows
        with gr.Row():
            with gr.Column(scale=3, min_width=320):
                chat = gr.Chatbot(
                    label="Chat",
                    height=480,
                    sanitize_html=True,
                    elem_id="chat",
                    buttons=["copy"],
                    group_consecutive_messages=False,
                    autoscroll=False,  # ANSWER_JS shows the start of each new answer instead
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question about the reports…", show_label=False, scale=5, elem_id="question"
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    every = gr.Button("Every report", scale=1, elem_id="every-report")
                with gr.Row():
                    active_filter = gr.Markdown("", visible=False, elem_id="active-filter")
                    clear_filter = gr.Button("Clear filter", size="sm", scale=0, visible=False, elem_id="clear-filter")
            with gr.Column(scale=2, min_width=320, elem_id="sources"):
                gr.Markdown("### Sources")
                cited = gr.Radio(label="Citations", choices=[], elem_id="citations")
                passage = gr.HTML("<p>Sources of the latest answer appear here.</p>", elem_id="passage")
                open_button = gr.Button("Open the whole report", size="sm", elem_id="open-report")
                cite_pick = gr.Textbox(elem_id="cite-pick", elem_classes=["askfront-hidden"], show_label=False)
                report_view = gr.HTML("", elem_id="report-view")
        if examples:
            gr.Examples(examples, inputs=question, label="Example questions")
        search_panel(service, page_errors, SCROLL_JS)
        with gr.Accordion("Filters", open=False), gr.Row():
            files = gr.Dropdown([], multiselect=True, label="Only these reports (by title)", elem_id="filter-files")
            since = gr.Textbox(label="Dated on/after (YYYY[-MM[-DD]])", elem_id="filter-since")
            until = gr.Textbox(label="Dated on/before (YYYY[-MM[-DD]])", elem_id="filter-until")
        with gr.Accordion("People, organisations, places", open=False, elem_id="names-panel"):
            kind = gr.Radio(["all", *NAME_KINDS], value="all", label="Kind", elem_id="name-kind")
            names_table = gr.Dataframe(
                headers=["name", "kind", "mentions", "reports"], interactive=False, elem_id="names-table"
            )
            with gr.Row():
                name_pick = gr.Dropdown([], label="Name", elem_id="name-pick")
                restrict = gr.Button("Ask only the reports that mention it", elem_id="restrict")
            restricted = gr.Markdown("", elem_id="restricted")
            name_mentions, name_found, name_report = hit_list(service, page_errors, SCROLL_JS, "mentions")
        with gr.Accordion("Timeline", open=False, elem_id="timeline-panel"):
            with gr.Row():
                timeline_name = gr.Dropdown([], label="Only sentences that name", elem_id="timeline-name")
                timeline_files = gr.Dropdown([], multiselect=True, label="Only these reports", elem_id="timeline-files")
            timeline_count = gr.Markdown("", elem_id="timeline-count")
            timeline_table = gr.Dataframe(
                headers=["date", "as written", "sentence", "report", "file"],
                interactive=False,
                wrap=True,
                elem_id="timeline-table",
            )
            timeline_csv = gr.DownloadButton("Download the timeline (CSV)", elem_id="timeline-csv")
        with gr.Accordion("Export the conversation", open=False):
            exported = gr.Textbox(label="Markdown", lines=6, buttons=["copy"], elem_id="export")
            with gr.Row():
                download_md = gr.DownloadButton("Download Markdown", elem_id="download-md")
                download_csv = gr.DownloadButton("Download CSV", elem_id="download-csv")
        with gr.Accordion("Reports", open=False, elem_id="reports-panel"):
            table = gr.Dataframe(
                headers=["title", "date", "source", "passages"],
                interactive=False,
                wrap=True,
                column_widths=["40%", "15%", "35%", "10%"],
                elem_id="reports-table",
            )
            uploads = gr.File(
                label="Add reports (.txt, .md, .html, .pdf)",
                file_count="multiple",
                file_types=sorted(SUFFIXES),
                elem_id="upload",
            )
            added = gr.Textbox(label="Added", interactive=False, lines=2, elem_id="added")
            rebuild_button = gr.Button("Rebuild index", elem_id="rebuild")
            with gr.Row():
                report = gr.Dropdown([], label="Report", elem_id="report-pick")
                title = gr.Textbox(label="Title", elem_id="meta-title")
                date = gr.Textbox(label="Date (YYYY[-MM[-DD]])", elem_id="meta-date")
                source = gr.Textbox(label="Source (URL or description)", elem_id="meta-source")
            with gr.Row():
                save = gr.Button("Save title, date and source", elem_id="save-meta")
                delete = gr.Button("Delete this report", variant="stop", elem_id="delete-report")
                undo = gr.Button("Undo delete", visible=False, elem_id="undo-delete")
            with gr.Row():
                confirm_text = gr.Markdown("", visible=False, elem_id="confirm-delete-text")
                confirm = gr.Button("Yes, delete it", variant="stop", visible=False, elem_id="confirm-delete")
            replacement = gr.File(label="Replace this report with", file_count="single", elem_id="replace-file")
            replace = gr.Button("Replace", elem_id="replace")
            rebuilt = gr.Textbox(label="Index", interactive=False, lines=3, elem_id="rebuilt")

        view = [status, table, files, report, seen, names_table, name_pick, timeline_name, timeline_files,
                timeline_table, timeline_csv, timeline_count]  # fmt: skip
        outputs = [question, chat, history, cited, passage, exported, download_md, download_csv, report_view, turn]
        inputs = [question, chat, history, files, since, until]
        question.submit(chat_turn, inputs, outputs, api_visibility="private").then(None, js=SCROLL_JS).then(
            None, js=ANSWER_JS
        )
        send.click(chat_turn, inputs, outputs, api_visibility="private").then(None, js=SCROLL_JS).then(
            None, js=ANSWER_JS
        )
        every.click(every_turn, inputs, outputs, api_visibility="private").then(None, js=SCROLL_JS).then(
            None, js=ANSWER_JS
        )
        kind.change(name_list, kind, [names_table, name_pick], api_visibility="private")
        name_pick.change(name_detail, name_pick, [name_mentions, name_found, name_report], api_visibility="private")
        for box in (files, since, until):
            box.change(filter_line, [files, since, until], [active_filter, clear_filter], api_visibility="private")
        clear_filter.click(lambda: ([], "", ""), None, [files, since, until], api_visibility="private")
        restrict.click(restrict_to, name_pick, [files, restricted], api_visibility="private")
        timeline_inputs = [timeline_name, timeline_files]
        timeline_outputs = [timeline_table, timeline_csv, timeline_count]
        timeline_name.change(timeline_view, timeline_inputs, timeline_outputs, api_visibility="private")
        timeline_files.change(timeline_view, timeline_inputs, timeline_outputs, api_visibility="private")
        cited.input(pick, [history, turn, cited], passage, api_visibility="private").then(None, js=SCROLL_JS)
        cite_pick.change(pick_from_chat, [history, cite_pick], [cited, passage, turn], api_visibility="private").then(
            None, js=SCROLL_JS
        )
        open_button.click(open_report, [history, turn, cited], report_view, api_visibility="private").then(
            None, js=SCROLL_JS
        )
        uploads.upload(upload, uploads, [added, uploads, *view], api_visibility="private")
        rebuild_button.click(rebuild, None, [rebuilt, *view], api_visibility="private")
        report.change(pick_report, report, [title, date, source], api_visibility="private")
        save.click(save_metadata, [report, title, date, source], [rebuilt, *view], api_visibility="private")
        delete.click(ask_delete, report, [confirm_text, confirm], api_visibility="private")
        confirm.click(delete_report, report, [rebuilt, confirm_text, confirm, undo, *view], api_visibility="private")
        report.change(
            lambda _r: (gr.update(visible=False),) * 2, report, [confirm_text, confirm], api_visibility="private"
        )
        undo.click(undo_delete, None, [rebuilt, undo, *view], api_visibility="private")
        replace.click(replace_report, [report, replacement], [rebuilt, replacement, *view], api_visibility="private")
        app.load(index_view, None, view, api_visibility="private", show_progress="hidden")
        gr.Timer(REFRESH_S).tick(refresh, seen, view, api_visibility="private", show_progress="hidden")
        gr.api(api_ask, api_name="ask")
    return app


def launch_settings(settings: Settings, environ: dict[str, str] | None = None) -> tuple[str, int, tuple | None]:
    """Host, port and optional (user, password) from settings, ``GRADIO_SERVER_PORT`` and ``ASKFRONT_AUTH``."""
    environ = dict(os.environ if environ is None else environ)
    port = settings.port or int(environ.get("GRADIO_SERVER_PORT") or 7860)
    auth = None
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not sep or not user or not password:
            raise ConfigError("ASKFRONT_AUTH must be user:password")
        auth = (user, password)
    return settings.host, port, auth


def stop_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop, kill) ends the app as Ctrl-C does: through ``finally``, so the export
    folder in /tmp is removed and the index closed."""
    import signal

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def trust_proxies(settings: Settings) -> None:
    """uvicorn believes X-Forwarded-For only from ``settings.trusted_proxies`` (its default trusts
    127.0.0.1, so any local client could pick the address the login throttle counts against)."""
    os.environ["FORWARDED_ALLOW_IPS"] = settings.trusted_proxies


def serve(settings: Settings) -> None:
    """Start the app: load everything once, print the URL, serve until interrupted."""
    from starlette.middleware import Middleware

    from askfront.app.web import WebGuard, allowed_hosts

    host, port, auth = launch_settings(settings)
    hosts = allowed_hosts(host, settings.allowed_hosts.split(","))
    trust_proxies(settings)
    service = Service.start(settings)
    service.watch()  # reports copied into corpus/ while the app runs are indexed in the background
    stop_on_sigterm()
    app = build_ui(service, logout=auth is not None)
    print(f"askfront: serving on http://{host}:{port}" + (" (login required)" if auth else ""), flush=True)
    try:
        app.queue(default_concurrency_limit=1).launch(
            server_name=host,
            server_port=port,
            share=False,
            auth=auth,
            # Gradio refuses only what is far over the limit (its toast says MiB, "19.1 Mb" for 20 MB);
            # anything nearer is received and refused by check_upload with askfront's own line
            max_file_size=max(UPLOAD_CEILING * settings.max_file_bytes, 100_000_000),
            footer_links=[],
            css=CSS,
            theme=_theme(),
            quiet=True,
            auth_message="askfront — ask the reports. Log in to continue.",
            js=JS,
            show_error=True,  # Gradio's own refusals (e.g. of an upload) show their message, not "Error"
            app_kwargs={"middleware": [Middleware(WebGuard, hosts=hosts)]},
        )
    finally:
        service.close()


def _theme():
    """Gradio's default look with system fonts (the default theme fetches fonts from the internet)."""
    import gradio as gr

    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
