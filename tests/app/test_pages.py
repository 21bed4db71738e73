"""The cited page shown as the journalist would see it: a PDF page rendered by PDFium with the quoted
passage marked in yellow where the page's text layer has it, a scan with the words Tesseract read marked;
a text report has no page (one line). Real files, real renderer, real OCR engine (skipped without it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from askfront.answer.registry import load_answerer
from askfront.app.pages import MARK
from askfront.app.service import Service
from askfront.core.config import Settings
from askfront.core.errors import ConfigError
from askfront.index.build import build_index
from askfront.ingest import ocr
from tests.conftest import DEMO, DEMO_META, make_pdf
from tests.ingest.test_ocr import FONT, page, scanned_pdf


@pytest.fixture
def service(tmp_path: Path, embedder) -> Service:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO, corpus)
    shutil.copy(DEMO_META, corpus)
    pdf = make_pdf([["Briefing on Derna"], ["The Derna council said 35 families returned to the old city on Sunday."]])
    (corpus / "briefing.pdf").write_bytes(pdf)
    if not ocr.unavailable() and Path(FONT).exists():
        tobruk = ["Port of Tobruk", "", "The port of Tobruk received 14 oil tankers in August."]
        (corpus / "letters.pdf").write_bytes(scanned_pdf(page(["Scanned letters"]), page(tobruk)))
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    assert build_index(settings, embedder, progress=False).ok
    service = Service(settings, embedder, load_answerer(settings, embedder))
    yield service
    service.close()


def _marked(path: Path) -> int:
    """How many pixels carry the mark's yellow (blended over white: red and green high, blue lower)."""
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 240) & (g > 225) & (g < 245) & (b > 140) & (b < 200)).sum())


@pytest.mark.slow  # a real index and reader: seconds
def test_a_pdf_page_is_shown_with_its_passage_marked(service: Service) -> None:
    answer = service.ask("How many families returned to the old city of Derna?")
    cited = answer.citations[0]
    assert (cited.file, cited.page, cited.ocr) == ("briefing.pdf", 2, False)
    png, caption = service.page_image(cited)
    assert caption == "briefing.pdf, page 2: the page, the passage marked"
    assert png.is_relative_to(service.scratch.folder)  # removed with the app's temporary folder
    with Image.open(png) as image:
        assert image.size == (round(612 * 110 / 72), round(792 * 110 / 72))
    assert _marked(png) > 500 and MARK[:2] == (255, 213)
    distance = service.ask("How far is Abu Grain from Sirte?").citations[0]
    with pytest.raises(ConfigError, match=r"a \.txt report has no pages to show"):
        service.page_image(distance)
    (service.settings.corpus / "briefing.pdf").write_bytes(make_pdf([["Another briefing"]]))
    with pytest.raises(ConfigError, match="changed since it was indexed"):
        service.page_image(cited)  # never a different page under the old citation


@pytest.mark.slow
@pytest.mark.skipif(bool(ocr.unavailable()) or not Path(FONT).exists(), reason="needs Tesseract and DejaVu fonts")
def test_a_scanned_page_is_the_scan_with_the_words_marked(service: Service) -> None:
    answer = service.ask("How many oil tankers did the port of Tobruk receive?")
    assert answer.short_answer == "14"
    cited = answer.citations[0]
    assert cited.ocr and cited.page == 2
    png, caption = service.page_image(cited)
    assert caption == "letters.pdf, page 2: the scan, the passage marked"
    assert _marked(png) > 500
