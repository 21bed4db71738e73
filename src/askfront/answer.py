"""Answer a question from the indexed reports: a short answer with citations, or "the reports don't say".

``Answer`` is the one object the CLI, the UI and evaluation all use. The default ``Answerer`` is
extractive (see ``extract.py``): every answer is words of a report, cited by file and character span.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from askfront import extract
from askfront.retrieve import Filters, Hit, Retriever

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from spacy.language import Language
    from spacy.tokens import Doc, Span

    from askfront.config import Settings
    from askfront.embed import Embedder

ABSTAIN_TEXT = "The reports don't say."
# Calibrated on eval/demo.jsonl (see README "Answers"): below these a sentence is not taken as an answer.
MIN_COVERAGE = 0.6  # weighted share of the question's content words found in the answering sentence
MIN_SCORE = 0.55  # 0.6 * coverage + 0.4 * cosine(question, sentence)
CONTEXT_CHARS = 300  # report text read before and after each retrieved passage
WINDOW_CACHE = 1024  # parsed passages kept between questions
SENTENCE_CACHE = 8192  # sentence vectors kept between questions (1.5 KB each)


@dataclass
class Citation:
    """A cited report passage. ``start``/``end`` span ``quote`` in the report text; the answer span
    (when the citation supports the short answer) is ``answer_start``/``answer_end``."""

    n: int
    file: str
    title: str
    date: str
    source: str
    start: int
    end: int
    quote: str
    page: int | None
    score: float
    passage_start: int
    passage_end: int
    answer_start: int | None = None
    answer_end: int | None = None


@dataclass
class Answer:
    """What askfront says to a question, and everything needed to check it."""

    question: str
    answer: str  # full text shown to the user, with [n] citation marks
    short_answer: str  # the span that answers ('' when abstained)
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    supported: bool = True  # every statement in ``answer`` is backed by a cited passage
    attribution: str = ""  # who the report says makes the claim
    resolved_question: str = ""  # the question after follow-up resolution
    closest: list[Citation] = field(default_factory=list)  # shown when abstaining; they do not answer
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds
    notice: str = ""  # a one-line message for the user, e.g. that the language model did not answer
    checks: list[dict] = field(default_factory=list)  # generative answers: each sentence and whether it is backed

    def to_dict(self) -> dict:
        return asdict(self)


class _Cache(OrderedDict):
    """A dict that keeps the ``size`` most recently used entries: what ``get_many`` computes once."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_many(self, keys: list, compute: Callable[[list], Iterable]) -> list:
        """Values for ``keys``; the missing ones are computed together by ``compute(missing)``."""
        missing = list(dict.fromkeys(k for k in keys if k not in self))
        if missing:
            self.update(zip(missing, compute(missing), strict=True))
        for key in keys:
            self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return [self[k] for k in keys]


@dataclass
class _Sentence:
    span: Span
    hit: Hit
    offset: int  # where the parsed text (passage with context) starts in the report
    words: set[str] = field(default_factory=set)  # its words, plus the names a pronoun in it refers back to
    coverage: float = 0.0
    similarity: float = 0.0

    @property
    def score(self) -> float:
        return 0.6 * self.coverage + 0.4 * self.similarity


class Answerer:
    """Extractive answers over a ``Retriever``; spaCy is loaded lazily (or passed in)."""

    def __init__(self, retriever: Retriever, nlp: Language | None = None, top_k: int = 5) -> None:
        self.retriever = retriever
        self._nlp = nlp
        self.top_k = top_k
        # parsing is most of the answering time; the same passages come back again and again in a chat
        self._windows = _Cache(WINDOW_CACHE)  # (index version, report, begin, end) -> parsed text
        self._vectors = _Cache(SENTENCE_CACHE)  # sentence -> vector

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> Answerer:
        """The index, model and retriever that ``settings`` name, loaded once for many questions."""
        from askfront.embed import Embedder
        from askfront.index import Index

        index = Index.open(settings.index)
        embedder = embedder or Embedder(settings.model, settings.precision, settings.batch_size)
        return cls(Retriever(index, embedder, settings.retriever, settings.top_k), top_k=settings.top_k)

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            self._nlp = extract.load_nlp()
        return self._nlp

    def ask(self, question: str, history: list[Answer] | None = None, filters: Filters | None = None) -> Answer:
        """Answer ``question``; ``history`` (earlier answers of this conversation) resolves follow-ups."""
        started = time.perf_counter()
        history = history or []
        if history and _WHO_SAID.match(question.strip()):
            return self._who_said(question, history[-1])
        resolved = resolve_followup(question, history, self.nlp)
        hits = self.retriever.search(resolved, top_k=self.top_k, filters=filters)
        retrieved = time.perf_counter()
        answer = self._extract(question, resolved, hits)
        done = time.perf_counter()
        answer.timings = {
            "retrieve_ms": (retrieved - started) * 1000,
            "answer_ms": (done - retrieved) * 1000,
            "total_ms": (done - started) * 1000,
        }
        return answer

    def _extract(self, question: str, resolved: str, hits: list[Hit]) -> Answer:
        info = extract.analyse_question(self.nlp(resolved))
        # Only sentences with enough of the question's words and all of its names can answer; only they
        # are embedded (the costliest step after parsing) and only their windows get named entities.
        sentences = self._sentences(hits, info)
        for sentence in sentences:
            sentence.coverage = extract.coverage(info, sentence.words)
        sentences = [s for s in sentences if s.coverage >= MIN_COVERAGE and extract.names_present(info, s.words)]
        if sentences:
            texts = [" ".join(s.span.text.split()) for s in sentences]
            vectors = self._vectors.get_many(texts, self.retriever.embedder.encode)
            asked = self.retriever.embedder.encode_query(resolved)[0]
            for sentence, vector in zip(sentences, vectors, strict=True):
                sentence.similarity = float(np.dot(asked, vector))
        best: tuple[float, _Sentence, extract.Candidate] | None = None
        for sentence in sorted(sentences, key=lambda s: -s.score)[:4]:
            if sentence.score < MIN_SCORE or not extract.verb_present(info, sentence.span):
                continue
            found = extract.candidates(info, self._with_entities(sentence.span))
            if found:
                total = sentence.score + 0.1 * found[0].score
                if best is None or total > best[0]:
                    best = (total, sentence, found[0])
        if best is None:
            closest = closest_passages(hits)
            text = ABSTAIN_TEXT + (" The closest passages are shown below; they do not answer it." if closest else "")
            return Answer(question, text, "", abstained=True, resolved_question=resolved, closest=closest)
        _, sentence, candidate = best
        span = sentence.span
        quote = " ".join(span.text.split())
        start = sentence.offset + span.start_char + len(span.text) - len(span.text.lstrip())
        citation = _citation(1, sentence.hit, start, sentence.offset + span.start_char + len(span.text.rstrip()), quote)
        citation.answer_start = sentence.offset + candidate.start
        citation.answer_end = sentence.offset + candidate.end
        who = extract.attribution(span, candidate.start, candidate.end)
        text = f"{candidate.text}{', ' + who if who else ''} [1]"
        return Answer(question, text, candidate.text, [citation], attribution=who, resolved_question=resolved)

    def _sentences(self, hits: list[Hit], info: extract.QuestionInfo) -> list[_Sentence]:
        """Whole sentences of the retrieved passages, once each (passages overlap), in retrieval order.

        Each passage is read with some report text around it, so that a sentence cut by the chunk
        boundary is whole and a pronoun at its start ("They also took ...") can borrow the names of
        the sentences before it. A passage whose surroundings lack one of the question's names cannot
        hold an answer and is not parsed."""
        index = self.retriever.index
        windows = []  # (hit, begin, end) of the passages that may answer, with their context
        for hit in hits:
            r = hit.record
            begin, end = max(0, r.start - CONTEXT_CHARS), r.end + CONTEXT_CHARS
            if extract.may_name(info, index.text(r.path, begin, end)):
                windows.append((hit, begin, end))
        docs = self._windows.get_many([(index.folder, h.record.path, b, e) for h, b, e in windows], self._parse)
        out: list[_Sentence] = []
        seen: set[tuple[str, int]] = set()
        for (hit, begin, _end), doc in zip(windows, docs, strict=True):
            inherited: set[str] = set()  # names that earlier sentences give this sentence's pronouns
            for span in doc.sents:
                words = extract.words_of(span)
                if extract.refers_back(span):
                    words |= inherited
                    inherited |= extract.names_of(span)
                else:
                    inherited = extract.names_of(span)
                start = begin + span.start_char
                if begin + span.end_char <= hit.record.start or start >= hit.record.end:
                    continue  # context only
                if not span.text.strip() or len(span) < 3 or (hit.record.path, start) in seen:
                    continue
                seen.add((hit.record.path, start))
                out.append(_Sentence(span, hit, begin, words))
        return out

    def _parse(self, windows: list[tuple[Path, str, int, int]]) -> Iterator[Doc]:
        """Parsed report texts (``folder, path, begin, end`` each), in one batch and without named
        entities: they take half the parsing time and only answer candidates need them."""
        texts = [self.retriever.index.text(path, begin, end) for _folder, path, begin, end in windows]
        return self.nlp.pipe(texts, disable=["ner"])

    def _with_entities(self, span: Span) -> Span:
        """``span`` with its named entities, found once per sentence: recognising them in the sentence
        alone costs a fraction of doing it for the whole window, and only candidate sentences need them."""
        from spacy.tokens import Span as SpacySpan

        doc = span.doc
        done = doc.user_data.setdefault("askfront_ner", set())
        if span.start not in done:
            found = self.nlp.get_pipe("ner")(span.as_doc()).ents
            entities = [SpacySpan(doc, span.start + e.start, span.start + e.end, e.label_) for e in found]
            doc.set_ents(entities, default="unmodified")
            done.add(span.start)
        return span

    def _who_said(self, question: str, previous: Answer) -> Answer:
        """'Who said that?': the attribution of the previous answer, with the same citation."""
        if previous.abstained or not previous.citations:
            return Answer(question, "There is no earlier answer to attribute.", "", abstained=True)
        if previous.attribution:
            who = re.sub(r"^according to\s+", "", previous.attribution)
            return Answer(
                question, f"{who} [1]", who, previous.citations, attribution=previous.attribution,
                resolved_question=question,
            )  # fmt: skip
        title = previous.citations[0].title
        return Answer(
            question,
            f"The report states it without naming a source: {title} [1]",
            "",
            previous.citations,
            resolved_question=question,
        )


_WHO_SAID = re.compile(
    r"^(?:and\s+)?who\s+(?:said|says|claimed|claims|reported|reports|stated)\s+(?:that|this|it)\b", re.I
)
_PRONOUN = re.compile(r"\b(it|there|he|she|him|her|they|them|its|his|their)\b", re.I)
_PERSONAL = {"he", "she", "him", "her", "his"}


def resolve_followup(question: str, history: list[Answer], nlp: Language) -> str:
    """Rewrite a follow-up so it stands alone: 'And how far is it from Misrata?' after a question about
    Abu Grain becomes 'how far is Abu Grain from Misrata?'. Questions without a reference pass through."""
    if not history:
        return question
    previous = history[-1]
    before = previous.resolved_question or previous.question
    text = re.sub(r"^\s*(?:and|so|but|also|then)\b[\s,]*", "", question, flags=re.I).strip()
    about = re.match(r"^(?:what|how)\s+about\s+(.+?)\s*\??$", text, re.I)
    names = [" ".join(t.text for t in run) for run in extract.proper_runs(nlp(before)[:])]
    if about:
        if names:
            return before.replace(names[0], about.group(1), 1)
        return f"{before} {about.group(1)}"
    match = _PRONOUN.search(text)
    if not match:
        return question
    if any(t.pos_ in {"NOUN", "PROPN"} for t in nlp(text[: match.start()])):
        return question  # 'How many trucks did the convoy have when it reached Tobruk?': 'it' is the convoy
    word = match.group(1).lower()
    if word in _PERSONAL and previous.short_answer and not previous.abstained:
        referent = previous.short_answer
    elif names:
        referent = names[0]
    else:
        return question
    if word in {"its", "his", "their"}:
        referent += "'s"
    return text[: match.start()] + referent + text[match.end() :]


def closest_passages(hits: list[Hit], count: int = 3) -> list[Citation]:
    """The best retrieved passages, shown (as not answering) when askfront abstains."""
    return [passage_citation(n, h) for n, h in enumerate(hits[:count], 1)]


def passage_citation(n: int, hit: Hit) -> Citation:
    """Citation ``[n]`` of a whole retrieved passage."""
    return _citation(n, hit, hit.record.start, hit.record.end, hit.record.text)


def _citation(n: int, hit: Hit, start: int, end: int, quote: str) -> Citation:
    r = hit.record
    return Citation(n, r.path, r.title, r.date, r.source, start, end, quote, r.page, hit.score, r.start, r.end)
