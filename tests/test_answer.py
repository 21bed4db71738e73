"""Extractive answers on the demo report: short spans, exact citations, attribution, abstention, follow-ups."""

from __future__ import annotations

import json

import pytest

from askfront import evaluate
from askfront.answer import Conversation
from askfront.retrieve import Filters

from .conftest import DEMO, ROOT
from .test_cli import askfront

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
        assert answer.answer.startswith("The reports don't say.")
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


def test_demo_question_file_accuracy(answerer: Conversation, rules: Conversation) -> None:
    """The shipped question file, as a regression guard at the level measured (README "Accuracy"): the
    reader gives 23 of 30 exact answers (0.767; the 0.90 goal is not met), abstains on 1 answerable
    question (margin 2.9, under the 3.25 calibrated on SQuAD) and on 9 of 10 unanswerable ones; the rule
    answerer, calibrated on this very file, keeps its 0.90 and abstains on all 10."""
    questions = evaluate.read_questions(ROOT / "eval" / "demo.jsonl")
    assert sum(bool(q.answers) for q in questions) >= 25 and sum(not q.answers for q in questions) >= 8
    metrics = evaluate.summarize(evaluate.run(answerer, questions))
    assert metrics["exact_match"] >= 0.75 and metrics["f1"] >= 0.83, metrics
    assert metrics["abstention_precision"] >= 0.9 and metrics["abstention_recall"] >= 0.9, metrics
    assert metrics["recall@5"] == 1.0, metrics
    by_rules = evaluate.summarize(evaluate.run(rules, questions))
    assert by_rules["exact_match"] >= 0.9 and by_rules["abstention_recall"] == 1.0, by_rules


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
