"""One new entry per registry (core.registry) reaches everything that lists or checks that role: the
settings check, the CLI's choices, the page's lists and the upload check, and then does its work, on the
real index, model and page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from askfront.answer.conversation import Answer, citation
from askfront.answer.registry import load_answerer
from askfront.app.corpus_edits import safe_upload_name
from askfront.app.page import build_ui
from askfront.app.service import Service
from askfront.cli.parser import build_parser
from askfront.core.config import Settings
from askfront.core.errors import ConfigError
from askfront.core.registry import ANSWERERS, EXPORTERS, LOADERS, RANKERS, RETRIEVERS, Entry
from askfront.core.types import Document
from askfront.export.formats import render
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.ingest.reports import scan_corpus
from askfront.search.retrieve import Retriever


def load_note(data: bytes, rel: str) -> Document:
    """A report type for the test: '.note' files, text after a 'NOTE:' line."""
    text = data.decode("utf-8").removeprefix("NOTE:\n")
    return Document(path=rel, title=Path(rel).stem, text=text)


class FirstPassage:
    """A ranker for the test: the first passage of the index, always."""

    name = "first"

    def __init__(self, index, embedder) -> None:
        self.index = index

    def warm_up(self) -> None:
        """Nothing to load."""

    def rank(self, query: str, pool: int, allowed: np.ndarray | None) -> dict[int, float]:
        return {0: 1.0}


class FirstWords:
    """An answerer for the test: the first three words of the best passage, cited."""

    def warm_up(self) -> None:
        """Nothing to load."""

    def answer(self, question: str, resolved: str, hits) -> Answer:
        record = hits[0].record
        words = " ".join(record.text.split()[:3])
        start = record.start + record.text.index(words.split()[0])
        cited = citation(1, hits[0], start, start + len(words), words)
        return Answer(question, words, words, [cited], resolved_question=resolved)


def first_words(settings, index, embedder) -> FirstWords:
    return FirstWords()


def plain_text(answers: list[dict]) -> str:
    return "".join(f"{a['question']} -> {a['answer']}\n" for a in answers)


def _choices(argv: list[str]) -> None:
    build_parser().parse_args(argv)  # argparse exits on a choice it does not list


def test_a_new_loader_reaches_the_corpus_scan_the_upload_check_and_the_page(
    tmp_path: Path, demo_settings: Settings, embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "field.note").write_text("NOTE:\nThe ferry carried 212 passengers to Valletta.\n")
    assert scan_corpus(corpus).files == []  # not a report type yet
    with pytest.raises(ConfigError, match=r"only .+ reports can be added"):
        safe_upload_name("field.note")
    with LOADERS.added(Entry(".note", "tests.core.test_registry:load_note", "field notes")):
        assert [p.name for p in scan_corpus(corpus).files] == ["field.note"]
        assert safe_upload_name("field.note") == "field.note"
        settings = Settings(corpus=corpus, index=tmp_path / "index")
        assert build_index(settings, embedder, progress=False).added == ["field.note"]
        assert Index.open(settings.index).document("field.note").text.startswith("The ferry carried 212")
        service = Service(settings, embedder, load_answerer(settings, embedder))
        name, _ = service.check_upload(corpus / "field.note", "copy.note", replacing="field.note")
        assert name == "copy.note"
        page = build_ui(service)
        upload = next(b for b in page.blocks.values() if getattr(b, "elem_id", None) == "upload")
        assert ".note" in upload.file_types and ".note" in upload.label
        service.close()
    assert ".note" not in LOADERS


def test_a_new_ranker_and_retriever_mode_reach_settings_cli_and_search(demo_settings: Settings, embedder) -> None:
    with pytest.raises(ConfigError, match="retriever must be one of dense, bm25, hybrid, not 'first'"):
        Settings(retriever="first")
    with (
        RANKERS.added(Entry("first", "tests.core.test_registry:FirstPassage")),
        RETRIEVERS.added(Entry("first", "", "the first passage", {"rankers": ("first", "bm25")})),
    ):
        settings = dataclasses.replace(demo_settings, retriever="first")
        _choices(["search", "--retriever", "first", "Sirte"])
        hits = Retriever(Index.open(settings.index), embedder, "first").search("Sirte")
        assert next(h for h in hits if h.record.id == 0).scores["first"] == 1.0  # the new ranker's own score
        assert all(set(h.scores) <= {"first", "bm25"} for h in hits)  # scores travel by ranker name
    with pytest.raises(SystemExit):
        _choices(["search", "--retriever", "first", "Sirte"])


def test_a_new_answerer_reaches_settings_cli_and_the_conversation(demo_settings: Settings, embedder) -> None:
    with pytest.raises(ConfigError, match="answerer must be one of reader, rules, llm, not 'firstwords'"):
        Settings(answerer="firstwords")
    with ANSWERERS.added(Entry("firstwords", "tests.core.test_registry:first_words", "first three words")):
        _choices(["ask", "--answerer", "firstwords", "How far is Abu Grain from Sirte?"])
        settings = dataclasses.replace(demo_settings, answerer="firstwords")
        conversation = load_answerer(settings, embedder)
        conversation.warm_up()  # the component contract: every part warms up, the new answerer too
        answer = conversation.ask("How far is Abu Grain from Sirte?")
        assert answer.citations and answer.short_answer == answer.citations[0].quote
        assert len(answer.short_answer.split()) == 3


def test_a_new_export_format_reaches_the_cli_render_and_the_page(demo_settings: Settings, embedder) -> None:
    answers = [{"question": "How far?", "answer": "140 kilometers", "citations": []}]
    with pytest.raises(ConfigError, match="export format must be one of md, csv, not 'txt'"):
        render(answers, "txt")
    with EXPORTERS.added(Entry("txt", "tests.core.test_registry:plain_text", "plain lines", {"label": "text"})):
        _choices(["export", "answers.jsonl", "--format", "txt"])
        assert render(answers, "txt") == "How far? -> 140 kilometers\n"
        service = Service(demo_settings, embedder, load_answerer(demo_settings, embedder))
        page = build_ui(service)
        ids = {getattr(b, "elem_id", None) for b in page.blocks.values()}
        assert {"download-md", "download-csv", "download-txt"} <= ids
        service.close()
