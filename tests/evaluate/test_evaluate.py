"""Metric functions on hand-checked examples, question-file errors, and ``askfront eval`` end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from askfront.core.errors import AskfrontError
from askfront.evaluate import question_files, scoring
from askfront.language import text
from tests.conftest import ROOT, SQUAD, askfront


def test_squad_normalisation_exact_match_and_f1() -> None:
    assert text.normalize("The  Italian Air-Force!") == "italian airforce"
    assert scoring.exact_match("the Italian Air Force", ["Italian Air Force"]) == 1.0
    assert scoring.exact_match("Italian Air Force pilots", ["Italian Air Force"]) == 0.0
    # 'seven members': overlap 1 token; precision 1/2, recall 1/1 -> F1 2/3
    assert scoring.f1("seven members", ["seven"]) == pytest.approx(2 / 3)
    # best over golds: 'about 85 miles' vs '85 miles' -> P 2/3, R 1 -> 0.8
    assert scoring.f1("about 85 miles", ["140 kilometers", "85 miles"]) == pytest.approx(0.8)
    assert scoring.f1("Rome", ["Tripoli"]) == 0.0
    assert scoring.contains_answer("flown to a military hospital in Rome.", ["Rome"])
    assert not scoring.contains_answer("Romeo was there", ["Rome"])  # whole words only


def test_percentile_is_nearest_rank() -> None:
    values = sorted([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0])
    assert scoring.percentile(values, 50) == 50.0
    assert scoring.percentile(values, 95) == 100.0
    assert scoring.percentile([], 50) is None


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
    questions = question_files.read_questions(path, errors)
    assert [q.answers for q in questions] == [("140 kilometers",), ()]
    assert [e.split(": skipped")[0] for e in errors] == [f"{path}:2", f"{path}:3"]
    with pytest.raises(AskfrontError, match=r"q.jsonl:2: skipped malformed question"):
        question_files.read_questions(path)


@pytest.mark.slow
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
    secrets = {"ASKFRONT_AUTH": "editor:s3cret-pass", "ASKFRONT_LLM_KEY": "sk-k3y-never-written"}
    done = askfront("eval", "q.jsonl", "--out", "out", "--no-progress", cwd=work, extra_env=secrets)
    assert done.returncode == 1, done.stderr  # a malformed line was skipped, so not a clean run
    written = " ".join(p.read_text(errors="replace") for p in (work / "out").iterdir())
    assert "s3cret" not in written and "k3y" not in written and "s3cret" not in done.stdout + done.stderr
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


@pytest.mark.slow
def test_squad_file_becomes_a_corpus_and_is_scored(tmp_path: Path) -> None:
    (tmp_path / "dev.json").write_text(json.dumps(SQUAD), encoding="utf-8")
    done = askfront("eval", "dev.json", "--out", "out", "--no-progress", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # the question without text was skipped, and said so
    assert "Port of Misrata paragraph 1: skipped malformed question" in done.stderr
    assert "4 questions (2 answerable, 2 not)" in done.stdout
    assert not (tmp_path / "index").exists()  # a temporary corpus and index, not the user's
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    by_id = {r["id"]: r for r in data["results"]}
    assert by_id["p1"]["predicted"] == "14" and by_id["p1"]["em"] == 1.0
    assert by_id["p2"]["em"] == 1.0, by_id["p2"]["predicted"]
    assert by_id["p1"]["citations"][0]["file"] == "Port-of-Misrata-000.txt"
    # neither paragraph states a tonnage or a passenger count: both named questions must be abstained on,
    # and the metrics say so (expected values, not recomputed from the results)
    assert by_id["p3"]["abstained"] and by_id["p4"]["abstained"]
    assert (data["metrics"]["abstention_recall"], data["metrics"]["abstention_precision"]) == (1.0, 1.0)
    assert data["metrics"]["exact_match"] == 1.0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| exact match | 1.000 |" in report and "## Failures (0 of 4)" in report
    assert (tmp_path / "out" / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_grid_compares_settings_in_one_table(demo_corpus: Path) -> None:
    work = demo_corpus.parent
    questions = ROOT / "eval" / "demo.jsonl"
    done = askfront(
        "eval", str(questions), "--grid", "retriever=dense,bm25", "--grid", "chunk_size=300,500", "--out", "out",
        "--no-progress", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = (work / "out" / "grid.md").read_text().splitlines()
    assert table[0].startswith("| retriever | chunk_size | exact match | F1 | retrieval recall@5 |")
    rows = [line.split(" | ") for line in table[2:]]
    assert [(r[0].strip("| "), r[1]) for r in rows] == [
        ("dense", "300"),
        ("dense", "500"),
        ("bm25", "300"),
        ("bm25", "500"),
    ]
    # every combination still answers the demo questions (EM 0.83-0.87, recall@5 0.97-1.0 measured) ...
    assert all(float(r[2]) >= 0.75 and float(r[4]) >= 0.9 for r in rows), table
    # ... and the settings really differ between rows: dense and BM25 rank the passages differently
    assert len({r[5] for r in rows}) > 1, table
    assert not (work / "index").exists()  # grid runs index into temporary folders


@pytest.mark.slow
def test_bad_grid_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "q.jsonl").write_text('{"question": "x?", "answers": []}\n')
    done = askfront("eval", "q.jsonl", "--grid", "colour=red", cwd=tmp_path)
    assert done.returncode == 2 and "--grid 'colour=red': use NAME=V1,V2" in done.stderr


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("deep.jsonl", "[" * 100_000 + "]" * 100_000, r"deep.jsonl:1: skipped malformed question \(nested too"),
        ("types.jsonl", '{"question": {"a": 1}, "answers": "x"}\n', "types.jsonl:1: skipped malformed question"),
        ("list.jsonl", "[1, 2]\n", "list.jsonl:1: skipped malformed question"),
        ("deep.json", '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}", r"not a SQuAD file \(nested too deeply\)"),
        ("nocontext.json", json.dumps({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}), "T paragraph 0"),
        ("qas.json", json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": "no"}]}]}), "paragraph 0: skipped"),
        ("data.json", json.dumps({"data": {"x": 1}}), r'not a SQuAD file \(TypeError: "data" is not a list'),
        ("article.json", json.dumps({"data": [5]}), "article 0: skipped"),
    ],
)
def test_malformed_question_files_are_one_line_each(tmp_path: Path, capsys, name: str, content: str, says: str) -> None:
    from askfront.cli import main as cli

    (tmp_path / name).write_text(content)
    code = cli.main(["eval", str(tmp_path / name), "--index", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert re.search(says, err), err
    assert all(len(line) < 400 for line in err.splitlines())


def test_a_question_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"question": "How far is Abu Grain from Sirte?", "answers": ["140 kilometers"]}\n')
    assert question_files.read_questions(path)[0].answers == ("140 kilometers",)
