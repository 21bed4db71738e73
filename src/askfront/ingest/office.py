"""Word reports (.docx, with python-docx): paragraphs and tables in the order the document has them (a table
row per line, its cells separated by " | "), the document's own title and creation date when it records
them. A .docx is a ZIP archive: its members' unpacked sizes are checked first, so a ZIP bomb is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from askfront.core.errors import LoadError, one_line
from askfront.core.types import Document

MAX_UNPACKED = 200_000_000  # bytes a .docx may unpack to (a long report is a few MB)
# The creation time python-docx's blank template carries: a file made from it without a date has none.
TEMPLATE_DATE = "2013-12-23T23:15:00"


def load_docx(data: bytes, rel: str) -> Document:
    try:
        import docx
        from docx.table import Table
    except ImportError:
        raise LoadError("Word support is missing (python-docx, part of the default install)") from None
    _check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                blocks.extend(_rows(block))
            elif block.text.strip():
                blocks.append(" ".join(block.text.split()))
        props = document.core_properties
        title, created = (props.title or "").strip(), props.created
    except LoadError:
        raise
    except Exception as err:  # python-docx and lxml raise many kinds for a damaged file
        raise LoadError(f"corrupt or unreadable Word file ({type(err).__name__}: {one_line(err)})") from None
    text = "\n\n".join(blocks)
    if not text.strip():
        raise LoadError("no text found in the Word file")
    first = blocks[0] if len(blocks[0]) <= 200 else ""
    doc = Document(path=rel, title=(title or first or Path(rel).stem)[:300], text=text)
    if created is not None and created.year >= 1990 and created.isoformat()[:19] != TEMPLATE_DATE:
        doc.date = created.date().isoformat()
    return doc


def _rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        cells = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]  # merged cells repeat
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise LoadError(f"not a Word file (a damaged ZIP: {one_line(err)})") from None
    if unpacked > MAX_UNPACKED:
        raise LoadError(f"unpacks to {unpacked / 1e6:.0f} MB (limit {MAX_UNPACKED // 1_000_000} MB): a ZIP bomb?")
    if "word/document.xml" not in names:
        raise LoadError("a ZIP file, not a Word document (no word/document.xml)")
