"""Following the corpus folder: a change is handed on once it held still for a scan, and retried until
the update it triggers could run."""

from __future__ import annotations

from pathlib import Path

from askfront.index.watch import CorpusWatcher, Signature, signature


def test_a_change_is_retried_until_the_update_runs(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Report A\n\nText.\n")
    answers = [False, True]  # another rebuild was running, then this one ran
    calls = []
    watcher = CorpusWatcher(corpus, 0, lambda: calls.append(1) or answers[len(calls) - 1])
    assert watcher.check() and watcher.seen is None  # not taken as seen: the next scan tries again
    assert watcher.failures == 1
    assert watcher.check() and watcher.seen == signature(corpus) and watcher.failures == 0
    assert not watcher.check() and len(calls) == 2  # nothing changed since
    (corpus / "b.txt").write_text("Report B\n\nMore.\n")
    answers.append(True)
    assert not watcher.check()  # just changed: wait one scan
    assert watcher.check() and watcher.seen == signature(corpus) and len(calls) == 3


def test_a_file_still_being_written_is_indexed_only_once_it_holds_still(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Report A\n\nText.\n")
    calls: list[Signature] = []
    watcher = CorpusWatcher(corpus, 0, lambda: calls.append(signature(corpus)) or True)
    assert watcher.check() and len(calls) == 1  # the first check runs at once
    growing = corpus / "b.txt"
    with growing.open("w") as fh:  # a real file being copied in, scan by scan
        for part in ("Abu Grain is 1", "40 kilometers ", "from Sirte.\n"):
            fh.write(part)
            fh.flush()
            assert not watcher.check()  # changed since the last scan: not read yet
    assert watcher.check() and len(calls) == 2  # whole and still: indexed once
    assert ("b.txt", growing.stat().st_size, growing.stat().st_mtime_ns) in calls[-1]
