"""Hostile and unlucky input replayed: each probe that once broke a build or the app, on real parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from askfront.core.config import Settings
from askfront.core.types import Document
from askfront.index import annotate
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.language import names, nlp


def test_a_report_longer_than_spacy_takes_is_read_in_pieces(monkeypatch) -> None:
    ner = nlp.load_ner()
    monkeypatch.setattr(ner, "max_length", 5_000)  # spaCy's limit, scaled down with the piece size
    monkeypatch.setattr(annotate, "PIECE_CHARS", 2_000)
    filler = "The convoy moved slowly along the coast road in the heat. " * 40
    text = f"{filler}\n\nGeneral Khalifa Haftar visited Benghazi on 5 May 2016.\n\n{filler}" * 3
    assert len(text) > ner.max_length
    [found] = annotate.extract([Document("long.txt", "Long", text, date="2016-05")])
    assert not isinstance(found, str), found
    mentions, dated = found
    assert sum(m.text == "Khalifa Haftar" for m in mentions) == 3
    assert all(text[m.start : m.end] == m.text for m in mentions)  # offsets are the whole report's
    assert [d.iso for d in dated] == ["2016-05-05"] * 3
    assert all(text[d.start : d.end] == d.date_text for d in dated)


def test_pieces_cover_the_text_and_cut_at_paragraphs() -> None:
    text = ("word " * 30 + "\n\n") * 50
    parts = annotate.pieces(text, 400)
    assert "".join(p for _, p in parts) == text
    assert all(len(p) <= 400 for _, p in parts)
    assert all(p.endswith("\n") for _, p in parts[:-1])
    assert [o for o, _ in parts] == [sum(len(p) for _, p in parts[:i]) for i in range(len(parts))]


def test_a_failure_finding_names_is_that_reports_line_and_the_rest_is_indexed(
    tmp_path: Path, embedder, monkeypatch, capsys
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Misrata forces retook Abu Grain on Friday, a spokesman said.\n")
    (corpus / "bad.txt").write_text("POISON Haftar's forces shelled Derna overnight.\n")
    real = annotate._found

    def found(parsed, text, date):
        if text.startswith("POISON"):
            raise ValueError("[E088] Text of length 1200040 exceeds maximum of 1000000")
        return real(parsed, text, date)

    monkeypatch.setattr(annotate, "_found", found)  # a spaCy failure on one report, as the probe hit
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    lines: list[str] = []
    report = build_index(settings, embedder, progress=False, log=lines.append)
    assert report.written
    assert any("bad.txt" in line and "E088" in line for line in lines), lines
    assert not any("good.txt" in line for line in lines)
    index = Index.open(settings.index)
    try:
        assert {p for p, _t, _d in index.documents()} == {"good.txt", "bad.txt"}
        assert "Abu Grain" in index.document("good.txt").text
    finally:
        index.close()


@pytest.mark.parametrize("length", [2_001, 50_000])
def test_an_overlong_question_is_refused_with_one_line(answerer, length: int) -> None:
    from askfront.core.errors import AskfrontError

    with pytest.raises(AskfrontError, match="at most 2,000 characters"):
        answerer.ask("How far? " * (length // 9 + 1))


BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
)


def test_an_alias_bomb_in_aliases_yaml_is_refused_at_once(tmp_path: Path) -> None:
    from askfront.core.errors import ConfigError

    (tmp_path / names.ALIASES_FILE).write_text(BOMB + "d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" * 5)
    with pytest.raises(ConfigError, match="anchors and aliases"):
        names.load_aliases(tmp_path)


def test_aliases_are_read_once_per_change(tmp_path: Path) -> None:
    path = tmp_path / names.ALIASES_FILE
    path.write_text("- Wagner, Wagner Group, PMC Wagner\n")
    names._aliases.cache_clear()
    builtin = names.load_aliases(tmp_path / "nowhere")  # no file: the built-in aliases alone
    assert dict(names.load_aliases(tmp_path)) == {**builtin, "wagner group": "wagner", "pmc wagner": "wagner"}
    names.load_aliases(tmp_path)
    assert names._aliases.cache_info().hits == 1
    path.write_text("- Africa Corps, Wagner\n")
    assert names.load_aliases(tmp_path)["wagner"] == "africa corps"
    (tmp_path / "big.yaml").write_text("- x\n" * 20_000)
    path.unlink()
    path.symlink_to(tmp_path / "big.yaml")
    assert names.load_aliases(tmp_path) == builtin  # a link is not followed, as for reports


@pytest.fixture
def built(tmp_path: Path, embedder) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Misrata forces retook Abu Grain on Friday; seven fighters were killed.\n")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    return settings


@pytest.mark.parametrize(
    "change",
    [
        {"checksums": []},
        {"files": ["x"]},
        {"chunks": "1"},
        {"checksums": {"chunks.sqlite": {"sha256": 1, "bytes": 2}}},
        {"surprise": 1},
    ],
)
def test_a_manifest_with_fields_of_the_wrong_type_is_the_damaged_index_line(built: Settings, embedder, change) -> None:
    import json

    from askfront.core.errors import BadIndexError
    from askfront.index.store import MANIFEST_SEAL, live_version

    folder = live_version(built.index)
    path = folder / "manifest.json"
    raw = {**json.loads(path.read_text()), **change}
    path.write_text(json.dumps(raw))
    with pytest.raises(BadIndexError, match="damaged"):
        Index.open(built.index)  # the seal no longer matches
    (folder / MANIFEST_SEAL).unlink()
    with pytest.raises(BadIndexError, match="damaged"):
        Index.open(built.index)  # and without the seal, the schema check
    report = build_index(built, embedder, progress=False, log=lambda line: None)
    assert report.written  # askfront index repairs it
    Index.open(built.index).close()


def test_a_null_read_from_sqlite_is_the_damaged_index_line(built: Settings) -> None:
    import sqlite3

    from askfront.core.errors import BadIndexError
    from askfront.index.store import live_version

    db = live_version(built.index) / "chunks.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("UPDATE chunks SET start = NULL")
        con.execute("UPDATE documents SET text = NULL")
    index = Index(live_version(built.index))  # sizes are checked at open; the contents when read
    try:
        with pytest.raises(BadIndexError, match="damaged"):
            index.records([0])
        with pytest.raises(BadIndexError, match="damaged"):
            index.document("a.txt")
    finally:
        index.close()


def _login_app(delay: float = 0.0):
    """What stands behind the guard in these tests: a login endpoint that refuses every password (a fake
    for Gradio's own login route, which needs the whole app)."""
    import asyncio

    calls: list[int] = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        calls.append(1)
        await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"wrong"})

    return app, calls


def test_forwarded_for_headers_cannot_dodge_the_login_throttle(monkeypatch) -> None:
    import socket
    import threading
    import time
    import urllib.error
    import urllib.request

    import uvicorn

    from askfront.app.launch import trust_proxies
    from askfront.app.web import FREE_FAILURES, WebGuard

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    trust_proxies(Settings())  # what serve() does: no proxy trusted
    app, _ = _login_app()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(WebGuard(app, {"127.0.0.1"}), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        codes = []
        for n in range(FREE_FAILURES + 3):
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/login", data=b"u=a&p=b", headers={"X-Forwarded-For": f"10.0.0.{n}"}
            )
            try:
                urllib.request.urlopen(req, timeout=5)
            except urllib.error.HTTPError as err:
                codes.append(err.code)
        assert codes[:FREE_FAILURES] == [400] * FREE_FAILURES
        assert 429 in codes[FREE_FAILURES:]
    finally:
        server.should_exit = True
        thread.join(5)


def test_parallel_wrong_logins_are_counted_before_any_is_answered() -> None:
    import asyncio

    from askfront.app.web import FREE_FAILURES, WebGuard

    app, calls = _login_app(delay=0.2)
    guard = WebGuard(app, {"127.0.0.1"})
    statuses: list[int] = []

    async def one() -> None:
        scope = {"type": "http", "method": "POST", "path": "/login", "client": ("127.0.0.1", 5),
                 "headers": [(b"host", b"127.0.0.1")]}  # fmt: skip

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(event):
            if event["type"] == "http.response.start":
                statuses.append(event["status"])

        await guard(scope, receive, send)

    async def all_at_once() -> None:
        await asyncio.gather(*(one() for _ in range(20)))

    asyncio.run(all_at_once())
    assert len(calls) == FREE_FAILURES  # only the free attempts reached the login
    assert statuses.count(429) == 20 - FREE_FAILURES


def test_terminal_escapes_in_a_report_are_printed_escaped(tmp_path: Path, embedder, capsys, monkeypatch) -> None:
    from askfront.cli import main as cli

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "x.txt").write_text("Abu Grain is 140 kilometers from Sirte.\x1b]0;owned\x07 \x1b[31mRed text.\x1b[0m\n")
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    for command in (["search", "Abu Grain"], ["ask", "How far is Abu Grain from Sirte?"]):
        assert cli.main(command) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out
    assert cli.main(["search", "Red text"]) == 0
    out = capsys.readouterr().out  # the control characters were removed when the report was read
    assert "[31mRed text" in out and "\x1b" not in out


@pytest.mark.parametrize(
    ("sidecar", "says"),
    [
        ("date: 2016-13-45\n", "x.txt.meta.yaml"),
        ("date: not a date\n", "not a real date"),
        ("date: 2016-02-30\n", "x.txt.meta.yaml.*day is out of range"),
        ("title: " + "x" * 70_000 + "\n", "metadata is a few short lines"),
    ],
)
def test_a_bad_sidecar_is_one_line_naming_it(tmp_path: Path, sidecar: str, says: str) -> None:
    from askfront.core.errors import LoadError
    from askfront.ingest.reports import load_document

    (tmp_path / "x.txt").write_text("Abu Grain is 140 kilometers from Sirte.\n")
    (tmp_path / "x.txt.meta.yaml").write_text(sidecar)
    with pytest.raises(LoadError, match=says) as err:
        load_document(tmp_path / "x.txt", tmp_path)
    assert "x.txt.meta.yaml" in str(err.value) and "\n" not in str(err.value)
    assert "ASKFRONT_MAX_FILE_MB" not in str(err.value)


def test_the_page_editor_refuses_the_dates_indexing_refuses(tmp_path: Path) -> None:
    from askfront.core.errors import ConfigError
    from askfront.core.types import iso_date_bounds
    from askfront.search.retrieve import date_bounds

    for bad in ("2016-02-30", "2016-13", "2016-13-45", "May 2016", "16-05-01"):
        assert iso_date_bounds(bad) is None
        with pytest.raises(ConfigError):
            date_bounds(bad)
    assert date_bounds("2016-02") == ("2016-02-01", "2016-02-29")
    assert date_bounds("2016-02-29") == ("2016-02-29", "2016-02-29")


def test_utf16_text_with_its_byte_order_mark_is_read(tmp_path: Path) -> None:
    from askfront.ingest.reports import load_document

    (tmp_path / "w.txt").write_bytes("Abu Grain is 140 kilometers from Sirte — Misrata.\n".encode("utf-16"))
    doc = load_document(tmp_path / "w.txt", tmp_path)
    assert doc.text.startswith("Abu Grain is 140 kilometers") and "—" in doc.text


def test_a_reader_folder_without_window_sizes_is_one_line(tmp_path: Path) -> None:
    import json
    import shutil

    from askfront.answer.reader import model as rmodel
    from askfront.core.errors import ModelError

    folder = tmp_path / "reader"
    shutil.copytree(rmodel.READER_DIR, folder)
    meta = json.loads((folder / rmodel.META_FILE).read_text())
    del meta["stride"]
    (folder / rmodel.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="max_length and stride"):
        rmodel.load_model(folder)


@pytest.mark.slow
def test_sigterm_removes_the_apps_temporary_folder(tmp_path: Path) -> None:
    import shutil

    from tests.conftest import DEMO, free_port, start_app

    (tmp_path / "corpus").mkdir()
    shutil.copy(DEMO, tmp_path / "corpus")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = start_app(tmp_path, free_port(), {"TMPDIR": str(tmp)})
    try:
        assert any(p.name.startswith(f"askfront-{proc.pid}-") for p in tmp.iterdir())
    finally:
        proc.terminate()  # SIGTERM
        proc.wait(timeout=30)
    assert not any(p.name.startswith("askfront-") for p in tmp.iterdir()), list(tmp.iterdir())


def test_csv_exports_never_write_a_spreadsheet_formula() -> None:
    import csv
    import io

    from askfront.analysis.views import TimelineRow, timeline_csv
    from askfront.export.formats import to_csv

    answer = {
        "question": "=1+2", "answer": "+44 [1]", "short_answer": "-3", "resolved_question": "@who",
        "citations": [{"n": 1, "title": '=HYPERLINK("http://x","y")', "file": "a.txt", "quote": "\tq", "start": 0,
                       "end": 4, "date": "", "source": "\rs"}],
    }  # fmt: skip
    rows = list(csv.reader(io.StringIO(to_csv([answer]))))
    cells = [c for row in rows[1:] for c in row if c]
    assert cells and not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert '\'=HYPERLINK("http://x","y")' in cells and "@who" in rows[1][rows[0].index("read_as")]
    line = TimelineRow("2016-05-05", "May 5", "=cmd|' /C calc'!A0", "a.txt", "=t", "2016-05", 0, 5, 0, 9)
    timeline = list(csv.reader(io.StringIO(timeline_csv([line]))))
    assert not any(c.startswith("=") for c in timeline[1]) and timeline[1][timeline[0].index("start")] == "0"


def test_file_paths_as_the_shell_gives_them_and_file_errors_are_one_line(
    tmp_path: Path, embedder, capsys, monkeypatch
) -> None:
    from askfront.cli import main as cli

    corpus = tmp_path / "corpus"
    (corpus / "libya").mkdir(parents=True)
    (corpus / "libya" / "x.txt").write_text("Abu Grain is 140 kilometers from Sirte.\n")
    (corpus / "y.txt").write_text("The port of Misrata reopened on 3 June.\n")
    build_index(Settings(corpus=corpus, index=tmp_path / "index"), embedder, progress=False)
    monkeypatch.chdir(tmp_path)
    for given in ("corpus/libya/x.txt", "./corpus/libya/x.txt", "libya/x.txt", str(corpus / "libya"), "corpus/libya/"):
        capsys.readouterr()
        assert cli.main(["search", "--file", given, "Sirte"]) == 0, given
        out = capsys.readouterr().out
        assert "libya/x.txt" in out and "y.txt" not in out, given
    assert cli.main(["search", "--file", "corpus/nope.txt", "Sirte"]) == 2
    err = capsys.readouterr().err
    assert "--file corpus/nope.txt: no indexed report matches" in err and "Traceback" not in err
    assert cli.main(["eval", "nope.jsonl"]) == 2
    assert "nope.jsonl: cannot read question file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "source",
    [
        "https://www.defense.gov/News/Release/PRESS-RELEASES/Article/1/dod_identifies-army-casualty/",
        "U.S. Department of Defense, press release https://www.defense.gov/PRESS-RELEASES/a_b-c (retrieved 2016)",
    ],
)
def test_a_source_link_is_the_address_exactly_as_recorded(source: str) -> None:
    import re

    from askfront.answer.conversation import Citation
    from askfront.app.render import citation_meta, source_html

    url = re.search(r"https://\S+?(?=\s|$)", source).group()
    c = Citation(1, "a.txt", "Title", "", source, 0, 5, "quote", None, 1.0, 0, 5)
    for shown_html in (citation_meta(c), source_html(source)):
        hrefs = re.findall(r'href="([^"]+)"', shown_html)
        assert hrefs == [url], shown_html


def test_a_replaced_verifier_is_refused_naming_it(tmp_path: Path, demo_settings) -> None:
    import shutil

    from askfront.answer.reader import model as rmodel
    from askfront.answer.reader import reader as rd
    from askfront.answer.reader import verify
    from askfront.core.errors import ModelError
    from askfront.index.store import Index

    folder = tmp_path / "reader"
    shutil.copytree(rmodel.READER_DIR, folder)
    path = folder / verify.VERIFIER_FILE
    path.write_text(path.read_text().replace('"read_k": 10', '"read_k": 3'))
    index = Index.open(demo_settings.index)
    try:
        with pytest.raises(ModelError, match=r"verifier\.json: sha256 does not match"):
            rd.ReaderAnswerer(index, folder).model  # noqa: B018 - loading is the point
    finally:
        index.close()
