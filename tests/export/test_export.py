"""Conversation exports (Markdown and CSV) from the answers the real reader gives, and `askfront export`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from askfront.core.errors import AskfrontError
from askfront.export import formats as export
from askfront.search.retrieve import Filters


def test_markdown_and_csv_of_a_conversation(answerer) -> None:
    first = answerer.ask("How far is Abu Grain from Sirte?").to_dict()
    second = answerer.ask("What is the population of Misrata?", filters=Filters(since="2016")).to_dict()
    text = export.markdown([first, second])
    assert text.startswith("# askfront conversation\n\n## 1. How far is Abu Grain from Sirte?\n\n**Answer:** 140 kilo")
    assert "misrata-militia-gain-back-territory.txt, characters 762-905, source: Blog post" in text
    assert "## 2. What is the population of Misrata?" in text and "Filters: dated 2016 to …" in text
    assert "(closest passage; does not answer)" in text
    rows = list(csv.DictReader(io.StringIO(export.to_csv([first, second]))))
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert (rows[0]["short_answer"], rows[0]["start"], rows[0]["end"]) == (
        "140 kilometers (about 85 miles)",
        "762",
        "905",
    )
    assert rows[0]["answers_question"] == "yes" and rows[0]["date"] == "2016-05"
    assert {r["answers_question"] for r in rows[1:]} == {"no"} and rows[1]["filters"] == "dated 2016 to …"
    assert export.dated_name("csv").startswith("askfront-conversation-") and export.dated_name("csv").endswith(".csv")


def test_exports_carry_how_sure_and_the_chats_verdict_on_each_passage(answerer) -> None:
    first = answerer.ask("How far is Abu Grain from Sirte?").to_dict()
    assert first["confidence"]
    text = export.markdown([first])
    assert f"*How sure: {first['confidence']}*" in text
    rows = list(csv.DictReader(io.StringIO(export.to_csv([first]))))
    assert rows[0]["how_sure"] == first["confidence"] and rows[0]["answers_question"] == "yes"
    # a near abstention says "a passage may answer it, check [1]": [1] is labelled so, the others do not answer
    flat = answerer.ask("What is the population of Misrata?").to_dict()
    assert flat["abstained"] and len(flat["closest"]) >= 2
    near = {**flat, "near": True}
    text = export.markdown([near])
    assert "(closest passage; it may answer: check it)" in text and "(closest passage; does not answer)" in text
    assert "How sure" not in text  # an abstention has no confidence to carry
    rows = list(csv.DictReader(io.StringIO(export.to_csv([near]))))
    assert [r["answers_question"] for r in rows][:2] == ["maybe", "no"] and rows[0]["how_sure"] == ""


def test_bad_answer_lines_are_named() -> None:
    with pytest.raises(AskfrontError, match=r"stdin:2: not a JSON answer"):
        export.read_answer_lines(None, '{"question": "q", "answer": "a"}\n{oops\n')
    with pytest.raises(AskfrontError, match=r"stdin:1: not an answer"):
        export.read_answer_lines(None, "[1, 2]\n")


@pytest.mark.slow
def test_export_command_writes_csv_from_ask_json_lines(demo_settings, tmp_path: Path) -> None:
    ask = subprocess.run(
        [sys.executable, "-m", "askfront", "ask", "--json", "--index", str(demo_settings.index),
         "How far is Abu Grain from Sirte?"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = tmp_path / "answers.jsonl"
    lines.write_text(ask.stdout)
    assert json.loads(ask.stdout)["short_answer"] == "140 kilometers (about 85 miles)"
    done = subprocess.run(
        [sys.executable, "-m", "askfront", "export", str(lines), "--format", "csv", "--out", str(tmp_path / "a.csv")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert rows[0]["report_title"] == "Misrata militia gain back territory from the Islamic State"
    assert rows[0]["quote"].startswith("Abu Grain is 140 kilometers")


def test_markdown_export_is_inert_in_a_commonmark_renderer() -> None:
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (a CommonMark renderer) comes with gradio")
    hostile = {
        "question": "What about <script>alert(1)</script>?",
        "answer": "<img src=x onerror=alert(1)> [click](javascript:alert(2)) ![x](http://127.0.0.1/p.png) [1]",
        "short_answer": "x", "abstained": False, "confidence": "one passage, *clear* match",
        "citations": [{"n": 1, "title": "<b onmouseover=alert(3)>T</b> [t](javascript:x)", "file": "a.txt",
                       "date": "2016", "source": "<iframe src=javascript:alert(4)>", "start": 0, "end": 5,
                       "quote": "`code` <svg onload=alert(5)> **bold**"}],
        "reports": [{"n": 1, "title": "<script>x</script> | cell", "date": "<u>d</u>", "short_answer": "<i>a</i>"}],
    }  # fmt: skip
    shown = markdown_it.MarkdownIt("commonmark").enable("table").render(export.markdown([hostile]))
    for element in ("<script", "<img", "<iframe", "<svg", "<b ", "<a ", "<code", "<u>", "<i>", "<em>clear"):
        assert element not in shown, element
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "[click](javascript:alert(2))" in shown
