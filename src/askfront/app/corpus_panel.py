"""The reports panel: the reports table, uploads indexed at once, rebuild, title/date/source edits,
delete (confirmed, undoable) and replace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from askfront.app.assets import SCROLL_HINT
from askfront.app.corpus_edits import deleted_message
from askfront.app.listeners import page_errors
from askfront.app.render import escape_markdown
from askfront.core.errors import ConfigError

if TYPE_CHECKING:
    from askfront.app.service import Service


class ReportsPanel:
    def __init__(self, service: Service, suffixes: list[str]) -> None:
        import gradio as gr

        self.service = service
        with gr.Accordion("Reports", open=False, elem_id="reports-panel"):
            self.table = gr.Dataframe(
                headers=["title", "date", "source", "passages"], interactive=False, wrap=True,
                column_widths=["40%", "15%", "35%", "10%"], elem_id="reports-table",
            )  # fmt: skip
            gr.Markdown(SCROLL_HINT, elem_classes=["scroll-hint"])
            self.uploads = gr.File(  # a report's .meta.yaml may come with it: its title, date and source
                label=f"Add reports ({', '.join(suffixes)}; with a .meta.yaml for title, date and source)",
                file_count="multiple", file_types=[*suffixes, ".yaml"],
                elem_id="upload",
            )  # fmt: skip
            self.added = gr.Textbox(label="Added", interactive=False, lines=2, elem_id="added")
            self.rebuild_button = gr.Button("Rebuild index", elem_id="rebuild")
            with gr.Row():
                self.report = gr.Dropdown([], label="Report (by title)", elem_id="report-pick")
                self.title = gr.Textbox(label="Title", elem_id="meta-title")
                self.date = gr.Textbox(label="Date (YYYY[-MM[-DD]])", elem_id="meta-date")
                self.source = gr.Textbox(label="Source (URL or description)", elem_id="meta-source")
            with gr.Row():
                self.save = gr.Button("Save title, date and source", elem_id="save-meta")
                self.delete = gr.Button("Delete this report", variant="stop", elem_id="delete-report")
                # the trash is on disk: after a restart, Undo restores the newest deletion
                self.undo = gr.Button("Undo delete", visible=service.can_undo, elem_id="undo-delete")
                self.deleted = gr.State([])  # this tab's deletions (trash entries), latest last
            with gr.Row():
                self.confirm_text = gr.Markdown("", visible=False, elem_id="confirm-delete-text")
                self.confirm = gr.Button("Yes, delete it", variant="stop", visible=False, elem_id="confirm-delete")
            self.replacement = gr.File(label="Replace this report with", file_count="single", elem_id="replace-file")
            self.replace = gr.Button("Replace", elem_id="replace")
            self.rebuilt = gr.Textbox(label="Index", interactive=False, lines=3, elem_id="rebuilt")

    def wire(self, view: list, index_view: Callable[[], tuple]) -> None:
        """Every change to the corpus refreshes ``view`` (status, tables, pickers) with ``index_view()``."""
        import gradio as gr

        service, hidden = self.service, gr.update(visible=False)

        def upload(paths, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's progress bar)
            """Added reports are indexed at once, no second click; the result shows under the upload box."""
            message = service.add_reports([str(p) for p in paths or []])
            if "\nAdded " in f"\n{message}":
                progress(0, desc="Indexing the new reports")
                message += "\n" + service.rebuild()
            return message, None, *index_view()  # the box is emptied: the next upload never re-adds these

        def rebuild(progress=gr.Progress(track_tqdm=True)):  # noqa: B008
            progress(0, desc="Reading reports")
            return service.rebuild(), *index_view()

        def pick_report(rel):
            row = next((r for r in service.reports() if r.path == rel), None)
            return ("", "", "") if row is None else (row.title, row.date, row.source)

        def chosen(rel: str) -> str:
            if not rel:
                raise ConfigError("choose a report first")
            return rel

        def save(rel, title, date, source):
            return service.set_metadata(chosen(rel), title or "", date or "", source or ""), *index_view()

        def confirm_delete(rel):
            text = f"Delete **{escape_markdown(chosen(rel))}**? It moves to the corpus's trash folder."
            return gr.update(value=text, visible=True), gr.update(visible=True)

        def delete(rel, deleted):
            entry = service.trash(chosen(rel))
            message = deleted_message(rel) + service.rebuild()
            return message, hidden, hidden, gr.update(visible=True), [*deleted, entry], *index_view()

        def undo(deleted):
            """This tab's last deletion goes back (not another tab's); without one, the newest in the trash."""
            message = service.undo_delete(deleted[-1] if deleted else "")
            return message, gr.update(visible=service.can_undo), deleted[:-1], *index_view()

        def replace(rel, path):
            if not rel or not path:
                raise ConfigError("choose a report and the file that replaces it")
            return service.replace_report(rel, str(path)), None, *index_view()

        confirm = [self.confirm_text, self.confirm]
        for event, fn, inputs, outputs in (
            (self.uploads.upload, upload, self.uploads, [self.added, self.uploads, *view]),
            (self.rebuild_button.click, rebuild, None, [self.rebuilt, *view]),
            (self.report.change, pick_report, self.report, [self.title, self.date, self.source]),
            (self.report.change, lambda _rel: (hidden, hidden), self.report, confirm),
            (self.save.click, save, [self.report, self.title, self.date, self.source], [self.rebuilt, *view]),
            (self.delete.click, confirm_delete, self.report, confirm),
            (
                self.confirm.click,
                delete,
                [self.report, self.deleted],
                [self.rebuilt, *confirm, self.undo, self.deleted, *view],
            ),
            (self.undo.click, undo, self.deleted, [self.rebuilt, self.undo, self.deleted, *view]),
            (self.replace.click, replace, [self.report, self.replacement], [self.rebuilt, self.replacement, *view]),
        ):
            event(page_errors(fn), inputs, outputs, api_visibility="private")
