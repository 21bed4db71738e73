"""The page, panel by panel: header and status, the chat with its Sources, examples, exact-text search,
filters, names, timeline, export and reports; each panel builds and wires itself, this module joins them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

# No usage statistics leave the machine; set before gradio is imported.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from askfront.app.assets import asset
from askfront.app.chat_panel import ChatPanel
from askfront.app.conversations_panel import ConversationsPanel
from askfront.app.corpus_panel import ReportsPanel
from askfront.app.listeners import page_errors
from askfront.app.render import escape_markdown
from askfront.app.search_panel import search_panel
from askfront.app.views_panel import NamesPanel, TimelinePanel
from askfront.core.types import date_shown
from askfront.export import formats as export

if TYPE_CHECKING:
    import gradio as gr

    from askfront.app.service import Service
    from askfront.index.store import ReportRow

REFRESH_S = 2.0  # how often a tab checks whether another tab (or the corpus watcher) changed the index


def filters_panel():
    """The report and date filters every question reads: (files, since, until)."""
    import gradio as gr

    with gr.Accordion("Filters", open=False), gr.Row():
        files = gr.Dropdown([], multiselect=True, label="Only these reports (by title)", elem_id="filter-files")
        since = gr.Textbox(label="Dated on/after (YYYY[-MM[-DD]])", elem_id="filter-since")
        until = gr.Textbox(label="Dated on/before (YYYY[-MM[-DD]])", elem_id="filter-until")
    return files, since, until


def filter_line(files, since, until, titles: dict[str, str] | None = None):
    """The filters that are on, shown beside the question box (reports by their ``titles``), with the
    button that clears them."""
    import gradio as gr

    filters = {"files": list(files or ()), "since": since or "", "until": until or ""}
    text = export.filters_text(filters, titles)
    return (
        gr.update(value=f"Questions go only to {escape_markdown(text)}" if text else "", visible=bool(text)),
        gr.update(visible=bool(text)),
    )


def export_panel(service: Service):
    """The conversation as Markdown (shown) and as a download in every registered export format; returns
    its outputs and the function that fills them."""
    import gradio as gr

    from askfront.core.registry import EXPORTERS

    formats = list(EXPORTERS)
    with gr.Accordion("Export the conversation", open=False):
        exported = gr.Textbox(label="Markdown", lines=6, buttons=["copy"], elem_id="export")
        with gr.Row():
            downloads = [
                gr.DownloadButton(f"Download {e.options.get('label', e.name)}", elem_id=f"download-{e.name}")
                for e in formats
            ]

    def exports(history) -> tuple:
        if not history:
            return "", *(None for _ in formats)
        answers = [a.to_dict() for a in history]
        files = [str(service.export(e.load()(answers), export.dated_name(e.name))) for e in formats]
        return export.markdown(answers), *files

    return [exported, *downloads], exports


def build_ui(service: Service, logout: bool = False) -> gr.Blocks:
    """The Gradio Blocks app over ``service`` (``logout``: show a log-out link, when a login is required;
    the report types uploads accept come from the loader registry)."""
    import gradio as gr

    from askfront.core.registry import LOADERS

    # Gradio's own copies of uploads and downloads are removed after an hour (checked hourly).
    with gr.Blocks(title="askfront", delete_cache=(3600, 3600)) as app:
        with gr.Row():
            gr.Markdown("## askfront — ask the reports\nAnswers are quoted from your reports, with their source.")
            if logout:
                gr.Button("Log out", link="/logout", size="sm", scale=0, elem_id="logout")
        status = gr.Markdown(service.status, elem_id="index-status")  # a callable: fresh on every page load
        seen = gr.State(service.generation)
        chat = ChatPanel(service)
        conversations = ConversationsPanel(chat)
        examples = service.examples()
        if examples:
            gr.Examples(examples, inputs=chat.question, label="Example questions")
        search_panel(service, page_errors, asset("scroll.js"))
        files, since, until = filters_panel()
        names, timeline = NamesPanel(service), TimelinePanel(service)
        export_outputs, exports = export_panel(service)
        reports = ReportsPanel(service, sorted(LOADERS.names()))

        view = [status, reports.table, files, reports.report, seen, names.table, names.pick, timeline.name,
                timeline.files, *timeline.outputs]  # fmt: skip

        def index_view() -> tuple:
            """Everything ``view`` lists, in its order, as the live index has it."""
            rows = service.reports()
            titles = [(f"{r.title} ({r.path})" if r.title != r.path else r.path, r.path) for r in rows]
            table, picks = names.listed("all")
            table_rows = [
                [_titled(r), date_shown(r.date, r.date_read) or "undated", r.source, r.passages] for r in rows
            ]
            return (
                service.status(), table_rows,
                gr.update(choices=titles), gr.update(choices=titles), service.generation,
                table, picks, gr.update(choices=[("", ""), *picks["choices"]]), gr.update(choices=titles),
                *timeline.view("", ()),
            )  # fmt: skip

        def refresh(last: int):
            return (gr.skip(),) * len(view) if last == service.generation else index_view()

        chat.wire([files, since, until], export_outputs, exports)
        conversations.wire(app, exports, export_outputs)

        def named_filter_line(picked, since_date, until_date):
            return filter_line(picked, since_date, until_date, {r.path: r.title for r in service.reports()})

        for box in (files, since, until):
            box.change(named_filter_line, [files, since, until], [chat.active_filter, chat.clear_filter],
                       api_visibility="private")  # fmt: skip
        chat.clear_filter.click(lambda: ([], "", ""), None, [files, since, until], api_visibility="private")
        names.wire(files)
        timeline.wire()
        reports.wire(view, index_view)
        app.load(page_errors(index_view), None, view, api_visibility="private", show_progress="hidden")
        gr.Timer(REFRESH_S).tick(page_errors(refresh), seen, view, api_visibility="private", show_progress="hidden")

        def api_ask(question: str) -> dict:
            """One question, no conversation: the answer object as JSON (for scripts and load tests)."""
            return service.ask(question).to_dict()

        gr.api(api_ask, api_name="ask")
    return app


def _titled(row: ReportRow) -> str:
    """A report's title in the reports table, saying which report it copies (they count as one)."""
    return f"{row.title} (copy of {row.copy_of})" if row.copy_of else row.title
