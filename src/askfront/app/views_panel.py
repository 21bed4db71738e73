"""The names panel (people, organisations, places; a name's reports found by text; restrict the chat to
them) and the timeline panel (dated sentences, filtered by name and report, as CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from askfront.analysis.views import timeline_csv, timeline_note
from askfront.app.assets import SCROLL_HINT, asset
from askfront.app.listeners import page_errors
from askfront.app.search_panel import hit_list, matches_html
from askfront.core.errors import ConfigError
from askfront.language.names import NAME_KINDS

if TYPE_CHECKING:
    from askfront.app.service import Service

NAMES_SHOWN = 500  # names listed in the names panel (most mentioned first)
TIMELINE_SHOWN = 1000  # timeline rows shown in the page (the CSV has all)


class NamesPanel:
    def __init__(self, service: Service) -> None:
        import gradio as gr

        self.service = service
        with gr.Accordion("People, organisations, places", open=False, elem_id="names-panel"):
            self.kind = gr.Radio(["all", *NAME_KINDS], value="all", label="Kind", elem_id="name-kind")
            self.table = gr.Dataframe(
                headers=["name", "kind", "mentions", "reports"], interactive=False, elem_id="names-table"
            )
            gr.Markdown(SCROLL_HINT, elem_classes=["scroll-hint"])
            with gr.Row():
                self.pick = gr.Dropdown([], label="Name", elem_id="name-pick")
                self.restrict = gr.Button("Ask only the reports that mention it", elem_id="restrict")
            self.restricted = gr.Markdown("", elem_id="restricted")
            self.mentions, self.found, self.report = hit_list(service, page_errors, asset("scroll.js"), "mentions")

    def listed(self, kind: str):
        """The names table and the picker's choices for one kind (or all)."""
        import gradio as gr

        rows = self.service.names(by_text=NAMES_SHOWN, kind="" if kind == "all" else kind or "")
        table = [[r.name, r.kind, r.mentions, r.reports] for r in rows[:NAMES_SHOWN]]
        return table, gr.update(choices=[(f"{r.name} ({r.kind})", r.key) for r in rows[:NAMES_SHOWN]])

    def detail(self, key: str):
        """Every report that writes the picked name, by text (any spelling), newest first."""
        if not key:
            return "<p>Pick a name to see where the reports mention it.</p>", [], ""
        wanted = self.service.name_terms(key)
        matches = self.service.name_reports(key)
        spelled = ", ".join(sorted({t.words for t in wanted}))
        return matches_html(matches, f"{key} (as {spelled})"), [(m.path, wanted) for m in matches], ""

    def restrict_to(self, key: str):
        import gradio as gr

        if not key:
            raise ConfigError("pick a name first")
        paths = self.service.reports_naming(key)
        return gr.update(value=paths), f"Questions now go to the {len(paths)} reports that mention it."

    def wire(self, files) -> None:
        """ "Ask only the reports that mention it" sets the report filter ``files``."""
        self.kind.change(page_errors(self.listed), self.kind, [self.table, self.pick], api_visibility="private")
        self.pick.change(
            page_errors(self.detail), self.pick, [self.mentions, self.found, self.report], api_visibility="private"
        )
        self.restrict.click(
            page_errors(self.restrict_to), self.pick, [files, self.restricted], api_visibility="private"
        )


class TimelinePanel:
    def __init__(self, service: Service) -> None:
        import gradio as gr

        self.service = service
        with gr.Accordion("Timeline", open=False, elem_id="timeline-panel"):
            with gr.Row():
                self.name = gr.Dropdown([], label="Only sentences that name", elem_id="timeline-name")
                self.files = gr.Dropdown([], multiselect=True, label="Only these reports", elem_id="timeline-files")
            self.count = gr.Markdown("", elem_id="timeline-count")
            self.table = gr.Dataframe(
                headers=["date", "as written", "sentence", "report", "file"], interactive=False, wrap=True,
                elem_id="timeline-table",
            )  # fmt: skip
            gr.Markdown(SCROLL_HINT, elem_classes=["scroll-hint"])
            self.csv = gr.DownloadButton("Download the timeline (CSV)", elem_id="timeline-csv")
        self.outputs = [self.table, self.csv, self.count]

    def view(self, key: str, files) -> tuple:
        rows = self.service.timeline(key or "", tuple(files or ()))
        table = [[r.iso, r.date_text, r.sentence, r.title, r.path] for r in rows[:TIMELINE_SHOWN]]
        path = self.service.export(timeline_csv(rows), f"askfront-timeline-{datetime.now():%Y-%m-%d-%H%M%S}.csv")
        return table, str(path), timeline_note(rows, TIMELINE_SHOWN)

    def wire(self) -> None:
        for box in (self.name, self.files):
            box.change(page_errors(self.view), [self.name, self.files], self.outputs, api_visibility="private")
