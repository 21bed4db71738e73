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

from askfront.index import Index, live_version

QUESTION = "How far is Abu Grain from Sirte?"


def askfront(*args: str, cwd: Path, prefix: tuple[str, ...] = (), **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "askfront", *args], cwd=cwd, env=env, capture_output=True, text=True, **kw
    )


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


def _bigger_corpus(corpus: Path, files: int) -> None:
    text = (corpus / "misrata-militia-gain-back-territory.txt").read_text()
    for n in range(files):
        paragraphs = [f"Dispatch {n}, part {i}: {p}" for i, p in enumerate(text.split("\n")) if p.strip()]
        (corpus / f"dispatch-{n:03d}.txt").write_text("\n\n".join(paragraphs))


def test_sigkill_mid_build_leaves_the_previous_index_intact(demo_corpus: Path) -> None:
    work = demo_corpus.parent
    assert askfront("index", cwd=work).returncode == 0
    before = live_version(work / "index")
    files_before = dict(Index(before).manifest.files)
    _bigger_corpus(demo_corpus, 120)

    for kill_when in ("embedding", "writing"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "askfront", "index"],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 240
        if kill_when == "embedding":
            buffer = b""
            while b"chunks:" not in buffer and time.monotonic() < deadline:
                buffer += os.read(proc.stderr.fileno(), 4096)  # progress bar lines
        else:
            while not list((work / "index").glob(".build-*")) and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL or kill_when == "writing"
        if proc.returncode == -signal.SIGKILL:
            # the live index is still the one from before the killed build, whole and searchable
            assert live_version(work / "index") == before
            assert Index.open(work / "index").manifest.files == files_before
            found = askfront("search", "--top-k", "1", QUESTION, cwd=work)
            assert found.returncode == 0 and "140 kilometers" in found.stdout

    finished = askfront("index", "--no-progress", cwd=work)
    assert finished.returncode == 0, finished.stderr
    assert "120 added" in finished.stdout
    assert not list((work / "index").glob(".build-*")) and len(list((work / "index").glob("v-*"))) == 1
    assert len(Index.open(work / "index").manifest.files) == 121
