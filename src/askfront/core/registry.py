"""The one place every extension is registered: report loaders (by file suffix), rankers, retriever
modes, answerers and export formats.

An entry names its implementation as "module:attribute", imported on first use, so the settings check,
the CLI's choices, the page's lists and the upload check all know every name without importing the
stages above (core stays at the bottom of the pipeline). Adding a loader, ranker, answerer or export
format is its module plus one entry here (or ``LOADERS.add(...)`` and the like from a plugin, before the settings
are built).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from askfront.core.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    """One registered implementation. ``target``: "module:attribute" (a callable or a class);
    ``options``: what the role needs to know without importing it (a loader's content signature, the
    rankers a retriever mode fuses, an export's file extension)."""

    name: str
    target: str
    help: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


class Registry:
    """Named entries of one role, in the order they were added."""

    def __init__(self, setting: str, entries: list[Entry]) -> None:
        self.setting = setting  # what the one-line error calls a name of this role
        self._entries = {e.name: e for e in entries}

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def get(self, name: str) -> Entry:
        """The entry called ``name``, or the one-line error that lists the names there are."""
        if name not in self._entries:
            raise ConfigError(f"{self.setting} must be one of {', '.join(self._entries)}, not {name!r}")
        return self._entries[name]

    def load(self, name: str) -> Any:
        return self.get(name).load()

    def add(self, entry: Entry) -> None:
        self._entries[entry.name] = entry

    @contextmanager
    def added(self, entry: Entry) -> Iterator[Entry]:
        """``entry`` registered for the duration of a ``with`` block (tests, one-off plugins)."""
        before = self._entries.get(entry.name)
        self.add(entry)
        try:
            yield entry
        finally:
            if before is None:
                self._entries.pop(entry.name, None)
            else:
                self._entries[entry.name] = before


_TIFF = {"magic": (b"II*\x00", b"MM\x00*"), "kind": "a TIFF image"}  # either byte order
LOADERS = Registry("report type", [
    Entry(".txt", "askfront.ingest.reports:load_text", "plain text"),
    Entry(".md", "askfront.ingest.reports:load_markdown", "Markdown"),
    Entry(".markdown", "askfront.ingest.reports:load_markdown", "Markdown"),
    Entry(".html", "askfront.ingest.reports:load_html", "a web page (main text only)"),
    Entry(".htm", "askfront.ingest.reports:load_html", "a web page (main text only)"),
    Entry(".pdf", "askfront.ingest.pdf:load_pdf", "PDF (scans by OCR)", {"magic": b"%PDF-", "kind": "a PDF"}),
    Entry(".png", "askfront.ingest.ocr:load_image", "scan (OCR)", {"magic": b"\x89PNG", "kind": "a PNG image"}),
    Entry(".jpg", "askfront.ingest.ocr:load_image", "scan (OCR)", {"magic": b"\xff\xd8\xff", "kind": "a JPEG image"}),
    Entry(".jpeg", "askfront.ingest.ocr:load_image", "scan (OCR)", {"magic": b"\xff\xd8\xff", "kind": "a JPEG image"}),
    Entry(".docx", "askfront.ingest.office:load_docx", "Word", {"magic": b"PK\x03\x04", "kind": "a Word or ZIP file"}),
    Entry(".eml", "askfront.ingest.mail:load_eml", "e-mail (attachments as reports of their own)"),
    Entry(".msg", "askfront.ingest.outlook:load_msg", "Outlook e-mail (attachments as reports of their own)",
          {"magic": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "kind": "an Outlook or old Office file"}),
    Entry(".tif", "askfront.ingest.ocr:load_image", "scan (OCR)", _TIFF),
    Entry(".tiff", "askfront.ingest.ocr:load_image", "scan (OCR)", _TIFF),
])  # fmt: skip
RANKERS = Registry("ranker", [
    Entry("dense", "askfront.search.retrieve:DenseRanker", "meaning: FAISS over the passage vectors"),
    Entry("bm25", "askfront.search.retrieve:BM25Ranker", "words: BM25 over the passage terms"),
])  # fmt: skip
RETRIEVERS = Registry("retriever", [
    Entry("dense", "", "dense ranking alone", {"rankers": ("dense",)}),
    Entry("bm25", "", "BM25 alone", {"rankers": ("bm25",)}),
    Entry("hybrid", "", "dense and BM25 fused by reciprocal rank", {"rankers": ("dense", "bm25")}),
])  # fmt: skip
ANSWERERS = Registry("answerer", [
    Entry("reader", "askfront.answer.registry:reader", "the trained span reader (default)"),
    Entry("rules", "askfront.answer.registry:rules", "the hand-written rules it replaced (for comparison)"),
    Entry("llm", "askfront.answer.registry:llm", "a model behind an OpenAI-compatible endpoint, checked"),
])  # fmt: skip
EXPORTERS = Registry("export format", [
    Entry("md", "askfront.export.formats:markdown", "Markdown conversation", {"label": "Markdown"}),
    Entry("csv", "askfront.export.formats:to_csv", "one row per citation, spreadsheet-safe", {"label": "CSV"}),
])  # fmt: skip
