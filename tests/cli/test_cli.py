"""The askfront command as a user runs it: real processes, real files, real signals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from askfront.core.config import Settings
from askfront.index.build import HOLD_STEPS, build_index
from askfront.index.store import Index, live_version
from askfront.search.retrieve import Retriever
from tests.conftest import askfront, bigger_corpus

QUESTION = "How far is Abu Grain from Sirte?"


@pytest.mark.slow
def test_index_then_search_from_the_default_folders(demo_corpus: Path) -> None:
    work = demo_corpus.parent
    (demo_corpus / "notes.txt").write_bytes("Notes\n\nCaf\xe9 near the front.".encode("latin-1"))
    (demo_corpus / "bad.pdf").write_bytes(b"%PDF-1.4 truncated")
    built = askfront("index", cwd=work)
    assert built.returncode == 1, built.stderr  # one file failed, so the exit code says so
    assert "askfront: error: corpus/bad.pdf: corrupt or unreadable PDF" in built.stderr
    assert "askfront: warning: corpus/notes.txt: not UTF-8" in built.stderr
    assert "Traceback" not in built.stderr
    summary = built.stdout.strip().splitlines()[-1]
    assert "2 added, 0 changed, 0 unchanged, 0 removed, 1 failed" in summary

    found = askfront("search", QUESTION, cwd=work)
    assert found.returncode == 0, found.stderr
    first = found.stdout.split("\n[2]")[0]
    assert first.startswith("[1] Misrata militia gain back territory from the Islamic State (2016-05)")
    assert "misrata-militia-gain-back-territory.txt  chars " in first and "score " in first
    assert "140 kilometers or about 85" in first

    rows = json.loads(askfront("search", "--json", "--top-k", "2", QUESTION, cwd=work).stdout)
    assert len(rows) == 2 and "140 kilometers" in rows[0]["text"]
    assert {"path", "title", "start", "end", "score", "text"} <= set(rows[0])


@pytest.mark.slow
def test_missing_or_damaged_index_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    missing = askfront("search", "--index", str(tmp_path / "nowhere"), QUESTION, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "no index yet" in missing.stderr

    (tmp_path / "idx" / "v-1").mkdir(parents=True)
    (tmp_path / "idx" / "CURRENT").write_text("v-1\n")
    (tmp_path / "idx" / "v-1" / "manifest.json").write_text("{not json")
    damaged = askfront("search", "--index", str(tmp_path / "idx"), QUESTION, cwd=tmp_path)
    assert damaged.returncode == 2 and "index is damaged" in damaged.stderr and "Traceback" not in damaged.stderr

    no_corpus = askfront("index", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i2"), cwd=tmp_path)
    assert no_corpus.returncode == 2 and "corpus folder not found" in no_corpus.stderr


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 and not shutil.which("setpriv"), reason="needs setpriv to drop root's bypass")
def test_unreadable_file_is_reported_and_skipped(demo_corpus: Path) -> None:
    secret = demo_corpus / "locked.txt"
    secret.write_text("Locked\n\nNobody may read this.")
    secret.chmod(0)
    # root reads anything; drop the capabilities that let it, so permissions apply as for a journalist
    prefix = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
    built = askfront("index", cwd=demo_corpus.parent, prefix=prefix)
    assert built.returncode == 1
    assert "askfront: error: corpus/locked.txt: permission denied" in built.stderr
    assert "1 added" in built.stdout and "1 failed" in built.stdout


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs setpriv to drop root's bypass")
def test_an_unreadable_or_too_deep_folder_keeps_its_reports_with_one_line(demo_corpus: Path) -> None:
    sub = demo_corpus / "sub"
    sub.mkdir()
    (sub / "ferry.txt").write_text("Ferry report\n\nA ferry reached Valletta with 212 people on Tuesday.\n")
    assert askfront("index", cwd=demo_corpus.parent).returncode == 0
    deep = demo_corpus / "deep"
    deep.mkdir()
    os_path = os.open(deep, os.O_RDONLY)  # 150 nested folders: deeper than a path may be written
    try:
        for n in range(150):
            os.mkdir(f"d{n:03d}" + "x" * 25, dir_fd=os_path)
            inner = os.open(f"d{n:03d}" + "x" * 25, os.O_RDONLY, dir_fd=os_path)
            os.close(os_path)
            os_path = inner
    finally:
        os.close(os_path)
    sub.chmod(0)
    prefix = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
    try:
        built = askfront("index", cwd=demo_corpus.parent, prefix=prefix)
    finally:
        sub.chmod(0o755)
    assert built.returncode == 1 and "Traceback" not in built.stderr, built.stderr[-1000:]
    errors = [line for line in built.stderr.splitlines() if line.startswith("askfront: error")]
    assert len(errors) == 2 and all(len(line) < 500 for line in errors), errors
    kept = "corpus/sub/ferry.txt: its folder cannot be read (Permission denied); kept the previously indexed"
    assert kept in errors[1]
    assert "cannot read the folder (File name too long)" in errors[0]
    assert "0 removed" in built.stdout and "2 failed" in built.stdout
    index = Index.open(demo_corpus.parent / "index")
    assert "sub/ferry.txt" in index.manifest.files  # still searchable
    index.close()


@pytest.mark.slow
@pytest.mark.parametrize("step", HOLD_STEPS)
def test_sigkill_mid_build_leaves_the_previous_index_intact(demo_corpus: Path, embedder, step: str) -> None:
    """`askfront index` is held at a named step (ASKFRONT_TEST_HOLD) and killed there, every time."""
    work = demo_corpus.parent
    build_index(Settings(corpus=demo_corpus, index=work / "index"), embedder, progress=False)
    before = live_version(work / "index")
    files_before = dict(Index(before).manifest.files)
    bigger_corpus(demo_corpus, 3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "askfront", "index", "--no-progress"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ASKFRONT_TEST_HOLD": step},
    )
    held = work / "index" / f".held-{step}"
    deadline = time.monotonic() + 120
    while not held.exists():
        assert proc.poll() is None and time.monotonic() < deadline, f"the build never reached {step}"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    # the live index is still the one from before the killed build, whole and searchable
    assert live_version(work / "index") == before
    index = Index.open(work / "index")
    assert index.manifest.files == files_before and index.verify() == []
    assert "140 kilometers" in Retriever(index, embedder).search(QUESTION, top_k=1)[0].record.text
    index.close()
    held.unlink()

    report = build_index(Settings(corpus=demo_corpus, index=work / "index"), embedder, progress=False)
    assert len(report.added) == 3 and report.written  # the next build cleans up and completes
    assert not list((work / "index").glob(".build-*")) and len(list((work / "index").glob("v-*"))) == 1
    assert len(Index.open(work / "index").manifest.files) == 4


@pytest.mark.slow
def test_index_verify_and_a_garbled_current_from_the_command_line(demo_corpus: Path, embedder) -> None:
    work = demo_corpus.parent
    build_index(Settings(corpus=demo_corpus, index=work / "index"), embedder, progress=False)
    version = live_version(work / "index")
    with (version / "dense.faiss").open("r+b") as fh:  # damage that keeps the size
        fh.seek(200)
        flipped = bytes(b ^ 0xFF for b in fh.read(16))
        fh.seek(200)
        fh.write(flipped)
    checked = askfront("index", "--verify", cwd=work)
    assert checked.returncode == 2, checked.stderr
    assert "askfront: error: index: damaged file dense.faiss" in checked.stderr and "Traceback" not in checked.stderr
    assert live_version(work / "index") == version  # --verify changes nothing

    (work / "index" / "CURRENT").write_bytes(b"\xff\xfe garbled\n")
    found = askfront("search", QUESTION, cwd=work)
    assert found.returncode == 2 and found.stderr.count("\n") == 1, found.stderr
    assert "CURRENT: damaged" in found.stderr and "askfront index" in found.stderr
