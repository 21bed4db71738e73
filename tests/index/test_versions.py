"""The index folder: askfront writes only where it may, a version in use is never removed under its
reader, and a full or read-only disk is one line that leaves the live index and no half-written one."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from askfront.core.config import Settings
from askfront.core.errors import BadIndexError
from askfront.index.build import build_index
from askfront.index.store import Index, live_version
from tests.conftest import DEMO, askfront


def test_a_folder_holding_other_files_is_refused_and_nothing_in_it_is_removed(settings: Settings, embedder) -> None:
    notes = settings.index.parent / "notes"
    (notes / "v-2016").mkdir(parents=True)  # a journalist's own folder that looks like an index version
    (notes / "v-2016" / "interview.txt").write_text("Transcript.")
    (notes / "draft.md").write_text("My draft.")
    before = sorted(p.relative_to(notes).as_posix() for p in notes.rglob("*"))
    with pytest.raises(BadIndexError, match=r"notes: holds files askfront did not write \(draft.md, v-2016\)"):
        build_index(Settings(corpus=settings.corpus, index=notes), embedder, progress=False)
    assert sorted(p.relative_to(notes).as_posix() for p in notes.rglob("*")) == before
    with pytest.raises(BadIndexError, match="holds files askfront did not write"):  # the corpus as the index
        build_index(Settings(corpus=settings.corpus, index=settings.corpus), embedder, progress=False)
    assert sorted(p.name for p in settings.corpus.iterdir()) == [DEMO.name, DEMO.name + ".meta.yaml"]


def test_the_cli_refuses_a_foreign_folder_with_one_line_and_exit_2(settings: Settings, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "v-1").mkdir()
    done = askfront("index", "--corpus", str(settings.corpus), "--index", str(notes), cwd=tmp_path, timeout=300)
    assert done.returncode == 2 and (notes / "v-1").is_dir()
    errors = [line for line in done.stderr.splitlines() if line.startswith("askfront: error")]
    assert len(errors) == 1 and "holds files askfront did not write (v-1)" in errors[0], done.stderr[-500:]


def test_a_version_in_use_is_kept_until_its_reader_closes_it(settings: Settings, embedder) -> None:
    build_index(settings, embedder, progress=False)
    reader = Index.open(settings.index)
    first = reader.folder
    (settings.corpus / "b.txt").write_text("Report B\n\nA convoy was shelled near Sirte on Monday.\n")
    build_index(settings, embedder, progress=False)
    assert live_version(settings.index) != first and first.is_dir()  # still held: not removed
    assert reader.records([0])[0].path  # and still readable
    reader.close()
    (settings.corpus / "b.txt").unlink()
    build_index(settings, embedder, progress=False)
    assert not first.exists() and len(list(settings.index.glob("v-*"))) == 1


@pytest.mark.slow  # rebuilds in a loop while readers open the index: seconds
def test_readers_opening_the_index_during_rebuilds_never_see_damage(settings: Settings, embedder) -> None:
    build_index(settings, embedder, progress=False)
    stop, errors, opened = threading.Event(), [], [0]

    def open_again() -> None:
        while not stop.is_set():
            try:
                Index.open(settings.index).close()
                opened[0] += 1
            except BadIndexError as err:  # pragma: no cover - the failure this test looks for
                errors.append(str(err))

    readers = [threading.Thread(target=open_again) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for n in range(6):  # each build publishes a new version and removes the old ones
            (settings.corpus / "b.txt").write_text(f"Report B\n\nDispatch {n}: a convoy was shelled near Sirte.\n")
            build_index(settings, embedder, progress=False)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == [] and opened[0] > 6


def _full_disk_build(work: Path, corpus: Path, index: Path, limit: int) -> subprocess.CompletedProcess:
    def small_files() -> None:  # every file this process writes is cut at ``limit`` bytes: a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return askfront("index", "--corpus", str(corpus), "--index", str(index), cwd=work, timeout=300,
                    preexec_fn=small_files)  # fmt: skip


@pytest.mark.slow
def test_a_write_that_fails_is_one_line_exit_2_and_leaves_the_live_index(settings: Settings, tmp_path: Path) -> None:
    assert askfront("index", "--corpus", str(settings.corpus), "--index", str(settings.index), cwd=tmp_path,
                    timeout=300).returncode == 0  # fmt: skip
    live = live_version(settings.index)
    (settings.corpus / "b.txt").write_text("Report B\n\n" + "A convoy was shelled near Sirte. " * 400)
    done = _full_disk_build(tmp_path, settings.corpus, settings.index, 20_000)
    assert done.returncode == 2, done.stderr[-800:]
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    said = rf"askfront: error: {settings.index}: cannot write the index \((File too large|disk I/O error)\); the live"
    assert len(errors) == 1 and re.match(said, errors[0]), done.stderr[-800:]
    assert "Traceback" not in done.stderr
    assert live_version(settings.index) == live and not list(settings.index.glob(".build-*"))
    index = Index.open(settings.index)
    assert "b.txt" not in index.manifest.files and not index.verify()
    index.close()


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a small tmpfs needs root")
def test_a_really_full_disk_leaves_the_live_index_and_no_build_folder(settings: Settings, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("this machine does not let the tests mount a tmpfs")
    try:
        index = disk / "index"
        assert askfront("index", "--corpus", str(settings.corpus), "--index", str(index), cwd=tmp_path,
                        timeout=300).returncode == 0  # fmt: skip
        live = live_version(index)
        filler = disk / "filler"
        with filler.open("wb") as fh:  # fill the disk to the last block
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        (settings.corpus / "b.txt").write_text("Report B\n\n" + "A convoy was shelled near Sirte. " * 400)
        done = askfront("index", "--corpus", str(settings.corpus), "--index", str(index), cwd=tmp_path, timeout=300)
        assert done.returncode == 2 and re.search(r"cannot write the index \((No space left|database or disk is full)",
                                                  done.stderr), done.stderr[-800:]  # fmt: skip
        assert "Traceback" not in done.stderr and not list(index.glob(".build-*"))
        assert live_version(index) == live
        filler.unlink()
        again = askfront("index", "--corpus", str(settings.corpus), "--index", str(index), cwd=tmp_path, timeout=300)
        assert again.returncode == 0 and "1 added" in again.stdout + again.stderr
    finally:
        subprocess.run(["umount", "-l", str(disk)])
