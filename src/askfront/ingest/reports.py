"""Load reports (.txt, .md, .html, .pdf) from the corpus folder into plain text plus metadata.

Metadata (title, source, date) comes from YAML front matter at the top of a .txt/.md file, or from a
sidecar file ``<report file>.meta.yaml`` next to any report (the sidecar wins). Only regular files
that resolve inside the corpus folder are read (a symbolic link out of it, a FIFO or a device is
refused), and a file's size is checked before a byte of it is read. Every failure is a ``LoadError``
whose message is one line a journalist can act on.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from askfront.core.errors import LoadError, one_line, os_reason
from askfront.core.formats import PlainYAML
from askfront.core.registry import LOADERS
from askfront.core.types import Document, iso_date_bounds
from askfront.core.visible import count_hidden, visible, visible_with_offsets

__all__ = ["Document", "LoadError", "load_document", "read_report", "scan_corpus"]

SIDECAR_SUFFIX = ".meta.yaml"
EXAMPLES_FILE = "examples.txt"  # corpus/examples.txt holds the app's example questions: not a report
MAX_METADATA_BYTES = 64_000  # a sidecar or front matter block is a few lines; anything bigger is not metadata
# Longest value kept per metadata key (characters): a title is a line, a source a URL, a date a date.
METADATA_KEYS = {"title": 300, "source": 2_000, "url": 2_000, "date": 40}

# A trailing block that starts with one of these lines is blog/site furniture, not the report.
_FOOTER_MARKERS = re.compile(
    r"^\s*(popular posts from this blog|related posts|related articles|you may also like|"
    r"share this( article| post)?:?|leave a (comment|reply)|post a comment|\d* ?comments?:?|"
    r"subscribe to( our)? newsletter)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*\r?\n", re.DOTALL)


@dataclass
class Scan:
    """The report files found under a corpus folder, the ones refused (corpus path -> why), and the
    folders that could not be read (corpus path -> why: their reports are unknown, not removed)."""

    files: list[Path] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)


def scan_corpus(corpus: Path) -> Scan:
    """Report files below ``corpus`` (subfolders included, hidden names skipped), sorted. Symbolic links
    are followed only to regular files inside the corpus; links to folders are not followed; FIFOs,
    sockets and devices are refused (each with its reason), so nothing outside the corpus is read.
    A folder that cannot be read (no permission, a path too long) is listed in ``unreadable``."""
    if not corpus.is_dir():
        raise LoadError(f"{corpus}: corpus folder not found")
    root = corpus.resolve()
    scan = Scan()

    def rel(path: Path | str) -> str:
        return Path(path).relative_to(corpus).as_posix()

    def unreadable(err: OSError) -> None:
        scan.unreadable[rel(err.filename) if err.filename else "."] = f"cannot read the folder ({os_reason(err)})"

    for folder, dirs, names in os.walk(corpus, followlinks=False, onerror=unreadable):
        kept = []
        for d in sorted(d for d in dirs if not d.startswith(".")):
            try:
                link = Path(folder, d).is_symlink()
            except OSError as err:
                scan.unreadable[rel(Path(folder, d))] = f"cannot read the folder ({os_reason(err)})"
                continue
            if link:
                scan.refused[rel(Path(folder, d))] = "symbolic link to a folder; not followed"
            else:
                kept.append(d)
        dirs[:] = kept
        for name in names:
            path = Path(folder, name)
            if name.startswith(".") or path.suffix.lower() not in LOADERS:
                continue
            if name == EXAMPLES_FILE and Path(folder) == Path(corpus):
                continue
            reason = _refusal(path, root)
            if reason:
                scan.refused[rel(path)] = reason
            else:
                scan.files.append(path)
    scan.files.sort()
    return scan


def find_reports(corpus: Path) -> list[Path]:
    """The readable report files of ``scan_corpus`` (refused ones left out)."""
    return scan_corpus(corpus).files


def _refusal(path: Path, root: Path) -> str:
    """Why ``path`` must not be read ('' if it may): not a regular file, or a link leaving the corpus."""
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            if not target.is_relative_to(root):
                return "symbolic link to a file outside the corpus folder; not read"
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "broken symbolic link" if os.path.islink(path) else "file disappeared while indexing"
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop on older Pythons
        return f"cannot read ({one_line(err)})"
    if not stat.S_ISREG(mode):
        return f"not a regular file ({_kind(mode)}); not read"
    return ""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a folder")):  # fmt: skip
        if test(mode):
            return name
    return "not a file"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_regular(path: Path, root: Path, max_bytes: int | None, hint: str = "raise ASKFRONT_MAX_FILE_MB") -> bytes:
    """The bytes of ``path`` if it is a regular file inside ``root`` no larger than ``max_bytes``; the type
    and size come from the open file itself (fstat), so a FIFO or a swapped-in link cannot hang or leak."""
    reason = _refusal(path, root)
    if reason:
        raise LoadError(reason)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise LoadError("file disappeared while indexing") from None
    except PermissionError:
        raise LoadError("permission denied (cannot read the file)") from None
    except IsADirectoryError:
        raise LoadError("is a folder, not a file") from None
    except OSError as err:
        raise LoadError(f"cannot read ({os_reason(err)})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(f"not a regular file ({_kind(info.st_mode)}); not read")
        if info.st_size == 0:
            raise LoadError("empty file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise LoadError(f"too large ({info.st_size / 1e6:.1f} MB > {max_bytes / 1e6:g} MB limit; {hint})")
        data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise LoadError(f"too large (grew past the {max_bytes / 1e6:g} MB limit while being read)")
    return data


@dataclass(frozen=True)
class RawReport:
    """A report's bytes and its sidecar's (b'' when there is none), read once for hashing and parsing."""

    path: Path
    rel: str
    data: bytes
    sidecar: bytes

    @property
    def sha256(self) -> str:
        """Identity of the report as indexed: its bytes and its sidecar's, so editing either re-indexes it."""
        digest = hashlib.sha256(self.data)
        digest.update(b"\0")
        digest.update(self.sidecar)
        digest.update(b"\0")
        return digest.hexdigest()


def read_report(path: Path, corpus: Path, max_bytes: int | None = None) -> RawReport:
    """Read a report and its sidecar safely (see ``_read_regular``); ``LoadError`` with the reason if not."""
    root = corpus.resolve()
    data = _read_regular(path, root, max_bytes)
    return RawReport(path, path.relative_to(corpus).as_posix(), data, _read_sidecar(path, root))


def read_metadata(path: Path, corpus: Path) -> tuple[str, dict]:
    """The text of report ``path``'s sidecar ('' when it has none) and the metadata in it, read and checked
    as indexing reads them; ``LoadError`` naming the sidecar if it cannot be used."""
    data = _read_sidecar(path, corpus.resolve())
    return _sidecar_metadata(data, path) if data else ("", {})


def _read_sidecar(path: Path, root: Path) -> bytes:
    """The bytes of report ``path``'s sidecar, b'' when there is none."""
    sidecar = sidecar_path(path)
    if not (sidecar.exists() or sidecar.is_symlink()):
        return b""
    try:
        return _read_regular(sidecar, root, MAX_METADATA_BYTES, "metadata is a few short lines")
    except LoadError as err:
        raise LoadError(f"metadata file {sidecar.name}: {err}") from None


def _sidecar_metadata(data: bytes, path: Path) -> tuple[str, dict]:
    """A sidecar's bytes as (text, metadata)."""
    name = sidecar_path(path).name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise LoadError(f"metadata file {name} is not UTF-8 ({one_line(err)})") from None
    return text, parse_metadata(text, name)


def parse_report(raw: RawReport) -> Document:
    """The report's text and metadata; ``LoadError`` if it has no usable text."""
    suffix = raw.path.suffix.lower()
    if suffix not in LOADERS:
        raise LoadError(f"not a report type askfront reads ({', '.join(LOADERS.names())})")
    doc = LOADERS.load(suffix)(raw.data, raw.rel)
    if raw.sidecar:
        _apply_metadata(doc, _sidecar_metadata(raw.sidecar, raw.path)[1])
    for each in (doc, *doc.parts):
        _make_visible(each)
    if not doc.text.strip():
        raise LoadError("no text found in the file")
    return doc


def _make_visible(doc: Document) -> None:
    """Remove the characters that change what is displayed without being seen (askfront.core.visible)
    from the text (page starts moved with it) and the metadata, with a warning saying how many."""
    hidden = count_hidden(doc.text) or sum(count_hidden(v) for v in (doc.title, doc.source, doc.date))
    if not hidden:
        return
    doc.text, doc.pages = visible_with_offsets(doc.text, doc.pages)
    doc.title, doc.source, doc.date = (" ".join(visible(v).split()) for v in (doc.title, doc.source, doc.date))
    doc.warnings.append(
        f"{hidden} invisible character{'s' if hidden != 1 else ''} removed (direction controls, zero-width "
        "characters, soft hyphens or control codes), so the text reads as it is displayed"
    )


def load_document(path: Path, corpus: Path, max_bytes: int | None = None) -> Document:
    """Read one report; raise ``LoadError`` with a one-line reason if it cannot be used."""
    return parse_report(read_report(path, corpus, max_bytes))


def _decode(data: bytes, warnings: list[str]) -> str:
    """Decode text as UTF-8; fall back to Windows-1252 (common for reports saved on Windows) with a warning."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark (Windows "Unicode")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise LoadError(f"not UTF-16 text despite its byte-order mark (offset {err.start})") from None
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


def load_text(data: bytes, rel: str, markdown: bool = False) -> Document:
    warnings: list[str] = []
    text = _decode(data, warnings).replace("\r\n", "\n")
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        if len(match.group(1)) > MAX_METADATA_BYTES:
            raise LoadError(f"front matter longer than {MAX_METADATA_BYTES // 1000} kB; not metadata")
        meta = parse_metadata(match.group(1), rel)
        text = text[match.end() :]
    text = strip_footer(text)
    doc = Document(path=rel, title=_first_line_title(text, markdown) or Path(rel).stem, text=text)
    doc.warnings = warnings
    _apply_metadata(doc, meta)
    return doc


def load_markdown(data: bytes, rel: str) -> Document:
    return load_text(data, rel, markdown=True)


def load_html(data: bytes, rel: str) -> Document:
    import trafilatura

    warnings: list[str] = []
    html = _decode(data, warnings)
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=True)
    meta = trafilatura.extract_metadata(html)
    if not text:
        text = _html_text(html)  # deeply nested or unusual pages, where the extractor finds no article
    if not text:
        raise LoadError("no main text found in the HTML page")
    title = meta.title if meta and meta.title else Path(rel).stem
    doc = Document(path=rel, title=_capped(title, "title"), text=text)
    doc.date = _capped((meta.date or "") if meta else "", "date")
    doc.source = _capped((meta.url or meta.sitename or "") if meta else "", "source")
    doc.warnings = warnings
    return doc


def _html_text(html: str) -> str:
    """All visible text of a page, paragraph by paragraph (no scripts or styles), with a parser that
    accepts any nesting depth (lxml's default stops at 255 levels)."""
    import lxml.html

    try:
        parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True)
        root = lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    except (ValueError, lxml.etree.LxmlError):
        return ""
    for bad in root.xpath("//script|//style|//noscript|//template|//head"):
        bad.drop_tree()
    for block in root.xpath("//p|//div|//br|//li|//tr|//h1|//h2|//h3|//h4|//h5|//h6|//section|//article"):
        block.tail = "\n" + (block.tail or "")  # block elements end a line
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


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


def parse_metadata(raw: str, name: str) -> dict:
    """Metadata YAML (a sidecar or front matter) as a dict, checked; ``LoadError`` naming ``name`` if unusable."""
    if len(raw) > MAX_METADATA_BYTES:
        raise LoadError(f"metadata in {name} is longer than {MAX_METADATA_BYTES // 1000} kB")
    try:
        meta = yaml.load(raw, Loader=PlainYAML) or {}
    except (yaml.YAMLError, RecursionError, ValueError) as err:  # ValueError: 'date: 2016-13-45'
        raise LoadError(f"metadata in {name} is not valid YAML ({one_line(err)})") from None
    if not isinstance(meta, dict):
        raise LoadError(f"metadata in {name} must be key: value lines")
    for key in METADATA_KEYS:
        value = meta.get(key)
        if value is not None and not isinstance(value, str | int | float | bool) and not hasattr(value, "isoformat"):
            raise LoadError(f"metadata in {name}: {key} must be a single value, not a {type(value).__name__}")
        if value is not None and len(str(value)) > METADATA_KEYS[key]:
            raise LoadError(f"metadata in {name}: {key} is longer than {METADATA_KEYS[key]} characters")
    date = meta.get("date")
    if date not in (None, "") and iso_date_bounds(str(date).strip()) is None:
        raise LoadError(
            f"metadata in {name}: date {str(date)!r} is not a real date written YYYY, YYYY-MM or YYYY-MM-DD"
        )
    return meta


def _apply_metadata(doc: Document, meta: dict) -> None:
    for key in ("title", "source", "date"):
        value = meta.get(key)
        if value not in (None, ""):
            setattr(doc, key, str(value).strip())
    if not doc.source and meta.get("url"):
        doc.source = str(meta["url"]).strip()


def _capped(value: str, key: str) -> str:
    """A metadata value found inside a report (HTML, PDF), cut to the length kept for ``key``."""
    return " ".join(str(value).split())[: METADATA_KEYS[key]]
