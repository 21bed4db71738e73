"""Chunks carry exact character spans into the report text."""

from __future__ import annotations

from pathlib import Path

import pytest

from askfront.core.errors import ConfigError
from askfront.index.chunk import make_splitter, split_document
from askfront.ingest.reports import load_document
from tests.conftest import DEMO


@pytest.mark.parametrize(("size", "overlap"), [(200, 0), (500, 100), (1000, 100)])
def test_every_chunk_is_the_exact_slice_of_its_span(size: int, overlap: int) -> None:
    doc = load_document(DEMO, DEMO.parent)
    chunks = split_document(doc, make_splitter(size, overlap))
    assert len(chunks) >= len(doc.text) // size
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= size
    # together the chunks cover every word of the report
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        make_splitter(100, 100)


def test_spans_survive_repeated_text(tmp_path: Path) -> None:
    report = tmp_path / "r.txt"
    report.write_text("Heading\n\n" + "The same sentence repeats. " * 60)
    doc = load_document(report, tmp_path)
    chunks = split_document(doc, make_splitter(120, 30))
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
