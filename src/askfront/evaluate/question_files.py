"""Question files: JSON Lines (question, answers, optional source and id) and SQuAD v1.1/v2.0 JSON,
whose paragraphs become a temporary corpus."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from askfront.core.errors import AskfrontError, one_line, os_reason

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Question:
    """One line of a question file: ``answers`` empty means the reports do not answer it."""

    question: str
    answers: tuple[str, ...]
    source: str = ""
    id: str = ""


def read_questions(path: Path, errors: list[str] | None = None) -> list[Question]:
    """Questions from a JSONL file; a malformed line is reported (``errors``) and skipped."""
    out: list[Question] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark (Windows) is fine
    except (OSError, UnicodeDecodeError) as err:
        raise AskfrontError(f"{path}: cannot read question file ({err})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            answers = row.get("answers", [])
            if not isinstance(row["question"], str) or not isinstance(answers, list):
                raise TypeError("'question' must be text and 'answers' a list")
            out.append(Question(row["question"], tuple(map(str, answers)), row.get("source", ""), row.get("id", "")))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            reason = "nested too deeply" if isinstance(err, RecursionError) else f"{type(err).__name__}: {err}"
            message = f"{path}:{number}: skipped malformed question ({one_line(reason)})"
            if errors is None:
                raise AskfrontError(message) from None
            errors.append(message)
    return out


def is_squad(path: Path) -> bool:
    """A SQuAD v1.1/v2.0 file is one JSON object with a "data" list (our format is JSON Lines)."""
    try:
        with path.open("rb") as f:
            head = f.read(4096).lstrip()
    except OSError as err:
        raise AskfrontError(f"{path}: cannot read question file ({os_reason(err)})") from None
    return head.startswith(b"{") and b'"data"' in head and b"\n{" not in head


def read_squad(path: Path, corpus: Path, errors: list[str] | None = None) -> list[Question]:
    """Questions of a SQuAD v1.1/v2.0 file; every paragraph is written to ``corpus`` as a report
    (``<article>-<n>.txt``, its title the article's), so the pipeline retrieves from all of them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))["data"]
        if not isinstance(data, list):
            raise TypeError('"data" is not a list of articles')
    except RecursionError:
        raise AskfrontError(f"{path}: not a SQuAD file (nested too deeply)") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AskfrontError(f"{path}: not a SQuAD file ({type(err).__name__}: {one_line(err)})") from None
    corpus.mkdir(parents=True, exist_ok=True)
    out: list[Question] = []
    for a, article in enumerate(data):
        paragraphs = article.get("paragraphs", []) if isinstance(article, dict) else None
        title = str(article.get("title", f"article {a}")) if isinstance(article, dict) else f"article {a}"
        if not isinstance(paragraphs, list):
            _skip(errors, f"{path}: article {a}: skipped (not an object with a list of paragraphs)")
            continue
        slug = article_slug(title, a)
        for p, paragraph in enumerate(paragraphs):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            qas = paragraph.get("qas", []) if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not isinstance(qas, list):
                _skip(errors, f"{path}: {title} paragraph {p}: skipped (needs a 'context' text and a 'qas' list)")
                continue
            name = f"{slug}-{p:03d}.txt"
            (corpus / name).write_text(f"{title}\n\n{context}\n", encoding="utf-8")
            for qa in qas:
                try:
                    answers = [] if qa.get("is_impossible") else [str(x["text"]) for x in qa["answers"]]
                    if not isinstance(qa["question"], str):
                        raise TypeError("'question' must be text")
                    out.append(Question(qa["question"], tuple(dict.fromkeys(answers)), name, str(qa.get("id", ""))))
                except (KeyError, TypeError, AttributeError) as err:
                    _skip(errors, f"{path}: {title} paragraph {p}: skipped malformed question ({one_line(err)})")
    return out


def _skip(errors: list[str] | None, message: str) -> None:
    """A malformed part of a question file: noted in ``errors``, or the error when there is no list."""
    if errors is None:
        raise AskfrontError(message)
    errors.append(message)


def article_slug(title: str, number: int) -> str:
    """The file-name prefix of a SQuAD article's paragraphs in the corpus ``read_squad`` writes."""
    return re.sub(r"[^\w-]+", "-", title).strip("-")[:60] or f"article-{number}"
