"""Score answers against gold answers: SQuAD-style exact match and token F1, citations, abstention."""

from __future__ import annotations

import collections
import json
import math
import re
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from askfront.errors import AskfrontError

if TYPE_CHECKING:
    from askfront.answer import Answer, Answerer
    from askfront.config import Settings
    from askfront.generate import LLMAnswerer
    from askfront.retrieve import Hit


@dataclass(frozen=True)
class Question:
    """One line of a question file: ``answers`` empty means the reports do not answer it."""

    question: str
    answers: tuple[str, ...]
    source: str = ""
    id: str = ""


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


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


def read_questions(path: Path, errors: list[str] | None = None) -> list[Question]:
    """Questions from a JSONL file; a malformed line is reported (``errors``) and skipped."""
    out: list[Question] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
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
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            message = f"{path}:{number}: skipped malformed question ({type(err).__name__}: {err})"
            if errors is None:
                raise AskfrontError(message) from None
            errors.append(message)
    return out


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

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


def relevant(text: str, path: str, question: Question) -> bool:
    """A passage is relevant when it contains a gold answer (and comes from the gold ``source`` file, if
    one is given); for an unanswerable question with a ``source``, any passage of that file is."""
    from_source = not question.source or path == question.source or path.endswith("/" + question.source)
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
        "answer_in_text": mean([r.in_answer for r in answerable]),
        "recall@1": mean([float(r.first_relevant is not None and r.first_relevant <= 1) for r in ranked]),
        "recall@5": mean([float(r.first_relevant is not None and r.first_relevant <= 5) for r in ranked]),
        "recall@10": mean([float(r.first_relevant is not None) for r in ranked]),
        "mrr": mean([1.0 / r.first_relevant if r.first_relevant else 0.0 for r in ranked]),
        "citation_precision": mean(precisions),
        "abstention_precision": mean([float(not r.answerable) for r in abstained]),
        "abstention_recall": mean([float(r.abstained) for r in unanswerable]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def run(
    answerer: Answerer | LLMAnswerer,
    questions: list[Question],
    depth: int = 10,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Ask every question (each on its own, no conversation) and score it; retrieval is scored to ``depth``."""
    results = []
    for question in questions:
        hits = answerer.retriever.search(question.question, top_k=depth)
        result = score(question, answerer.ask(question.question), hits)
        results.append(result)
        if on_result:
            on_result(result)
    return results


_LABELS = {
    "exact_match": "exact match",
    "f1": "F1",
    "answer_in_text": "answer in answer text",
    "recall@1": "retrieval recall@1",
    "recall@5": "retrieval recall@5",
    "recall@10": "retrieval recall@10",
    "mrr": "retrieval MRR",
    "citation_precision": "citation precision",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
}


def format_table(metrics: dict[str, float | int | None]) -> str:
    """The metrics as a two-column text table, with the question counts on top."""
    lines = [f"{metrics['questions']} questions ({metrics['answerable']} answerable, {metrics['unanswerable']} not)"]
    for key, label in _LABELS.items():
        value = metrics.get(key)
        shown = "n/a" if value is None else f"{value:.1f}" if key.startswith("latency") else f"{value:.3f}"
        lines.append(f"  {label:<24} {shown:>8}")
    return "\n".join(lines)


def write_results(out: Path, settings: Settings, metrics: dict, results: list[Result]) -> Path:
    """``out/results.json``: the settings, the metrics and every question with its scores."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    payload = {
        "settings": {k: str(v) for k, v in asdict(settings).items()},
        "metrics": metrics,
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
