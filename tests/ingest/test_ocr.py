"""Scans read by the real OCR engine (Debian's Tesseract through pytesseract): pages of known text, English
and Arabic, rendered by the test to an image and to a PDF without a text layer, then indexed and asked;
the answer is cited to its page and marked as read by OCR. Bad images are one line each."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from askfront.core.config import Settings
from askfront.core.errors import LoadError
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.ingest import ocr
from askfront.search.text import search_reports
from tests.conftest import askfront

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian's fonts-dejavu-core (Latin and Arabic)
pytestmark = [
    pytest.mark.skipif(
        bool(ocr.unavailable()) or not Path(FONT).exists(),
        reason=f"needs Tesseract with eng+ara and {FONT} (README: Set up): {ocr.unavailable()}",
    ),
    pytest.mark.slow,  # real OCR and indexing: seconds each
]
ENGLISH = [
    "Letter from the Derna council",
    "",
    "The council said 35 families returned to the old",
    "city of Derna on Sunday after the fighting ended.",
]
ARABIC = ["قال المجلس إن 35 عائلة عادت إلى المدينة القديمة", "في درنة يوم الأحد بعد انتهاء القتال."]


def page(lines: list[str], rtl: bool = False) -> Image.Image:
    """A white page with the lines typeset in black, as a scanner would give it (grey, 150 dpi-ish)."""
    font = ImageFont.truetype(FONT, 34)
    image = Image.new("L", (1700, 120 + 64 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        if rtl:
            draw.text((1620, 60 + 64 * i), line, font=font, fill=0, direction="rtl", anchor="ra", language="ar")
        else:
            draw.text((80, 60 + 64 * i), line, font=font, fill=0)
    return image


def scanned_pdf(*pages: Image.Image) -> bytes:
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=150, save_all=True, append_images=list(pages[1:]))
    return out.getvalue()


def test_a_scanned_pdf_and_a_photographed_page_are_read_and_cited(tmp_path: Path, embedder) -> None:
    from askfront.answer.registry import load_answerer

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    cover = page(["Derna council archive", "", "Scanned letters, June 2016."])
    (corpus / "letters.pdf").write_bytes(scanned_pdf(cover, page(ENGLISH)))  # no text layer at all
    (corpus / "photo.png").write_bytes(_png(page(["Port of Tobruk", "", "The port received 14 tankers in August."])))
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    report = build_index(settings, embedder, progress=False)
    assert report.ok and sorted(report.added) == ["letters.pdf", "photo.png"]
    conversation = load_answerer(settings, embedder)
    answer = conversation.ask("How many families returned to the old city of Derna?")
    assert answer.short_answer == "35", answer.answer
    cited = answer.citations[0]
    assert (cited.file, cited.page, cited.ocr) == ("letters.pdf", 2, True)
    tankers = conversation.ask("How many tankers did the port of Tobruk receive?")
    assert tankers.short_answer == "14" and tankers.citations[0].ocr
    conversation.retriever.index.close()


def test_an_arabic_scan_is_read_in_arabic(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bayan.png").write_bytes(_png(page(ARABIC, rtl=True)))
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    assert build_index(settings, embedder, progress=False).ok
    index = Index.open(settings.index)
    try:
        text = index.document("bayan.png").text
        assert "عائلة" in text and "درنة" in text and "35" in text  # read right to left, word for word
        assert index.ocr_pages("bayan.png") == [1]
        assert [m.path for m in search_reports(index, "درنة")] == ["bayan.png"]
    finally:
        index.close()


def test_bad_images_are_one_line_and_nothing_indexed_is_lost(tmp_path: Path, embedder) -> None:
    with pytest.raises(LoadError, match="too large to be a page"):
        ocr.load_image(_png(Image.new("1", (20_000, 20_000), 1)), "bomb.png")  # 400 Mpx, a few kB of PNG
    with pytest.raises(LoadError, match="not a readable image"):
        ocr.load_image(b"\x89PNG\r\n\x1a\n" + os.urandom(200), "broken.png")
    with pytest.raises(LoadError, match="no text found"):
        ocr.load_image(_png(Image.new("L", (800, 600), 255)), "blank.png")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "photo.png").write_bytes(_png(page(["Port of Tobruk", "", "The port received 14 tankers in August."])))
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    assert build_index(settings, embedder, progress=False).ok
    (corpus / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))  # replaced by a corrupt file
    (corpus / "bomb.png").write_bytes(_png(Image.new("1", (20_000, 20_000), 1)))
    said: list[str] = []
    report = build_index(settings, embedder, log=said.append, progress=False)
    assert set(report.failed) == {"photo.png", "bomb.png"}
    assert any("photo.png: not a readable image" in line and "kept the previously indexed" in line for line in said)
    index = Index.open(settings.index)
    try:
        assert "14 tankers" in index.document("photo.png").text  # the last good version still answers
    finally:
        index.close()


def test_without_the_engine_a_scan_is_one_line_saying_how_to_enable_ocr(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "letters.pdf").write_bytes(scanned_pdf(page(ENGLISH)))
    (corpus / "note.txt").write_text("Note\n\nThe road to Brega reopened on Monday.\n")
    empty = tmp_path / "no-tools"
    empty.mkdir()
    done = askfront("index", cwd=tmp_path, extra_env={"PATH": str(empty), "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 1, done.stderr  # some files failed; the rest is indexed
    lines = [line for line in done.stderr.splitlines() if "letters.pdf" in line]
    assert lines == [
        "askfront: error: corpus/letters.pdf: PDF has no text layer (scanned pages): OCR is not installed: "
        f"{ocr.HOW_TO}"
    ]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_an_unsupported_or_malformed_ocr_language_is_one_line(monkeypatch) -> None:
    scan = _png(page(ENGLISH))
    monkeypatch.setenv(ocr.LANGUAGES_ENV, "eng+xyz")
    with pytest.raises(LoadError, match="Tesseract has no data for xyz: apt-get install tesseract-ocr-xyz"):
        ocr.load_image(scan, "letter.png")
    monkeypatch.setenv(ocr.LANGUAGES_ENV, "eng; rm -rf /")
    with pytest.raises(LoadError, match="is not Tesseract languages"):
        ocr.load_image(scan, "letter.png")
    monkeypatch.setenv(ocr.LANGUAGES_ENV, "eng")
    assert "35 families" in ocr.load_image(scan, "letter.png").text
