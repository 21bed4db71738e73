"""The data every stage passes on, at the bottom of the pipeline (it imports nothing of askfront).

``Document`` (ingest) -> ``Chunk`` (chunk) -> ``ChunkRecord`` (index) -> ``Hit`` (retrieve), and the
``Filters`` a question can carry. The pipeline modules re-export the names they produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Document:
    """One report as text. ``pages`` holds the text offset where each PDF page starts (empty otherwise)."""

    path: str  # relative to the corpus folder, with forward slashes
    title: str
    text: str
    source: str = ""
    date: str = ""
    pages: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        """1-based PDF page holding character ``offset``, or None for non-PDF reports."""
        return page_at(self.pages, offset)


def page_at(pages: list[int] | tuple[int, ...], offset: int) -> int | None:
    """1-based page holding character ``offset``, given the offsets where pages start (None if none)."""
    page = None
    for number, start in enumerate(pages, 1):
        if start > offset:
            break
        page = number
    return page


@dataclass(frozen=True)
class Chunk:
    """A passage of a report: ``text == document.text[start:end]``; ``page`` is 1-based for PDFs."""

    path: str
    start: int
    end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class ChunkRecord:
    """A stored passage with the metadata of its report, as retrieval returns it."""

    id: int
    path: str
    title: str
    date: str
    source: str
    start: int
    end: int
    page: int | None  # the page where the passage starts
    text: str
    pages: tuple[int, ...] = ()  # where each page of its report starts (PDFs), for citations inside it

    def page_at(self, offset: int) -> int | None:
        """The page of report character ``offset`` (inside this passage), or the passage's page."""
        return page_at(self.pages, offset) if self.pages else self.page


@dataclass(frozen=True)
class Hit:
    """A retrieved passage. ``score`` is the fused score; dense/bm25 are the raw per-ranker scores."""

    record: ChunkRecord
    score: float
    dense: float | None = None
    bm25: float | None = None


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some report files and/or a date range (ISO dates, partial ones allowed)."""

    files: tuple[str, ...] = ()
    since: str = ""
    until: str = ""

    def __bool__(self) -> bool:
        return bool(self.files or self.since or self.until)
