"""Metric functions on hand-checked examples, question-file errors, and ``askfront eval`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askfront import evaluate
from askfront.errors import AskfrontError

from .test_cli import askfront


def test_squad_normalisation_exact_match_and_f1() -> None:
    assert evaluate.normalize("The  Italian Air-Force!") == "italian airforce"
    assert evaluate.exact_match("the Italian Air Force", ["Italian Air Force"]) == 1.0
    assert evaluate.exact_match("Italian Air Force pilots", ["Italian Air Force"]) == 0.0
    # 'seven members': overlap 1 token; precision 1/2, recall 1/1 -> F1 2/3
    assert evaluate.f1("seven members", ["seven"]) == pytest.approx(2 / 3)
    # best over golds: 'about 85 miles' vs '85 miles' -> P 2/3, R 1 -> 0.8
    assert evaluate.f1("about 85 miles", ["140 kilometers", "85 miles"]) == pytest.approx(0.8)
    assert evaluate.f1("Rome", ["Tripoli"]) == 0.0
    assert evaluate.contains_answer("flown to a military hospital in Rome.", ["Rome"])
    assert not evaluate.contains_answer("Romeo was there", ["Rome"])  # whole words only


def test_percentile_is_nearest_rank() -> None:
    values = sorted([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0])
    assert evaluate.percentile(values, 50) == 50.0
    assert evaluate.percentile(values, 95) == 100.0
    assert evaluate.percentile([], 50) is None


def test_malformed_lines_are_named_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": "How far is Abu Grain from Sirte?", "answers": ["140 kilometers"]}\n'
        "{not json\n"
        '{"answers": ["x"]}\n'
        '{"question": "What is the population of Misrata?", "answers": []}\n',
        encoding="utf-8",
    )
    errors: list[str] = []
    questions = evaluate.read_questions(path, errors)
    assert [q.answers for q in questions] == [("140 kilometers",), ()]
    assert [e.split(": skipped")[0] for e in errors] == [f"{path}:2", f"{path}:3"]
    with pytest.raises(AskfrontError, match=r"q.jsonl:2: skipped malformed question"):
        evaluate.read_questions(path)


def test_eval_command_scores_and_writes_results(demo_corpus: Path) -> None:
    work = demo_corpus.parent
    (work / "q.jsonl").write_text(
        '{"id": "a", "question": "How far is Abu Grain from Sirte?", "answers": ["140 kilometers"], '
        '"source": "misrata-militia-gain-back-territory.txt"}\n'
        '{"id": "b", "question": "Who is the spokesperson for Misrata hospital?", "answers": ["Tripoli"]}\n'
        '{"id": "c", "question": "What is the population of Misrata?", "answers": []}\n'
        "[1, 2]\n",
        encoding="utf-8",
    )
    done = askfront("eval", "q.jsonl", "--out", "out", "--no-progress", cwd=work)
    assert done.returncode == 1, done.stderr  # a malformed line was skipped, so not a clean run
    assert "q.jsonl:4: skipped malformed question" in done.stderr
    assert "3 questions (2 answerable, 1 not)" in done.stdout
    data = json.loads((work / "out" / "results.json").read_text())
    by_id = {r["id"]: r for r in data["results"]}
    assert by_id["a"]["em"] == 0.0 and by_id["a"]["f1"] > 0  # '140 kilometers (about 85 miles)' vs '140 km'
    assert by_id["a"]["first_relevant"] == 1 and by_id["a"]["citation_precision"] == 1.0
    assert by_id["b"]["em"] == 0.0 and by_id["b"]["first_relevant"] is None  # no passage says 'Tripoli'
    assert by_id["c"]["abstained"] is True
    assert data["metrics"]["abstention_recall"] == 1.0
    assert data["metrics"]["recall@5"] == 0.5
