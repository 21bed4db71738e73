"""Safe readers and writers of plain formats every stage uses: YAML without anchors or aliases, CSV that
a spreadsheet will not run as formulas, report text that a Markdown renderer shows as text, and files
written whole or not at all."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml


class PlainYAML(yaml.SafeLoader):
    """YAML with no anchors or aliases: a few hundred bytes of aliases can expand to gigabytes."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.YAMLError("YAML anchors and aliases (&, *) are not accepted in metadata")
        return super().compose_node(parent, index)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with =, +, -, @, a tab or a carriage return (a
    report title '=HYPERLINK(...)' from a sidecar) gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv_writer(out: io.StringIO) -> Any:
    """A csv.writer whose every cell goes through ``spreadsheet_safe`` (all spreadsheet-bound exports)."""
    writer = csv.writer(out)

    class Safe:
        def writerow(self, row: Iterable[object]) -> None:
            writer.writerow([spreadsheet_safe(v) for v in row])

    return Safe()


_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]!|~])")


def inert_markdown(text: object) -> str:
    """Report text (a title, source, quote, answer) for a Markdown document, shown as the words it is in
    any CommonMark renderer: HTML escaped (no ``<img onerror>`` or ``<script>`` element), the characters
    that open links, images, code and emphasis backslashed, on one line."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_ACTIVE.sub(r"\\\1", html.escape(flat, quote=False))


def write_whole(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: into a hidden file beside it (never indexed: hidden names are
    skipped), flushed to disk, then renamed over it. On any failure (a full disk) the previous file is
    untouched and the partial one removed; the error is raised."""
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with part.open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
