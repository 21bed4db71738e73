"""Arabic reports: exact search and keyword ranking see through diacritics, tatweel and the common
alef/ya/ta-marbuta spellings; a question in Arabic finds the Arabic passage holding its words (by BM25:
the English embedding model is left out of the fusion for it) and is told plainly that no answer span is
picked. Real index, real model."""

from __future__ import annotations

import pytest

from askfront.answer.conversation import ARABIC_TEXT, verdict
from askfront.core.arabic import fold_arabic, is_arabic
from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.search.text import search_reports

# "The council said that 35 families returned to the old city in Derna on Sunday." (with vowel marks)
BAYAN = "بيان المجلس\n\nقالَ المَجْلِسُ إنَّ 35 عائلةً عادَتْ إلى المدينةِ القديمةِ في درنة يومَ الأحد.\n"
# "The port of Tobruk received 14 tankers in August."
TOBRUK = "ميناء طبرق\n\nاستقبل ميناء طبرق 14 ناقلة نفط في شهر أغسطس.\n"


@pytest.fixture(scope="module")
def arabic(tmp_path_factory, embedder) -> Settings:
    root = tmp_path_factory.mktemp("arabic")
    (root / "corpus").mkdir()
    (root / "corpus" / "bayan.txt").write_text(BAYAN, encoding="utf-8")
    (root / "corpus" / "tobruk.txt").write_text(TOBRUK, encoding="utf-8")
    (root / "corpus" / "english.txt").write_text("Ferry\n\nA ferry reached Valletta with 212 people.\n")
    settings = Settings(corpus=root / "corpus", index=root / "index")
    assert build_index(settings, embedder, progress=False).ok
    return settings


def test_folding_sees_through_marks_and_spelling_variants() -> None:
    assert fold_arabic("المدينةِ") == fold_arabic("المدينه") == fold_arabic("المديـــنة")
    assert fold_arabic("إلى") == fold_arabic("الي") and fold_arabic("أحمد") == fold_arabic("احمد")
    assert is_arabic("كم عائلة عادت؟") and not is_arabic("How many families (عائلة) returned?")


@pytest.mark.slow  # a real index and reader: seconds
def test_exact_search_finds_arabic_written_either_way(arabic: Settings) -> None:
    index = Index.open(arabic.index)
    try:
        for query in ("المدينه القديمه", "المدينة القديمة", "إلي المدينة"):  # ta marbuta / ha, alef maqsura / ya
            [found] = search_reports(index, f'"{query}"')
            assert found.path == "bayan.txt", query
            text = index.document("bayan.txt").text
            assert fold_arabic(text[found.hits[0].start : found.hits[0].end]) == fold_arabic(
                query.replace("إلي", "إلى")
            )
    finally:
        index.close()


@pytest.mark.slow  # a real index and reader: seconds
def test_an_arabic_question_finds_its_passage_and_says_no_span_is_picked(arabic: Settings, embedder) -> None:
    from askfront.answer.registry import load_answerer

    conversation = load_answerer(arabic, embedder)
    try:
        answer = conversation.ask("كم عائلة عادت إلى المدينة القديمة في درنة؟")  # how many families returned…
        assert answer.abstained and answer.answer == ARABIC_TEXT and "reader is English" in answer.notice
        assert answer.closest[0].file == "bayan.txt"  # the passage with its words, first
        assert verdict(answer.to_dict(), 1) == "may answer"  # not labelled "does not answer"
        hits = conversation.retriever.search("كم ناقلة استقبل ميناء طبرق؟")
        assert hits[0].record.path == "tobruk.txt" and set(hits[0].scores) == {"bm25"}
        english = conversation.ask("How many people did the ferry bring to Valletta?")
        assert english.short_answer == "212"  # English questions are read as before
    finally:
        conversation.retriever.index.close()


@pytest.mark.slow  # a real index and reader: seconds
def test_the_markdown_export_sets_an_arabic_quote_right_to_left(arabic: Settings, embedder) -> None:
    from askfront.answer.registry import load_answerer
    from askfront.export.formats import markdown

    conversation = load_answerer(arabic, embedder)
    try:
        answer = conversation.ask("كم عائلة عادت إلى المدينة القديمة في درنة؟")
    finally:
        conversation.retriever.index.close()
    exported = markdown([answer.to_dict()])
    quote = next(line for line in exported.splitlines() if line.startswith("> "))
    assert quote.startswith("> \u200f") and "عائلة" in quote  # a paragraph of its own, opened right to left
    assert "(closest passage; it may answer: check it)" in exported
