"""E-mails (.eml, read with Python's own ``email`` package, the standard RFC 5322/MIME parser): the subject
is the title, the Date header the date, the sender the source, the body (plain text, else the HTML made
text) the report. Each attachment that is itself a readable report (a PDF, a Word file, a scan, a text,
a forwarded e-mail) becomes a report of its own, ``<mail>.eml/<attachment>``, whose source names the
e-mail it came with. Limits: ``MAX_ATTACHMENTS`` per e-mail, forwarded e-mails ``MAX_DEPTH`` deep."""

from __future__ import annotations

import email
import email.policy
import email.utils
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from askfront.core.errors import LoadError, one_line
from askfront.core.registry import LOADERS
from askfront.core.types import Document

MAX_ATTACHMENTS = 50  # attachments read per e-mail; the rest are named in a warning
MAX_DEPTH = 3  # e-mails forwarded inside e-mails read this deep


def load_eml(data: bytes, rel: str) -> Document:
    return _message(data, rel, depth=0)


def _message(data: bytes, rel: str, depth: int) -> Document:
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
        subject = " ".join(str(message.get("subject", "") or "").split())
        sender = " ".join(str(message.get("from", "") or "").split())
        when = _date(message.get("date"))
        body = _body(message)
    except LoadError:
        raise
    except Exception as err:  # the parser is lenient; a header it cannot decode raises many kinds
        raise LoadError(f"corrupt e-mail ({type(err).__name__}: {one_line(err)})") from None
    if not message.keys():
        raise LoadError("not an e-mail (no headers)")
    return mail_document(rel, subject, sender, when, body, _attached(message), depth)


def mail_document(
    rel: str, subject: str, sender: str, when: str, body: str, attached: list[tuple[str, bytes]], depth: int
) -> Document:
    """The report of one e-mail (.eml or .msg) and, in its ``parts``, the reports attached to it."""
    doc = Document(path=rel, title=(subject or Path(rel).stem)[:300], text=body or f"(e-mail without text: {subject})")
    doc.source, doc.date = (f"e-mail from {sender}" if sender else "e-mail")[:2000], when
    doc.parts = attached_reports(attached, rel, subject or Path(rel).name, depth, doc.warnings)
    if not body.strip() and not doc.parts:
        raise LoadError("an e-mail with no text and no readable attachment")
    return doc


def _date(header) -> str:
    try:
        return email.utils.parsedate_to_datetime(str(header)).date().isoformat() if header else ""
    except (TypeError, ValueError, IndexError):
        return ""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = str(part.get_content())
    return body_text("", text) if part.get_content_subtype() == "html" else body_text(text, "")


def body_text(plain: str, html: str) -> str:
    """An e-mail's text: its plain-text body, else its HTML body made text; lines without trailing spaces."""
    if not plain.strip() and html:
        from askfront.ingest.reports import _html_text

        plain = _html_text(html)
    lines = [line.rstrip() for line in plain.replace("\r\n", "\n").splitlines()]
    return "\n".join(lines).strip()


def _attached(message: EmailMessage) -> list[tuple[str, bytes]]:
    """Each attachment as (file name, bytes); a forwarded e-mail is named ``*.eml``."""
    out = []
    for n, part in enumerate(message.iter_attachments()):
        name = Path(part.get_filename() or f"attachment-{n + 1}").name or f"attachment-{n + 1}"
        if part.get_content_type() == "message/rfc822":
            inner = part.get_content()
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else bytes(inner)
            out.append((name if name.lower().endswith(".eml") else name + ".eml", data))
        elif Path(name).suffix.lower() in LOADERS:  # else not a report (a logo, a calendar invitation)
            content = part.get_content()
            out.append((name, content.encode("utf-8") if isinstance(content, str) else bytes(content)))
    return out


def attached_reports(
    attached: list[tuple[str, bytes]], rel: str, mail: str, depth: int, warnings: list[str]
) -> list[Document]:
    """The readable attachments of the e-mail ``rel`` as reports ``<rel>/<name>``; e-mails attached to it are
    read ``MAX_DEPTH`` deep, with their own attachments."""
    parts: list[Document] = []
    readable = [(name, data) for name, data in attached if Path(name).suffix.lower() in LOADERS]
    for n, (name, data) in enumerate(readable):
        if n >= MAX_ATTACHMENTS:
            warnings.append(f"{len(readable) - n} more attachments not read (at most {MAX_ATTACHMENTS} per e-mail)")
            break
        suffix = Path(name).suffix.lower()
        try:
            if suffix in (".eml", ".msg"):
                if depth + 1 > MAX_DEPTH:
                    warnings.append(f"{name}: a forwarded e-mail nested deeper than {MAX_DEPTH} not read")
                    continue
                doc = _nested(suffix)(data, f"{rel}/{name}", depth + 1)
            else:
                doc = LOADERS.load(suffix)(data, f"{rel}/{name}")
        except LoadError as err:
            warnings.append(f"attachment {name}: {err}")
            continue
        except Exception as err:
            warnings.append(f"attachment {name}: could not be read ({type(err).__name__}: {one_line(err)})")
            continue
        doc.source = f"attachment of the e-mail “{mail}” ({Path(rel).name})"
        parts.extend([doc, *doc.parts])  # a forwarded e-mail's own attachments are reports too
        doc.parts = []
    return parts


def _nested(suffix: str) -> Callable[[bytes, str, int], Document]:
    """The reader of an e-mail attached to an e-mail, which counts how deep it is."""
    if suffix == ".msg":
        from askfront.ingest.outlook import read_message

        return read_message
    return _message
