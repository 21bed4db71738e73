"""The app's shared state without the browser: rebuild errors as one line, the old index closed on swap,
exports cleaned, one size unit, and answers that stay right when many threads ask at once."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import resource
import shutil
import signal
import threading
from pathlib import Path

import pytest

from askfront.answer.registry import load_answerer
from askfront.app.service import EXPORTS_KEPT, Service
from askfront.app.web import LoginThrottle, allowed_hosts, host_of
from askfront.core.config import Settings
from askfront.core.errors import ConfigError
from askfront.index.build import build_index
from askfront.index.embed import Embedder
from askfront.index.manifest import FORMAT_VERSION
from tests.conftest import DEMO, DEMO_META, write_manifest


@pytest.fixture
def service(tmp_path: Path, embedder: Embedder) -> Service:
    (tmp_path / "corpus").mkdir()
    shutil.copy(DEMO, tmp_path / "corpus")
    shutil.copy(DEMO_META, tmp_path / "corpus")
    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    service = Service(settings, embedder, load_answerer(settings, embedder))
    yield service
    service.close()


def test_rebuild_while_another_build_runs_is_one_line(service: Service) -> None:
    with (service.settings.index / ".lock").open("w") as held:  # as `askfront index` holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        message = service.rebuild()
    assert message == (f"askfront: error: {service.settings.index}: another 'askfront index' is running on this index")
    assert service.ask("How far is Abu Grain from Sirte?").short_answer == "140 kilometers (about 85 miles)"


def test_a_rebuild_closes_the_index_it_replaces(service: Service) -> None:
    old = service.answerer.retriever.index
    (service.settings.corpus / "extra.txt").write_text("Ferry report\n\nA ferry reached Valletta with 212 people.")
    assert service.rebuild().startswith("Rebuilt: files: 1 added")
    assert service.answerer.retriever.index is not old
    assert old.closed  # closed, not leaked
    assert service.ask("How many people did the ferry carry to Valletta?").short_answer == "212"


def test_exports_are_kept_few_and_removed_on_close(tmp_path: Path, embedder: Embedder, service: Service) -> None:
    paths = [service.export(f"answer {n}\n") for n in range(EXPORTS_KEPT + 5)]
    assert paths[-1].read_text() == f"answer {EXPORTS_KEPT + 4}\n"
    assert sum(p.exists() for p in paths) == EXPORTS_KEPT and not paths[0].exists()
    assert service.export(f"answer {EXPORTS_KEPT + 4}\n", "other.md") == paths[-1]  # same content: same file
    again = service.export("answer 0\n")  # its file was removed with the oldest: written anew
    assert again.exists() and again != paths[0] and again.read_text() == "answer 0\n"
    root = paths[-1].parent.parent
    service.close()
    assert not root.exists()


def test_upload_limit_is_the_same_megabytes_as_indexing(tmp_path: Path, service: Service) -> None:
    # max_file_mb=0.001 is 1,000 bytes for uploads and for indexing alike (not 1,048.576)
    service.settings = dataclasses.replace(service.settings, max_file_mb=0.001)
    fits, too_big = tmp_path / "fits.txt", tmp_path / "big.txt"
    fits.write_bytes(b"Title\n\n" + b"x" * 993)  # 1,000 bytes
    too_big.write_bytes(b"Title\n\n" + b"x" * 994)  # 1,001 bytes
    lines = service.add_reports([str(fits), str(too_big)]).splitlines()
    assert lines == ["Added fits.txt.",
                     "Not added: big.txt: too large (0.0 MB > 0.001 MB limit)"]  # fmt: skip
    report = build_index(service.settings, service.embedder, log=lambda _: None, progress=False)
    assert "fits.txt" in report.added and "fits.txt" not in report.failed


@pytest.mark.slow  # many questions on several threads: seconds
def test_concurrent_questions_through_one_service_stay_right(service: Service) -> None:
    questions = {
        "How far is Abu Grain from Sirte?": "140 kilometers (about 85 miles)",
        "Who is the spokesperson for the GNA Operation Room?": "Mohamed al-Gasri",
    }
    answers: list[tuple[str, str]] = []

    def asker(question: str) -> None:
        for _ in range(5):
            answers.append((question, service.ask(question).short_answer))

    threads = [threading.Thread(target=asker, args=(q,)) for q in questions for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == 30 and all(short == questions[q] for q, short in answers)


def test_host_names_and_login_throttle() -> None:
    assert host_of("Example.ORG:7860") == "example.org" and host_of("[::1]:80") == "::1"
    assert host_of("127.0.0.1") == "127.0.0.1"
    loopback = allowed_hosts("127.0.0.1", ["desk.newsroom.lan", " "])
    assert {"localhost", "127.0.0.1", "::1", "desk.newsroom.lan"} == loopback
    now = [100.0]
    throttle = LoginThrottle(free=2, max_wait=8, clock=lambda: now[0])
    for _ in range(2):
        assert throttle.wait("1.2.3.4") == 0
        throttle.record("1.2.3.4", ok=False)
    assert throttle.wait("1.2.3.4") == 1.0 and throttle.wait("5.6.7.8") == 0
    for _ in range(6):
        throttle.record("1.2.3.4", ok=False)
    assert throttle.wait("1.2.3.4") == 8.0  # doubling, capped
    now[0] += 8
    assert throttle.wait("1.2.3.4") == 0
    throttle.record("1.2.3.4", ok=True)
    assert throttle.wait("1.2.3.4") == 0


def test_example_questions_come_from_the_corpus(service: Service) -> None:
    from askfront.app.service import DEMO_EXAMPLES

    assert service.examples() == list(DEMO_EXAMPLES)  # the demo report is there, no examples.txt
    (service.settings.corpus / "examples.txt").write_text("# ours\nWho holds the airport?\n\n")
    assert service.examples() == ["Who holds the airport?"]
    report = build_index(service.settings, service.embedder, log=lambda _: None, progress=False)
    assert report.unchanged == ["misrata-militia-gain-back-territory.txt"] and not report.added  # not a report
    (service.settings.corpus / "examples.txt").unlink()
    (service.settings.corpus / "misrata-militia-gain-back-territory.txt").unlink()
    service.rebuild()
    assert service.examples() == []  # another corpus: no questions about a report that is not there


def test_uploads_are_checked_by_content_and_duplicates_refused(tmp_path: Path, service: Service) -> None:
    demo_copy = tmp_path / "again.txt"
    demo_copy.write_bytes(DEMO.read_bytes())
    fake = tmp_path / "scan.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    text_as_pdf = tmp_path / "memo.pdf"
    text_as_pdf.write_text("A memo, not a PDF.")
    pdf_as_text = tmp_path / "memo.txt"
    pdf_as_text.write_bytes(b"%PDF-1.4\n%%EOF\n")
    lines = service.add_reports([str(p) for p in (demo_copy, fake, text_as_pdf, pdf_as_text)]).splitlines()
    assert lines == [
        "Not added: again.txt: the same content is already in the corpus as misrata-militia-gain-back-territory.txt",
        "Not added: scan.pdf: the content is a PNG image, not a .pdf report",
        "Not added: memo.pdf: the content is text, not a PDF, not a .pdf report",
        "Not added: memo.txt: the content is a PDF, not a .txt report",
    ]
    assert sorted(p.name for p in service.settings.corpus.iterdir()) == [
        "misrata-militia-gain-back-territory.txt",
        "misrata-militia-gain-back-territory.txt.meta.yaml",
    ]


def test_replacing_a_report_keeps_its_name_and_reindexes_it(tmp_path: Path, service: Service) -> None:
    (service.settings.corpus / "ferry.txt").write_text("Ferry\n\nA ferry reached Valletta with 212 people.\n")
    service.rebuild()
    newer = tmp_path / "ferry-v2.txt"
    newer.write_text("Ferry\n\nA ferry reached Valletta with 230 people, the port said on Wednesday.\n")
    assert "1 changed" in service.replace_report("ferry.txt", newer)
    assert service.ask("How many people did the ferry carry to Valletta?").short_answer.startswith("230")
    with pytest.raises(ConfigError, match=r"a \.txt report can only be replaced by a \.txt"):
        markdown = tmp_path / "ferry.md"
        markdown.write_text("# Ferry\n\nOther text.\n")
        service.replace_report("ferry.txt", markdown)
    with pytest.raises(ConfigError, match="no such report"):
        service.delete_report("../outside.txt")


def test_the_app_updates_an_index_built_by_an_older_askfront(tmp_path: Path, embedder: Embedder) -> None:
    import json

    from askfront.index.store import live_version

    (tmp_path / "corpus").mkdir()
    shutil.copy(DEMO, tmp_path / "corpus")
    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    manifest_path = live_version(settings.index) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 2  # as askfront wrote it before names and dates (and before its seal)
    write_manifest(manifest_path.parent, manifest, sealed=False)
    lines: list[str] = []
    service = Service.start(settings, log=lines.append)
    try:
        assert any("built by an older askfront; updating it" in line for line in lines)
        assert any("(0 embedded)" in line for line in lines)  # the vectors were reused, names added
        assert service.answerer.retriever.index.manifest.format_version == FORMAT_VERSION
        assert any(row.key == "sirte" for row in service.names())
    finally:
        service.close()


def test_a_citation_says_which_paragraph_it_is_in(service: Service) -> None:
    from askfront.answer.conversation import Citation

    text = service.report_text("misrata-militia-gain-back-territory.txt")
    second = text.index("\n\n") + 2  # the first character of the second paragraph
    while text[second].isspace():
        second += 1

    def at(start: int) -> str:
        return service.where(Citation(1, "misrata-militia-gain-back-territory.txt", "", "", "", start, start + 5,
                                      "", None, 0.0, 0, 0))  # fmt: skip

    assert at(0) == "paragraph 1" and at(second - 3) == "paragraph 1"
    assert at(second) == "paragraph 2"  # a citation that opens a paragraph is in it, not in the one before
    assert at(762) == "paragraph 3"


def test_metadata_edits_keep_other_keys_and_never_replace_a_broken_sidecar(service: Service) -> None:
    rel = DEMO.name
    sidecar = service.settings.corpus / DEMO_META.name
    original = sidecar.read_text(encoding="utf-8")
    sidecar.write_text(original + "desk: Libya\nnotes: >\n  checked with\n  the desk\n", encoding="utf-8")
    said = service.set_metadata(rel, "Misrata update: Sirte", "2016-06-02", "")
    assert said.startswith(f"Saved the title, date and source of {rel}.")
    saved = sidecar.read_text(encoding="utf-8")
    comments = [line for line in original.splitlines() if line.startswith("#")]
    assert comments and saved.startswith("\n".join(comments))  # the user's comments stay, in place
    assert "title: 'Misrata update: Sirte'\n" in saved and "date: '2016-06-02'\n" in saved
    assert "source" not in saved and "desk: Libya\nnotes: >\n  checked with\n  the desk\n" in saved
    assert service.reports()[0].title == "Misrata update: Sirte" and service.reports()[0].date == "2016-06-02"
    service.set_metadata(rel, "Misrata update", "2016-06-02", "https://example.org/a")
    again = sidecar.read_text(encoding="utf-8")
    assert again.count("title:") == 1 and "source: https://example.org/a\n" in again and "desk: Libya" in again

    broken = "title: [unclosed\ndesk: Libya\n"
    sidecar.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        service.set_metadata(rel, "Other title", "", "")
    assert sidecar.name in str(err.value) and "not valid YAML" in str(err.value) and "\n" not in str(err.value)
    assert sidecar.read_text(encoding="utf-8") == broken  # nothing in it lost


def test_reports_copied_into_the_corpus_are_indexed_in_the_background(tmp_path: Path, embedder: Embedder) -> None:
    import time

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO, corpus)
    settings = Settings(corpus=corpus, index=tmp_path / "index", watch_s=0.2)
    build_index(settings, embedder, progress=False)
    service = Service(settings, embedder, load_answerer(settings, embedder))
    try:
        service.watch()
        deadline = time.monotonic() + 60
        while service.watcher.seen is None:  # the first check: nothing changed, nothing swapped
            assert time.monotonic() < deadline
            time.sleep(0.1)
        first = service.answerer
        assert "in step with the corpus folder" in service.status()
        (corpus / "ferry.txt").write_text("Ferry report\n\nA ferry reached Valletta with 212 people on board.\n")
        while service.answerer is first or "updating" in service.activity:
            assert time.monotonic() < deadline, service.activity
            time.sleep(0.1)
        assert service.ask("How many people did the ferry carry to Valletta?").short_answer == "212"
        (corpus / "ferry.txt").unlink()  # removed by another program: never cited again
        while "ferry.txt" in [r.path for r in service.reports()]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert service.ask("How many people did the ferry carry to Valletta?").abstained
    finally:
        service.close()
    assert not service.watcher.running  # close() stops the watcher


def test_delete_moves_to_trash_and_undo_restores(service: Service) -> None:
    corpus = service.settings.corpus
    name = "misrata-militia-gain-back-territory.txt"
    sidecar = corpus / f"{name}.meta.yaml"
    before = (corpus / name).read_bytes(), sidecar.read_bytes()
    assert not service.can_undo
    message = service.delete_report(name)
    assert message.startswith(f"Deleted {name} (kept in .trash/") and "1 removed" in message
    assert not (corpus / name).exists() and not sidecar.exists()
    assert service.reports() == []  # the trash folder is never indexed
    assert service.ask("How far is Abu Grain from Sirte?").abstained
    assert service.can_undo
    assert "1 added" in service.undo_delete()
    assert ((corpus / name).read_bytes(), sidecar.read_bytes()) == before  # the file and its metadata back
    assert service.ask("How far is Abu Grain from Sirte?").short_answer == "140 kilometers (about 85 miles)"
    assert not service.can_undo and not any((corpus / ".trash").iterdir())
    with pytest.raises(ConfigError, match="nothing to undo"):
        service.undo_delete()


def test_undo_survives_a_restart_and_each_tab_undoes_its_own(service: Service, embedder: Embedder) -> None:
    corpus = service.settings.corpus
    (corpus / "ferry.txt").write_text("Ferry report\n\nA ferry reached Valletta with 212 people.\n")
    service.rebuild()
    first = service.trash("ferry.txt")  # one tab deletes the ferry report, another the demo report
    second = service.trash(DEMO.name)
    service.close()  # the app stops; the trash stays on disk
    again = Service(service.settings, embedder, load_answerer(service.settings, embedder))
    try:
        assert [rel for _, rel in again.trash_entries()] == [DEMO.name, "ferry.txt"] and again.can_undo
        assert again.undo_delete(first).startswith("Restored ferry.txt.")  # the first tab's own, not the newest
        assert (corpus / "ferry.txt").exists() and not (corpus / DEMO.name).exists()
        assert again.undo_delete().startswith(f"Restored {DEMO.name}.")  # no entry: the newest
        with pytest.raises(ConfigError, match="no longer in the trash"):
            again.undo_delete(second)
    finally:
        again.close()


def test_a_question_waits_for_another_only_so_long(service: Service) -> None:
    held, release = threading.Event(), threading.Event()

    class Slow:  # the real conversation, whose first question takes until it is released
        def __init__(self, real) -> None:
            self.real, self.retriever = real, real.retriever

        def ask(self, question, history=None, filters=None):
            if not held.is_set():
                held.set()
                release.wait(10)
            return self.real.ask(question, history=history, filters=filters)

    settings = dataclasses.replace(service.settings, ask_wait_s=0.3)
    quick = Service(settings, service.embedder, Slow(service.answerer))

    def slow() -> None:
        quick.ask("How many GNA fighters were killed?")

    worker = threading.Thread(target=slow)
    worker.start()
    held.wait(10)
    try:
        with pytest.raises(Exception, match=r"busy with another question for over 0.3 s; ask again in a moment"):
            quick.ask("How far is Abu Grain from Sirte?")
    finally:
        release.set()
        worker.join()
    assert quick.ask("How far is Abu Grain from Sirte?").short_answer == "140 kilometers (about 85 miles)"


def test_the_sources_panel_says_what_the_chat_says_of_each_passage(service: Service) -> None:
    import dataclasses as dc

    from askfront.app.render import answer_markdown, escape_markdown, passage_html

    answer = service.ask("How far is Abu Grain from Sirte?")
    shown = passage_html(service, answer.citations[0], answer)
    assert "Answers the question. How sure: " + answer.confidence in shown
    chat = answer_markdown(answer)  # the chat says the same words (Markdown-escaped)
    assert "How sure: " + escape_markdown(answer.confidence) in chat
    flat = service.ask("What is the population of Misrata?")
    assert flat.abstained and not flat.near and len(flat.closest) >= 2
    for c in flat.closest:
        assert "it does not answer the question" in passage_html(service, c, flat)
    # a near abstention says "a passage may answer it, check [1]": the panel never says [1] does not answer
    near = dc.replace(flat, answer="The reports don't clearly say: a passage may answer it, check [1].", near=True)
    first, second = (passage_html(service, c, near) for c in near.closest[:2])
    assert "it may answer the question" in first and "does not answer" not in first
    assert "it does not answer the question" in second


@contextlib.contextmanager
def _files_cut_at(limit: int):
    """Every file this process writes from here is cut at ``limit`` bytes (as on a full disk)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def test_a_failed_write_leaves_the_report_whole_and_no_partial_file(tmp_path: Path, service: Service) -> None:
    corpus = service.settings.corpus
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    bigger = tmp_path / "misrata-update.txt"
    bigger.write_text(DEMO.read_text() + "\nMore fighting was reported on Friday.\n" * 200)
    with _files_cut_at(1_500):
        with pytest.raises(ConfigError, match=r"not replaced \(File too large\); the report is as it was"):
            service.replace_report(DEMO.name, bigger)
        added = service.add_reports([str(bigger)])
        with pytest.raises(ConfigError) as edited:
            service.set_metadata(DEMO.name, "A title " + "x" * 280, "", "y" * 1990)
    assert added.startswith("Not added: misrata-update.txt: ") and "File too large" in added
    assert "not saved (File too large)" in str(edited.value)
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before  # nothing cut, nothing partial left
    assert service.ask("How far is Abu Grain from Sirte?").short_answer == "140 kilometers (about 85 miles)"


def test_an_upload_never_takes_the_metadata_of_an_orphaned_sidecar(tmp_path: Path, service: Service) -> None:
    corpus = service.settings.corpus
    (corpus / "ferry.txt.meta.yaml").write_text("title: Old ferry title\nsource: a deleted report's source\n")
    upload = tmp_path / "ferry.txt"
    upload.write_text("Ferry report\n\nA ferry reached Valletta with 212 people on Tuesday.\n")
    assert service.add_reports([str(upload)]) == "Added ferry-1.txt."
    service.rebuild()
    titles = {r.path: r.title for r in service.reports()}
    assert titles["ferry-1.txt"] == "Ferry report" and "ferry.txt" not in titles


def test_while_the_index_cannot_be_updated_every_answer_says_so(service: Service, tmp_path: Path) -> None:
    (service.settings.corpus / "ferry.txt").write_text("Ferry report\n\nA ferry reached Valletta with 212 people.\n")
    with (service.settings.index / ".lock").open("w") as held:  # as `askfront index` in another process holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        assert service.sync() is False
        answer = service.ask("How far is Abu Grain from Sirte?")
        assert "The index is behind the corpus folder" in answer.notice and "another 'askfront index'" in answer.notice
        assert "index behind the corpus folder (another 'askfront index' is running" in service.status()
    assert service.sync() is True  # the lock is gone: the retry indexes the change
    answer = service.ask("How many people did the ferry carry to Valletta?")
    assert answer.short_answer == "212" and "behind" not in answer.notice
    assert "in step with the corpus folder" in service.status()


def test_an_upload_carries_its_title_date_and_source(tmp_path: Path, service: Service) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "ferry.txt").write_text("Ferry report\n\nVALLETTA, March 3, 2017 — A ferry brought 212 people.\n")
    (uploads / "ferry.txt.meta.yaml").write_text("title: Ferry reaches Valletta\ndate: 2017-03-02\nsource: Desk\n")
    (uploads / "boat.txt").write_text(
        "Boat towed in\n\nMARSAXLOKK, March 4, 2017 — A fishing boat carrying 40 migrants was towed into port.\n"
    )
    (uploads / "boat.txt.meta.yaml").write_text("date: 2017-13-45\n")  # not a real date: left out
    (uploads / "lost.txt.meta.yaml").write_text("title: No report\n")
    lines = service.add_reports([str(p) for p in sorted(uploads.iterdir())]).splitlines()
    assert lines[0].startswith("Added boat.txt. Its metadata file was not used: ") and "boat.txt.meta.yaml" in lines[0]
    assert lines[1] == "Added ferry.txt with its title, date and source."
    assert lines[2].startswith("Not added: lost.txt.meta.yaml: metadata for lost.txt, which is not in this upload")
    assert not (service.settings.corpus / "lost.txt.meta.yaml").exists()
    service.rebuild()
    rows = {r.path: r for r in service.reports()}
    ferry, boat = rows["ferry.txt"], rows["boat.txt"]
    assert (ferry.title, ferry.date, ferry.source, ferry.date_read) == (
        "Ferry reaches Valletta",
        "2017-03-02",
        "Desk",
        "",
    )
    assert (boat.date, boat.date_read) == ("2017-03-04", "text")  # its own dateline, marked as read
    answer = service.ask("How many migrants were on the fishing boat towed into Marsaxlokk?")
    assert answer.short_answer == "40"
    assert answer.citations[0].date_read == "text"
