"""Outlook .msg e-mails, written by the test (tests/ingest/outlook_file.py) and read by python-oxmsg: subject,
sent date, sender and body; attachments (a text, a Word file, a forwarded .eml, an attached .msg) become
reports of their own cited back to the e-mail; damaged files, floods and deep nesting are one line each;
the upload check knows the signature."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from askfront.app.corpus_edits import content_kind
from askfront.core.config import Settings
from askfront.core.errors import LoadError
from askfront.core.registry import LOADERS
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.ingest import mail, outlook
from tests.ingest.outlook_file import message
from tests.ingest.test_office_mail import an_email, word_file

SENT = dt.datetime(2016, 6, 14, 7, 30, tzinfo=dt.UTC)
LIST = b"Casualty list\n\nMisrata hospital treated 43 wounded fighters on Friday.\n"


def outlook_mail(attachments: list[tuple[str, bytes]] = ()) -> bytes:
    return message(
        "Briefing papers from Derna",
        "Dear desk,\r\n\r\nThe council's briefing is attached. The port reopened on Sunday.\r\n",
        "Derna council press office",
        "press@example.org",
        SENT,
        attachments,
    )


def test_an_outlook_email_gives_subject_date_sender_body_and_attachments() -> None:
    inner = message("Fwd: list", "See the list attached.", "Hospital", "hospital@example.org", SENT,
                    [("list.txt", LIST)])  # fmt: skip
    data = outlook_mail([("memo.docx", word_file()), ("list.msg", inner), ("logo.gif", b"GIF89a" + b"\0" * 40),
                         ("fwd.eml", an_email())])  # fmt: skip
    doc = LOADERS.load(".msg")(data, "derna.msg")
    assert (doc.title, doc.date) == ("Briefing papers from Derna", "2016-06-14")
    assert doc.source == "e-mail from Derna council press office <press@example.org>"
    assert doc.text == "Dear desk,\n\nThe council's briefing is attached. The port reopened on Sunday."
    assert [p.path for p in doc.parts] == ["derna.msg/memo.docx", "derna.msg/list.msg", "derna.msg/list.msg/list.txt",
                                           "derna.msg/fwd.eml"]  # fmt: skip
    outer = "attachment of the e-mail “Briefing papers from Derna” (derna.msg)"
    assert [p.source for p in doc.parts] == [outer, outer, "attachment of the e-mail “Fwd: list” (list.msg)", outer]
    assert "Misrata hospital treated 43 wounded fighters" in doc.parts[2].text
    assert doc.parts[0].text.startswith("Memo on the coast road")
    assert content_kind(data) == "an Outlook or old Office file"  # the Word file's ZIP signature comes later
    assert content_kind(word_file()) == "a Word or ZIP file"


def test_damaged_outlook_files_and_floods_are_one_line() -> None:
    with pytest.raises(LoadError, match="corrupt Outlook e-mail"):
        outlook.load_msg(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "broken.msg")
    with pytest.raises(LoadError, match="corrupt Outlook e-mail"):
        outlook.load_msg(b"Subject: a text file named .msg\n\nhello", "text.msg")
    many = [(f"note-{n}.txt", f"Note {n}\n\nCheckpoint {n} was open.\n".encode()) for n in range(80)]
    doc = outlook.load_msg(outlook_mail(many), "many.msg")
    assert len(doc.parts) == mail.MAX_ATTACHMENTS
    assert doc.warnings == [f"30 more attachments not read (at most {mail.MAX_ATTACHMENTS} per e-mail)"]
    deep = message("level 0", "bottom", "a", "a@example.org", SENT)
    for level in range(1, 6):
        deep = message(f"level {level}", f"level {level} text", "a", "a@example.org", SENT, [(f"l{level}.msg", deep)])
    nested = outlook.load_msg(deep, "nested.msg")
    assert len(nested.parts) == mail.MAX_DEPTH
    assert any("nested deeper than" in w for w in [*nested.warnings, *(w for p in nested.parts for w in p.warnings)])
    broken = outlook.load_msg(outlook_mail([("memo.docx", b"PK\x03\x04junk"), ("Fwd: list", b"", 5)]), "x.msg")
    assert broken.parts == [] and broken.warnings[0].startswith("attachment memo.docx: not a Word file")
    assert broken.warnings[1] == "attachment Fwd: list: an Outlook item inside the e-mail, not read (save it as a file)"


@pytest.mark.slow  # a real index and reader: seconds
def test_an_outlook_attachment_is_found_and_cited_back_to_the_email(tmp_path: Path, embedder) -> None:
    from askfront.answer.registry import load_answerer

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "derna.msg").write_bytes(outlook_mail([("list.txt", LIST)]))
    (corpus / "junk.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\1" * 900)
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    result = build_index(settings, embedder, progress=False)
    assert list(result.failed) == ["junk.msg"] and "corrupt Outlook e-mail" in result.failed["junk.msg"]
    index = Index.open(settings.index)
    assert sorted(r.path for r in index.reports()) == ["derna.msg", "derna.msg/list.txt"]
    index.close()
    conversation = load_answerer(settings, embedder)
    answer = conversation.ask("How many wounded fighters did Misrata hospital treat?")
    assert answer.short_answer == "43" and answer.citations[0].file == "derna.msg/list.txt"
    conversation.retriever.index.close()
