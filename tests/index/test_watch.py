"""Following the corpus folder: a change is handed on until the update it triggers could run."""

from __future__ import annotations

from pathlib import Path

from askfront.index.watch import CorpusWatcher, signature


def test_a_change_is_retried_until_the_update_runs(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Report A\n\nText.\n")
    answers = [False, True]  # another rebuild was running, then this one ran
    calls = []
    watcher = CorpusWatcher(corpus, 0, lambda: calls.append(1) or answers[len(calls) - 1])
    assert watcher.check() and watcher.seen is None  # not taken as seen: the next scan tries again
    assert watcher.check() and watcher.seen == signature(corpus)
    assert not watcher.check() and len(calls) == 2  # nothing changed since
    (corpus / "b.txt").write_text("Report B\n\nMore.\n")
    answers.append(True)
    assert watcher.check() and watcher.seen == signature(corpus) and len(calls) == 3
