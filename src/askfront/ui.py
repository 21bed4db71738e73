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
from typing import TYPE_CHECKING, Any

# No usage statistics leave the machine; set before gradio is imported.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from askfront.answer import Answer, Citation
from askfront.config import Settings
from askfront.errors import AskfrontError, ConfigError, one_line
from askfront.ingest import SUFFIXES
from askfront.service import Service, safe_upload_name
from askfront.types import Filters

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["Service", "build_ui", "launch_settings", "safe_upload_name", "serve"]

EXAMPLES = [
    "How far is Abu Grain from Sirte?",
    "How many GNA fighters were killed in recapturing Abu Grain?",
    "Who said that?",
    "Who commands the Libyan National Army?",
    "What is the population of Misrata?",
]
CONTEXT = 600  # characters of report text shown around a cited passage


def escape_markdown(text: str) -> str:
    """Report text made inert for the chat's Markdown: HTML-escaped, Markdown punctuation backslashed."""
    return re.sub(r"([\\`*_{}\[\]()#+\-!|~>])", r"\\\1", html.escape(re.sub(r"\s+", " ", text), quote=False))


def answer_markdown(answer: Answer) -> str:
    """The chat message: the short answer in bold, the supporting sentence, numbered citations."""
    if answer.abstained:
        text = escape_markdown(answer.answer)
        if answer.closest:
            text += "\n\n*The closest passages are in the sources panel; they do not answer the question.*"
        return text
    lines = []
    if answer.short_answer and answer.answer.startswith(answer.short_answer):
        rest = answer.answer[len(answer.short_answer) :]
        lines.append(f"**{escape_markdown(answer.short_answer)}**{escape_markdown(rest)}")
    else:
        lines.append(escape_markdown(answer.answer))
    for c in answer.citations:
        lines.append(f"> {escape_markdown(c.quote)}")
        source = f"*{escape_markdown(c.title)}*{_dated(c)} · {escape_markdown(c.file)}, characters {c.start}-{c.end}"
        lines.append(f"\\[{c.n}\\] {source}")
    if answer.notice:
        lines.append(f"*{escape_markdown(answer.notice)}*")
    return "\n\n".join(lines)


def answer_export(answer: Answer) -> str:
    """The answer and its citations as Markdown for an article draft."""
    lines = [f"**Q:** {answer.question}", "", f"**A:** {answer.answer}", ""]
    for c in answer.citations or answer.closest:
        label = "" if answer.citations else " (closest passage; does not answer)"
        lines.append(f"[{c.n}] {c.title}{_dated(c)}, {c.file}, characters {c.start}-{c.end}{label}: “{c.quote}”")
    return "\n".join(lines).strip() + "\n"


def _dated(c: Citation) -> str:
    return f" ({c.date})" if c.date else ""


def passage_html(service: Service, citation: Citation, answering: bool) -> str:
    """A cited passage with its surrounding report text; the answer span (or the quote) highlighted."""
    lo, hi = (citation.answer_start, citation.answer_end) if citation.answer_start is not None else (0, 0)
    if not hi:
        lo, hi = citation.start, citation.end
    begin = max(0, min(citation.start, lo) - CONTEXT)
    try:
        text = service.text(citation, begin, max(citation.end, hi) + CONTEXT)
    except KeyError:  # the report left the index since this answer was given
        text, begin = citation.quote, citation.start
    a, b = max(0, lo - begin), max(0, hi - begin)
    qa, qb = max(0, citation.start - begin), max(0, citation.end - begin)
    parts = []
    for i, (x, y) in enumerate(((0, qa), (qa, a), (a, b), (b, qb), (qb, len(text)))):
        piece = html.escape(text[x:y]) if y > x else ""
        if i == 2 and piece:
            piece = f'<mark class="answer-span">{piece}</mark>'
        elif i in (1, 3) and piece:
            piece = f'<span class="quote">{piece}</span>'
        parts.append(piece)
    label = "" if answering else '<p class="not-answer">Closest passage — it does not answer the question.</p>'
    where = f"{html.escape(citation.file)}, characters {citation.start}-{citation.end}"
    if citation.page:
        where += f", page {citation.page}"
    return (
        f'<div class="source">{label}<h4>[{citation.n}] {html.escape(citation.title)}'
        f"{html.escape(_dated(citation))}</h4><p class=where>{where}</p>"
        f'<div class="passage">{"…" if begin else ""}{"".join(parts)}…</div></div>'
    )


CSS = """
.source .passage { white-space: pre-wrap; line-height: 1.5; max-height: 420px; overflow-y: auto; }
.source .quote, .source mark.answer-span { background: #fff3b0; }
.source mark.answer-span { background: #ffd54f; font-weight: 600; }
.source .not-answer { color: #b00020; font-weight: 600; }
.source .where { color: #555; font-size: 0.9em; }
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


def build_ui(service: Service) -> gr.Blocks:
    """The Gradio Blocks app over ``service``."""
    import gradio as gr

    def citations_of(answer: Answer | None) -> list[Citation]:
        if answer is None:
            return []
        return answer.citations or answer.closest

    def choices_of(answer: Answer | None) -> list[str]:
        return [f"[{c.n}] {c.title}" for c in citations_of(answer)]

    def show(answer: Answer | None, choice: str | None) -> str:
        found = citations_of(answer)
        if not found:
            return "<p>Sources of the latest answer appear here.</p>"
        chosen = next((c for c in found if choice and choice.startswith(f"[{c.n}]")), found[0])
        return passage_html(service, chosen, answering=not answer.abstained)

    @page_errors
    def chat_turn(question, chat, history, files, since, until):
        question = (question or "").strip()
        if not question:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            filters = Filters(tuple(files or ()), (since or "").strip(), (until or "").strip())
            answer = service.ask(question, history=history[-4:], filters=filters)
        except AskfrontError as err:  # a bad filter date, a damaged index: said in the chat, in one line
            answer = Answer(question, f"askfront: error: {err}", "", abstained=True)
        chat = [*chat, {"role": "user", "content": escape_markdown(question)},
                {"role": "assistant", "content": answer_markdown(answer)}]  # fmt: skip
        choices = choices_of(answer)
        return (
            "",
            chat,
            [*history, answer],
            gr.update(choices=choices, value=choices[0] if choices else None),
            show(answer, None),
            answer_export(answer),
        )

    @page_errors
    def pick(history, choice):
        return show(history[-1] if history else None, choice)

    @page_errors
    def upload(paths):
        return service.add_reports([str(p) for p in paths or []])

    @page_errors
    def rebuild(progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's way to show a progress bar)
        progress(0, desc="Reading reports")
        message = service.rebuild()
        reports = service.report_paths()
        return message, service.status(), gr.update(choices=reports)

    @page_errors
    def export_file(text):
        return str(service.export(text)) if text else None

    def api_ask(question: str) -> dict:
        """One question, no conversation: the answer object as JSON (for scripts and load tests)."""
        try:
            return service.ask(question).to_dict()
        except AskfrontError as err:
            raise gr.Error(f"askfront: error: {err}", print_exception=False) from None

    reports = service.report_paths()
    # Gradio's own copies of uploads and downloads are removed after an hour (checked hourly).
    with gr.Blocks(title="askfront", delete_cache=(3600, 3600)) as app:
        gr.Markdown("## askfront — ask the reports\nAnswers are quoted from your reports, with their source.")
        status = gr.Markdown(service.status(), elem_id="index-status")
        history = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Chat",
                    height=480,
                    sanitize_html=True,
                    elem_id="chat",
                    buttons=["copy"],
                    group_consecutive_messages=False,
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question about the reports…", show_label=False, scale=5, elem_id="question"
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                gr.Examples(EXAMPLES, inputs=question, label="Example questions")
                with gr.Accordion("Export the latest answer as Markdown", open=False):
                    export = gr.Textbox(label="Markdown", lines=5, buttons=["copy"], elem_id="export")
                    download = gr.DownloadButton("Download .md", elem_id="download")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                cited = gr.Radio(label="Citations", choices=[], elem_id="citations")
                passage = gr.HTML("<p>Sources of the latest answer appear here.</p>", elem_id="passage")
        with gr.Accordion("Filters", open=False), gr.Row():
            files = gr.Dropdown(reports, multiselect=True, label="Only these reports", elem_id="filter-files")
            since = gr.Textbox(label="Dated on/after (YYYY[-MM[-DD]])", elem_id="filter-since")
            until = gr.Textbox(label="Dated on/before (YYYY[-MM[-DD]])", elem_id="filter-until")
        with gr.Accordion("Reports and index", open=False):
            uploads = gr.File(
                label="Add reports (.txt, .md, .html, .pdf)",
                file_count="multiple",
                file_types=sorted(SUFFIXES),
                elem_id="upload",
            )
            added = gr.Textbox(label="Added", interactive=False, elem_id="added")
            rebuild_button = gr.Button("Rebuild index", elem_id="rebuild")
            rebuilt = gr.Textbox(label="Rebuild", interactive=False, lines=3, elem_id="rebuilt")

        outputs = [question, chat, history, cited, passage, export]
        inputs = [question, chat, history, files, since, until]
        question.submit(chat_turn, inputs, outputs, api_visibility="private")
        send.click(chat_turn, inputs, outputs, api_visibility="private")
        cited.change(pick, [history, cited], passage, api_visibility="private")
        export.change(export_file, export, download, api_visibility="private")
        uploads.upload(upload, uploads, added, api_visibility="private")
        rebuild_button.click(rebuild, None, [rebuilt, status, files], api_visibility="private")
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


def serve(settings: Settings) -> None:
    """Start the app: load everything once, print the URL, serve until interrupted."""
    from starlette.middleware import Middleware

    from askfront.web import WebGuard, allowed_hosts

    host, port, auth = launch_settings(settings)
    hosts = allowed_hosts(host, settings.allowed_hosts.split(","))
    service = Service.start(settings)
    app = build_ui(service)
    print(f"askfront: serving on http://{host}:{port}" + (" (login required)" if auth else ""), flush=True)
    try:
        app.queue(default_concurrency_limit=1).launch(
            server_name=host,
            server_port=port,
            share=False,
            auth=auth,
            max_file_size=settings.max_file_bytes,  # bytes: the same MB (10^6) as indexing uses
            footer_links=[],
            css=CSS,
            theme=_theme(),
            quiet=True,
            show_error=True,  # Gradio's own refusals (e.g. of an upload) show their message, not "Error"
            app_kwargs={"middleware": [Middleware(WebGuard, hosts=hosts)]},
        )
    finally:
        service.close()


def _theme():
    """Gradio's default look with system fonts (the default theme fetches fonts from the internet)."""
    import gradio as gr

    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
