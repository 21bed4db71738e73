"""Agreement counts reports, not copies: a report saved twice or a wire story re-filed with its own
headline and footer is recognised at index time, listed as a copy, and counts once in "found in N
reports" and in the every-report view."""

from __future__ import annotations

import shutil
from pathlib import Path

from askfront.analysis.every_report import every_report
from askfront.answer.registry import load_answerer
from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.copies import find_copies
from askfront.index.store import Index
from tests.conftest import DEMO, DEMO_META

OTHER = (
    "Fighting near Sirte\n\nAbu Grain lies 140 kilometers from Sirte, a local commander told reporters on "
    "Tuesday, as forces loyal to the unity government prepared to push east along the coast road.\n"
)


def refiled(text: str) -> str:
    """The demo story as another outlet files it: own headline and footer, 'kilometres' spelt British."""
    body = text.split("\n", 1)[1].replace("kilometers", "kilometres")
    return "Libya: Misrata forces retake Abu Grain (wire)\n" + body + "\nReporting by our Tripoli desk.\n"


def test_copies_are_found_by_their_words_and_other_reports_are_not() -> None:
    story = DEMO.read_text()
    found = find_copies([("b.txt", story), ("a.txt", refiled(story)), ("c.txt", story), ("d.txt", OTHER)])
    assert found == {"b.txt": "a.txt", "c.txt": "a.txt"}
    assert find_copies([("x.txt", "Short note."), ("y.txt", "short NOTE"), ("z.txt", "Other note.")]) == {
        "y.txt": "x.txt"
    }


def test_a_copy_is_listed_and_counts_once(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO, corpus / "a-misrata.txt")
    shutil.copy(DEMO_META, corpus / "a-misrata.txt.meta.yaml")
    (corpus / "b-wire.txt").write_text(refiled(DEMO.read_text()))
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    index = Index.open(settings.index)
    try:
        assert index.manifest.copies == {"b-wire.txt": "a-misrata.txt"}
        assert {r.path: r.copy_of for r in index.reports()} == {"a-misrata.txt": "", "b-wire.txt": "a-misrata.txt"}
    finally:
        index.close()
    conversation = load_answerer(settings, embedder)
    answer = conversation.ask("How far is Abu Grain from Sirte?")
    assert answer.short_answer.startswith("140") and not answer.confidence.startswith("found in")
    table = every_report(conversation, "How far is Abu Grain from Sirte?")
    assert len(table.reports) == 1  # one row for the story, naming the copy it stands for
    assert {table.reports[0]["file"], *table.reports[0]["copies"]} == {"a-misrata.txt", "b-wire.txt"}
    assert table.answer.startswith("1 of 1 report answer")
    (corpus / "c-other.txt").write_text(OTHER)  # a separate report with the same figure: two reports agree
    build_index(settings, embedder, progress=False)
    conversation = load_answerer(settings, embedder)
    assert conversation.ask("How far is Abu Grain from Sirte?").confidence.startswith("found in 2 reports")
