"""The answer checker (the second reader): constructed cases on the shipped weights, its training end to end
on data the test writes, and damaged or swapped model files refused with one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from askfront.answer.reader import check, verify
from askfront.answer.reader import model as rmodel
from askfront.answer.reader import reader as rd
from askfront.core.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]


def _decide(answerer, question: str, text: str) -> verify.Decision:
    reader: rd.ReaderAnswerer = answerer.answerer
    reader.warm_up()
    assert reader.checker is not None, "the shipped reader folder holds the answer checker"
    passage = rd.Passage(0, (0,), 0, text, "report.txt", 0, "Coalition update")
    found = reader.read_passages(question, [passage])
    return verify.decide(question, found, reader.verifier, reader.min_margin, checker=reader.checker)


def test_a_wounded_question_over_a_sentence_with_only_a_killed_figure_abstains(answerer) -> None:
    text = (
        "The bombing in Baghdad's Al-Sinek district on Saturday killed at least 28 people, police said. "
        "The Islamic State group claimed responsibility."
    )
    decision = _decide(answerer, "How many people were wounded in the Saturday bombing in Al-Sinek?", text)
    assert decision.chosen is None, decision.text


def test_a_population_question_never_answers_with_a_bare_count_of_towns(answerer) -> None:
    text = "Harran, one of three towns the army retook in the district on Sunday, lies near the border."
    decision = _decide(answerer, "What is the population of Harran?", text)
    assert decision.chosen is None or decision.text.lower() not in {"three", "one"}, decision.text


@pytest.mark.parametrize(("place", "part"), [("Syria", "23"), ("Iraq", "11")])
def test_a_sub_total_question_picks_the_part_not_the_total(answerer, place: str, part: str) -> None:
    text = (
        "Coalition forces conducted 34 strikes against ISIL on January 8: 23 strikes in Syria and 11 strikes in "
        "Iraq, the task force said."
    )
    decision = _decide(answerer, f"How many coalition strikes hit ISIL in {place} on January 8?", text)
    assert decision.text.startswith(part), decision.text
    total = _decide(answerer, "How many coalition strikes hit ISIL on January 8?", text)
    assert total.text.startswith("34"), total.text  # no part named: the total


def test_the_checker_reads_the_candidate_marked_in_its_sentence() -> None:
    sentence = "Abu Grain is 140 kilometers from Sirte, the militia said."
    start = sentence.index("140")
    text = check.marked(sentence, start, start + len("140 kilometers"), "Misrata militia")
    assert text == "Misrata militia | Abu Grain is « 140 kilometers » from Sirte, the militia said."
    long = "word " * 200 + "the answer " + "word " * 200
    cut = check.marked(long, long.index("answer"), long.index("answer") + 6)
    assert "« answer »" in cut and len(cut) < 2 * check.SIDE_CHARS + 20


SQUAD = {
    "data": [
        {
            "title": "Sirte",
            "paragraphs": [
                {
                    "context": "Abu Grain is 140 kilometers from Sirte. Militia fighters retook it on Friday after "
                    "a week of clashes in which seven fighters were killed and 19 were wounded.",
                    "qas": [
                        {"id": "q1", "question": "How far is Abu Grain from Sirte?",
                         "answers": [{"text": "140 kilometers", "answer_start": 13}]},
                        {"id": "q2", "question": "How many fighters were wounded?",
                         "answers": [{"text": "19", "answer_start": 141}]},
                        {"id": "q3", "question": "When did militia fighters retake Abu Grain?",
                         "answers": [{"text": "Friday", "answer_start": 70}]},
                    ],
                },
                {
                    "context": "The hospital in Misrata treated 50 patients on Sunday, a doctor said, and asked "
                    "for more blood donors.",
                    "qas": [
                        {"id": "q4", "question": "How many patients did the hospital in Misrata treat?",
                         "answers": [{"text": "50", "answer_start": 32}]},
                    ],
                },
            ],
        }
    ]
}  # fmt: skip


@pytest.mark.slow
def test_the_checker_trains_end_to_end_on_data_the_test_writes(tmp_path: Path) -> None:
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps(SQUAD))
    data = tmp_path / "data.jsonl"
    run = [sys.executable, str(ROOT / "training" / "check_data.py"), "--squad", str(squad), "--out", str(data),
           "--near", "1", "--other", "1", "--questions", "10"]  # fmt: skip
    subprocess.run(run, check=True, capture_output=True, text=True, timeout=300)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    questions = {q["question"] for p in SQUAD["data"][0]["paragraphs"] for q in p["qas"]}
    right = [r for r in rows if r["label"] == 1]
    # every question has a right candidate (the reader's or the gold one), marked in its sentence
    assert {r["question"] for r in right} == questions
    for r in right:
        gold = next(q["answers"][0]["text"] for p in SQUAD["data"][0]["paragraphs"] for q in p["qas"]
                    if q["question"] == r["question"])  # fmt: skip
        marked = r["text"].split("«", 1)[1].split("»", 1)[0].strip()
        assert gold in marked or marked in gold, r
    near = [r for r in rows if r["source"] == "near"]
    assert near and all(r["label"] == 0 and r["question"] not in questions for r in near)
    out = tmp_path / "run"
    train = [sys.executable, str(ROOT / "training" / "train_check.py"), "--data", str(data), "--out", str(out),
             "--max-steps", "2", "--batch-size", "4", "--save-every", "1"]  # fmt: skip
    done = subprocess.run(train, check=True, capture_output=True, text=True, timeout=300)
    assert "step 2/2" in done.stdout
    model, meta = check.load(out / "check")
    assert meta["trained"]["steps"] == 2 and meta["sha256"] == rd.file_sha256(out / "check" / check.CHECK_WEIGHTS)
    checker = check.Checker(model, meta)
    passage = rd.Passage(0, (0,), 0, SQUAD["data"][0]["paragraphs"][0]["context"], "r.txt", 0, "Sirte")
    candidates = [rd.Candidate(passage, 13, 27, 1.0), rd.Candidate(passage, 70, 76, 1.0)]
    logits = checker.logits("How far is Abu Grain from Sirte?", candidates)
    assert len(logits) == 2 and all(isinstance(x, float) for x in logits)


def test_shipped_checker_is_small_fp16_and_recorded() -> None:
    from safetensors import safe_open

    meta = json.loads((rmodel.READER_DIR / check.CHECK_META).read_text())
    weights = rmodel.READER_DIR / meta["weights"]
    assert weights.stat().st_size <= 30e6 and rd.file_sha256(weights) == meta["sha256"]
    with safe_open(str(weights), "pt") as fh:
        names = list(fh.keys())
        assert check.WORD_EMBEDDINGS not in names and "head.weight" in names
        assert {str(fh.get_tensor(n).dtype) for n in names} == {"torch.float16"}
    ver = verify.Verifier.load(rmodel.READER_DIR / verify.VERIFIER_FILE)
    assert ver.meta["checker"] is True and {"check", "check_gap"} & set(ver.features)


def test_damaged_checker_weights_are_refused_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "reader"
    shutil.copytree(rmodel.READER_DIR, folder)
    weights = folder / check.CHECK_WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"check\.safetensors: sha256 does not match") as err:
        check.load(folder)
    assert "\n" not in str(err.value)


def test_a_swapped_base_model_file_is_refused_with_one_line(tmp_path: Path, monkeypatch) -> None:
    from askfront.index.embed import default_model_path

    base = tmp_path / "base"
    shutil.copytree(default_model_path(), base)
    weights = base / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(check, "default_model_path", lambda: base)
    with pytest.raises(ModelError, match=r"model\.safetensors: sha256 .* does not match all-MiniLM-L6-v2") as err:
        check.load(rmodel.READER_DIR)
    assert "\n" not in str(err.value)


def test_a_verifier_fitted_with_the_checker_needs_it(tmp_path: Path, demo_settings) -> None:
    from askfront.index.store import Index

    folder = tmp_path / "reader"
    shutil.copytree(rmodel.READER_DIR, folder)
    (folder / check.CHECK_META).unlink()
    index = Index.open(demo_settings.index)
    try:
        with pytest.raises(ModelError, match=r"fitted with the answer checker"):
            rd.ReaderAnswerer(index, folder).model  # noqa: B018 - loading is the point
    finally:
        index.close()
