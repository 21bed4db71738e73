"""Outlook e-mails (.msg) read with python-oxmsg (MIT; Unstructured's reader of the [MS-OXMSG] format, on
olefile): the subject is the title, the sent date the date, the sender the source, the plain body (else the
HTML body made text) the report; attachments saved in the message are reports of their own, as for .eml
(``mail.attached_reports``: the same limits)."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from askfront.core.errors import LoadError, one_line
from askfront.core.types import Document
from askfront.ingest.mail import body_text, mail_document

if TYPE_CHECKING:
    from oxmsg.attachment import Attachment


def load_msg(data: bytes, rel: str) -> Document:
    return read_message(data, rel, depth=0)


def read_message(data: bytes, rel: str, depth: int) -> Document:
    from oxmsg import Message

    try:
        message = Message.load(data)
        subject = " ".join((message.subject or "").split())
        sender = " ".join((message.sender or "").replace('"', "").split())
        sent = message.sent_date
        body = body_text(message.body or "", message.html_body or "")
        attachments = list(message.attachments)
        attached = [(_name(a, n), a.file_bytes or b"") for n, a in enumerate(attachments) if _by_value(a)]
        items = [_name(a, n) for n, a in enumerate(attachments) if _method(a) == EMBEDDED_ITEM]
    except Exception as err:  # olefile and oxmsg raise many kinds on a damaged container
        raise LoadError(f"corrupt Outlook e-mail ({type(err).__name__}: {one_line(err)})") from None
    when = sent.date().isoformat() if sent else ""
    doc = mail_document(rel, subject, sender, when, body, attached, depth)
    doc.warnings += [
        f"attachment {name}: an Outlook item inside the e-mail, not read (save it as a file)" for name in items
    ]
    return doc


EMBEDDED_ITEM = 5  # PidTagAttachMethod afEmbeddedMessage: an e-mail attached as an Outlook item, not a file


def _method(attachment: Attachment) -> int | None:
    from oxmsg.domain import constants

    return attachment.properties.int_prop_value(constants.PID_ATTACH_METHOD)


def _by_value(attachment: Attachment) -> bool:
    """An attachment whose bytes the message holds (not a link to a file elsewhere, not an Outlook item)."""
    return _method(attachment) in (1, None) and attachment.file_bytes is not None


def _name(attachment: Attachment, n: int) -> str:
    """The attachment's file name without any folder (a Windows path or a POSIX one)."""
    name = attachment.file_name or f"attachment-{n + 1}"
    return PurePosixPath(PureWindowsPath(name).name).name or f"attachment-{n + 1}"
