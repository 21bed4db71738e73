"""Score answers against gold answers: SQuAD-style exact match and token F1, citations, abstention."""

from __future__ import annotations

import collections
import json
import math
import re
import string
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from askfront.core.errors import AskfrontError
from askfront.index.store import ChunkRecord
from askfront.search.retrieve import Hit

if TYPE_CHECKING:
    from askfront.answer.conversation import Answer, Conversation
    from askfront.core.config import Settings
    from askfront.index.store import Index


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


def is_squad(path: Path) -> bool:
    """A SQuAD v1.1/v2.0 file is one JSON object with a "data" list (our format is JSON Lines)."""
    try:
        with path.open("rb") as f:
            head = f.read(4096).lstrip()
    except OSError as err:
        raise AskfrontError(f"{path}: cannot read question file ({err.strerror or err})") from None
    return head.startswith(b"{") and b'"data"' in head and b"\n{" not in head


def read_squad(path: Path, corpus: Path, errors: list[str] | None = None) -> list[Question]:
    """Questions of a SQuAD v1.1/v2.0 file; every paragraph is written to ``corpus`` as a report
    (``<article>-<n>.txt``, its title the article's), so the pipeline retrieves from all of them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise AskfrontError(f"{path}: not a SQuAD file ({type(err).__name__}: {err})") from None
    corpus.mkdir(parents=True, exist_ok=True)
    out: list[Question] = []
    for a, article in enumerate(data):
        title = str(article.get("title", f"article {a}"))
        slug = article_slug(title, a)
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            name = f"{slug}-{p:03d}.txt"
            (corpus / name).write_text(f"{title}\n\n{paragraph['context']}\n", encoding="utf-8")
            for qa in paragraph.get("qas", []):
                try:
                    answers = [] if qa.get("is_impossible") else [x["text"] for x in qa["answers"]]
                    out.append(Question(qa["question"], tuple(dict.fromkeys(answers)), name, str(qa.get("id", ""))))
                except (KeyError, TypeError) as err:
                    message = f"{path}: {title} paragraph {p}: skipped malformed question ({err})"
                    if errors is None:
                        raise AskfrontError(message) from None
                    errors.append(message)
    return out


def article_slug(title: str, number: int) -> str:
    """The file-name prefix of a SQuAD article's paragraphs in the corpus ``read_squad`` writes."""
    return re.sub(r"[^\w-]+", "-", title).strip("-")[:60] or f"article-{number}"


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


_LABELS = {
    "exact_match": "exact match",
    "f1": "F1",
    "exact_match_all": "EM, all (SQuAD v2.0)",
    "f1_all": "F1, all (SQuAD v2.0)",
    "answer_in_text": "answer in answer text",
    "recall@1": "retrieval recall@1",
    "recall@5": "retrieval recall@5",
    "recall@10": "retrieval recall@10",
    "mrr": "retrieval MRR",
    "citation_precision": "citation precision",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "abstained_when_found": "abstained, answer passage found",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
}


def format_table(metrics: dict[str, float | int | None]) -> str:
    """The metrics as a two-column text table, with the question counts on top."""
    lines = [f"{metrics['questions']} questions ({metrics['answerable']} answerable, {metrics['unanswerable']} not)"]
    for key, label in _LABELS.items():
        lines.append(f"  {label:<24} {_shown(key, metrics.get(key)):>8}")
    return "\n".join(lines)


def write_results(out: Path, settings: Settings, metrics: dict, results: list[Result]) -> list[Path]:
    """``results.json`` (settings, metrics, every question), ``report.md`` (summary and failures with
    the passages retrieved) and ``metrics.png`` (a bar chart) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    shown = settings.public()  # no password or API key is ever written
    payload = {"settings": shown, "metrics": metrics, "results": [asdict(r) for r in results]}
    (out / "results.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "report.md").write_text(report_markdown(shown, metrics, results), encoding="utf-8")
    chart(metrics, out / "metrics.png")
    return [out / "results.json", out / "report.md", out / "metrics.png"]


def failed(result: Result) -> bool:
    """Wrong short answer, an answer to an unanswerable question, or an abstention on an answerable one."""
    return result.em < 1.0 if result.answerable else not result.abstained


def report_markdown(settings: dict[str, str], metrics: dict, results: list[Result]) -> str:
    """Summary table and every failure with what was retrieved for it."""
    keys = ("retriever", "answerer", "chunk_size", "chunk_overlap", "top_k", "model")
    lines = ["# askfront evaluation", "", ", ".join(f"{k} {settings.get(k) or 'default'}" for k in keys), ""]
    lines += ["| metric | value |", "|---|---|"]
    lines += [f"| {label} | {_shown(key, metrics.get(key))} |" for key, label in _LABELS.items()]
    wrong = [r for r in results if failed(r)]
    lines += ["", f"## Failures ({len(wrong)} of {len(results)})", ""]
    for r in wrong:
        gold = " / ".join(r.gold) if r.gold else "(unanswerable: should abstain)"
        lines += [f"### {r.id or r.question}", "", f"- question: {r.question}", f"- gold: {gold}"]
        lines += [f"- answered: {r.answer}", f"- first relevant passage at rank: {r.first_relevant or 'none'}", ""]
        for rank, passage in enumerate(r.retrieved[:5], 1):
            mark = " (relevant)" if passage["relevant"] else ""
            quote = " ".join(passage["text"].split())[:300]
            lines.append(f"{rank}. {passage['file']} {passage['start']}-{passage['end']}{mark}: {quote}")
        lines.append("")
    return "\n".join(lines)


def chart(metrics: dict, path: Path) -> None:
    """A horizontal bar chart of the 0..1 metrics (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [
        (label, metrics[k])
        for k, label in _LABELS.items()
        if not k.startswith("latency") and metrics.get(k) is not None
    ]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(items) + 1))
    ax.barh([label for label, _ in items][::-1], [v for _, v in items][::-1], color="#3b6ea5")
    for y, (_, value) in enumerate(items[::-1]):
        ax.text(min(value, 1.0) + 0.01, y, f"{value:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_title(f"askfront eval: {metrics['questions']} questions", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _shown(key: str, value: float | int | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if key.startswith("latency") else f"{value:.3f}"


GRID_KEYS = {"retriever": str, "answerer": str, "chunk_size": int, "chunk_overlap": int, "top_k": int}
GRID_COLUMNS = ("exact_match", "f1", "recall@5", "mrr", "citation_precision", "abstention_recall", "latency_p95_ms")


def parse_grid(specs: list[str]) -> list[dict[str, object]]:
    """``["retriever=dense,bm25", "chunk_size=300,500"]`` -> every combination as settings overrides."""
    axes: list[list[tuple[str, object]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in GRID_KEYS or not values.strip():
            raise AskfrontError(f"--grid {spec!r}: use NAME=V1,V2 with NAME one of {', '.join(GRID_KEYS)}")
        try:
            axes.append([(key, GRID_KEYS[key](v.strip())) for v in values.split(",")])
        except ValueError:
            raise AskfrontError(f"--grid {spec!r}: {key} takes whole numbers") from None
    combos: list[dict[str, object]] = [{}]
    for axis in axes:
        combos = [{**combo, k: v} for combo in combos for k, v in axis]
    return combos


def grid_table(rows: list[tuple[dict[str, object], dict]]) -> str:
    """One Markdown table comparing every grid combination on the main metrics."""
    keys = list(dict.fromkeys(k for combo, _ in rows for k in combo))
    header = [*keys, *(_LABELS[c] for c in GRID_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for combo, metrics in rows:
        cells = [str(combo.get(k, "")) for k in keys] + [_shown(c, metrics.get(c)) for c in GRID_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
