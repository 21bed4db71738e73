"""Load reports (.txt, .md, .html, .pdf) from the corpus folder into plain text plus metadata.

Metadata (title, source, date) comes from YAML front matter at the top of a .txt/.md file, or from a
sidecar file ``<report file>.meta.yaml`` next to any report (the sidecar wins). Every failure is a
``LoadError`` whose message is one line a journalist can act on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from askfront.errors import AskfrontError

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
SIDECAR_SUFFIX = ".meta.yaml"

# A trailing block that starts with one of these lines is blog/site furniture, not the report.
_FOOTER_MARKERS = re.compile(
    r"^\s*(popular posts from this blog|related posts|related articles|you may also like|"
    r"share this( article| post)?:?|leave a (comment|reply)|post a comment|\d* ?comments?:?|"
    r"subscribe to( our)? newsletter)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*\r?\n", re.DOTALL)


class LoadError(AskfrontError):
    """A report could not be read; the message says why in one line."""


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
        page = None
        for number, start in enumerate(self.pages, 1):
            if start > offset:
                break
            page = number
        return page


def find_reports(corpus: Path) -> list[Path]:
    """All report files below ``corpus`` (subfolders included, hidden files skipped), sorted."""
    if not corpus.is_dir():
        raise LoadError(f"{corpus}: corpus folder not found")
    return sorted(
        p
        for p in corpus.rglob("*")
        if p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus).parts)
        and not p.is_dir()
    )


def fingerprint(path: Path) -> str:
    """sha256 of the report's bytes and of its sidecar metadata, so editing either re-indexes it."""
    digest = hashlib.sha256()
    for part in (path, sidecar_path(path)):
        try:
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except FileNotFoundError:
            if part == path:
                raise
        digest.update(b"\0")
    return digest.hexdigest()


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def load_document(path: Path, corpus: Path, max_bytes: int | None = None) -> Document:
    """Read one report; raise ``LoadError`` with a one-line reason if it cannot be used."""
    rel = path.relative_to(corpus).as_posix()
    try:
        size = path.stat().st_size
        if size == 0:
            raise LoadError("empty file")
        if max_bytes is not None and size > max_bytes:
            raise LoadError(
                f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB limit; raise ASKFRONT_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise LoadError("file disappeared while indexing") from None
    except PermissionError:
        raise LoadError("permission denied (cannot read the file)") from None
    except IsADirectoryError:
        raise LoadError("is a folder, not a file") from None
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        doc = _load_pdf(data, rel)
    elif suffix in (".html", ".htm"):
        doc = _load_html(data, rel)
    else:
        doc = _load_text(data, rel, markdown=suffix in (".md", ".markdown"))
    _apply_metadata(doc, _read_sidecar(path))
    if not doc.text.strip():
        raise LoadError("no text found in the file")
    return doc


def _decode(data: bytes, warnings: list[str]) -> str:
    """Decode text as UTF-8; fall back to Windows-1252 (common for reports saved on Windows) with a warning."""
    if b"\0" in data[:8192]:
        raise LoadError("binary file, not text (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise LoadError(f"not UTF-8 text (invalid byte at offset {err.start})") from None
        warnings.append(f"not UTF-8 (invalid byte at offset {err.start}); read as Windows-1252")
        return text


def _load_text(data: bytes, rel: str, markdown: bool) -> Document:
    warnings: list[str] = []
    text = _decode(data, warnings).replace("\r\n", "\n")
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _parse_yaml(match.group(1), rel)
        text = text[match.end() :]
    text = strip_footer(text)
    doc = Document(path=rel, title=_first_line_title(text, markdown) or Path(rel).stem, text=text)
    doc.warnings = warnings
    _apply_metadata(doc, meta)
    return doc


def _load_html(data: bytes, rel: str) -> Document:
    import trafilatura

    warnings: list[str] = []
    html = _decode(data, warnings)
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=True)
    if not text:
        raise LoadError("no main text found in the HTML page")
    meta = trafilatura.extract_metadata(html)
    doc = Document(path=rel, title=(meta.title if meta and meta.title else Path(rel).stem), text=text)
    doc.date = (meta.date or "") if meta else ""
    doc.source = (meta.url or meta.sitename or "") if meta else ""
    doc.warnings = warnings
    return doc


def _load_pdf(data: bytes, rel: str) -> Document:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:
        raise LoadError('PDF support is not installed: pip install "askfront[pdf]"') from None
    import io
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf logs each repaired glitch; we report once
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF (needs a password)")
        parts: list[str] = []
        pages: list[int] = []
        offset = 0
        for page in reader.pages:
            pages.append(offset)
            page_text = (page.extract_text() or "").strip()
            parts.append(page_text)
            offset += len(page_text) + 2
        text = "\n\n".join(parts)
        title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        raise LoadError(f"corrupt or unreadable PDF ({type(err).__name__}: {_short(err)})") from None
    if not text.strip():
        raise LoadError("PDF has no extractable text (scanned pages? run OCR first)")
    return Document(path=rel, title=title.strip() or Path(rel).stem, text=text, pages=pages)


def strip_footer(text: str) -> str:
    """Drop trailing site furniture ("Popular posts from this blog" …) found in the last half of a text."""
    for match in _FOOTER_MARKERS.finditer(text):
        if match.start() >= len(text) // 2:
            return text[: match.start()].rstrip() + "\n"
    return text


def _first_line_title(text: str, markdown: bool) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            if markdown:
                line = line.lstrip("#").strip()
            return line if len(line) <= 200 else ""
    return ""


def _read_sidecar(path: Path) -> dict:
    sidecar = sidecar_path(path)
    try:
        raw = sidecar.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as err:
        raise LoadError(f"metadata file {sidecar.name} unreadable ({_short(err)})") from None
    return _parse_yaml(raw, sidecar.name)


def _parse_yaml(raw: str, name: str) -> dict:
    try:
        meta = yaml.safe_load(raw) or {}
    except yaml.YAMLError as err:
        raise LoadError(f"metadata in {name} is not valid YAML ({_short(err)})") from None
    if not isinstance(meta, dict):
        raise LoadError(f"metadata in {name} must be key: value lines")
    return meta


def _apply_metadata(doc: Document, meta: dict) -> None:
    for key in ("title", "source", "date"):
        value = meta.get(key)
        if value not in (None, ""):
            setattr(doc, key, str(value).strip())
    if not doc.source and meta.get("url"):
        doc.source = str(meta["url"]).strip()


def _short(err: BaseException) -> str:
    return " ".join(str(err).split())[:160] or type(err).__name__
