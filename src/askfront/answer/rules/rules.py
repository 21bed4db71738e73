"""The rule answerer: the sentence that covers most of the question's words, and a span in it picked by
hand-written rules on spaCy's parse (see ``extract``). The default answerer is the trained reader
(``answer.reader``); this one stays selectable (``--answerer rules``) for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from askfront.answer.conversation import Answer, abstain, citation
from askfront.answer.rules import extract
from askfront.core.cache import LRU
from askfront.language import attribution, nlp

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from spacy.language import Language
    from spacy.tokens import Doc, Span

    from askfront.index.embed import Embedder
    from askfront.index.store import Index
    from askfront.search.retrieve import Hit

# Calibrated on eval/demo.jsonl (see README "Answers"): below these a sentence is not taken as an answer.
MIN_COVERAGE = 0.6  # weighted share of the question's content words found in the answering sentence
MIN_SCORE = 0.55  # 0.6 * coverage + 0.4 * cosine(question, sentence)
CONTEXT_CHARS = 300  # report text read before and after each retrieved passage
WINDOW_CACHE = 1024  # parsed passages kept between questions
SENTENCE_CACHE = 8192  # sentence vectors kept between questions (1.5 KB each)


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


class RuleAnswerer:
    """Extractive answers by hand rules over the index's report text; spaCy is loaded lazily (or passed in)."""

    def __init__(self, index: Index, embedder: Embedder, nlp: Language | None = None) -> None:
        self.index, self.embedder = index, embedder
        self._nlp = nlp
        # parsing is most of the answering time; the same passages come back again and again in a chat
        self._windows = LRU(WINDOW_CACHE)  # (index version, report, begin, end) -> parsed text
        self._vectors = LRU(SENTENCE_CACHE)  # sentence -> vector

    def warm_up(self) -> None:
        """Load spaCy (with the parser the rules read) and the sentence embedder now."""
        _ = self.nlp
        self.embedder.warm_up()

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            self._nlp = nlp.load_nlp()
        return self._nlp

    def answer(self, question: str, resolved: str, hits: list[Hit]) -> Answer:
        info = extract.analyse_question(self.nlp(resolved))
        # Only sentences with enough of the question's words and all of its names can answer; only they
        # are embedded (the costliest step after parsing) and only their windows get named entities.
        sentences = self._sentences(hits, info)
        for sentence in sentences:
            sentence.coverage = extract.coverage(info, sentence.words)
        sentences = [s for s in sentences if s.coverage >= MIN_COVERAGE and extract.names_present(info, s.words)]
        if sentences:
            texts = [" ".join(s.span.text.split()) for s in sentences]
            vectors = self._vectors.get_many(texts, self.embedder.encode)
            asked = self.embedder.encode_query(resolved)[0]
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
            return abstain(question, resolved, hits)
        _, sentence, candidate = best
        span = sentence.span
        quote = " ".join(span.text.split())
        start = sentence.offset + span.start_char + len(span.text) - len(span.text.lstrip())
        cited = citation(1, sentence.hit, start, sentence.offset + span.start_char + len(span.text.rstrip()), quote)
        cited.answer_start = sentence.offset + candidate.start
        cited.answer_end = sentence.offset + candidate.end
        who = attribution.attribution(span, candidate.start, candidate.end)
        text = f"{candidate.text}{', ' + who if who else ''} [1]"
        return Answer(question, text, candidate.text, [cited], attribution=who, resolved_question=resolved)

    def _sentences(self, hits: list[Hit], info: extract.QuestionInfo) -> list[_Sentence]:
        """Whole sentences of the retrieved passages, once each (passages overlap), in retrieval order.

        Each passage is read with some report text around it, so that a sentence cut by the chunk
        boundary is whole and a pronoun at its start ("They also took ...") can borrow the names of
        the sentences before it. A passage whose surroundings lack one of the question's names cannot
        hold an answer and is not parsed."""
        index = self.index
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
        texts = [self.index.text(path, begin, end) for _folder, path, begin, end in windows]
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
