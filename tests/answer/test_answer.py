"""Extractive answers on the demo report: short spans, exact citations, attribution, abstention, follow-ups."""

from __future__ import annotations

import json

import pytest

from askfront.answer.conversation import NEAR_TEXT, Conversation
from askfront.answer.reader import verify
from askfront.evaluate import question_files, scoring
from askfront.search.retrieve import Filters
from tests.conftest import DEMO, ROOT, askfront

REPORT = DEMO.read_text(encoding="utf-8")


def test_distance_answer_cites_the_exact_sentence(answerer: Conversation) -> None:
    answer = answerer.ask("How far is Abu Grain from Sirte?")
    assert not answer.abstained
    assert answer.short_answer == "140 kilometers (about 85 miles)"
    assert answer.answer.startswith("140 kilometers (about 85 miles)") and answer.answer.endswith("[1]")
    [citation] = answer.citations
    assert citation.file == DEMO.name
    assert citation.title == "Misrata militia gain back territory from the Islamic State"
    # the span points at the very sentence quoted, and the answer span at the words answered
    assert REPORT[citation.start : citation.end].startswith("Abu Grain is 140 kilometers")
    assert " ".join(REPORT[citation.start : citation.end].split()) == citation.quote
    assert REPORT[citation.answer_start : citation.answer_end] == "140 kilometers or about 85 miles"
    assert citation.passage_start <= citation.start < citation.end <= citation.passage_end + 300


def test_figures_carry_who_claims_them(answerer: Conversation) -> None:
    answer = answerer.ask("How many GNA fighters were killed in recapturing Abu Grain?")
    assert answer.short_answer == "seven"
    assert answer.attribution == "according to Aziz Issa, a spokesperson for Misrata hospital"
    assert answer.answer == "seven, according to Aziz Issa, a spokesperson for Misrata hospital [1]"
    assert "19 wounded" in answer.citations[0].quote


def test_no_invented_answer_when_the_reports_do_not_say(answerer: Conversation) -> None:
    for question in ("What is the population of Misrata?", "Who leads the Islamic State in Sirte?"):
        answer = answerer.ask(question)
        assert answer.abstained, (question, answer.short_answer)
        assert answer.short_answer == "" and not answer.citations
        assert answer.answer.startswith(("The reports don't say.", NEAR_TEXT))
        assert answer.closest and all(c.file == DEMO.name for c in answer.closest)


def test_follow_up_questions_use_the_conversation(answerer: Conversation) -> None:
    first = answerer.ask("How far is Abu Grain from Sirte?")
    follow = answerer.ask("And how far is it from Misrata?", history=[first])
    assert follow.resolved_question == "how far is Abu Grain from Misrata?"
    own = answerer.ask("How many members of GNA forces were killed when they recaptured Abu Grain?", history=[first])
    assert own.resolved_question == own.question  # 'they' refers inside the question, not to Abu Grain

    killed = answerer.ask("How many GNA fighters were killed in recapturing Abu Grain?")
    who = answerer.ask("Who said that?", history=[first, killed])
    assert who.short_answer == "Aziz Issa, a spokesperson for Misrata hospital"
    assert who.citations == killed.citations

    unsourced = answerer.ask("Who said that?", history=[first])
    assert unsourced.short_answer == "" and "without naming a source" in unsourced.answer


def test_follow_up_without_a_figure_abstains(answerer: Conversation) -> None:
    # The first-pass reader gave the Sirte distance here (margin 9.6); the second pass, trained also on
    # questions with a name swapped for one the passage lacks, abstains (margin about -2.7).
    first = answerer.ask("How far is Abu Grain from Sirte?")
    follow = answerer.ask("And how far is it from Misrata?", history=[first])
    assert follow.resolved_question == "how far is Abu Grain from Misrata?"
    assert follow.abstained  # the report only says 'south of Misrata': no distance is given


def test_follow_up_without_a_figure_abstains_with_the_rules(rules: Conversation) -> None:
    first = rules.ask("How far is Abu Grain from Sirte?")
    follow = rules.ask("And how far is it from Misrata?", history=[first])
    assert follow.resolved_question == "how far is Abu Grain from Misrata?" and follow.abstained


def test_filters_reach_the_answerer(answerer: Conversation) -> None:
    none = answerer.ask("How far is Abu Grain from Sirte?", filters=Filters(since="2020"))
    assert none.abstained and not none.closest
    dated = answerer.ask("How far is Abu Grain from Sirte?", filters=Filters(until="2016-05-31"))
    assert dated.short_answer == "140 kilometers (about 85 miles)"


# Named questions of eval/demo.jsonl and what the shipped reader must do with them (measured with the answer
# checker and its verifier, benchmarks/RESULTS.md). The rest are known misses, listed in README "Accuracy".
DEMO_ANSWERED = (
    "demo-01", "demo-02", "demo-03", "demo-04", "demo-05", "demo-06", "demo-07", "demo-08", "demo-09", "demo-10",
    "demo-11", "demo-12", "demo-13", "demo-14", "demo-16", "demo-17", "demo-18", "demo-19", "demo-21", "demo-22",
    "demo-23", "demo-25", "demo-26", "demo-27", "demo-29",
)  # fmt: skip
DEMO_ABSTAINED = ("demo-un-01", "demo-un-03", "demo-un-04", "demo-un-05", "demo-un-06", "demo-un-07", "demo-un-08",
                  "demo-un-09", "demo-un-10")  # fmt: skip


def test_a_sample_of_the_demo_questions_answered_and_abstained_by_name(answerer: Conversation) -> None:
    """Every third named demo question (the fast tier's share of the test below)."""
    questions = {q.id: q for q in question_files.read_questions(ROOT / "eval" / "demo.jsonl")}
    for i in DEMO_ANSWERED[::3]:
        result = scoring.score(questions[i], answerer.ask(questions[i].question), [])
        assert result.em == 1.0, (i, questions[i].answers[0], result.predicted)
    for i in DEMO_ABSTAINED[::3]:
        assert answerer.ask(questions[i].question).abstained, i


@pytest.mark.slow  # all 40 questions: seconds
def test_demo_questions_answered_and_abstained_by_name(answerer: Conversation) -> None:
    """Each named demo question gets a gold answer (exact match) or an abstention; over the whole file
    exact match stays at least 0.78 (measured 0.833: two more misses than today fail it)."""
    questions = {q.id: q for q in question_files.read_questions(ROOT / "eval" / "demo.jsonl")}
    results = {q.id: scoring.score(q, answerer.ask(q.question), []) for q in questions.values()}
    wrong = [(i, questions[i].answers[0], results[i].predicted) for i in DEMO_ANSWERED if results[i].em != 1.0]
    assert not wrong, wrong
    answered = [(i, results[i].predicted) for i in DEMO_ABSTAINED if not results[i].abstained]
    assert not answered, answered
    answerable = [r for r in results.values() if r.answerable]
    assert sum(r.em for r in answerable) / len(answerable) >= 0.78


@pytest.mark.slow
def test_demo_question_file_with_the_rules(rules: Conversation) -> None:
    """The rule answerer, calibrated on this very file, answers 27 of 30 and abstains on all 10 (measured);
    kept for comparison, so it is checked with a margin: at least 25 and 9."""
    questions = question_files.read_questions(ROOT / "eval" / "demo.jsonl")
    results = [scoring.score(q, rules.ask(q.question), []) for q in questions]
    assert sum(r.em for r in results if r.answerable) >= 25
    assert sum(r.abstained for r in results if not r.answerable) >= 9


@pytest.mark.slow
def test_ask_json_is_one_object(demo_settings) -> None:
    work = demo_settings.index.parent
    done = askfront("ask", "--json", "How far is Abu Grain from Sirte?", cwd=work)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.strip().splitlines()
    data = json.loads(line)
    assert data["short_answer"] == "140 kilometers (about 85 miles)" and data["abstained"] is False
    assert "140 kilometers (about 85 miles)" in data["answer"]
    citation = data["citations"][0]
    assert {"file", "title", "start", "end", "quote"} <= set(citation)
    assert REPORT[citation["start"] : citation["end"]].startswith("Abu Grain is 140")

    text = askfront("ask", "What is the population of Misrata?", cwd=work)
    assert text.returncode == 0 and text.stdout.startswith("The reports don't say.")
    assert "[1] Misrata militia gain back territory" in text.stdout  # the closest passages, labelled
    missing = askfront("ask", "--index", "nowhere", "Anything?", cwd=work)
    assert missing.returncode == 2 and "no index yet" in missing.stderr and "Traceback" not in missing.stderr


def test_an_abstention_says_when_a_passage_nearly_answered(answerer: Conversation) -> None:
    from askfront.app.render import answer_markdown

    near = answerer.ask("How many civilians were killed in Derna?")  # 'seven' killed: scored close, not enough
    assert near.abstained and near.answer == NEAR_TEXT and near.closest
    assert 'href="#cite-0-1"' in answer_markdown(near)  # [1] opens the passage that nearly answered
    flat = answerer.ask("How many refugees have fled Sirte?")
    assert flat.abstained and flat.answer.startswith("The reports don't say.")
    shown = answer_markdown(flat)
    assert shown.count("closest passages") == 1  # one line, not two


def test_an_answer_says_how_sure_askfront_is(answerer: Conversation) -> None:
    answer = answerer.ask("Whose former home town is Sirte?")
    assert answer.short_answer == "Gadaffi"
    assert 0.0 <= answer.score <= 1.0  # the verifier's probability, put in words by its band
    word = next(w for f, w in verify.BANDS if answer.score >= f)
    assert answer.confidence == f"one passage, {word}"
