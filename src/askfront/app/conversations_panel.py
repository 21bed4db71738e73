"""The conversations panel: the conversations kept on this machine (askfront.app.conversations), newest
first, to open again (then exported from the export panel like the current one), rename or delete, and a
button that starts a new one. A page reload reopens the conversation the tab showed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from askfront.app.listeners import page_errors
from askfront.core.errors import ConfigError

if TYPE_CHECKING:
    from askfront.app.chat_panel import ChatPanel


class ConversationsPanel:
    def __init__(self, chat: ChatPanel) -> None:
        import gradio as gr

        self.chat, self.store = chat, chat.service.conversations
        with gr.Accordion("Conversations", open=False, elem_id="conversations-panel"):
            with gr.Row():
                self.kept = gr.Dropdown([], label="Kept conversations (newest first)", elem_id="conversation-pick")
                self.name = gr.Textbox(label="Name", elem_id="conversation-name")
            with gr.Row():
                self.open = gr.Button("Open", elem_id="conversation-open")
                self.rename = gr.Button("Rename", elem_id="conversation-rename")
                self.delete = gr.Button("Delete", variant="stop", elem_id="conversation-delete")
                self.new = gr.Button("New conversation", elem_id="conversation-new")
            self.said = gr.Markdown("", elem_id="conversation-said")

    def choices(self, pick: str | None = None):
        import gradio as gr

        kept = self.store.listed()
        labels = [(f"{k.name} — {k.updated[:16].replace('T', ' ')} UTC, {k.questions} q.", k.id) for k in kept]
        ids = [k.id for k in kept]
        return gr.update(choices=labels, value=pick if pick in ids else None)

    def wire(self, app, exports, export_outputs: list) -> None:
        """Reopen on page load, and the panel's buttons; every answer refreshes the list."""
        chat = self.chat
        shown = [chat.chat, chat.history, chat.cited, chat.passage, *export_outputs, chat.report_view, chat.turn]

        def reopen(cid):
            """The kept conversation ``cid`` in the chat ('' or gone: an empty chat)."""
            try:
                history = self.store.load(cid)[1] if cid else []
            except ConfigError:
                cid, history = "", []
            return *chat.reopened(history, exports), cid, self.choices(cid)

        def rename(cid, name):
            if not cid:
                return self.choices(), "Pick a conversation to rename."
            self.store.rename(cid, name)
            return self.choices(cid), f"Renamed to {name.strip()}."

        def delete(cid, current):
            if not cid:
                return *(_skip(len(shown))), current, self.choices(), "Pick a conversation to delete."
            self.store.delete(cid)
            if cid == current:  # the one on screen: the chat is emptied
                return *chat.reopened([], exports), "", self.choices(), "Deleted the conversation you had open."
            return *(_skip(len(shown))), current, self.choices(), "Deleted."

        outputs = [*shown, chat.current, self.kept]
        private = {"api_visibility": "private"}
        app.load(page_errors(reopen), chat.current, outputs, **private)
        self.open.click(page_errors(reopen), self.kept, outputs, **private)
        self.new.click(page_errors(lambda: reopen("")), None, outputs, **private)
        self.rename.click(page_errors(rename), [self.kept, self.name], [self.kept, self.said], **private)
        self.delete.click(page_errors(delete), [self.kept, chat.current], [*outputs, self.said], **private)
        self.kept.input(page_errors(lambda cid: self.store.load(cid)[0] if cid else ""), self.kept, self.name,
                        **private)  # fmt: skip
        for asked in chat.asked:
            asked.then(page_errors(lambda cid: self.choices(cid)), chat.current, self.kept, **private)


def _skip(n: int) -> tuple:
    import gradio as gr

    return (gr.skip(),) * n
