"""Word files and e-mails as a newsroom receives them, written by the test with python-docx and Python's
email package: paragraphs and tables in order, title and date; an e-mail's subject, date, sender and body,
its attachments (a PDF, a Word file, a forwarded e-mail with its own attachment) indexed as reports of
their own and cited back to the e-mail; damaged files and floods of attachments one line each."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from askfront.core.config import Settings
from askfront.core.errors import LoadError
from askfront.index.build import build_index
from askfront.index.store import Index
from askfront.ingest import mail, office
from tests.conftest import make_pdf


def word_file(title: str = "Council memo", created: dt.datetime | None = None) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.created = created or dt.datetime(2016, 9, 3, 10, 0)
    document.add_heading("Memo on the coast road", level=1)
    document.add_paragraph("The coast road from Ajdabiya to Brega was reopened on Monday after repairs.")
    table = document.add_table(rows=3, cols=2)
    for row, (town, trucks) in zip(
        table.rows, [("Town", "Aid trucks"), ("Brega", "12"), ("Ajdabiya", "30")], strict=True
    ):
        row.cells[0].text, row.cells[1].text = town, trucks
    document.add_paragraph("Fuel deliveries resume next week.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def an_email(attachments: list[tuple[str, bytes, str]] = (), forwarded: EmailMessage | None = None) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Briefing papers from Derna"
    message["From"] = "Derna council press office <press@example.org>"
    message["Date"] = "Tue, 14 Jun 2016 09:30:00 +0200"
    message.set_content("Dear desk,\n\nThe council's briefing is attached. The port reopened on Sunday.\n")
    for name, data, kind in attachments:
        maintype, subtype = kind.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    if forwarded is not None:
        message.add_attachment(forwarded, filename="fwd.eml")
    return message.as_bytes()


def test_a_word_file_keeps_its_order_tables_title_and_date() -> None:
    doc = office.load_docx(word_file(), "memo.docx")
    assert (doc.title, doc.date) == ("Council memo", "2016-09-03")
    assert doc.text.split("\n\n") == [
        "Memo on the coast road",
        "The coast road from Ajdabiya to Brega was reopened on Monday after repairs.",
        "Town | Aid trucks",
        "Brega | 12",
        "Ajdabiya | 30",
        "Fuel deliveries resume next week.",
    ]
    with pytest.raises(LoadError, match="damaged ZIP"):
        office.load_docx(b"PK\x03\x04" + b"\x00" * 300, "broken.docx")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("word/document.xml", "w") as fh:
        for _ in range(210):
            fh.write(b"\0" * 1_000_000)  # 210 MB of zeros, ~200 kB packed
    with pytest.raises(LoadError, match="ZIP bomb"):
        office.load_docx(bomb.getvalue(), "bomb.docx")


@pytest.mark.slow  # a real index and reader: seconds
def test_an_email_and_its_attachments_are_reports_cited_back_to_it(tmp_path: Path, embedder) -> None:
    from askfront.answer.registry import load_answerer

    inner = EmailMessage()
    inner["Subject"] = "Fwd: casualty list"
    inner["From"] = "hospital@example.org"
    inner.set_content("See the list attached.")
    inner.add_attachment(b"Casualty list\n\nMisrata hospital treated 43 wounded fighters on Friday.\n",
                         maintype="text", subtype="plain", filename="list.txt")  # fmt: skip
    pdf = make_pdf([["Derna council briefing"], ["The Derna council said 35 families returned on Sunday."]])
    data = an_email([("briefing.pdf", pdf, "application/pdf"), ("memo.docx", word_file(), "application/octet-stream"),
                     ("logo.gif", b"GIF89a" + b"\0" * 40, "image/gif")], forwarded=inner)  # fmt: skip
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "derna.eml").write_bytes(data)
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    assert build_index(settings, embedder, progress=False).ok
    index = Index.open(settings.index)
    rows = {r.path: r for r in index.reports()}
    index.close()
    assert sorted(rows) == ["derna.eml", "derna.eml/briefing.pdf", "derna.eml/fwd.eml", "derna.eml/fwd.eml/list.txt",
                            "derna.eml/memo.docx"]  # fmt: skip
    own = rows["derna.eml"]
    assert (own.title, own.date, own.source) == (
        "Briefing papers from Derna",
        "2016-06-14",
        "e-mail from Derna council press office <press@example.org>",
    )
    assert rows["derna.eml/briefing.pdf"].source == "attachment of the e-mail “Briefing papers from Derna” (derna.eml)"
    conversation = load_answerer(settings, embedder)
    answer = conversation.ask("How many families returned to Derna?")
    assert answer.short_answer == "35" and answer.citations[0].file == "derna.eml/briefing.pdf"
    assert answer.citations[0].page == 2
    wounded = conversation.ask("How many wounded fighters did Misrata hospital treat?")
    assert wounded.short_answer == "43" and wounded.citations[0].file == "derna.eml/fwd.eml/list.txt"
    conversation.retriever.index.close()
    again = build_index(settings, embedder, progress=False)  # unchanged: reused whole, attachments included
    assert again.embedded == 0 and not again.removed and again.unchanged == ["derna.eml"]


def test_damaged_emails_and_floods_of_attachments_are_one_line() -> None:
    with pytest.raises(LoadError, match=r"not an e-mail|no text"):
        mail.load_eml(b"\x00\x01\x02 binary \xff\xfe", "junk.eml")
    many = [(f"note-{n}.txt", f"Note {n}\n\nCheckpoint {n} was open.\n".encode(), "text/plain") for n in range(120)]
    doc = mail.load_eml(an_email(many), "many.eml")
    assert len(doc.parts) == mail.MAX_ATTACHMENTS
    assert doc.warnings == [f"70 more attachments not read (at most {mail.MAX_ATTACHMENTS} per e-mail)"]
    broken = mail.load_eml(an_email([("memo.docx", b"PK\x03\x04junk", "application/octet-stream")]), "x.eml")
    assert broken.parts == [] and broken.warnings[0].startswith("attachment memo.docx: not a Word file")
    deep = EmailMessage()
    deep["Subject"] = "level 0"
    deep.set_content("bottom")
    for level in range(1, 6):
        outer = EmailMessage()
        outer["Subject"] = f"level {level}"
        outer.set_content(f"level {level} text")
        outer.add_attachment(deep, filename=f"l{level}.eml")
        deep = outer
    nested = mail.load_eml(deep.as_bytes(), "nested.eml")
    assert len(nested.parts) == mail.MAX_DEPTH
    assert any("nested deeper than" in w for w in [*nested.warnings, *(w for p in nested.parts for w in p.warnings)])
