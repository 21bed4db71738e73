"""Answer types, whole names, title lines and the answerability verifier, on constructed cases with the
real shipped reader."""

from __future__ import annotations

import numpy as np
import pytest

from askfront.answer.reader import kinds, verify
from askfront.answer.reader import reader as rd
from askfront.language import attribution, nlp, spans


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How old was Sgt. Cole when he died?", "age"),
        ("At what age did he enlist?", "age"),
        ("How many gas masks were delivered?", "quantity"),
        ("How much did the port cost?", "quantity"),
        ("How far is Abu Grain from Sirte?", "distance"),
        ("In what year was the treaty signed?", "year"),
        ("On what date did they sign?", "date"),
        ("When did the Islamic State take the checkpoint?", "time"),
        ("Who commands the Libyan National Army?", "entity"),
        ("Where were the wounded taken?", "entity"),
        ("What is the Misrata hospital running short of?", ""),
    ],
)
def test_question_asks_for_a_kind_of_answer(question: str, kind: str) -> None:
    assert kinds.expected_type(question) == kind


@pytest.mark.parametrize(
    ("kind", "span", "ok"),
    [
        ("age", "Jan. 7", False),
        ("age", "4 February 2015", False),
        ("age", "24", True),
        ("age", "24 years old", True),
        ("quantity", "more than 24,000", True),
        ("quantity", "seven", True),
        ("quantity", "Christophe Cluzel", False),
        ("quantity", "the 2nd Battalion", True),
        ("distance", "140 kilometers or about 85 miles", True),
        ("distance", "Sirte", False),
        ("distance", "as far as Ras Lanuf", True),
        ("distance", "no time to launch air attacks on Sirte", False),
        ("quantity", "no time", False),
        ("year", "1998", True),
        ("year", "the Normans", False),
        ("date", "Today", False),
        ("date", "Dec. 26, 2016", True),
        ("time", "the 10th century", True),
        ("time", "Robert Guiscard", False),
        ("entity", "1066", False),
        ("entity", "Khalifa Haftar", True),
    ],
)
def test_a_span_of_the_wrong_type_is_not_an_answer(kind: str, span: str, ok: bool) -> None:
    assert kinds.fits(kind, span) is ok


@pytest.mark.parametrize(
    ("text", "span", "whole"),
    [
        (
            "Soldiers of the 2nd Battalion, 5th Special Forces Group trained the unit.",
            "2nd Battalion",
            "2nd Battalion, 5th Special Forces Group",
        ),
        ("The frigate is commanded by Capt. Christophe Cluzel since May.", "Christophe", "Capt. Christophe Cluzel"),
        ("It was led by Lt. Col. Ahmed Hassan, a spokesman said.", "Ahmed Hassan", "Lt. Col. Ahmed Hassan"),
        ("Abu Grain is 140 kilometers from Sirte.", "140 kilometers", "140 kilometers"),
        ("Fighting in Sirte, Libya continued.", "Sirte", "Sirte"),
    ],
)
def test_a_span_inside_a_longer_name_gives_the_whole_name(text: str, span: str, whole: str) -> None:
    start = text.index(span)
    a, b = spans.whole_name(text, start, start + len(span))
    assert text[a:b] == whole


def _passage(text: str, title_end: int = 0) -> rd.Passage:
    return rd.Passage(0, (0,), 0, text, "report.txt", title_end)


def _decide(answerer, question: str, texts: list[str], title_end: int = 0) -> verify.Decision:
    reader: rd.ReaderAnswerer = answerer.answerer
    passages = [rd.Passage(i, (i,), 0, t, f"r{i}.txt", title_end) for i, t in enumerate(texts)]
    found = reader.read_passages(question, passages)
    return verify.decide(question, found, reader.verifier, reader.min_margin, checker=reader.checker)


DEATH = (
    "Sgt. Joshua Wheeler, of Roland, Oklahoma, died Jan. 7 in Kirkuk Province, Iraq, of wounds sustained when "
    "his unit was attacked. He was assigned to the 2nd Battalion, 5th Special Forces Group."
)


def test_an_age_question_over_a_passage_with_only_a_date_abstains(answerer) -> None:
    decision = _decide(answerer, "How old was Joshua Wheeler?", [DEATH])
    assert decision.chosen is None
    assert decision.text == "" or kinds.fits("age", decision.text)


def test_an_age_question_finds_the_age_when_the_passage_gives_it(answerer) -> None:
    text = DEATH.replace("Sgt. Joshua Wheeler, of Roland", "Sgt. Joshua Wheeler, 39, of Roland")
    decision = _decide(answerer, "How old was Joshua Wheeler?", [text])
    assert decision.text == "39"


def test_a_how_many_question_never_answers_with_a_name(answerer) -> None:
    text = "The shipment was received by Col. Mark Dorrian at the port of Umm Qasr, officials said."
    decision = _decide(answerer, "How many gas masks did Mark Dorrian receive?", [text])
    assert decision.chosen is None
    assert not decision.text or kinds.NUMBER.search(decision.text)


def test_the_unit_answer_is_the_whole_unit(answerer) -> None:
    decision = _decide(answerer, "Which unit was Joshua Wheeler assigned to?", [DEATH])
    assert decision.text == "2nd Battalion, 5th Special Forces Group"


def test_a_title_line_is_not_an_answer_span(answerer) -> None:
    title = "Immune_system"
    text = f"{title}\n\nThe immune system protects the body against disease with a network of cells."
    decision = _decide(answerer, "What protects the body against disease?", [text], title_end=len(title))
    assert decision.best is not None and decision.best.start >= len(title)
    assert decision.text != title


def test_agreeing_passages_are_counted_by_report(answerer) -> None:
    texts = [
        "Abu Grain is 140 kilometers from Sirte, the militia said.",
        "The checkpoint at Abu Grain, 140 kilometers from Sirte, was retaken on Friday.",
        "Misrata hospital is short of supplies.",
    ]
    decision = _decide(answerer, "How far is Abu Grain from Sirte?", texts)
    assert decision.text.startswith("140 kilometers") and decision.reports == 2
    assert verify.confidence_words(decision, None) == "found in 2 reports, weak match: check the quote"


def test_copies_of_a_report_count_once(answerer) -> None:
    story = "Abu Grain is 140 kilometers from Sirte, the militia said."
    decision = _decide(answerer, "How far is Abu Grain from Sirte?", [story, story, "Misrata is short of blood."])
    assert decision.text.startswith("140 kilometers") and decision.reports == 1
    other = "The checkpoint at Abu Grain, 140 kilometers from Sirte, was retaken on Friday."
    decision = _decide(answerer, "How far is Abu Grain from Sirte?", [story, story, other])
    assert decision.reports == 2


@pytest.mark.parametrize(
    ("probability", "words"),
    [(0.95, "one passage, clear match"), (0.9, "one passage, clear match"), (0.75, "one passage, likely match"),
     (0.3, "one passage, weak match: check the quote"), (None, "one passage, weak match: check the quote")],
)  # fmt: skip
def test_how_sure_is_the_band_of_the_verifiers_probability(probability, words: str) -> None:
    decision = verify.Decision("quantity", probability=probability, reports=1)
    assert verify.confidence_words(decision, None) == words
    ver = verify.Verifier({}, {"bands": [[0.5, "sure"], [0.0, "unsure"]]})
    assert verify.band(0.6, ver) == "sure" and verify.band(0.4, ver) == "unsure"


def test_verifier_fits_separable_evidence_and_round_trips(tmp_path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, len(verify.FEATURES)))
    y = (x[:, 0] - 0.5 * x[:, 3] > 0).astype(float)  # margin up, gap down
    model = verify.Logistic.fit(x, y)
    accuracy = float(((model.probabilities(x) >= 0.5) == (y == 1)).mean())
    assert accuracy > 0.9
    assert model.weights[0] > 0 > model.weights[3]
    only_margin = verify.Logistic.fit(x, y, used=["margin"])
    assert only_margin.weights[0] > 0 and not only_margin.weights[1:].any()
    model.threshold = 0.6
    ver = verify.Verifier({"one": model, "many": only_margin}, {"read_k": 10})
    path = tmp_path / verify.VERIFIER_FILE
    ver.save(path)
    back = verify.Verifier.load(path)
    assert back.models["one"].threshold == 0.6 and back.meta == {"read_k": 10}
    one = verify.Evidence(dict(zip(verify.FEATURES, x[0], strict=True)) | {"passages": np.log1p(1)})
    many = verify.Evidence(one.values | {"passages": np.log1p(10)})
    assert back.probability(one) == pytest.approx(float(model.probabilities(one.vector()[None, :])[0]))
    assert back.probability(many) == pytest.approx(float(only_margin.probabilities(many.vector()[None, :])[0]))


def test_a_damaged_verifier_file_is_one_line_naming_it(tmp_path) -> None:
    from askfront.core.errors import ModelError

    path = tmp_path / verify.VERIFIER_FILE
    path.write_text('{"features": ["margin"], "mean": [0]}')
    with pytest.raises(ModelError, match=str(path)):
        verify.Verifier.load(path)


@pytest.mark.parametrize(
    ("sentence", "answer", "source"),
    [
        ("According to the ministry, seven soldiers were killed.", "seven", "according to the ministry"),
        ("Seven soldiers were killed, according to U.S. officials.", "Seven", "according to U.S. officials"),
        ("Seven were killed according to Lt. Col. Ahmed Hassan.", "Seven", "according to Lt. Col. Ahmed Hassan"),
        ("Nineteen were wounded, according to the U.N.", "Nineteen", "according to the U.N."),
        ("The toll rose to 40, according to Dr. Aziz Issa, a hospital spokesman.", "40",
         "according to Dr. Aziz Issa, a hospital spokesman"),
        ("According to the ministry, seven soldiers were killed; 19 were wounded.", "19", "according to the ministry"),
    ],
)  # fmt: skip
def test_attribution_keeps_abbreviations_and_titles_whole(sentence: str, answer: str, source: str) -> None:

    doc = nlp.load_nlp()(sentence)
    start = sentence.index(answer)
    assert attribution.attribution(doc[:], start, start + len(answer)) == source


@pytest.mark.parametrize(
    "follow_up",
    [
        "Were there any civilian casualties?",
        "Is it true that Haftar commands the LNA?",
        "Was there fighting near Derna?",
    ],
)
def test_a_question_that_needs_no_earlier_answer_is_left_alone(answerer, follow_up: str) -> None:
    first = answerer.ask("How far is Abu Grain from Sirte?")
    resolved = answerer.resolve(follow_up, [first])
    assert resolved == follow_up


def test_a_follow_up_that_needs_the_earlier_answer_is_rewritten(answerer) -> None:
    first = answerer.ask("How far is Abu Grain from Sirte?")
    assert answerer.resolve("And how far is it from Misrata?", [first]) == "how far is Abu Grain from Misrata?"


def test_who_said_that_after_an_abstention_refers_to_the_last_answer_given(answerer) -> None:
    first = answerer.ask("How many GNA fighters were killed in recapturing Abu Grain?")
    assert not first.abstained
    nothing = answerer.ask("What is the population of Misrata?")
    who = answerer.ask("Who said that?", history=[first, nothing])
    assert "Aziz Issa" in who.short_answer and who.citations == first.citations


@pytest.mark.parametrize(
    ("question", "sentence", "figure", "ok"),
    [
        ("How many people were wounded in the bombing?", "The bombing killed at least 28 people, police said.",
         "at least 28", False),
        ("How many people were killed in the bombing?", "The bombing killed at least 28 people, police said.",
         "at least 28", True),
        ("How many were wounded?", "Seven fighters were killed and 19 wounded near Abu Grain.", "19", True),
        ("How many were wounded?", "Seven fighters were killed and 19 wounded near Abu Grain.", "Seven", False),
        ("What is the population of Harran?", "Harran, one of three towns the army retook, lies north.", "three",
         False),
        ("What is the population of Misrata?", "Misrata, a city of about 400,000 people, lies east.",
         "about 400,000", True),
        ("How many strikes hit Syria?", "The coalition conducted 34 strikes: 23 in Syria and 11 in Iraq.", "23", True),
        ("How many gas masks arrived?", "The army killed 3 fighters; 100 gas masks arrived.", "100", True),
    ],
)  # fmt: skip
def test_a_figure_must_count_what_the_question_asks(question: str, sentence: str, figure: str, ok: bool) -> None:
    start = sentence.index(figure)
    kind = kinds.expected_type(question)
    assert kind == "quantity"
    assert kinds.counts_fit(question, kind, sentence, start, start + len(figure)) is ok
