"""What a journalist reads is what the report says: characters that change the display without being
seen are removed when a report is read, and every later stage (answers, quotes, titles, search, names)
works on that text with offsets that point into it."""

from __future__ import annotations

from pathlib import Path

from askfront.core.config import Settings
from askfront.core.visible import visible, visible_with_offsets
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.search.text import search_reports

RLO, PDF, SHY, ZWSP, CSI = "\u202e", "\u202c", "\u00ad", "\u200b", "\u009b"


def test_offsets_move_with_the_removed_characters() -> None:
    text = f"Page one{SHY}.\n\nPage{ZWSP} two says {RLO}19{PDF}."
    clean, pages = visible_with_offsets(text, [0, text.index("Page", 5)])
    assert clean == "Page one.\n\nPage two says 19." and clean[pages[1] :].startswith("Page two")
    assert visible("a\u2028b\x07c\x85d") == "a\nbcd"


def test_hidden_characters_never_reach_answers_search_or_titles(tmp_path: Path, embedder) -> None:
    from askfront.answer.registry import load_answerer

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        f"Convoy hit near Sirte{CSI}\n\nField Marshal Haf{SHY}tar said the convoy lost {RLO}19{PDF} trucks "
        "on the coast road on Monday.\n"
    )
    (corpus / "b.txt").write_text(f"Second report\n\nThe forces of Khalifa Haf{ZWSP}tar took the port on Friday.\n")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    said: list[str] = []
    build_index(settings, embedder, log=said.append, progress=False)
    assert any("a.txt: 4 invisible characters removed" in line for line in said if "warning" in line)
    index = Index.open(settings.index)
    try:
        stored = index.document("a.txt")
        assert stored.title == "Convoy hit near Sirte" and "Haftar said the convoy lost 19 trucks" in stored.text
        found = {m.path for m in search_reports(index, "Haftar")}  # exact search sees the name in both
        assert found == {"a.txt", "b.txt"}
    finally:
        index.close()
    answer = load_answerer(settings, embedder).ask("How many trucks did the convoy lose?")
    assert answer.short_answer == "19", answer.answer
    c = answer.citations[0]
    assert c.quote == stored.text[c.start : c.end] and not any(ch in c.quote for ch in RLO + PDF + SHY)


def test_a_file_name_with_hidden_characters_is_printed_escaped() -> None:
    from askfront.core.errors import shown

    assert shown(f"report-{RLO}fdp.exe.txt{CSI}") == "report-\\u202efdp.exe.txt\\x9b"
