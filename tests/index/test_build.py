"""Index builds on the real model and real FAISS: incremental, atomic, honest about failures."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.embed import Embedder, model_identity
from askfront.index.store import BadIndexError, Index, live_version
from askfront.search.retrieve import Filters, Retriever
from tests.conftest import CountingEmbedder, write_manifest

QUESTION = "How far is Abu Grain from Sirte?"


def _search(settings: Settings, embedder: Embedder, query: str, **kw):
    index = Index.open(settings.index)
    try:
        return Retriever(index, embedder, settings.retriever, settings.top_k).search(query, **kw)
    finally:
        index.close()  # an open version is held: no build removes it


def test_demo_index_answers_the_distance_question_first(settings: Settings, counting: CountingEmbedder) -> None:
    report = build_index(settings, counting, progress=False)
    assert report.added == ["misrata-militia-gain-back-territory.txt"] and report.ok and report.written
    index = Index.open(settings.index)
    assert report.chunks == len(index) == counting.encoded > 3
    manifest = index.manifest
    weights = manifest.model_files["model.safetensors"]
    assert weights == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert {"tokenizer.json", "vocab.txt", "1_Pooling/config.json"} <= set(manifest.model_files)
    assert manifest.model_sha256 == model_identity(manifest.model_files) == counting.sha256
    assert (manifest.chunk_size, manifest.chunk_overlap) == (settings.chunk_size, settings.chunk_overlap)
    assert set(manifest.files) == {"misrata-militia-gain-back-territory.txt"}
    for mode in ("hybrid", "dense", "bm25"):
        hits = Retriever(index, counting, mode).search(QUESTION)
        top = hits[0].record
        assert "140 kilometers or about 85 miles" in top.text, mode
        assert top.title == "Misrata militia gain back territory from the Islamic State"
        doc = index.document(top.path)
        assert doc.text[top.start : top.end] == top.text


def test_only_added_or_changed_files_are_embedded_and_removed_ones_vanish(
    settings: Settings, counting: CountingEmbedder
) -> None:
    build_index(settings, counting, progress=False)
    first = counting.encoded

    again = build_index(settings, counting, progress=False)
    assert (
        counting.encoded == first
        and not again.written
        and again.unchanged == ["misrata-militia-gain-back-territory.txt"]
    )

    new = settings.corpus / "sub" / "kharkiv.md"
    new.parent.mkdir()
    new.write_text("# Kharkiv\n\nA drone strike hit a grain depot in Kupiansk on Tuesday, the governor said.\n")
    added = build_index(settings, counting, progress=False)
    assert added.added == ["sub/kharkiv.md"] and added.unchanged == ["misrata-militia-gain-back-territory.txt"]
    assert counting.encoded - first == added.embedded == 1  # only the new report's single chunk
    hits = _search(settings, counting, "grain depot drone strike Kupiansk")
    assert hits[0].record.path == "sub/kharkiv.md"

    new.write_text("# Kharkiv\n\nShelling damaged a hospital in Izium overnight, officials reported.\n")
    before = counting.encoded
    changed = build_index(settings, counting, progress=False)
    assert changed.changed == ["sub/kharkiv.md"] and counting.encoded - before == 1

    new.unlink()
    removed = build_index(settings, counting, progress=False)
    assert removed.removed == ["sub/kharkiv.md"]
    index = Index.open(settings.index)
    assert "sub/kharkiv.md" not in index.manifest.files
    index.close()
    assert all(h.record.path != "sub/kharkiv.md" for h in _search(settings, counting, "hospital in Izium shelling"))
    assert len(list(settings.index.glob("v-*"))) == 1  # old versions are cleaned up


def test_changed_chunk_settings_trigger_an_announced_full_rebuild(
    settings: Settings, counting: CountingEmbedder
) -> None:
    build_index(settings, counting, progress=False)
    messages: list[str] = []
    bigger = dataclasses.replace(settings, chunk_size=900, chunk_overlap=50)
    report = build_index(bigger, counting, log=messages.append, progress=False)
    assert "chunk settings changed" in report.full_rebuild
    assert any("full rebuild" in m for m in messages)
    assert report.embedded == report.chunks == len(Index.open(settings.index))
    assert Index.open(settings.index).manifest.chunk_size == 900


def test_bad_files_are_reported_by_name_and_the_rest_is_indexed(settings: Settings, counting: CountingEmbedder) -> None:
    corpus = settings.corpus
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3 not really a pdf")
    (corpus / "gone.txt").symlink_to(corpus / "does-not-exist.txt")  # a link whose target has vanished
    with (corpus / "huge.txt").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    messages: list[str] = []
    report = build_index(settings, counting, log=messages.append, progress=False)
    assert not report.ok
    assert set(report.failed) == {"empty.txt", "image.txt", "broken.pdf", "gone.txt", "huge.txt"}
    assert report.added == ["misrata-militia-gain-back-territory.txt"]
    for name in report.failed:
        line = next(m for m in messages if name in m)
        assert "\n" not in line and line.startswith("askfront: error: ")
    assert "broken symbolic link" in report.failed["gone.txt"] and "too large" in report.failed["huge.txt"]
    assert "140 kilometers" in _search(settings, counting, QUESTION)[0].record.text


def test_a_report_that_turns_unreadable_keeps_its_indexed_version(
    settings: Settings, counting: CountingEmbedder
) -> None:
    build_index(settings, counting, progress=False)
    report_file = settings.corpus / "misrata-militia-gain-back-territory.txt"
    report_file.write_bytes(b"\x00\x01\x02 corrupted by a bad sync")
    report = build_index(settings, counting, progress=False)
    assert "kept the previously indexed version" in report.failed["misrata-militia-gain-back-territory.txt"]
    assert "140 kilometers" in _search(settings, counting, QUESTION)[0].record.text


def test_filters_by_file_and_date_range(settings: Settings, counting: CountingEmbedder) -> None:
    corpus = settings.corpus
    (corpus / "sirte-2016-08.md").write_text(
        "---\ntitle: Sirte battle\ndate: 2016-08-10\n---\nGNA forces fought the Islamic State in Sirte in August; "
        "Sirte is on the coast between Misrata and Ras Lanuf.\n"
    )
    (corpus / "undated.txt").write_text("Undated note\n\nSirte saw more fighting, the note says.\n")
    build_index(settings, counting, progress=False)
    query = "fighting in Sirte"
    paths = {h.record.path for h in _search(settings, counting, query, top_k=20)}
    assert paths == {"misrata-militia-gain-back-territory.txt", "sirte-2016-08.md", "undated.txt"}

    def found(filters: Filters) -> set[str]:
        return {h.record.path for h in _search(settings, counting, query, top_k=20, filters=filters)}

    assert found(Filters(files=("sirte-2016-08.md",))) == {"sirte-2016-08.md"}
    assert found(Filters(since="2016-06")) == {"sirte-2016-08.md"}
    assert found(Filters(until="2016-05-31")) == {"misrata-militia-gain-back-territory.txt"}
    assert found(Filters(since="2016-05-20", until="2016-05-21")) == {"misrata-militia-gain-back-territory.txt"}
    assert found(Filters(since="2017")) == set()


def test_hnsw_index_finds_what_exact_search_finds(settings: Settings, counting: CountingEmbedder) -> None:
    build_index(dataclasses.replace(settings, index_type="hnsw"), counting, progress=False)
    index = Index.open(settings.index)
    assert type(index.dense).__name__ == "IndexHNSWSQ"  # 8-bit vectors in the graph
    hits = Retriever(index, counting, "dense").search(QUESTION)
    assert "140 kilometers" in hits[0].record.text
    query = counting.encode_query(QUESTION)[0]
    for hit in hits:  # candidates are re-scored exactly from the float32 vectors
        assert hit.scores["dense"] == pytest.approx(float(index.vectors[hit.record.id] @ query), abs=1e-5)
    assert [h.scores["dense"] for h in hits] == sorted((h.scores["dense"] for h in hits), reverse=True)
    # switching back to exact search rebuilds FAISS from the stored vectors without re-embedding
    before = counting.encoded
    report = build_index(dataclasses.replace(settings, index_type="flat"), counting, progress=False)
    assert report.written and counting.encoded == before
    assert type(Index.open(settings.index).dense).__name__ == "IndexFlatIP"


def test_index_from_another_model_or_a_damaged_index_says_rebuild(
    settings: Settings, counting: CountingEmbedder
) -> None:
    with pytest.raises(BadIndexError, match=r"no index yet.*askfront index"):
        Index.open(settings.index)
    build_index(settings, counting, progress=False)
    version = live_version(settings.index)
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["model_sha256"] = "0" * 64
    manifest["model_name"] = "some-other-model"
    write_manifest(version, manifest)
    with pytest.raises(BadIndexError, match=r"another embedding model.*rebuild"):
        Retriever(Index.open(settings.index), counting)
    (version / "dense.faiss").write_bytes(b"garbage")
    with pytest.raises(BadIndexError, match=r"damaged.*askfront index"):
        Index.open(settings.index)
    # the next build notices, says so and starts afresh
    messages: list[str] = []
    report = build_index(settings, counting, log=messages.append, progress=False)
    assert report.written and any("building a new index from scratch" in m for m in messages)
    assert "140 kilometers" in _search(settings, counting, QUESTION)[0].record.text


def test_bf16_keeps_fp32_results(embedder: Embedder) -> None:
    from askfront.index.chunk import make_splitter, split_document
    from askfront.ingest.reports import load_document
    from tests.conftest import DEMO

    doc = load_document(DEMO, DEMO.parent)
    texts = [c.text for c in split_document(doc, make_splitter(200, 0))]
    fp32, bf16 = CountingEmbedder(embedder), CountingEmbedder(embedder)
    fp32.precision, bf16.precision = "fp32", "bf16"
    a, b = fp32.encode(texts), bf16.encode(texts)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() > 0.999
    queries = ["How far is Abu Grain from Sirte?", "Who speaks for Misrata hospital?", "Operation Volcano Derna"]
    qa, qb = fp32.encode(queries), bf16.encode(queries)
    for i in range(len(queries)):
        assert set(np.argsort(-a @ qa[i])[:5]) == set(np.argsort(-b @ qb[i])[:5])


def test_any_local_model_folder_can_be_used_and_the_default_weights_are_checked(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from askfront.index import embed

    local = tmp_path / "my-model"
    shutil.copytree(embedder.path, local)
    mine = Embedder(str(local))
    assert mine.name == "my-model" and mine.sha256 == embedder.sha256
    assert np.allclose(mine.encode(["Sirte"]), embedder.encode(["Sirte"]), atol=1e-2)

    with (local / "model.safetensors").open("r+b") as fh:  # one flipped byte in the weights
        fh.seek(os.path.getsize(local / "model.safetensors") - 1)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([last[0] ^ 0xFF]))
    monkeypatch.setattr(embed, "default_model_path", lambda: local)
    with pytest.raises(embed.ModelError, match="does not match all-MiniLM-L6-v2"):
        _ = Embedder().model


def test_a_changed_tokenizer_is_a_different_model(
    settings: Settings, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from askfront.index import embed

    local = tmp_path / "my-model"
    shutil.copytree(embedder.path, local)
    built = build_index(dataclasses.replace(settings, model=str(local)), Embedder(str(local)), progress=False)
    assert built.written
    config = json.loads((local / "tokenizer_config.json").read_text())
    config["do_lower_case"] = not config.get("do_lower_case", True)  # same weights, other tokens
    (local / "tokenizer_config.json").write_text(json.dumps(config))
    changed = Embedder(str(local))
    assert changed.files["model.safetensors"] == embedder.files["model.safetensors"]
    assert changed.sha256 != embedder.sha256
    messages: list[str] = []
    report = build_index(dataclasses.replace(settings, model=str(local)), changed, log=messages.append, progress=False)
    assert report.full_rebuild.startswith("embedding model changed") and report.embedded == report.chunks
    with pytest.raises(BadIndexError, match="another embedding model"):
        Retriever(Index.open(settings.index), embedder)  # the packaged model no longer fits this index
    # the packaged model is checked file by file, tokenizer included
    monkeypatch.setattr(embed, "default_model_path", lambda: local)
    with pytest.raises(embed.ModelError, match=r"tokenizer_config\.json: sha256 .* does not match all-MiniLM-L6-v2"):
        _ = Embedder().model
