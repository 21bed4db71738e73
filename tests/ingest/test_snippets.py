"""Exact-search snippets read as the report reads: no space is put before punctuation after a hit, and a
sentence holding several hits is shown once (the other hits are counted and marked in the whole report)."""

from __future__ import annotations

from pathlib import Path

from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.search.text import all_spans, search_reports

APOSTROPHE = "\u2019"  # the typographic apostrophe of "ISIL\u2019s"


def test_snippets_keep_the_report_spacing_and_show_a_sentence_once(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    repeated = f"ISIL fighters left ISIL positions after ISIL{APOSTROPHE}s commanders fled, ISIL said. "
    filler = "The convoy went on along the coast road to the port, where aid was unloaded for three days. " * 3
    (corpus / "a.txt").write_text(f"Update\n\n{repeated}{filler}Later ISIL (the group) regrouped.\n")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    index = Index.open(settings.index)
    try:
        [found] = search_reports(index, "ISIL")
        assert found.count == 5 and len(all_spans(index, "a.txt", "ISIL")) == 5
        shown = [f"{h.before}[{h.text}]{h.after}" for h in found.hits]
        assert len(shown) == 2  # the first sentence once, the later hit on its own
        assert shown[0].startswith(f"Update [ISIL] fighters left ISIL positions after ISIL{APOSTROPHE}s")
        assert shown[1].endswith("days. Later [ISIL] (the group) regrouped.")
        possessive = search_reports(index, "commanders")[0].hits[0]
        assert possessive.before.endswith(f"ISIL{APOSTROPHE}s ") and possessive.after.startswith(" fled,")
        fled = search_reports(index, "fled")[0].hits[0]
        assert fled.after.startswith(", ISIL said.")  # the comma right after the hit, as in the report
    finally:
        index.close()
