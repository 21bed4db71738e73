"""Reading scans: page images (.png, .jpg, .tiff) and PDF pages without a text layer go through Tesseract
(Debian's tesseract-ocr with its English and Arabic data, driven by pytesseract). The languages are set
per corpus with ASKFRONT_OCR_LANGUAGES (default eng+ara: Tesseract reads both scripts in one pass).
Without the engine a scan is one line saying how to enable OCR; a page image too large to be a page
(an image bomb) is refused before it is decoded."""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
from pathlib import Path

from askfront.core.arabic import is_arabic
from askfront.core.errors import LoadError, one_line
from askfront.core.types import Document

DEFAULT_LANGUAGES = "eng+ara"
LANGUAGES_ENV = "ASKFRONT_OCR_LANGUAGES"
# A page scanned at 600 dpi (A4) is ~35 Mpx; anything far larger is not a page (and decoding it could take
# gigabytes): refused from its header alone.
MAX_PIXELS = 60_000_000
PAGE_TIMEOUT_S = 120  # one page that Tesseract cannot read in this long is left out with a warning
DPI = 300  # PDF pages are rendered at this resolution for OCR (Tesseract's recommended range)
HOW_TO = "install Tesseract: apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-ara (README: Your reports)"
_LANGUAGES = re.compile(r"[a-z_]{3,}(?:\+[a-z_]{3,})*")


def languages() -> str:
    """The Tesseract languages the corpus is read in (ASKFRONT_OCR_LANGUAGES), checked."""
    wanted = os.environ.get(LANGUAGES_ENV, DEFAULT_LANGUAGES).strip()
    if not _LANGUAGES.fullmatch(wanted):
        raise LoadError(f"{LANGUAGES_ENV}={wanted!r} is not Tesseract languages such as eng+ara")
    return wanted


def unavailable() -> str:
    """'' when OCR can run, else why not and how to enable it (one line)."""
    return _unavailable(languages())


@functools.lru_cache(maxsize=4)
def _unavailable(wanted: str) -> str:
    try:
        import pytesseract
    except ImportError:
        return f"OCR needs pytesseract (pip install pytesseract) and Tesseract: {HOW_TO}"
    if shutil.which("tesseract") is None:
        return f"OCR is not installed: {HOW_TO}"
    try:
        have = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractError, OSError) as err:
        return f"Tesseract does not run ({one_line(err)}): {HOW_TO}"
    missing = [lang for lang in wanted.split("+") if lang not in have]
    if missing:
        return f"Tesseract has no data for {', '.join(missing)}: apt-get install " + " ".join(
            f"tesseract-ocr-{m.replace('_', '-')}" for m in missing
        )
    return ""


def read_image(image) -> str:
    """The text Tesseract reads in a PIL image, in the corpus's languages ('' for a blank page). The page's
    script is detected from a first reading: a page mostly in Arabic letters is read again with Arabic as
    the first language (measured: "eng+ara" misreads Arabic words that "ara+eng" reads right)."""
    wanted = languages()
    text = _tesseract(image, wanted)
    order = wanted.split("+")
    if "ara" in order and order[0] != "ara" and is_arabic(text):
        text = _tesseract(image, "+".join(["ara", *(lang for lang in order if lang != "ara")]))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _tesseract(image, lang: str) -> str:
    import pytesseract

    try:
        return pytesseract.image_to_string(image, lang=lang, timeout=PAGE_TIMEOUT_S)
    except RuntimeError as err:  # pytesseract's timeout
        raise LoadError(f"OCR took over {PAGE_TIMEOUT_S} s for one page ({one_line(err)})") from None
    except pytesseract.TesseractError as err:
        raise LoadError(f"OCR failed ({one_line(err)})") from None


def open_image(data: bytes):
    """A PIL image from a file's bytes, its size checked before it is decoded (image bombs)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
    except Image.DecompressionBombError as err:  # Pillow's own refusal of far larger images
        raise LoadError(f"image too large to be a page ({one_line(err)})") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise LoadError(f"not a readable image ({one_line(err)})") from None
    if width * height > MAX_PIXELS:
        raise LoadError(f"image of {width}x{height} pixels is too large to be a page (limit {MAX_PIXELS:,} pixels)")
    return image


def join_pages(texts: list[str]) -> tuple[str, list[int]]:
    """Pages' texts as one text (a blank line between pages) and the offset where each page starts."""
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 2
    return "\n\n".join(texts), starts


def load_image(data: bytes, rel: str) -> Document:
    """A photographed or scanned page (each frame of a TIFF a page), read by OCR."""
    reason = unavailable()
    if reason:
        raise LoadError(f"a scanned page: {reason}")
    image = open_image(data)
    parts = []
    try:
        for frame in range(getattr(image, "n_frames", 1)):
            image.seek(frame)
            parts.append(read_image(image.convert("L")))
    except (OSError, ValueError, EOFError) as err:  # a truncated or corrupt image
        raise LoadError(f"corrupt image ({one_line(err)})") from None
    text, pages = join_pages(parts)
    if not text.strip():
        raise LoadError("no text found on the scanned page by OCR")
    doc = Document(path=rel, title=Path(rel).stem, text=text, pages=pages)
    doc.ocr_pages = list(range(1, len(pages) + 1))
    return doc
