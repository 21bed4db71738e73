"""The cited page as the journalist would see it on paper: a PDF page rendered by PDFium with the quoted
passage marked (found in the page's own text layer), or for a page read by OCR the scan itself with the
quoted words marked where Tesseract read them. Written as PNG into the app's temporary folder."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from askfront.core.arabic import fold_arabic
from askfront.core.errors import ConfigError, LoadError, one_line
from askfront.ingest import ocr

DPI = 110  # wide enough to read on a laptop screen, small enough to send quickly (~300-600 kB a page)
MARK = (255, 213, 79, 110)  # the answer-span yellow of the page, see-through
_WORD = re.compile(r"\w+")


def page_png(data: bytes, suffix: str, page: int, quote: str, folder: Path) -> tuple[Path, bool]:
    """``page`` (1-based) of a report file's bytes as a PNG in ``folder``, the ``quote`` marked; and whether
    the quote was found to mark. ConfigError with one line when the page cannot be shown."""
    if suffix == ".pdf":
        image, boxes = _pdf_page(data, page, quote)
    elif suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        image = _scan(data, page)
        boxes = _ocr_boxes(image, quote)
    else:
        raise ConfigError(f"a {suffix} report has no pages to show: its text is the report")
    marked = _mark(image, boxes)
    out = io.BytesIO()
    marked.save(out, "PNG", optimize=True)
    digest = hashlib.sha256(out.getvalue()).hexdigest()[:16]
    path = folder / f"page-{digest}.png"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path, bool(boxes)


def _pdf_page(data: bytes, number: int, quote: str):
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as err:
        raise ConfigError(f"the PDF cannot be rendered ({one_line(err)})") from None
    try:
        if not 1 <= number <= len(pdf):
            raise ConfigError(f"the PDF has no page {number} (it has {len(pdf)})")
        page = pdf[number - 1]
        _width, height = page.get_size()
        scale = DPI / 72
        image = page.render(scale=scale).to_pil().convert("RGB")
        textpage = page.get_textpage()
        if textpage.count_chars() > 0:
            rects = _text_rects(textpage, quote)
            boxes = [(x0 * scale, (height - y1) * scale, x1 * scale, (height - y0) * scale) for x0, y0, x1, y1 in rects]
        else:  # a scanned page: where Tesseract reads the quote's words
            boxes = _ocr_boxes(page.render(scale=ocr.DPI / 72).to_pil(), quote, DPI / ocr.DPI)
        return image, boxes
    finally:
        pdf.close()


def _text_rects(textpage, quote: str) -> list[tuple[float, float, float, float]]:
    """The rectangles of the quote on the page: its first words searched, longest run first."""
    words = quote.split()
    for take in (len(words), 12, 8, 5, 3):
        if take > len(words) or take < 1:
            continue
        searcher = textpage.search(" ".join(words[:take]), match_case=False)
        found = searcher.get_next()
        if found:
            index = found[0]
            # mark the whole quote from where it starts (its length in the page's text, about the quote's)
            count = min(len(quote), textpage.count_chars() - index)
            return [textpage.get_rect(i) for i in range(textpage.count_rects(index, count))]
    return []


def _scan(data: bytes, page: int):
    try:
        image = ocr.open_image(data)
        image.seek(page - 1)
        return image.convert("RGB")
    except LoadError as err:
        raise ConfigError(str(err)) from None
    except (EOFError, OSError, ValueError) as err:
        raise ConfigError(f"the scan cannot be shown ({one_line(err)})") from None


def _ocr_boxes(image, quote: str, scale: float = 1.0) -> list[tuple[float, float, float, float]]:
    """Boxes of the run of OCR words that matches the quote's words (from its first few), '' when none."""
    if ocr.unavailable():
        return []
    import pytesseract

    data = pytesseract.image_to_data(image.convert("L"), lang=ocr.languages(), output_type=pytesseract.Output.DICT)
    read = [(_plain(w), i) for i, w in enumerate(data["text"]) if _plain(w)]
    wanted = [_plain(w) for w in quote.split() if _plain(w)]
    head = wanted[: min(4, len(wanted))]
    for start in range(len(read) - len(head) + 1) if head else ():
        if [w for w, _ in read[start : start + len(head)]] == head:
            run = read[start : start + len(wanted)]
            return [
                (data["left"][i] * scale, data["top"][i] * scale, (data["left"][i] + data["width"][i]) * scale,
                 (data["top"][i] + data["height"][i]) * scale)
                for _, i in run
            ]  # fmt: skip
    return []


def _plain(word: str) -> str:
    return "".join(_WORD.findall(fold_arabic(word).lower()))


def _mark(image, boxes):
    from PIL import Image, ImageDraw

    if not boxes:
        return image
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), fill=MARK)
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")
