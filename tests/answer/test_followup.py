"""Follow-ups stay with the conversation (through the Python conversation API README documents): asked of
the reports the last answer came from unless they name something else; "he" is the person the last
answer was about; an elliptical follow-up keeps the last question's frame; "Who said that?" finds the
speaker who introduces a quote on the line before it."""

from __future__ import annotations

import shutil

import pytest

from askfront.answer.registry import load_answerer
from askfront.core.config import Settings
from askfront.index.build import build_index
from tests.conftest import DEMO, DEMO_META

REPORTS = {
    "baghdad.txt": "Bombings in Baghdad\n\nAt least 28 people were killed in the Saturday bombings in Baghdad's "
    "Al-Sinek district, police said. Another 54 people were wounded, a hospital official said. Islamic State "
    "claimed the attacks in a statement.\n",
    "sailor.txt": "U.S. sailor killed in Syria\n\nThe Department of Defense announced the death of a sailor who "
    "was supporting Operation Inherent Resolve. Chief Petty Officer Scott C. Dayton, 42, of Woodbridge, "
    "Virginia, died on Thanksgiving Day, November 24, near Ayn Issa, Syria, of wounds sustained when an "
    "improvised explosive device detonated.\n",
    "strikes.txt": "Military strikes continue against ISIL terrorists in Syria and Iraq\n\nOn January 8, U.S. and "
    "coalition military forces conducted 34 strikes against ISIL terrorists.\n\nStrikes in Syria\nIn Syria, "
    "coalition military forces conducted 23 strikes against ISIL targets near Raqqa.\n\nStrikes in Iraq\nIn "
    "Iraq, coalition military forces conducted 11 strikes against ISIL targets near Mosul.\n",
    "ellwood.txt": "UK statement on Daesh\n\nSpeaking after the meeting of the coalition in London, Foreign "
    'Office Minister Tobias Ellwood said:\n\n"Daesh has lost 40 percent of the territory it once held in Iraq, '
    'and its finances are under strain."\n',
}


@pytest.fixture(scope="module")
def conversation(tmp_path_factory: pytest.TempPathFactory, embedder):
    work = tmp_path_factory.mktemp("followup")
    corpus = work / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO, corpus)
    shutil.copy(DEMO_META, corpus)
    for name, text in REPORTS.items():
        (corpus / name).write_text(text)
    settings = Settings(corpus=corpus, index=work / "index")
    build_index(settings, embedder, progress=False)
    return load_answerer(settings, embedder)


def _pair(conversation, first: str, then: str):
    earlier = conversation.ask(first)
    return earlier, conversation.ask(then, history=[earlier])


def test_a_follow_up_is_asked_of_the_report_the_last_answer_came_from(conversation) -> None:
    earlier, wounded = _pair(
        conversation, "What was the death toll of the Saturday bombings in Baghdad's Al-Sinek district?",
        "And how many were wounded?",
    )  # fmt: skip
    assert earlier.short_answer == "At least 28 people" and earlier.citations[0].file == "baghdad.txt"
    assert wounded.short_answer == "54" and {c.file for c in wounded.citations} == {"baghdad.txt"}
    assert wounded.notice.startswith("Follow-up: asked of the report the last answer came from (Bombings in")
    alone = conversation.ask("And how many were wounded?")  # no conversation: every report
    assert not alone.notice.startswith("Follow-up")


def test_a_follow_up_naming_something_else_asks_every_report(conversation) -> None:
    _, elsewhere = _pair(
        conversation, "What was the death toll of the Saturday bombings in Baghdad's Al-Sinek district?",
        "And how far is Abu Grain from Sirte?",
    )  # fmt: skip
    assert elsewhere.short_answer.startswith("140 kilometers") and not elsewhere.notice.startswith("Follow-up")


def test_he_is_the_person_the_last_answer_was_about_never_a_place(conversation) -> None:
    earlier, origin = _pair(
        conversation, "How old was the sailor killed in Syria on Thanksgiving Day?", "Where was he from?"
    )
    assert earlier.short_answer == "42"
    assert origin.resolved_question == "Where was Scott C. Dayton from?" and "Syria" not in origin.resolved_question
    assert origin.short_answer == "Woodbridge, Virginia"


def test_an_elliptical_follow_up_keeps_the_last_questions_frame(conversation) -> None:
    _, iraq = _pair(conversation, "How many coalition strikes hit ISIL in Syria on January 8?", "And how many in Iraq?")
    assert iraq.resolved_question == "How many coalition strikes hit ISIL in Iraq on January 8?"
    assert iraq.short_answer in ("11", "")  # never the total of both countries


def test_who_said_that_finds_the_speaker_on_the_line_before_the_quote(conversation) -> None:
    earlier, who = _pair(conversation, "How much territory has Daesh lost in Iraq?", "Who said that?")
    assert earlier.short_answer == "40 percent" and not earlier.attribution
    assert who.short_answer == "Foreign Office Minister Tobias Ellwood" and who.citations == earlier.citations
