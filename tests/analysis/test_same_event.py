"""Every report compares figures of one event only: the same thing counted (killed is not "killed and
injured", aircraft are not strikes), at the same place and date as far as the cited sentences say; other
figures are listed apart, never called a conflict; a period is quoted whole. Real model, reader and index."""

from __future__ import annotations

import pytest

from askfront.analysis.every_report import every_report
from askfront.answer.registry import load_answerer
from askfront.core.config import Settings
from askfront.export.formats import figure_note
from askfront.index.build import build_index
from askfront.language.counts import counted

REPORTS = {
    "sirte.txt": "Clashes in Sirte\n\nSeven Libyan fighters were killed in clashes in Sirte on Tuesday, a militia "
    "spokesman said.\n",
    "fallujah.txt": "Convoy ambushed near Fallujah\n\nAt least 70 people were killed when a convoy was ambushed "
    "near Fallujah on Wednesday, officials said.\n",
    "ramadi.txt": "Bombing in Ramadi\n\nMore than 60 people were killed and injured in a bombing in Ramadi, the "
    "provincial council said.\n",
    "raqqah.txt": "Strikes on Raqqah\n\nThe coalition carried out 21 strikes near Raqqah since the start of the year, "
    "using 16 aircraft, the task force said.\n",
    "jets.txt": "Jets over Raqqah\n\nThe coalition sent 16 aircraft over Raqqah on Monday, the task force said.\n",
}


@pytest.fixture(scope="module")
def conversation(tmp_path_factory: pytest.TempPathFactory, embedder):
    root = tmp_path_factory.mktemp("events")
    (root / "corpus").mkdir()
    for name, text in REPORTS.items():
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    settings = Settings(corpus=root / "corpus", index=root / "index")
    assert build_index(settings, embedder, progress=False).ok
    return load_answerer(settings, embedder)


def test_killed_and_injured_is_its_own_count() -> None:
    sentence = REPORTS["ramadi.txt"].split("\n\n")[1]
    assert counted(sentence, 0, 12) == "casualties"
    assert counted("The coalition used 16 aircraft in the strikes.", 19, 21) == "aircraft"


def test_deaths_at_other_places_are_not_a_conflict(conversation) -> None:
    answer = every_report(conversation, "How many people were killed?")
    rows = {r["file"]: r for r in answer.reports}
    assert not any(r["conflicting"] for r in rows.values()), [(f, r["short_answer"]) for f, r in rows.items()]
    assert "disagree" not in answer.answer and not answer.notice
    if "ramadi.txt" in rows:  # "killed and injured" is not a count of the killed
        assert rows["ramadi.txt"]["other_thing"] == "casualties"
        assert figure_note(rows["ramadi.txt"]) == "counts casualties, not compared"
    # Sirte and Fallujah are named: two events, listed apart
    assert (rows["sirte.txt"]["places"], rows["fallujah.txt"]["places"]) == (["sirte"], ["fallujah"])
    assert figure_note(rows["sirte.txt"]) == "other event: sirte, not compared"
    assert "listed apart, not compared" in answer.answer


def test_aircraft_are_not_strikes_and_a_period_is_whole(conversation) -> None:
    answer = every_report(conversation, "How many strikes did the coalition carry out?")
    rows = {r["file"]: r for r in answer.reports}
    assert rows["raqqah.txt"]["short_answer"] == "21"
    assert rows["raqqah.txt"]["period"] == "since the start of the year"
    assert (rows["jets.txt"]["short_answer"], rows["jets.txt"]["other_thing"]) == ("16", "aircraft")
    assert figure_note(rows["jets.txt"]) == "counts aircraft, not compared" and not rows["jets.txt"]["conflicting"]
    for r in rows.values():
        if r["counts"] != "strikes":  # anything else the reader picked is listed apart
            assert r["other_thing"] and not r["conflicting"]
