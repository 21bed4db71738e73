"""PDF reports: the text layer of each page (pypdf), and pages without one (scans) read by OCR
(askfront.ingest.ocr; each page rendered by PDFium at 300 dpi). Page starts are kept for citations, and
the pages read by OCR are marked. At most ``MAX_OCR_PAGES`` pages and ``MAX_OCR_S`` seconds of OCR per
file: the rest is left out with a warning, so one huge scan cannot hold up the whole corpus."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

from askfront.core.errors import LoadError, one_line
from askfront.core.types import Document
from askfront.ingest import ocr

MAX_OCR_PAGES = 300  # scanned pages read per PDF (a report; a 3,000-page scanned archive is split first)
MAX_OCR_S = 900  # seconds of OCR per PDF (~3 s a page on 2 cores)


def load_pdf(data: bytes, rel: str) -> Document:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:
        raise LoadError("PDF support is missing (pypdf, part of the default install): pip install pypdf") from None
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf logs each repaired glitch; we report once
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF (needs a password)")
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
        title = str((reader.metadata.title if reader.metadata else None) or "").strip()
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as err:
        raise LoadError(f"corrupt or unreadable PDF ({type(err).__name__}: {one_line(err)})") from None
    warnings: list[str] = []
    scanned = [n for n, text in enumerate(texts) if not text]
    read: list[int] = []
    if scanned:
        reason = ocr.unavailable()
        if reason and len(scanned) == len(texts):
            raise LoadError(f"PDF has no text layer (scanned pages): {reason}")
        if reason:
            warnings.append(f"{len(scanned)} scanned page(s) without a text layer left out: {reason}")
        else:
            read = _read_scans(data, scanned, texts, warnings)
    text, pages = ocr.join_pages(texts)
    if not text.strip():
        raise LoadError("PDF has no text, and OCR found none on its pages")
    doc = Document(path=rel, title=title[:300] or Path(rel).stem, text=text, pages=pages)
    doc.ocr_pages, doc.warnings = [n + 1 for n in read], warnings
    return doc


def _read_scans(data: bytes, scanned: list[int], texts: list[str], warnings: list[str]) -> list[int]:
    """OCR the ``scanned`` pages (0-based) into ``texts``, within the page and time limits; their numbers."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as err:
        warnings.append(f"scanned pages could not be rendered for OCR ({one_line(err)})")
        return []
    started, read = time.monotonic(), []
    try:
        for n in scanned:
            if len(read) >= MAX_OCR_PAGES or time.monotonic() - started > MAX_OCR_S:
                left = len(scanned) - len(read)
                warnings.append(
                    f"{left} scanned page(s) left out: OCR reads at most {MAX_OCR_PAGES} pages and "
                    f"{MAX_OCR_S // 60} minutes per PDF (split the file to read the rest)"
                )
                break
            page = pdf[n]
            width, height = page.get_size()
            scale = ocr.DPI / 72
            if width * height * scale * scale > ocr.MAX_PIXELS:
                scale = (ocr.MAX_PIXELS / (width * height)) ** 0.5  # a huge page is rendered smaller
            image = page.render(scale=scale).to_pil()
            texts[n] = ocr.read_image(image.convert("L"))
            read.append(n)
    finally:
        pdf.close()
    return read
