"""Untrusted corpora and a damaged index: nothing outside corpus/ is read, nothing hangs, one bad file is
one line, and an index that was damaged on disk is noticed, repaired and never quoted from.

Real files, FIFOs and symbolic links in tmp folders; the real embedding model and a real FAISS index.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from askfront.core.config import Settings
from askfront.core.errors import BadIndexError, LoadError, shown
from askfront.index.build import build_index, verify_index
from askfront.index.manifest import BM25_SETTINGS
from askfront.index.store import Index, live_version
from askfront.ingest import reports as ingest
from askfront.ingest.reports import load_document, scan_corpus
from askfront.search.retrieve import Retriever
from tests.conftest import CountingEmbedder, write_manifest

QUESTION = "How far is Abu Grain from Sirte?"
DEMO_FILE = "misrata-militia-gain-back-territory.txt"


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the block takes longer than ``seconds``."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s (hung on a FIFO or device?)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _top(settings: Settings, embedder: CountingEmbedder, query: str = QUESTION) -> str:
    index = Index.open(settings.index)
    try:
        return Retriever(index, embedder).search(query, top_k=1)[0].record.text
    finally:
        index.close()


def test_links_out_of_the_corpus_fifos_and_devices_are_refused_one_line_each(
    settings: Settings, counting: CountingEmbedder, tmp_path: Path
) -> None:
    corpus = settings.corpus
    outside = tmp_path / "private-notes.txt"
    outside.write_text("Secret source: the informant lives on Shara Street.")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "notes.txt").symlink_to(outside)
    (corpus / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    (corpus / "again.txt").symlink_to(corpus / DEMO_FILE)  # a link that stays inside the corpus is fine
    messages: list[str] = []
    with deadline(120):
        report = build_index(settings, counting, log=messages.append, progress=False)
    assert report.failed == {
        "passwd.txt": "symbolic link to a file outside the corpus folder; not read",
        "notes.txt": "symbolic link to a file outside the corpus folder; not read",
        "zero.txt": "symbolic link to a file outside the corpus folder; not read",
        "pipe.txt": "not a regular file (a FIFO); not read",
        "linked-folder": "symbolic link to a folder; not followed",
    }
    assert sorted(report.added) == ["again.txt", DEMO_FILE]
    for name in report.failed:
        assert sum(name in m and m.startswith("askfront: error: ") for m in messages) == 1
    index = Index.open(settings.index)
    stored = " ".join(text for path, _, _ in index.documents() for text in [index.document(path).text])
    assert "root:" not in stored and "Shara Street" not in stored
    index.close()
    with deadline(10), pytest.raises(LoadError, match="FIFO"):
        load_document(corpus / "pipe.txt", corpus)  # read directly, too: refused, not opened


def test_yaml_aliases_and_oversized_metadata_fail_only_their_report(
    settings: Settings, counting: CountingEmbedder
) -> None:
    corpus = settings.corpus
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    pairs = zip("abcdefgh", "bcdefghi", strict=True)
    laughs += [f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]" for p, c in pairs]
    laughs.append("title: *i")
    for name, meta in {
        "bomb.txt": "\n".join(laughs),  # ~480 bytes that expand to a billion strings
        "long.txt": "title: " + "x" * 5000,
        "nested.txt": "title:\n  deep: [1, 2]",
        "deep.txt": "title: " + "[" * 20000,
    }.items():
        (corpus / name).write_text(f"Report {name}\n\nAbu Grain was quiet on Monday.")
        (corpus / f"{name}.meta.yaml").write_text(meta)
    with deadline(60):
        report = build_index(settings, counting, log=lambda _: None, progress=False)
    assert report.failed["bomb.txt"].startswith("metadata in bomb.txt.meta.yaml is not valid YAML")
    assert "anchors and aliases" in report.failed["bomb.txt"]
    assert "title is longer than 300 characters" in report.failed["long.txt"]
    assert "title must be a single value" in report.failed["nested.txt"]
    assert "not valid YAML" in report.failed["deep.txt"]
    assert report.added == [DEMO_FILE] and "140 kilometers" in _top(settings, counting)


def test_an_unexpected_failure_in_one_file_is_that_files_line(
    settings: Settings, counting: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands in for a bug or an exhausted resource inside a third-party parser (here: the Markdown loader).
    def exhausted(data: bytes, rel: str):
        raise MemoryError("parser ran out of memory")

    monkeypatch.setattr(ingest, "load_markdown", exhausted)  # the loader registry imports it on use
    (settings.corpus / "notes.md").write_text("# Notes\n\nNothing.")
    report = build_index(settings, counting, log=lambda _: None, progress=False)
    assert report.failed == {"notes.md": "could not be read (MemoryError: parser ran out of memory)"}
    assert report.added == [DEMO_FILE] and report.written


def test_deeply_nested_html_keeps_its_text(tmp_path: Path) -> None:
    body = "<p>Abu Grain is 140 kilometers from Sirte, officials said.</p>"
    page = "<html><head><title>Deep page</title></head><body>" + "<div>" * 300 + body + "</div>" * 300
    (tmp_path / "deep.html").write_text(page + "</body></html>")
    doc = load_document(tmp_path / "deep.html", tmp_path)
    assert doc.title == "Deep page"
    assert doc.text.strip() == "Abu Grain is 140 kilometers from Sirte, officials said."


def test_a_newline_in_a_file_name_stays_on_one_output_line(settings: Settings, counting: CountingEmbedder) -> None:
    (settings.corpus / "bad\nname.txt").write_bytes(b"")
    messages: list[str] = []
    report = build_index(settings, counting, log=messages.append, progress=False)
    assert report.failed == {"bad\nname.txt": "empty file"}
    line = next(m for m in messages if "empty file" in m)
    assert "\n" not in line and line.endswith("corpus/bad\\nname.txt: empty file")
    assert shown("a\x1b[31mred") == "a\\x1b[31mred"


def test_scan_lists_what_it_refuses(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A")
    os.mkfifo(tmp_path / "b.md")
    (tmp_path / "c.html").symlink_to("/etc/hostname")
    scan = scan_corpus(tmp_path)
    assert [p.name for p in scan.files] == ["a.txt"]
    assert set(scan.refused) == {"b.md", "c.html"}


def _damage(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def test_damaged_faiss_file_is_found_and_rebuilt_from_the_stored_vectors(
    settings: Settings, counting: CountingEmbedder
) -> None:
    build_index(settings, counting, progress=False)
    version = live_version(settings.index)
    size = (version / "dense.faiss").stat().st_size
    _damage(version / "dense.faiss", size // 2, os.urandom(64))  # same size: only the checksum can tell
    assert verify_index(settings, counting) == [f"{settings.index}: damaged file dense.faiss"]
    before = counting.encoded
    messages: list[str] = []
    report = build_index(settings, counting, log=messages.append, progress=False)
    assert report.written and "dense.faiss" in report.repaired and counting.encoded == before  # not re-embedded
    assert any("rebuilding the index: index files damaged (dense.faiss)" in m for m in messages)
    assert verify_index(settings, counting) == []
    assert "140 kilometers" in _top(settings, counting)


def test_a_changed_word_in_the_chunk_store_is_never_quoted(settings: Settings, counting: CountingEmbedder) -> None:
    build_index(settings, counting, progress=False)
    db_path = live_version(settings.index) / "chunks.sqlite"
    data = db_path.read_bytes()
    assert data.count(b"Sirte.") >= 1
    db_path.write_bytes(data.replace(b"from Sirte", b"from Pyong", 1))  # a silent change of one word
    assert any("chunks.sqlite" in p for p in verify_index(settings, counting))
    report = build_index(settings, counting, log=lambda _: None, progress=False)
    assert "damaged" in report.full_rebuild and report.written
    assert "Pyong" not in _top(settings, counting) and "from Sirte" in _top(settings, counting)


def test_garbled_current_and_garbled_text_are_a_damaged_index_not_a_traceback(
    settings: Settings, counting: CountingEmbedder
) -> None:
    build_index(settings, counting, progress=False)
    version = live_version(settings.index)
    (settings.index / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(BadIndexError, match=r"CURRENT: damaged.*askfront index"):
        Index.open(settings.index)
    report = build_index(settings, counting, log=lambda _: None, progress=False)  # starts afresh
    assert report.written and report.ok
    version = live_version(settings.index)
    db = sqlite3.connect(version / "chunks.sqlite")
    with db:  # invalid UTF-8 inside a stored passage
        db.execute("UPDATE chunks SET text = CAST(X'FFFE41' AS TEXT) WHERE id = 0")
    db.close()
    index = Index(version)
    with pytest.raises(BadIndexError, match=r"damaged.*askfront index"):
        index.records([0])
    index.close()
    report = build_index(settings, counting, log=lambda _: None, progress=False)
    assert "chunks.sqlite" in report.full_rebuild and "140 kilometers" in _top(settings, counting)


def test_other_bm25_settings_are_refused_and_rebuilt_without_re_embedding(
    settings: Settings, counting: CountingEmbedder
) -> None:
    build_index(settings, counting, progress=False)
    version = live_version(settings.index)
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["search"]["bm25"] == BM25_SETTINGS
    manifest["search"]["bm25"] = {**BM25_SETTINGS, "stopwords": "en"}  # as built before b59ec27
    write_manifest(version, manifest)
    with pytest.raises(BadIndexError, match=r"other BM25 settings.*askfront index"):
        Retriever(Index.open(settings.index), counting)
    before = counting.encoded
    report = build_index(settings, counting, log=lambda _: None, progress=False)
    assert report.repaired == "search settings changed (BM25 tokenizer)" and counting.encoded == before
    assert "140 kilometers" in _top(settings, counting)


def test_a_file_that_vanished_is_not_called_a_broken_link(tmp_path: Path) -> None:
    from askfront.ingest.reports import read_report

    gone = tmp_path / "gone.txt"
    gone.write_text("Report\n\nText.\n")
    gone.unlink()  # removed between the scan and the read
    with pytest.raises(LoadError, match=r"^file disappeared while indexing$"):
        read_report(gone, tmp_path)
    (tmp_path / "link.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(LoadError, match=r"^broken symbolic link$"):
        read_report(tmp_path / "link.txt", tmp_path)
