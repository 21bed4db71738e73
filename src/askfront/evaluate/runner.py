"""Running a question file: every question asked (open retrieval, or each from its own report), scored."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from askfront.core.errors import AskfrontError
from askfront.evaluate.question_files import Question
from askfront.evaluate.scoring import Result, is_source, score
from askfront.index.store import ChunkRecord
from askfront.search.retrieve import Hit

if TYPE_CHECKING:
    from askfront.answer.conversation import Conversation
    from askfront.index.store import Index


MODES = ("open", "reading")


def run(
    conversation: Conversation,
    questions: list[Question],
    depth: int = 10,
    on_result: Callable[[Result], None] | None = None,
    mode: str = "open",
) -> list[Result]:
    """Ask every question (each on its own, no conversation) and score it.

    ``open``: retrieval over all reports, scored to ``depth``. ``reading``: the answerer reads only the
    question's own report (its ``source``), whole, as one passage: what it scores is the reader alone."""
    if mode not in MODES:
        raise AskfrontError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    results = []
    for question in questions:
        if mode == "open":
            hits = conversation.retriever.search(question.question, top_k=depth)
            answer = conversation.ask(question.question)
        else:
            hits = [whole_report(conversation.retriever.index, question)]
            started = time.perf_counter()
            answer = conversation.answerer.answer(question.question, question.question, hits)
            answer.timings["total_ms"] = (time.perf_counter() - started) * 1000
        result = score(question, answer, hits)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def whole_report(index: Index, question: Question) -> Hit:
    """The question's own report as one passage (reading-comprehension mode)."""
    if not question.source:
        raise AskfrontError(f"question {question.id or question.question!r} names no source report to read")
    try:
        doc = index.document(question.source)  # the usual case, without listing every report
    except KeyError:
        paths = [p for p, _t, _d in index.documents() if is_source(p, question.source)]
        if not paths:
            raise AskfrontError(
                f"question {question.id or question.question!r}: report {question.source} is not indexed"
            ) from None
        doc = index.document(paths[0])
    record = ChunkRecord(
        -1, doc.path, doc.title, doc.date, doc.source, 0, len(doc.text), doc.page_at(0), doc.text, tuple(doc.pages)
    )
    return Hit(record, 1.0)
