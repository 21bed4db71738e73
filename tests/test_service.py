"""The app's shared state without the browser: rebuild errors as one line, the old index closed on swap,
exports cleaned, one size unit, and answers that stay right when many threads ask at once."""

from __future__ import annotations

import dataclasses
import fcntl
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from askfront.answerers import load_answerer
from askfront.build import build_index
from askfront.config import Settings
from askfront.embed import Embedder
from askfront.service import EXPORTS_KEPT, Service
from askfront.web import LoginThrottle, allowed_hosts, host_of

from .conftest import DEMO, DEMO_META


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
    with pytest.raises(sqlite3.ProgrammingError):  # closed, not leaked
        old._db.execute("SELECT 1")
    assert service.ask("How many people did the ferry carry to Valletta?").short_answer == "212"


def test_exports_are_kept_few_and_removed_on_close(tmp_path: Path, embedder: Embedder, service: Service) -> None:
    paths = [service.export(f"answer {n}\n") for n in range(EXPORTS_KEPT + 5)]
    assert paths[-1].read_text() == f"answer {EXPORTS_KEPT + 4}\n"
    assert sum(p.exists() for p in paths) == EXPORTS_KEPT and not paths[0].exists()
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
    assert lines == ["Added fits.txt. Rebuild the index to search it.",
                     "Not added: big.txt: too large (0.0 MB > 0.001 MB limit)"]  # fmt: skip
    report = build_index(service.settings, service.embedder, log=lambda _: None, progress=False)
    assert "fits.txt" in report.added and "fits.txt" not in report.failed


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
