"""The data every stage passes on, at the bottom of the pipeline (it imports nothing of askfront).

``Document`` (ingest) -> ``Chunk`` (chunk) -> ``ChunkRecord`` (index) -> ``Hit`` (retrieve), and the
``Filters`` a question can carry. The pipeline modules re-export the names they produce.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from typing import Protocol

_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def iso_date_bounds(date: str) -> tuple[str, str] | None:
    """First and last day of an ISO date that may be partial ('2016-05' -> 2016-05-01, 2016-05-31), or
    None when it is not a real date of that form ('2016-13-45', '2016-02-30', 'not a date'). The one check
    that indexing, the page's editor and the date filters share."""
    m = _ISO.fullmatch(date.strip())
    if not m:
        return None
    year = int(m.group(1))
    months = (int(m.group(2)),) * 2 if m.group(2) else (1, 12)
    if not 1 <= months[0] <= 12 or year < 1:
        return None
    last = calendar.monthrange(year, months[1])[1]
    days = (int(m.group(3)),) * 2 if m.group(3) else (1, last)
    if not 1 <= days[0] <= calendar.monthrange(year, months[0])[1]:
        return None
    return f"{year:04d}-{months[0]:02d}-{days[0]:02d}", f"{year:04d}-{months[1]:02d}-{days[1]:02d}"


def in_files(path: str, files: tuple[str, ...]) -> bool:
    """Is the report ``path`` one of ``files`` or inside one of them (a folder)?"""
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in files)


def date_key(date: str) -> str:
    """A report date as a sort key: its first day, or '' when undated (sorted newest first, undated last)."""
    bounds = iso_date_bounds(date or "")
    return bounds[0] if bounds else ""


# How a date read from a report (not its metadata) is shown, so a journalist checks it before relying on it.
DATE_READ = {"text": "read from the report's text", "source": "read from its source address"}


def date_shown(date: str, read: str = "") -> str:
    """'2016-12-26', '2016-12-26, read from the report's text', or '' when undated."""
    if not date:
        return ""
    return f"{date}, {DATE_READ[read]}" if read in DATE_READ else date


class Component(Protocol):
    """What every embedder, ranker and answerer is: built cheaply (settings and references only), its
    heavy parts (models, parsers) loaded by ``warm_up()`` or at first use, then its one work method
    (``encode``, ``rank``, ``answer``)."""

    def warm_up(self) -> None:
        """Load what the work method needs now, so the first call does not wait for it."""
        ...


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
    date_read: str = ""  # how an undated report's date was read from it ("text", "source"), '' from metadata
    ocr_pages: list[int] = field(default_factory=list)  # 1-based pages read by OCR (a scan), [] for none
    # reports that came inside this one (an e-mail's attachments), each indexed as "<this path>/<its name>"
    parts: list[Document] = field(default_factory=list)

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
    copy_of: str = ""  # the report this one copies (the same story filed twice), '' when none
    date_read: str = ""  # how its report's date was read from the report ('' when from metadata)
    ocr_pages: tuple[int, ...] = ()  # its report's pages read by OCR (1-based)

    def page_at(self, offset: int) -> int | None:
        """The page of report character ``offset`` (inside this passage), or the passage's page."""
        return page_at(self.pages, offset) if self.pages else self.page


@dataclass(frozen=True)
class Hit:
    """A retrieved passage. ``score`` is the fused score; ``scores`` each ranker's own, by ranker name
    (only the rankers that found it)."""

    record: ChunkRecord
    score: float
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some report files and/or a date range (ISO dates, partial ones allowed)."""

    files: tuple[str, ...] = ()
    since: str = ""
    until: str = ""

    def __bool__(self) -> bool:
        return bool(self.files or self.since or self.until)
