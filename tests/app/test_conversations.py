"""Kept conversations on disk: written whole after every answer, listed newest first, reopened with their
citations, renamed, deleted; bad ids and damaged files are one line, and never read outside the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askfront.app.conversations import ConversationStore
from askfront.core.errors import ConfigError


def test_a_conversation_is_kept_reopened_renamed_and_deleted(tmp_path: Path, answerer) -> None:
    store = ConversationStore(tmp_path / "conversations")
    first = answerer.ask("How far is Abu Grain from Sirte?")
    cid = store.new_id()
    store.save(cid, [first])
    follow = answerer.ask("Who was killed in Abu Grain?", history=[first])
    store.save(cid, [first, follow])
    other = store.new_id()
    store.save(other, [answerer.ask("Which militia regained territory?")])
    listed = store.listed()
    assert [k.id for k in listed] == [other, cid] and listed[1].questions == 2
    assert listed[1].name == "How far is Abu Grain from Sirte?"  # named by its first question
    _name, answers = store.load(cid)
    assert [a.to_dict() for a in answers] == [first.to_dict(), follow.to_dict()]  # citations and all
    assert answers[0].citations[0].quote == first.citations[0].quote
    store.rename(cid, "  Abu Grain distance  ")
    assert store.load(cid)[0] == "Abu Grain distance" and len(store.load(cid)[1]) == 2
    store.delete(cid)
    assert [k.id for k in store.listed()] == [other]
    with pytest.raises(ConfigError, match="no such conversation"):
        store.load(cid)
    assert store.secret() == store.secret() and len(store.secret()) == 32  # the browser key stays the same


def test_bad_ids_and_damaged_files_are_one_line(tmp_path: Path, answerer) -> None:
    store = ConversationStore(tmp_path / "conversations")
    for bad in ("../../etc/passwd", "c-1", "", None):
        with pytest.raises(ConfigError, match="not a conversation id"):
            store.load(bad)
    cid = store.new_id()
    store.save(cid, [answerer.ask("How far is Abu Grain from Sirte?")])
    damaged = store.new_id()
    (store.folder / f"{damaged}.json").write_text('{"answers": [{"question": 1')
    (store.folder / "c-20260101T000000-deadbeef.json").write_text(json.dumps({"answers": [{"no": "answer"}]}))
    assert [k.id for k in store.listed()] == [cid]  # the damaged ones are left out of the list
    with pytest.raises(ConfigError, match="cannot be read"):
        store.load(damaged)
    with pytest.raises(ConfigError, match="not a conversation askfront saved"):
        store.load("c-20260101T000000-deadbeef")
    with pytest.raises(ConfigError, match="cannot be empty"):
        store.rename(cid, "   ")
