"""The trained span reader: the training script end to end, the shipped weights and their checksum,
whole quantities, attribution, and reading-comprehension evaluation."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from askfront.answer.reader import decode as rdecode
from askfront.answer.reader import model as rmodel
from askfront.answer.reader import reader as rd
from askfront.index.embed import ModelError
from askfront.language import attribution, nlp, spans
from tests.conftest import ROOT, askfront

PARAGRAPHS = [
    ("The port of Misrata reopened on 3 June after repairs. Harbour master Salem Ounis said 14 cargo ships were "
     "waiting offshore and that the first would dock on Friday.",
     [("How many cargo ships were waiting?", "14"), ("Who is the harbour master?", "Salem Ounis"),
      ("When did the port reopen?", "3 June")]),
    ("Abu Grain is 140 kilometers from Sirte. Misrata forces retook the checkpoint on Friday; seven fighters were "
     "killed and 19 were wounded, a hospital spokesman said.",
     [("How far is Abu Grain from Sirte?", "140 kilometers"), ("How many fighters were wounded?", "19"),
      ("Who gave the figures?", "a hospital spokesman")]),
    ("The frigate Forbin joined Task Force 50 in March. Her commander, Capt. Christophe Cluzel, said the ship "
     "would stay in the Gulf until the summer.",
     [("Which task force did Forbin join?", "Task Force 50"), ("Until when will the ship stay?", "the summer")]),
]  # fmt: skip
UNANSWERABLE = ["How many tonnes of grain were unloaded?", "How old is Salem Ounis?", "Who commands Task Force 50?"]


def _tiny_squad(path: Path, impossible: bool = False) -> None:
    """A small SQuAD-format file the test writes itself (gzip for v1.1; plain JSON with unanswerable
    questions, "is_impossible", for v2.0), so the training tests need no data from outside the project."""
    paragraphs = []
    for i, (context, qas) in enumerate(PARAGRAPHS):
        rows = [
            {"id": f"q{i}-{j}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
            for j, (q, a) in enumerate(qas)
        ]
        if impossible:
            rows.append({"id": f"u{i}", "question": UNANSWERABLE[i], "answers": [], "is_impossible": True})
        paragraphs.append({"context": context, "qas": rows})
    data = {"version": "2.0" if impossible else "1.1", "data": [{"title": "Reports", "paragraphs": paragraphs}]}
    if impossible:
        path.write_text(json.dumps(data), encoding="utf-8")
        return
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(data, fh)


def _train(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "training" / "train_reader.py"), "--precision", "fp32", "--threads", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_training_script_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "tiny.json.gz"
    _tiny_squad(data)
    out = tmp_path / "run"
    common = ("--data", str(data), "--out", str(out), "--batch-size", "4", "--save-every", "1", "--log-every", "1")
    first = _train(*common, "--max-steps", "2")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "without answer" in first.stdout and "step 2/2" in first.stdout
    meta = json.loads((out / "reader" / "reader.json").read_text())
    weights = out / "reader" / meta["weights"]
    assert meta["sha256"] == rd.file_sha256(weights) and meta["trained"]["steps"] == 2
    assert weights.stat().st_size <= 30e6  # fp16, word embeddings left out

    again = _train(*common, "--max-steps", "3")  # the same run, taken further: it starts from its checkpoint
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed from" in again.stdout and "at step 2" in again.stdout and "step 3/3" in again.stdout

    model, meta = rmodel.load_model(out / "reader")
    assert meta["trained"]["steps"] == 3 and not model.training

    # a second pass starts from that reader, with swapped-name questions among the unanswerable ones
    second = _train(*common[:2], "--out", str(tmp_path / "run2"), *common[4:], "--max-steps", "1",
                    "--init", str(out / "reader"), "--neg-swap", "0.5", "--lr", "1e-5")  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    meta2 = json.loads((tmp_path / "run2" / "reader" / "reader.json").read_text())
    assert meta2["trained"]["init"]["sha256"] == meta["sha256"] and meta2["trained"]["neg_swap"] == 0.5

    # real unanswerable questions mixed in (SQuAD v2.0 format), each seen --mix-repeat times
    mix = tmp_path / "v2.json"
    _tiny_squad(mix, impossible=True)
    third = _train(*common[:2], "--out", str(tmp_path / "run3"), *common[4:], "--max-steps", "2",
                   "--init", str(out / "reader"), "--mix", str(mix), "--mix-repeat", "3", "--lr", "1e-5")  # fmt: skip
    assert third.returncode == 0, third.stderr[-2000:]
    meta3 = json.loads((tmp_path / "run3" / "reader" / "reader.json").read_text())["trained"]
    assert meta3["mix"] == "v2.json" and meta3["mix_pairs"] == 3 * (8 + 3)
    assert "step 2/2" in third.stdout
    tokenizer = rmodel.load_tokenizer()
    features = rdecode.tokenize(
        tokenizer, ["Where is it?"], ["The statue stands in front of the Main Building."], 64, 16
    )
    assert features.example == [0] and features.offsets[0][0] is None  # [CLS] is not passage text


def test_swapped_question_names_what_the_paragraph_does_not_hold() -> None:
    sys.path.insert(0, str(ROOT / "training"))
    import random

    import train_reader

    ctx = "Super Bowl 50 was won by the Denver Broncos, who beat the Carolina Panthers in 2016."
    pools = {"name": ["Broncos", "Packers", "Steelers"], "number": ["50", "37", "1999"]}
    rng = random.Random(3)
    question = "Which team won Super Bowl 50 for Denver?"
    seen = set()
    for _ in range(40):
        q = train_reader.swap_question(question, ctx, pools, rng)
        assert q is not None
        changed = [(a, b) for a, b in zip(question.split(), q.split(), strict=True) if a != b]
        assert len(changed) == 1 and changed[0][0] != "Which"  # one word, never the question word
        assert changed[0][1].strip("?") not in ctx  # swapped for one the paragraph does not hold
        seen.add(q)
    assert "Which team won Super Bowl 37 for Denver?" in seen  # numbers keep their digit count
    assert not any("1999" in q or "Broncos" in q for q in seen)
    assert train_reader.swap_question("what is it?", ctx, pools, rng) is None  # nothing to swap


def test_shipped_reader_is_small_fp16_and_recorded() -> None:
    from safetensors import safe_open

    meta = json.loads((rmodel.READER_DIR / rmodel.META_FILE).read_text())
    weights = rmodel.READER_DIR / meta["weights"]
    assert weights.stat().st_size <= 30e6
    assert rd.file_sha256(weights) == meta["sha256"]
    with safe_open(str(weights), "pt") as fh:
        names = list(fh.keys())
        assert rmodel.WORD_EMBEDDINGS not in names and "qa_outputs.weight" in names
        assert {str(fh.get_tensor(n).dtype) for n in names} == {"torch.float16"}
    card = (rmodel.READER_DIR / "MODEL_CARD.md").read_text()
    assert "CC BY-SA 4.0" in card and "all-MiniLM-L6-v2" in card and "train_reader.py" in card
    from askfront.answer.reader import verify

    path = rmodel.READER_DIR / verify.VERIFIER_FILE  # the verifier ships beside the weights, its sha256 recorded
    assert meta["verifier_sha256"] == rd.file_sha256(path)
    ver = verify.Verifier.load(path)
    assert set(ver.models) == set(verify.GROUPS) and "dev-calib" in ver.meta["fitted_on"]
    assert all(0 < m.threshold < 1 for m in ver.models.values())


@pytest.mark.slow
def test_damaged_reader_weights_are_refused_naming_the_file(tmp_path: Path, demo_settings) -> None:
    folder = tmp_path / "reader"
    shutil.copytree(rmodel.READER_DIR, folder)
    weights = folder / rmodel.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"reader\.safetensors: sha256 .* does not match"):
        rmodel.load_model(folder)

    work = demo_settings.index.parent
    done = askfront("ask", "--reader", str(folder), "How far is Abu Grain from Sirte?", cwd=work)
    assert done.returncode == 2, done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("askfront: error: ") and str(weights) in line and "does not match" in line


@pytest.mark.parametrize(
    ("text", "picked", "whole"),
    [
        ("Rebuilding will cost over 9 billion euros, the bank said.", "9 billion", "over 9 billion euros"),
        ("Rebuilding will cost over 9 billion euros, the bank said.", "billion", "over 9 billion euros"),
        ("It offers a reward of up to $5 million for information.", "5 million", "up to $5 million"),
        ("They retook more than 700 square miles of territory.", "700", "more than 700 square miles"),
        ("Abu Grain is 140 kilometers or about 85 miles from Sirte.", "140 kilometers",
         "140 kilometers or about 85 miles"),
        ("seven members of GNA forces were killed and 19 wounded", "seven", "seven"),
        ("The IS had taken the checkpoint back on May 5, advancing", "May 5", "May 5"),
        ("The Libyan National Army commanded by Khalifa Haftar", "Khalifa Haftar", "Khalifa Haftar"),
    ],
)  # fmt: skip
def test_answers_keep_whole_quantities(text: str, picked: str, whole: str) -> None:
    start = text.index(picked)
    a, b = spans.whole_quantity(text, start, start + len(picked))
    assert text[a:b] == whole


@pytest.mark.parametrize(
    ("sentence", "answer", "source"),
    [
        ("Da'esh claimed the attack, which killed more than 60 people in the market.", "more than 60", ""),
        ("A ministry spokesman said that seven soldiers were killed.", "seven", "according to A ministry spokesman"),
        ("Seven soldiers were killed, the ministry said.", "Seven", "according to the ministry"),
        ("The army denied that 40 civilians died.", "40", ""),
        ("Seven were killed and 19 wounded according to Aziz Issa, a spokesperson.", "19",
         "according to Aziz Issa, a spokesperson"),
    ],
)  # fmt: skip
def test_attribution_only_for_who_reports_the_figure(sentence: str, answer: str, source: str) -> None:

    doc = nlp.load_nlp()(sentence)
    start = sentence.index(answer)
    assert attribution.attribution(doc[:], start, start + len(answer)) == source


def test_reader_reads_the_answer_span_and_abstains_without_one(answerer) -> None:
    reader = answerer.answerer
    assert isinstance(reader, rd.ReaderAnswerer)
    passage = "The port of Misrata reopened on 3 June. Harbour master Salem Ounis said 14 cargo ships were waiting."
    found = reader.read(
        ["How many cargo ships were waiting?", "How many tonnes of grain did they carry?"], [passage] * 2
    )
    ships, grain = sorted(found, key=lambda g: g.example)
    assert passage[ships.start : ships.end] == "14" and ships.margin > reader.min_margin
    assert grain.margin < reader.min_margin


@pytest.mark.slow
def test_reading_mode_scores_each_question_on_its_own_report(tmp_path: Path) -> None:
    from tests.conftest import SQUAD

    (tmp_path / "dev.json").write_text(json.dumps(SQUAD), encoding="utf-8")
    done = askfront("eval", "dev.json", "--mode", "reading", "--out", "out", "--no-progress", cwd=tmp_path)
    assert "4 questions (2 answerable, 2 not)" in done.stdout, done.stderr
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    by_id = {r["id"]: r for r in data["results"]}
    assert by_id["p1"]["predicted"] == "14"
    # each question sees only its own paragraph: one passage, the whole report
    assert [r["file"] for r in by_id["p1"]["retrieved"]] == ["Port-of-Misrata-000.txt"]
    assert [r["file"] for r in by_id["p4"]["retrieved"]] == ["Port-of-Misrata-001.txt"]
    assert by_id["p3"]["abstained"]
    assert data["metrics"]["f1_all"] is not None


@pytest.mark.slow
def test_rule_answerer_stays_selectable(demo_settings) -> None:
    work = demo_settings.index.parent
    done = askfront("ask", "--answerer", "rules", "--json", "How far is Abu Grain from Sirte?", cwd=work)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["short_answer"] == "140 kilometers (about 85 miles)"
    bad = askfront("ask", "--answerer", "oracle", "x?", cwd=work)
    assert bad.returncode == 2 and "invalid choice: 'oracle'" in bad.stderr
