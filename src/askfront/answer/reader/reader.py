"""A span reader: a small transformer that marks the answer to a question inside a passage.

The shipped reader is all-MiniLM-L6-v2 fine-tuned on SQuAD v1.1 (plus made-up no-answer pairs) with a
start/end head; "no answer" is the [CLS] position (see ``models/reader/MODEL_CARD.md`` and
``training/train_reader.py``). Its word embeddings were frozen in training and are not shipped: they are
read from the packaged embedding model, whose weights are sha-checked like everything else here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from askfront.answer.conversation import Answer, abstain, citation
from askfront.answer.reader import check, verify
from askfront.answer.reader.decode import SpanGuess, batch_tensors, tokenize, top_spans
from askfront.answer.reader.model import META_FILE, READER_DIR, load_model, load_tokenizer
from askfront.core.cache import LRU
from askfront.core.errors import ModelError
from askfront.index.embed import file_sha256
from askfront.language import attribution, nlp, numbers
from askfront.language.spans import SENTENCE_END, balanced, whole_name, whole_quantity, whole_words

if TYPE_CHECKING:
    from collections.abc import Sequence

    from spacy.language import Language
    from spacy.tokens import Span
    from transformers import BertForQuestionAnswering, PreTrainedTokenizerFast

    from askfront.index.store import Index
    from askfront.search.retrieve import Hit


# --- answering with the reader -------------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """Text the reader reads: characters ``begin``.. of one report, covering the retrieved chunks
    ``hits`` (their ranks, 0 = best retrieved); ``rank`` is the best of them."""

    rank: int
    hits: tuple[int, ...]
    begin: int
    text: str
    path: str = ""
    title_end: int = 0  # characters of ``text`` that are the report's title line (never an answer)
    title: str = ""  # the report's title (the answer checker reads it with the candidate's sentence)
    report: str = ""  # the report counted for agreement: the one it copies, if it is a copy (index.copies)


@dataclass
class Candidate:
    """One of the reader's best spans in one window of a passage: ``passage.text[start:end]``."""

    passage: Passage
    start: int
    end: int
    margin: float  # span score minus the window's no-answer score
    score: float = 0.0  # start + end logit of the span
    null: float = 0.0  # the window's no-answer score
    _shown: tuple[int, int, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def rank(self) -> int:
        return self.passage.rank

    @property
    def begin(self) -> int:
        return self.passage.begin

    @property
    def text(self) -> str:
        return self.passage.text

    def span(self) -> tuple[int, int, str]:
        """The answer as shown: whole words, brackets balanced, widened to a whole quantity, trimmed; its
        characters in ``text`` and its words. Computed once: the type check, the answer checker's input, the
        breakdown rule and the answer all ask for it."""
        if self._shown is None:
            self._shown = self._widened()
        return self._shown

    def _widened(self) -> tuple[int, int, str]:
        a, b = whole_words(self.text, self.start, self.end)
        a, b = whole_quantity(self.text, a, b)
        a, b = whole_name(self.text, a, b)
        a, b = balanced(self.text, a, b)
        piece = self.text[a:b]
        a += len(piece) - len(piece.lstrip(" ,;:"))
        b -= len(piece) - len(piece.rstrip(" ,;:"))
        return a, b, numbers.display(self.text[a:b])


# Spans kept per window: the best of the right answer type is nearly always among the first few. With the
# answer checker twice as many: a part ("23 in Syria") can sit behind ten variants of the total ("34",
# "34 strikes", ...), and the checker reads past them (see verify.distinct).
SPANS_PER_WINDOW = 10
SPANS_PER_WINDOW_CHECKED = 20


def _title_end(text: str, begin: int, hit: Hit) -> int:
    """Characters of a passage that are its report's title line (a report that opens with its title, as
    one without metadata does): a title is not an answer."""
    if begin != 0:
        return 0
    first = text.split("\n", 1)[0]
    title = hit.record.title.strip()
    return len(first) if title and first.strip() == title else 0


_LOADED: dict[str, tuple[BertForQuestionAnswering, dict, PreTrainedTokenizerFast]] = {}
_CHECKERS: dict[str, check.Checker] = {}


def _recorded_verifier(folder: Path) -> str | None:
    """The verifier's sha256 that ``reader.json`` records now."""
    import json

    try:
        return json.loads((folder / META_FILE).read_text()).get("verifier_sha256")
    except (OSError, ValueError, AttributeError) as err:
        raise ModelError(f"{folder / META_FILE}: cannot read the reader's description ({err})") from err


def _checker(folder: Path, device: str, precision: str) -> check.Checker:
    """The answer checker in ``folder`` (sha-checked), loaded once per process."""
    key = f"{folder.resolve()}|{device}|{precision}"
    if key not in _CHECKERS:
        model, meta = check.load(folder)
        _CHECKERS[key] = check.Checker(model.half() if precision == "fp16" else model, meta, device, precision)
    return _CHECKERS[key]


class ReaderAnswerer:
    """Answers with the trained span reader: every retrieved passage is read, the best right-typed span
    across them wins, and the verifier beside the weights decides whether it answers (see ``verify.decide``;
    without a verifier: its margin less ``rank_penalty`` per retrieval rank must reach ``min_margin``)."""

    def __init__(
        self,
        index: Index,
        folder: Path | None = None,
        min_margin: float = 0.0,
        rank_penalty: float = 0.0,
        precision: str = "auto",
        nlp: Language | None = None,
        context_chars: int = 200,
        device: str = "auto",
        use_verifier: bool = True,
        use_checker: bool = True,
    ) -> None:
        from askfront.index.embed import resolve_device

        self.index, self.folder = index, folder
        self.min_margin, self.rank_penalty, self.context_chars = min_margin, rank_penalty, context_chars
        self.precision = precision
        self.device = resolve_device(device)
        self._nlp = nlp
        self._model: BertForQuestionAnswering | None = None
        self._tokenizer: PreTrainedTokenizerFast | None = None
        self.meta: dict = {}
        # The fitted answerability verifier beside the weights (verifier.json); without one (or with
        # use_verifier off) the plain margin rule decides.
        self.use_verifier = use_verifier
        self.verifier: verify.Verifier | None = None
        # The answer checker beside the weights (check.json): reads each candidate in its sentence.
        self.use_checker = use_checker
        self.checker: check.Checker | None = None
        self._parsed = LRU(256)

    def warm_up(self) -> None:
        """Load the weights (sha-checked), the tokenizer, the verifier and spaCy now."""
        _ = self.model, self.tokenizer, self.nlp

    @property
    def model(self) -> BertForQuestionAnswering:
        if self._model is None:
            from askfront.index.embed import resolve_precision

            self.precision = resolve_precision(self.precision, self.device)
            key = f"{(self.folder or READER_DIR).resolve()}|{self.device}|{self.precision}"
            if key not in _LOADED:  # once per process: a rebuilt index gets a new answerer, not a new model
                model, meta = load_model(self.folder)
                model = model.to(self.device)
                _LOADED[key] = (model.half() if self.precision == "fp16" else model, meta, load_tokenizer())
            self._model, self.meta, self._tokenizer = _LOADED[key]
            path = (self.folder or READER_DIR) / verify.VERIFIER_FILE
            if self.use_verifier and path.is_file():
                # read again: the weights are loaded once per process, a refitted verifier may be newer
                recorded = _recorded_verifier(self.folder or READER_DIR)
                if recorded and file_sha256(path) != recorded:
                    raise ModelError(
                        f"{path}: sha256 does not match the one recorded in {META_FILE}; damaged or replaced"
                    )
                self.verifier = verify.Verifier.load(path)
            folder = self.folder or READER_DIR
            if self.use_checker and (folder / check.CHECK_META).is_file():
                self.checker = _checker(folder, self.device, self.precision)
            if self.verifier is not None and self.verifier.meta.get("checker") and self.checker is None:
                raise ModelError(f"{path}: fitted with the answer checker, but {folder / check.CHECK_META} is missing")
        return self._model

    @property
    def tokenizer(self) -> PreTrainedTokenizerFast:
        self.model  # noqa: B018 - loads both
        assert self._tokenizer is not None
        return self._tokenizer

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            self._nlp = nlp.load_nlp()
        return self._nlp

    def bounds(self, hit: Hit) -> tuple[int, int]:
        """The hit's passage widened to whole sentences (at most ``context_chars`` each side), as
        characters of its report."""
        r = hit.record
        lo = max(0, r.start - self.context_chars)
        text = self.index.text(r.path, lo, r.end + self.context_chars)
        ends = list(SENTENCE_END.finditer(text[: r.start - lo]))
        begin = ends[-1].end() if ends else (0 if lo == 0 else r.start - lo)
        tail_from = r.end - lo
        m = SENTENCE_END.search(text, tail_from)
        stop = m.start() + 1 if m else (len(text) if len(text) - tail_from < self.context_chars else tail_from)
        if text[tail_from - 1 : tail_from] in ".!?":
            stop = min(stop, tail_from)
        return lo + begin, lo + stop

    def passages(self, hits: list[Hit]) -> list[Passage]:
        """What to read for ``hits``: each widened to whole sentences, and the ones of one report that
        overlap or touch merged into one passage (neighbouring chunks share text: reading it once is
        faster and gives the reader the whole context), in retrieval order."""
        spans: dict[str, list[tuple[int, int, int]]] = {}
        for i, hit in enumerate(hits):
            spans.setdefault(hit.record.path, []).append((*self.bounds(hit), i))
        out = []
        for path, found in spans.items():
            groups: list[list[tuple[int, int, int]]] = []
            for item in sorted(found):
                if groups and item[0] <= max(g[1] for g in groups[-1]):
                    groups[-1].append(item)
                else:
                    groups.append([item])
            for group in groups:
                begin, end = group[0][0], max(g[1] for g in group)
                ranks = tuple(sorted(g[2] for g in group))
                text = self.index.text(path, begin, end)
                first = hits[ranks[0]]
                title_end = _title_end(text, begin, first)
                story = first.record.copy_of or path
                out.append(Passage(ranks[0], ranks, begin, text, path, title_end, first.record.title, story))
        return sorted(out, key=lambda p: p.rank)

    def read(
        self, questions: Sequence[str], passages: Sequence[str], batch_size: int = 32, spans: int = 1
    ) -> list[SpanGuess]:
        """The reader's ``spans`` best spans in each window of each (question, passage) pair (``example`` =
        pair number), computed in batches of similar length."""
        import torch

        from askfront.index.embed import autocast

        model = self.model
        features = tokenize(self.tokenizer, questions, passages, self.meta["max_length"], self.meta["stride"])
        order = sorted(range(len(features.example)), key=lambda i: len(features.input_ids[i]))
        cast = autocast(self.device, self.precision)
        guesses: list[list[SpanGuess]] = [[] for _ in order]
        with torch.inference_mode(), cast:
            for lo in range(0, len(order), batch_size):
                rows = order[lo : lo + batch_size]
                out = model(**batch_tensors(features, rows, self.device))
                starts, ends = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
                found = top_spans(starts, ends, features, rows, spans)
                for row, best in zip(rows, found, strict=True):
                    guesses[row] = best
        return [g for best in guesses for g in best]

    def candidates(self, resolved: str, hits: list[Hit]) -> list[Candidate]:
        """The reader's best spans in each window of each passage read for ``hits``."""
        return self.read_passages(resolved, self.passages(hits))

    def read_passages(self, resolved: str, passages: list[Passage]) -> list[Candidate]:
        """The reader's best spans (``SPANS_PER_WINDOW``) in each window of each of ``passages``."""
        self.model  # noqa: B018 - loads the checker too, which decides how many spans to keep
        spans = SPANS_PER_WINDOW_CHECKED if self.checker is not None else SPANS_PER_WINDOW
        guesses = self.read([resolved] * len(passages), [p.text for p in passages], spans=spans)
        return [Candidate(passages[g.example], g.start, g.end, g.margin, g.score, g.null_score) for g in guesses]

    def decide(self, resolved: str, hits: list[Hit]) -> verify.Decision:
        """Read ``hits`` for ``resolved`` and decide: the right-typed best span, and whether it answers."""
        found = self.candidates(resolved, hits)
        return verify.decide(resolved, found, self.verifier, self.min_margin, self.rank_penalty, self.checker)

    def answer(self, question: str, resolved: str, hits: list[Hit]) -> Answer:
        if not hits:
            return abstain(question, resolved, hits)
        decision = self.decide(resolved, hits)
        best = decision.chosen
        if not isinstance(best, Candidate):
            near = decision.best if decision.near and isinstance(decision.best, Candidate) else None
            score = decision.probability if decision.probability is not None else None
            if near is None:
                return abstain(question, resolved, hits, score=score)
            first = hits[near.rank]
            return abstain(question, resolved, [first, *(h for h in hits if h is not first)], score=score, near=True)
        a, b, short = best.span()
        # cite the retrieved chunk that holds the answer (merged passages hold several)
        inside = [i for i in best.passage.hits if hits[i].record.start <= best.begin + a < hits[i].record.end]
        hit = hits[inside[0] if inside else best.rank]
        sent = self._sentence(hit, best.begin, best.text, a, b)
        quote_start = sent.start_char + len(sent.text) - len(sent.text.lstrip())
        quote_end = sent.start_char + len(sent.text.rstrip())
        cited = citation(1, hit, best.begin + quote_start, best.begin + quote_end, " ".join(sent.text.split()))
        cited.answer_start, cited.answer_end = best.begin + a, best.begin + b
        who = attribution.attribution(sent, a, b)
        body = f"{short}{', ' + who if who else ''} [1]"
        score = decision.probability if decision.probability is not None else best.margin
        return Answer(
            question, body, short, [cited], attribution=who, resolved_question=resolved, score=score,
            confidence=verify.confidence_words(decision, self.verifier),
        )  # fmt: skip

    def _sentence(self, hit: Hit, begin: int, text: str, a: int, b: int) -> Span:
        """The parsed sentence(s) of the passage that hold characters a..b (parsed once per passage)."""
        key = (self.index.folder, hit.record.path, begin, len(text))
        [doc] = self._parsed.get_many([key], lambda keys: [self.nlp(text, disable=["ner"]) for _ in keys])
        first = next((s for s in doc.sents if s.end_char > a), None)
        last = next((s for s in doc.sents if s.end_char >= b), None)
        if first is None or last is None:
            return doc[:]
        return doc[first.start : last.end]
