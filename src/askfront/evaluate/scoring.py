"""Scoring one answer and summarising many: SQuAD exact match and token F1, retrieval recall and MRR,
citation precision, abstention precision and recall, latency percentiles."""

from __future__ import annotations

import collections
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from askfront.evaluate.question_files import Question
from askfront.language.text import normalize
from askfront.search.retrieve import Hit

if TYPE_CHECKING:
    from askfront.answer.conversation import Answer


def exact_match(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    return float(any(normalize(prediction) == normalize(g) for g in golds))


def f1(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """Best token-overlap F1 of ``prediction`` against any gold answer."""
    best = 0.0
    pred = normalize(prediction).split()
    for gold in golds:
        ref = normalize(gold).split()
        common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str, golds: tuple[str, ...] | list[str]) -> bool:
    """A passage supports a gold answer when it contains it (after normalisation)."""
    norm = f" {normalize(text)} "
    return any(f" {normalize(g)} " in norm for g in golds if normalize(g))


@dataclass
class Result:
    """One scored question: what was asked, what came back, and the scores."""

    id: str
    question: str
    gold: tuple[str, ...]
    predicted: str
    answer: str
    abstained: bool
    citations: list[dict]
    retrieved: list[dict]  # the passages retrieval ranked, best first: file, start, end, relevant
    em: float
    f1: float
    in_answer: float  # a gold answer appears in the full answer text
    citation_precision: float | None  # share of citations whose quote contains a gold answer
    first_relevant: int | None  # rank of the first relevant passage (1-based), None if none in the top 10
    latency_ms: float
    confidence: str = ""  # the answerer's "How sure" words

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


def is_source(path: str, source: str) -> bool:
    """The indexed report ``path`` is the question file's ``source`` (a file name, or a path under the corpus)."""
    return path == source or path.endswith("/" + source)


def relevant(text: str, path: str, question: Question) -> bool:
    """A passage is relevant when it contains a gold answer (and comes from the gold ``source`` file, if
    one is given); for an unanswerable question with a ``source``, any passage of that file is."""
    from_source = not question.source or is_source(path, question.source)
    if question.answers:
        return from_source and contains_answer(text, question.answers)
    return bool(question.source) and from_source


def score(question: Question, answer: Answer, hits: list[Hit]) -> Result:
    """Score one answer (and the passages retrieval ranked for the question) against the gold answers."""
    ranked = [
        {"file": h.record.path, "start": h.record.start, "end": h.record.end,
         "relevant": relevant(h.record.text, h.record.path, question), "text": h.record.text}
        for h in hits
    ]  # fmt: skip
    first = next((rank for rank, row in enumerate(ranked, 1) if row["relevant"]), None)
    golds = question.answers
    cited = [c for c in answer.citations if not answer.abstained]
    precision = None
    if golds and cited:
        precision = sum(contains_answer(c.quote, golds) for c in cited) / len(cited)
    predicted = "" if answer.abstained else answer.short_answer
    return Result(
        id=question.id,
        question=question.question,
        gold=golds,
        predicted=predicted,
        answer=answer.answer,
        abstained=answer.abstained,
        citations=[asdict(c) for c in cited],
        retrieved=ranked,
        em=exact_match(predicted, golds) if golds and predicted else 0.0,
        f1=f1(predicted, golds) if golds and predicted else 0.0,
        in_answer=float(bool(golds) and not answer.abstained and contains_answer(answer.answer, golds)),
        citation_precision=precision,
        first_relevant=first,
        latency_ms=answer.timings.get("total_ms", 0.0),
        confidence=answer.confidence,
    )


def summarize(results: list[Result]) -> dict[str, float | int | None]:
    """Standard metrics over scored questions (None where no question qualifies)."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    ranked = [r for r in results if r.answerable]
    abstained = [r for r in results if r.abstained]
    precisions = [r.citation_precision for r in answerable if r.citation_precision is not None]
    latencies = sorted(r.latency_ms for r in results)

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "exact_match": mean([r.em for r in answerable]),
        "f1": mean([r.f1 for r in answerable]),
        # SQuAD v2.0's official figures: every question counts, and abstaining on an unanswerable one scores 1
        "exact_match_all": mean([r.em if r.answerable else float(r.abstained) for r in results]),
        "f1_all": mean([r.f1 if r.answerable else float(r.abstained) for r in results]),
        "answer_in_text": mean([r.in_answer for r in answerable]),
        "recall@1": mean([float(r.first_relevant is not None and r.first_relevant <= 1) for r in ranked]),
        "recall@5": mean([float(r.first_relevant is not None and r.first_relevant <= 5) for r in ranked]),
        "recall@10": mean([float(r.first_relevant is not None) for r in ranked]),
        "mrr": mean([1.0 / r.first_relevant if r.first_relevant else 0.0 for r in ranked]),
        "citation_precision": mean(precisions),
        "abstention_precision": mean([float(not r.answerable) for r in abstained]),
        "abstention_recall": mean([float(r.abstained) for r in unanswerable]),
        # a false "the reports don't say": answerable questions whose answering passage was retrieved (in the
        # top 10, which the reader reads) and that were abstained on anyway
        "abstained_when_found": mean([float(r.abstained) for r in answerable if r.first_relevant is not None]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]
