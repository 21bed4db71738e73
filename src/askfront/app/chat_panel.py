"""The chat and its Sources panel: questions asked (or asked of every report), answers with [n] links,
the cited passage highlighted, the whole report on request; the filter line beside the question box."""

from __future__ import annotations

from typing import TYPE_CHECKING

from askfront.answer.conversation import Answer, Citation
from askfront.app.assets import asset
from askfront.app.listeners import page_errors
from askfront.app.render import answer_markdown, escape_markdown, passage_html, report_html
from askfront.core.errors import AskfrontError
from askfront.core.types import Filters

if TYPE_CHECKING:
    from askfront.app.service import Service

NO_SOURCES = "<p>Sources of the latest answer appear here.</p>"


def citations_of(answer: Answer | None) -> list[Citation]:
    return [] if answer is None else answer.citations or answer.closest


def choices_of(answer: Answer | None) -> list[str]:
    return [f"[{c.n}] {c.title}" for c in citations_of(answer)]


def chosen(answer: Answer | None, choice: str | None) -> Citation | None:
    found = citations_of(answer)
    return next((c for c in found if choice and choice.startswith(f"[{c.n}]")), found[0] if found else None)


def shown_answer(history: list[Answer], turn: int) -> Answer | None:
    """The answer whose citations the Sources panel lists (the latest, or one picked by its [n])."""
    return history[turn] if history and -len(history) <= turn < len(history) else None


class ChatPanel:
    """Built inside the page's Blocks: the chat column and the Sources column, side by side."""

    def __init__(self, service: Service) -> None:
        import gradio as gr

        self.service = service
        self.history = gr.State([])
        # the id of the kept conversation this tab shows (askfront.app.conversations), remembered by the
        # browser so a reload shows it again; the conversation itself stays on this machine's disk
        self.current = gr.BrowserState("", storage_key="askfront-conversation", secret=service.conversations.secret())
        self.turn = gr.State(-1)  # which answer the Sources panel shows
        with gr.Row():
            with gr.Column(scale=3, min_width=320):
                self.chat = gr.Chatbot(
                    label="Chat", height=480, sanitize_html=True, elem_id="chat", buttons=["copy"],
                    group_consecutive_messages=False,
                    autoscroll=False,  # answer.js shows the start of each new answer instead
                )  # fmt: skip
                with gr.Row():
                    self.question = gr.Textbox(
                        placeholder="Ask a question about the reports…", show_label=False, scale=5, elem_id="question"
                    )
                    self.send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    self.every = gr.Button("Every report", scale=1, elem_id="every-report")
                with gr.Row():
                    self.active_filter = gr.Markdown("", visible=False, elem_id="active-filter")
                    self.clear_filter = gr.Button(
                        "Clear filter", size="sm", scale=0, visible=False, elem_id="clear-filter"
                    )
            with gr.Column(scale=2, min_width=320, elem_id="sources"):
                gr.Markdown("### Sources")
                self.cited = gr.Radio(label="Citations", choices=[], elem_id="citations")
                self.passage = gr.HTML(NO_SOURCES, elem_id="passage")
                with gr.Row():
                    self.open_button = gr.Button("Open the whole report", size="sm", elem_id="open-report")
                    self.page_button = gr.Button("Show the cited page", size="sm", elem_id="show-page")
                self.page_image = gr.Image(visible=False, interactive=False, elem_id="page-image", buttons=[])
                self.cite_pick = gr.Textbox(elem_id="cite-pick", elem_classes=["askfront-hidden"], show_label=False)
                self.report_view = gr.HTML("", elem_id="report-view")

    def show(self, answer: Answer | None, choice: str | None) -> str:
        citation = chosen(answer, choice)
        if citation is None:
            return NO_SOURCES
        return passage_html(self.service, citation, answer)

    def turn_of(self, question, chat, history, current, files, since, until, every: bool, exports):
        import gradio as gr

        question = (question or "").strip()
        if not question and every and history:  # "Every report" on the last question asked
            question = history[-1].question
        if not question:
            return (gr.skip(),) * self.turn_outputs
        try:
            filters = Filters(tuple(files or ()), (since or "").strip(), (until or "").strip())
            ask = self.service.every_report if every else self.service.ask
            answer = ask(question, history=history[-4:], filters=filters)
        except AskfrontError as err:  # a bad filter date, a damaged index: said in the chat, in one line
            answer = Answer(question, f"askfront: error: {err}", "", abstained=True)
        chat = [*chat, *self.messages(answer, len(history))]
        history = [*history, answer]
        choices = choices_of(answer)
        picked = gr.update(choices=choices, value=choices[0] if choices else None)
        current = current or self.service.conversations.new_id()
        try:
            self.service.conversations.save(current, history)  # kept whole after every answer
        except AskfrontError as err:  # a full disk: the answer is still shown, with the reason it is not kept
            gr.Warning(f"askfront: error: {err}")
        return "", chat, history, picked, self.show(answer, None), *exports(history), "", len(history) - 1, current

    def messages(self, answer: Answer, turn: int) -> list[dict]:
        """The chat's two messages for one answer: the question and the answer with its [n] links."""
        reply = answer_markdown(answer, self.service.where, turn=turn)
        return [{"role": "user", "content": escape_markdown(answer.question)}, {"role": "assistant", "content": reply}]

    def reopened(self, history: list[Answer], exports) -> tuple:
        """Everything ``turn_of`` outputs but the question box and the conversation id, for ``history``."""
        import gradio as gr

        chat = [m for turn, answer in enumerate(history) for m in self.messages(answer, turn)]
        last = history[-1] if history else None
        choices = choices_of(last)
        picked = gr.update(choices=choices, value=choices[0] if choices else None)
        passage = self.show(last, None) if last else NO_SOURCES
        return chat, history, picked, passage, *exports(history), "", len(history) - 1

    def pick_from_chat(self, history, value):
        """[n] clicked in the chat ('turn:n:…'): that answer's citations, citation n shown."""
        import gradio as gr

        try:
            turn, n = (int(part) for part in (value or "").split(":")[:2])
            answer = history[turn]
        except (ValueError, IndexError):
            return gr.skip(), gr.skip(), gr.skip()
        choices = choices_of(answer)
        choice = next((c for c in choices if c.startswith(f"[{n}]")), None)
        return gr.update(choices=choices, value=choice), self.show(answer, choice), turn

    def show_page(self, history, turn, choice):
        """The cited page of a PDF or a scan, the passage marked (a text report has no page: one line)."""
        import gradio as gr

        citation = chosen(shown_answer(history, turn), choice)
        if citation is None:
            raise AskfrontError("ask a question first: the page of the chosen citation shows here")
        path, caption = self.service.page_image(citation)
        return gr.update(value=str(path), label=caption, visible=True)

    def open_report(self, history, turn, choice):
        answer = shown_answer(history, turn)
        citation = chosen(answer, choice)
        if citation is None:
            return "<p>Ask a question first: the report of the chosen citation opens here.</p>"
        return report_html(self.service, citation, answer)

    def wire(self, filters: list, export_outputs: list, exports) -> None:
        """Questions read ``filters`` (files, since, until); each answer refreshes ``export_outputs``."""
        import gradio as gr

        scroll, answer_js = asset("scroll.js"), asset("answer.js")
        inputs = [self.question, self.chat, self.history, self.current, *filters]
        outputs = [self.question, self.chat, self.history, self.cited, self.passage, *export_outputs,
                   self.report_view, self.turn, self.current]  # fmt: skip
        self.turn_outputs = len(outputs)  # export formats come from the registry: not a fixed count

        @page_errors
        def chat_turn(question, chat, history, current, files, since, until):
            return self.turn_of(question, chat, history, current, files, since, until, False, exports)

        @page_errors
        def every_turn(question, chat, history, current, files, since, until):
            return self.turn_of(question, chat, history, current, files, since, until, True, exports)

        self.asked = []  # the events of a question, for what follows each answer (the conversations list)
        for event, fn in (
            (self.question.submit, chat_turn),
            (self.send.click, chat_turn),
            (self.every.click, every_turn),
        ):
            asked = event(fn, inputs, outputs, api_visibility="private")
            asked.then(None, js=scroll).then(None, js=answer_js)
            self.asked.append(asked)
            asked.then(lambda: gr.update(visible=False, value=None), None, self.page_image, api_visibility="private")
        pick = page_errors(lambda history, turn, choice: self.show(shown_answer(history, turn), choice))
        self.cited.input(pick, [self.history, self.turn, self.cited], self.passage, api_visibility="private").then(
            None, js=scroll
        )
        self.cite_pick.change(
            page_errors(self.pick_from_chat), [self.history, self.cite_pick], [self.cited, self.passage, self.turn],
            api_visibility="private",
        ).then(None, js=scroll)  # fmt: skip
        self.page_button.click(
            page_errors(self.show_page), [self.history, self.turn, self.cited], self.page_image,
            api_visibility="private",
        )  # fmt: skip
        for changed in (self.cited.input, self.cite_pick.change):  # another citation: its page on request
            changed(lambda: gr.update(visible=False, value=None), None, self.page_image, api_visibility="private")
        self.open_button.click(
            page_errors(self.open_report), [self.history, self.turn, self.cited], self.report_view,
            api_visibility="private",
        ).then(None, js=scroll)  # fmt: skip
