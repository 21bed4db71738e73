"""Undated reports take the date they say themselves (dateline, dated web address, first full date), marked as
read from the report wherever it is shown; metadata always wins; the timeline and date filters use it."""

from __future__ import annotations

import csv
import io
import json
from contextlib import closing
from pathlib import Path

from askfront.analysis.views import timeline, timeline_csv, timeline_note
from askfront.core.config import Settings
from askfront.core.types import Filters
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.language.dateline import read_date
from askfront.search.retrieve import Retriever

DATELINED = (
    "WASHINGTON, Jan. 9, 2017 — U.S. and coalition military forces conducted 11 strikes against ISIL "
    "terrorists in Iraq. On Jan. 7, coalition aircraft struck an ISIL tactical unit near Mosul."
)
YEARLESS = (
    "SOUTHWEST ASIA, Dec. 26 — Coalition military forces conducted 21 strikes against ISIL in Syria. "
    "On Dec. 24, strikes near Raqqah destroyed two vehicles."
)


def test_read_date_finds_datelines_addresses_and_first_full_dates() -> None:
    assert read_date(DATELINED) == ("2017-01-09", "text")
    # a year-less dateline takes the year and month of its dated source address
    assert read_date(YEARLESS, "https://example.org/news/2016/12/strikes-in-syria") == ("2016-12-26", "source")
    assert read_date("No dateline. Fighting.", "https://example.org/2017/01/09/strikes") == ("2017-01-09", "source")
    long_text = "Fighting went on. " * 60 + "The town fell on 5 June 2016 after a siege."
    assert read_date(long_text) == ("2016-06-05", "text")
    assert read_date("القاهرة، 26 ديسمبر 2016 - قالت مصادر") == ("2016-12-26", "text")
    # nothing that is the report's own date: a month alone, a year-less day without an address, history
    assert read_date("Since May 2014, the coalition has struck ISIL.") == ("", "")
    assert read_date(YEARLESS) == ("", "")
    assert read_date("The treaty of 3 March 1918 is cited.") == ("", "")


def test_undated_reports_are_dated_from_their_text_and_marked(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "strikes-iraq.txt").write_text(DATELINED, encoding="utf-8")
    (corpus / "strikes-syria.txt").write_text(YEARLESS, encoding="utf-8")
    (corpus / "strikes-syria.txt.meta.yaml").write_text(
        "source: https://example.org/news/2016/12/strikes-in-syria\n", encoding="utf-8"
    )
    (corpus / "dated.txt").write_text(DATELINED.replace("11 strikes", "12 strikes"), encoding="utf-8")
    (corpus / "dated.txt.meta.yaml").write_text("date: 2017-02\n", encoding="utf-8")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    with closing(Index.open(settings.index)) as index:
        rows = {r.path: r for r in index.reports()}
        assert (rows["strikes-iraq.txt"].date, rows["strikes-iraq.txt"].date_read) == ("2017-01-09", "text")
        assert (rows["strikes-syria.txt"].date, rows["strikes-syria.txt"].date_read) == ("2016-12-26", "source")
        assert (rows["dated.txt"].date, rows["dated.txt"].date_read) == ("2017-02", "")  # metadata wins
        # the timeline resolves "Dec. 24" against the date read, and says the date was read
        lines = timeline(index, {}, files=("strikes-syria.txt",))
        assert [(r.iso, r.report_date_read) for r in lines if r.date_text.startswith("Dec. 24")] == [
            ("2016-12-24", "source")
        ]
        assert "read from the report itself" in timeline_note(lines)
        table = list(csv.DictReader(io.StringIO(timeline_csv(lines))))
        assert {r["report_date_read"] for r in table} == {"read from its source address"}
        # the date filter finds the report by the date read from it
        retriever = Retriever(index, embedder)
        hits = retriever.search("coalition strikes against ISIL", filters=Filters(since="2016-12", until="2016-12"))
        assert {h.record.path for h in hits} == {"strikes-syria.txt"}
        assert hits[0].record.date_read == "source"
    # a date set in the editor (metadata) replaces the date read
    (corpus / "strikes-iraq.txt.meta.yaml").write_text("date: 2017-01-08\n", encoding="utf-8")
    build_index(settings, embedder, progress=False)
    with closing(Index.open(settings.index)) as index:
        row = next(r for r in index.reports() if r.path == "strikes-iraq.txt")
        assert (row.date, row.date_read) == ("2017-01-08", "")


def test_an_older_index_is_upgraded_with_the_dates_read(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "strikes-iraq.txt").write_text(DATELINED, encoding="utf-8")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    with closing(Index.open(settings.index)) as index:  # make it look like a format-4 index: no date read, undated
        version = index.folder
    manifest_path = version / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    import sqlite3

    from askfront.index.store import checksum
    from tests.conftest import write_manifest

    db = sqlite3.connect(version / "chunks.sqlite")
    with db:
        db.execute("UPDATE documents SET date = ''")
    db.close()
    manifest.update(format_version=4, dates_read={})
    manifest["checksums"]["chunks.sqlite"] = checksum(version / "chunks.sqlite")
    write_manifest(version, manifest)
    report = build_index(settings, embedder, progress=False)
    assert "format 4 -> 5" in report.repaired and report.embedded == 0
    with closing(Index.open(settings.index)) as index:
        row = index.reports()[0]
        assert (row.date, row.date_read) == ("2017-01-09", "text")
