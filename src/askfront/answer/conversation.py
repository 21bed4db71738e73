"""What askfront says to a question: the ``Answer`` and its ``Citation``s, the small ``Answerer`` protocol
every answerer (reader, rules, language model) implements, and the one ``Conversation`` in front of them.

The conversation does what is the same for every answerer: it rewrites follow-ups so they stand alone,
answers "Who said that?" from the previous answer, retrieves the passages and times the whole. An answerer
only turns (question, passages) into an Answer.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol

from askfront.answer.followup import followup_scope, resolve_followup, speaker_before
from askfront.core.arabic import is_arabic
from askfront.core.errors import AskfrontError
from askfront.core.types import Component, in_files
from askfront.core.visible import visible
from askfront.language.nlp import load_nlp
from askfront.search.retrieve import Filters, Hit, Retriever

if TYPE_CHECKING:
    from spacy.language import Language

ABSTAIN_TEXT = "The reports don't say."
SPEAKER_LOOKBACK = 400  # characters before a quote searched for the line that introduces its speaker
# Longer questions are refused: no real question is this long, and a 7 MB one held the app for 36 s.
MAX_QUESTION_CHARS = 2000
ARABIC_TEXT = (
    "askfront cannot pick an answer in Arabic: its reader reads English. The passages below hold the words "
    "of your question: read them for the answer."
)
ARABIC_NOTICE = "A question in Arabic: passages found by their words, no answer picked (the reader is English)."


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
    date_read: str = ""  # how the report's date was read from it ('' from metadata; core.types.DATE_READ)
    ocr: bool = False  # the quoted page was read by OCR from a scan (check the original page)


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
    # the answerer's confidence (reader: the verifier's probability that the span answers, or without a
    # verifier the span score minus the no-answer score)
    score: float | None = None
    confidence: str = ""  # the same in words for the journalist: "found in 3 reports", "one passage, weak match"
    filters: dict[str, Any] = field(default_factory=dict)  # the filters that were on (files, since, until)
    reports: list[dict[str, Any]] = field(default_factory=list)  # "every report" answers: one row per report
    near: bool = False  # an abstention whose first closest passage scored nearly as high as an answer

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Answer:
        """The answer ``to_dict`` gave (as JSON carried it); TypeError/KeyError if it is not one."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        for name in ("citations", "closest"):
            values[name] = [Citation(**c) for c in raw.get(name) or []]
        return cls(**values)


def verdict(answer: dict[str, Any], n: int | None) -> str:
    """Whether passage [n] of an answer (``Answer.to_dict()``) answers its question, as the chat says it:
    'answers', 'may answer' (the first closest passage of a near abstention: "a passage may answer it,
    check [1]") or 'does not answer'. The Sources panel and both exports label passages with it."""
    if answer.get("citations") and not answer.get("abstained"):
        return "answers"
    if answer.get("answer") == ARABIC_TEXT:  # passages found by the words of an Arabic question, not judged
        return "may answer"
    return "may answer" if answer.get("near") and n == 1 else "does not answer"


class Answerer(Component, Protocol):
    """Turns a question and the passages retrieved for it into an Answer (or an abstention)."""

    def answer(self, question: str, resolved: str, hits: list[Hit]) -> Answer:
        """``question`` as asked, ``resolved`` as it stands alone (what to read the passages for)."""
        ...


class Conversation:
    """One front for every answerer: follow-ups, "Who said that?", retrieval, timings."""

    def __init__(
        self, retriever: Retriever, answerer: Answerer, top_k: int = 5, nlp: Language | None = None, read_k: int = 0
    ) -> None:
        self.retriever, self.answerer, self.top_k = retriever, answerer, top_k
        self.read_k = max(top_k, read_k)  # passages retrieved and given to the answerer
        self._nlp = nlp

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            self._nlp = load_nlp()
        return self._nlp

    def warm_up(self) -> None:
        """Load the models now (lazy properties of the answerer and its fallback), so that the first
        question does not wait for them; an endpoint of a language model is not called."""
        _ = self.nlp
        for ranker in self.retriever.rankers:
            ranker.warm_up()
        self.answerer.warm_up()

    def resolve(self, question: str, history: list[Answer] | None) -> str:
        """The question as it stands alone (a follow-up rewritten with the conversation)."""
        return resolve_followup(question, history, self.nlp) if history else question

    def scope(self, question: str, resolved: str, history: list[Answer]) -> tuple[str, ...]:
        """The reports a follow-up is asked of (those of the last answer), () for a question of its own."""
        if not history:
            return ()
        index = self.retriever.index

        def mentions(path: str, name: str) -> bool:
            try:
                return name.lower() in index.document(path).text.lower()
            except KeyError:
                return False

        return followup_scope(question, resolved, history[-1], mentions, self.nlp)

    def who_said(self, question: str, previous: Answer) -> Answer:
        """'Who said that?': the previous answer's attribution, else the speaker who introduces its quote
        on the line before ('Foreign Office Minister Tobias Ellwood said:')."""
        if not previous.abstained and previous.citations and not previous.attribution:
            c = previous.citations[0]
            try:
                before = self.retriever.index.text(c.file, max(0, c.start - SPEAKER_LOOKBACK), c.start)
            except KeyError:
                before = ""
            speaker = speaker_before(before)
            if speaker:
                return Answer(question, f"{speaker} [1]", speaker, previous.citations,
                              attribution=f"according to {speaker}", resolved_question=question)  # fmt: skip
        return who_said(question, previous)

    def note_filters(self, answer: Answer, filters: Filters | None) -> None:
        """Record the filters on the answer, and say how many undated reports a date filter left out."""
        if not filters:
            return
        answer.filters = {"files": list(filters.files), "since": filters.since, "until": filters.until}
        undated = self.retriever.undated_left_out(filters)
        if undated:
            note = f"{undated} undated report{'s were' if undated > 1 else ' was'} left out by the date filter."
            answer.notice = f"{answer.notice} {note}".strip()

    def ask(self, question: str, history: list[Answer] | None = None, filters: Filters | None = None) -> Answer:
        """Answer ``question``; ``history`` (earlier answers of this conversation) resolves follow-ups."""
        if len(question) > MAX_QUESTION_CHARS:
            raise AskfrontError(
                f"the question is {len(question):,} characters long; askfront reads at most "
                f"{MAX_QUESTION_CHARS:,} characters"
            )
        started = time.perf_counter()
        question = visible(question)  # read as it is displayed (a pasted soft hyphen or direction mark)
        history = history or []
        if history and _WHO_SAID.match(question.strip()):
            given = [a for a in history if not a.abstained and (a.citations or a.reports)]
            return self.who_said(question, given[-1] if given else history[-1])  # the last answer given
        resolved = self.resolve(question, history)
        scope = self.scope(question, resolved, history)
        if scope and filters and filters.files:  # within the reports the journalist chose
            scope = tuple(f for f in scope if in_files(f, filters.files))
        asked = Filters(scope, *(filters.since, filters.until) if filters else ("", "")) if scope else filters
        hits = self.retriever.search(resolved, top_k=self.read_k, filters=asked)
        retrieved = time.perf_counter()
        if is_arabic(question):  # the reader reads English only: the passages, said plainly, never a guess
            answer = Answer(question, ARABIC_TEXT, "", abstained=True, resolved_question=resolved,
                            closest=closest_passages(hits, self.top_k), notice=ARABIC_NOTICE)  # fmt: skip
        else:
            answer = self.answerer.answer(question, resolved, hits)
        self.note_filters(answer, filters)
        if scope:
            titles = "; ".join(dict.fromkeys(c.title for c in history[-1].citations)) or ", ".join(scope)
            answer.notice = (
                f"Follow-up: asked of the report{'s' if len(scope) > 1 else ''} the last answer came "
                f"from ({titles}). {answer.notice}".strip()
            )
        done = time.perf_counter()
        answer.timings = {
            **answer.timings,
            "retrieve_ms": (retrieved - started) * 1000,
            "answer_ms": (done - retrieved) * 1000,
            "total_ms": (done - started) * 1000,
        }
        return answer


NEAR_TEXT = "The reports don't clearly say: a passage may answer it, check [1]."


def abstain(question: str, resolved: str, hits: list[Hit], score: float | None = None, near: bool = False) -> Answer:
    """ "The reports don't say", with the closest passages (labelled as not answering) when there are any;
    ``near``: the first of them scored nearly as high as an answer, and the text says so."""
    closest = closest_passages(hits)
    if near and closest:
        text = NEAR_TEXT
    else:
        text = ABSTAIN_TEXT + (" The closest passages are shown below; they do not answer it." if closest else "")
    return Answer(
        question, text, "", abstained=True, resolved_question=resolved, closest=closest, score=score,
        near=near and bool(closest),
    )  # fmt: skip


def who_said(question: str, previous: Answer) -> Answer:
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


def closest_passages(hits: list[Hit], count: int = 3) -> list[Citation]:
    """The best retrieved passages, shown (as not answering) when askfront abstains."""
    return [passage_citation(n, h) for n, h in enumerate(hits[:count], 1)]


def passage_citation(n: int, hit: Hit) -> Citation:
    """Citation ``[n]`` of a whole retrieved passage."""
    return citation(n, hit, hit.record.start, hit.record.end, hit.record.text)


def citation(n: int, hit: Hit, start: int, end: int, quote: str) -> Citation:
    """Citation ``[n]``: characters ``start``..``end`` (``quote``) of the report ``hit`` comes from."""
    r = hit.record
    page = r.page_at(start)  # a sentence late in a passage may sit on the PDF's next page
    ocr = (page or 1) in r.ocr_pages
    return Citation(n, r.path, r.title, r.date, r.source, start, end, quote, page, hit.score, r.start, r.end,
                    date_read=r.date_read, ocr=ocr)  # fmt: skip
