"""Changing the corpus from the page: uploads checked by content and copied in, reports deleted to a
trash folder (and restored), replaced, and their title/date/source edited in the sidecar. Each change
ends in the service's rebuild. A mixin of ``askfront.app.service.Service``."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import yaml

from askfront.app.scratch import Scratch
from askfront.core.config import Settings
from askfront.core.errors import ConfigError, LoadError, one_line, os_reason, shown
from askfront.core.formats import write_whole
from askfront.core.registry import LOADERS
from askfront.ingest.reports import (
    MAX_METADATA_BYTES,
    METADATA_KEYS,
    SIDECAR_SUFFIX,
    RawReport,
    parse_metadata,
    parse_report,
    read_metadata,
    scan_corpus,
    sidecar_path,
)

TRASH = ".trash"  # deleted reports go to corpus/.trash/<when>/ (hidden: never indexed), so Undo can restore them
_SAFE_NAME = re.compile(r"[^\w.\- ]+")
# What a file is, by its first bytes: an upload whose content is one of these is refused, whatever its name.
_MAGIC = (
    (b"MZ", "a Windows program"), (b"\x7fELF", "a program"), (b"PK\x03\x04", "a ZIP or Office file"),
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"), (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7z archive"),
)  # fmt: skip


def content_kind(data: bytes) -> str:
    """What the bytes are ('' when none of the known binary kinds): a registered loader's signature at the
    start, else within the first kilobyte (a PDF may start with junk; an e-mail's attachment may be any
    kind after its own signature), or one of the kinds never read (``_MAGIC``)."""
    head = data[:1024]
    signatures = [(m, e.options["kind"]) for e in LOADERS for m in _tuple(e.options.get("magic") or ())]
    starts = next((kind for magic, kind in [*signatures, *_MAGIC] if head.startswith(magic)), "")
    return starts or next((kind for magic, kind in signatures if magic in head), "")


def _tuple(magic: bytes | tuple[bytes, ...]) -> tuple[bytes, ...]:
    return magic if isinstance(magic, tuple) else (magic,)


def safe_upload_name(name: str) -> str:
    """A plain file name for an upload (no folders, no '..', no hidden files), or ConfigError."""
    base = _SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name).strip(" ._")
    suffix = Path(base).suffix.lower()
    if not base or suffix not in LOADERS:
        raise ConfigError(f"{name}: only {', '.join(sorted(LOADERS.names()))} reports can be added")
    return base


class CorpusEdits:
    """What the service does to corpus files; it needs ``settings``, ``log`` and ``rebuild()``."""

    settings: Settings
    log: Callable[[str], None]
    rebuild: Callable[[], str]
    scratch: Scratch

    def check_upload(self, path: str | Path, original: str, replacing: str = "") -> tuple[str, bytes]:
        """The safe name and bytes of an upload that can be indexed; ConfigError with a one-line reason
        if not (type by content, empty, unreadable, too big, or the same content as a report already in
        the corpus, other than ``replacing``)."""
        name = safe_upload_name(original)
        size = Path(path).stat().st_size
        if size > self.settings.max_file_bytes:
            raise ConfigError(f"{original}: too large ({size / 1e6:.1f} MB > {self.settings.max_file_mb:g} MB limit)")
        data = Path(path).read_bytes()
        if not data:
            raise ConfigError(f"{original}: empty file")
        kind, suffix = content_kind(data), Path(name).suffix.lower()
        expected = LOADERS.get(suffix).options  # a binary type names its signature: anything else is text
        if expected.get("kind", "") != kind:
            found = kind or f"text, not {expected['kind']}"
            raise ConfigError(f"{original}: the content is {found}, not a {suffix} report")
        try:
            parse_report(RawReport(Path(name), name, data, b""))
        except LoadError as err:
            raise ConfigError(f"{original}: {err}") from None
        digest = hashlib.sha256(data).digest()
        for existing in scan_corpus(self.settings.corpus).files:
            rel = existing.relative_to(self.settings.corpus).as_posix()
            same_size = rel != replacing and existing.stat().st_size == size
            if same_size and hashlib.sha256(existing.read_bytes()).digest() == digest:
                raise ConfigError(f"{original}: the same content is already in the corpus as {shown(rel)}")
        return name, data

    def add_reports(self, paths: list[str]) -> str:
        """Check each upload and copy the good ones into the corpus folder under safe names (a refused one
        writes nothing); one line per file. A ``<report>.meta.yaml`` uploaded with its report gives it a
        title, date and source (checked as indexing checks it; a bad one is left out, the report is added)."""
        lines = []
        sidecars = {Path(p).name[: -len(SIDECAR_SUFFIX)]: p for p in paths if Path(p).name.endswith(SIDECAR_SUFFIX)}
        for path in paths:
            original = Path(path).name
            if original.endswith(SIDECAR_SUFFIX):
                if original[: -len(SIDECAR_SUFFIX)] not in {Path(p).name for p in paths}:
                    lines.append(f"Not added: {original}: metadata for {original[: -len(SIDECAR_SUFFIX)]}, which is "
                                 "not in this upload (upload them together, or use the editor below)")  # fmt: skip
                    self.log(f"askfront: upload: {shown(lines[-1])}")
                continue
            try:
                name, data = self.check_upload(path, original)
                meta, why = _uploaded_metadata(sidecars.get(original))
                target = self.settings.corpus / name
                stem, suffix, n = target.stem, target.suffix, 1
                while _taken(target):  # also by a metadata file left without its report: not inherited
                    target = self.settings.corpus / f"{stem}-{n}{suffix}"
                    n += 1
                self.settings.corpus.mkdir(parents=True, exist_ok=True)
                if meta:  # first, so the report is never indexed without it
                    write_whole(sidecar_path(target), meta)
                try:
                    write_whole(target, data)
                except OSError:
                    sidecar_path(target).unlink(missing_ok=True)
                    raise
                lines.append(f"Added {target.name}" + (" with its title, date and source." if meta else f".{why}"))
            except ConfigError as err:
                lines.append(f"Not added: {err}")
            except OSError as err:
                lines.append(f"Not added: {original}: {one_line(err)}")
            self.log(f"askfront: upload: {shown(lines[-1])}")
        return "\n".join(lines)

    def corpus_file(self, rel: str) -> Path:
        """The corpus file of a report named by its corpus path (ConfigError if there is no such report)."""
        for path in scan_corpus(self.settings.corpus).files:
            if path.relative_to(self.settings.corpus).as_posix() == rel:
                return path
        parent = rel.rpartition("/")[0]
        if parent and (self.settings.corpus / parent).is_file():  # an e-mail's attachment, indexed on its own
            raise ConfigError(f"{rel}: an attachment of the e-mail {parent}; delete or replace the e-mail instead")
        raise ConfigError(f"{rel}: no such report in {self.settings.corpus}")

    def delete_report(self, rel: str) -> str:
        """Move a report (and its metadata file) to the corpus's trash folder (never indexed), then
        rebuild; ``undo_delete`` puts it back."""
        self.trash(rel)
        return deleted_message(rel) + self.rebuild()

    def trash(self, rel: str) -> str:
        """Move a report and its metadata file to ``corpus/.trash/<when>/``; returns that entry's name
        (what ``undo_delete`` takes). Its copies in the app's temporary folder are removed."""
        path = self.corpus_file(rel)
        try:
            data = path.read_bytes() if path.stat().st_size <= self.settings.max_file_bytes else b""
        except OSError:
            data = b""
        folder = self.settings.corpus / TRASH / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        sidecar = sidecar_path(path)
        if sidecar.exists():
            sidecar.rename(sidecar_path(target))
        copies = self.scratch.forget(rel, data) if data else 0  # its uploads and the exports quoting it
        shutil.rmtree(self.scratch.folder / "pages", ignore_errors=True)  # page images (made again on demand)
        self.log(f"askfront: deleted {shown(rel)} (moved to {shown(str(folder))}; {copies} temporary copies removed)")
        return folder.name

    def trash_entries(self) -> list[tuple[str, str]]:
        """(entry, corpus path) of every report in the trash, newest first: kept on disk, so Undo
        survives a restart."""
        trash = self.settings.corpus / TRASH
        entries = []
        for folder in sorted(trash.iterdir(), reverse=True) if trash.is_dir() else ():
            files = [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(SIDECAR_SUFFIX)]
            if folder.is_dir() and len(files) == 1:
                entries.append((folder.name, files[0].relative_to(folder).as_posix()))
        return entries

    @property
    def can_undo(self) -> bool:
        return bool(self.trash_entries())

    def undo_delete(self, entry: str = "") -> str:
        """Put a deleted report (and its metadata) back where it was, then rebuild: the trash ``entry``
        (a tab's own last deletion), or the newest one."""
        entries = dict(self.trash_entries())
        if entry and entry not in entries:
            raise ConfigError(f"{entry}: no longer in the trash (restored or emptied)")
        if not entries:
            raise ConfigError("nothing to undo")
        entry = entry or next(iter(entries))
        folder, rel = self.settings.corpus / TRASH / entry, entries[entry]
        source, target = folder / rel, self.settings.corpus / rel
        if target.exists() or target.is_symlink():
            raise ConfigError(f"{rel}: a report of that name is in the corpus again; not overwritten")
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        if sidecar_path(source).exists():
            sidecar_path(source).rename(sidecar_path(target))
        shutil.rmtree(folder, ignore_errors=True)
        self.log(f"askfront: restored {shown(rel)}")
        return f"Restored {rel}.\n" + self.rebuild()

    def replace_report(self, rel: str, upload: str | Path) -> str:
        """Replace a report's file with an upload of the same type (checked like any upload), then rebuild."""
        path = self.corpus_file(rel)
        name, data = self.check_upload(upload, Path(upload).name, replacing=rel)
        if Path(name).suffix.lower() != path.suffix.lower():
            raise ConfigError(f"{Path(upload).name}: a {path.suffix} report can only be replaced by a {path.suffix}")
        try:
            write_whole(path, data)  # a failure (a full disk) leaves the report as it was
        except OSError as err:
            reason = os_reason(err)
            raise ConfigError(f"{rel}: not replaced ({reason}); the report is as it was") from None
        self.log(f"askfront: replaced {shown(rel)}")
        return f"Replaced {rel}.\n" + self.rebuild()

    def set_metadata(self, rel: str, title: str, date: str, source: str) -> str:
        """Write title, date and source to the report's ``.meta.yaml`` sidecar (other keys kept), then
        rebuild. Empty values are removed; the date must be YYYY, YYYY-MM or YYYY-MM-DD."""
        from askfront.search.retrieve import date_bounds

        path = self.corpus_file(rel)
        values = {"title": title.strip(), "date": date.strip(), "source": source.strip()}
        for key, value in values.items():
            if len(value) > METADATA_KEYS[key] or "\n" in value:
                raise ConfigError(f"{key} must be one line of at most {METADATA_KEYS[key]} characters")
        if values["date"]:
            date_bounds(values["date"])
        try:  # read as indexing reads it: the other keys are kept, a sidecar that cannot be read is not replaced
            text, meta = read_metadata(path, self.settings.corpus)
        except LoadError as err:
            raise ConfigError(f"{err}; not overwritten, so nothing in it is lost: correct or delete it") from None
        sidecar = sidecar_path(path)
        try:
            write_whole(sidecar, _edited_metadata(text, meta, values, sidecar.name).encode("utf-8"))
        except OSError as err:
            raise ConfigError(f"{sidecar.name}: not saved ({os_reason(err)}); unchanged") from None
        self.log(f"askfront: metadata of {shown(rel)} updated")
        return f"Saved the title, date and source of {rel}.\n" + self.rebuild()


def deleted_message(rel: str) -> str:
    """The first line said when a report was moved to the trash (the page and ``delete_report``)."""
    return f"Deleted {rel} (kept in {TRASH}/ until you empty it; Undo puts it back).\n"


def _uploaded_metadata(path: str | None) -> tuple[bytes, str]:
    """The bytes of an uploaded sidecar when it can be used, else (b"", ' Its metadata file was not used: …')."""
    if path is None:
        return b"", ""
    name = Path(path).name
    try:
        if Path(path).stat().st_size > MAX_METADATA_BYTES:
            return b"", f" Its metadata file was not used: {name} is longer than {MAX_METADATA_BYTES // 1000} kB."
        data = Path(path).read_bytes()
        parse_metadata(data.decode("utf-8-sig"), name)
    except UnicodeDecodeError:
        return b"", f" Its metadata file was not used: {name} is not UTF-8 text."
    except (LoadError, OSError) as err:
        return b"", f" Its metadata file was not used: {one_line(err)}."
    return data, ""


def _taken(target: Path) -> bool:
    """Whether an upload may not be written as ``target``: a report, a link or its metadata file is there."""
    sidecar = sidecar_path(target)
    return target.exists() or target.is_symlink() or sidecar.exists() or sidecar.is_symlink()


def _edited_metadata(text: str, meta: dict, values: dict[str, str], name: str) -> str:
    """Sidecar ``text`` (holding ``meta``) with each of ``values`` set, or removed when empty. Only the lines
    of those keys change, so comments and other keys stay as the user wrote them; if the result would not
    read back as intended (an unusual layout), the whole file is written out plainly instead."""
    wanted = {k: v for k, v in {**meta, **values}.items() if not (k in values and not v)}
    kept: list[str] = []
    found: set[str] = set()  # keys of values whose line was met (and rewritten, or dropped when emptied)
    skipping = False
    for line in text.splitlines(keepends=True):
        key = line.split(":", 1)[0].strip() if ":" in line and not line[:1].isspace() else None
        if skipping and line[:1].isspace() and line.strip():
            continue  # the rest of a value that spans lines
        skipping = key in values
        if not skipping:
            kept.append(line)
        elif key not in found:
            found.add(key)
            if values[key]:
                kept.append(_yaml_line(key, values[key]))
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    kept += [_yaml_line(k, v) for k, v in values.items() if v and k not in found]
    edited = "".join(kept)
    try:  # a key written some other way ('"title": ...') was not found: its old line would stay beside the new
        if not (set(meta) & set(values)) - found and parse_metadata(edited, name) == wanted:
            return edited
    except LoadError:
        pass
    return yaml.safe_dump(wanted, allow_unicode=True, sort_keys=False)


def _yaml_line(key: str, value: str) -> str:
    return yaml.safe_dump({key: value}, allow_unicode=True, width=10_000)
