"""A span reader: a small transformer that marks the answer to a question inside a passage.

The shipped reader is all-MiniLM-L6-v2 fine-tuned on SQuAD v1.1 (plus made-up no-answer pairs) with a
start/end head; "no answer" is the [CLS] position (see ``models/reader/MODEL_CARD.md`` and
``training/train_reader.py``). Its word embeddings were frozen in training and are not shipped: they are
read from the packaged embedding model, whose weights are sha-checked like everything else here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from askfront.answer.conversation import Answer, abstain, citation
from askfront.answer.reader import verify
from askfront.core.cache import LRU
from askfront.core.errors import ModelError
from askfront.index.embed import DEFAULT_MODEL_SHA256, check_default_model, default_model_path, file_sha256
from askfront.language import attribution, nlp, numbers
from askfront.language.numbers import SCALE_PATTERN

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch
    from spacy.language import Language
    from spacy.tokens import Span
    from transformers import BertForQuestionAnswering, PreTrainedTokenizerFast

    from askfront.index.store import Index
    from askfront.search.retrieve import Hit

READER_DIR = Path(__file__).parents[2] / "models" / "reader"  # askfront/models/reader: package data
WEIGHTS_FILE = "reader.safetensors"
META_FILE = "reader.json"
WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
# Longest answer the reader may mark, in word pieces ("more than 700 square miles" is 6; SQuAD answers
# rarely pass 20).
MAX_ANSWER_TOKENS = 30


def load_tokenizer(base: Path | None = None) -> PreTrainedTokenizerFast:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base or default_model_path()), local_files_only=True)


def base_model(base: Path | None = None) -> BertForQuestionAnswering:
    """all-MiniLM-L6-v2 (sha-checked) with a fresh start/end head: the starting point of training."""
    from transformers import BertForQuestionAnswering
    from transformers.utils import logging as transformers_logging

    base = base or default_model_path()
    check_default_model(base)
    transformers_logging.disable_progress_bar()  # "Loading weights" bars are noise on the command line
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # "qa_outputs newly initialised" is expected here
    try:
        model = BertForQuestionAnswering.from_pretrained(str(base), local_files_only=True)
    finally:
        transformers_logging.set_verbosity(verbosity)
    return model


def export(model: BertForQuestionAnswering, folder: Path, meta: dict[str, Any]) -> Path:
    """Write the trained reader as fp16 safetensors without the (frozen, packaged) word embeddings, and
    ``reader.json`` with its sha256 and the settings it was trained with."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").half().contiguous() for k, v in model.state_dict().items() if k != WORD_EMBEDDINGS}
    weights = folder / WEIGHTS_FILE
    tmp = weights.with_suffix(".tmp")
    save_file(state, str(tmp))
    tmp.chmod(0o644)
    tmp.replace(weights)
    meta = {**meta, "weights": WEIGHTS_FILE, "sha256": file_sha256(weights), "base_sha256": DEFAULT_MODEL_SHA256}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return weights


def load_model(folder: Path | None = None, base: Path | None = None) -> tuple[BertForQuestionAnswering, dict]:
    """The trained reader from ``folder`` (default: the shipped one), its weights checked against the
    sha256 in ``reader.json``; word embeddings from the packaged base model."""
    from safetensors.torch import load_file

    folder = folder or READER_DIR
    meta_path = folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text())
        weights = folder / meta["weights"]
        if not all(type(meta.get(k)) is int and meta[k] > 0 for k in ("max_length", "stride")):
            raise ValueError("it must give max_length and stride, whole numbers of tokens")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ModelError(f"{meta_path}: cannot read the reader's description ({err})") from err
    if not weights.is_file():
        raise ModelError(f"{weights}: reader weights not found")
    actual = file_sha256(weights)
    if actual != meta.get("sha256"):
        raise ModelError(
            f"{weights}: sha256 {actual[:12]}… does not match {str(meta.get('sha256'))[:12]}… recorded in "
            f"{META_FILE}; the reader weights are damaged or were replaced"
        )
    model = base_model(base)
    state = load_file(str(weights))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if unexpected or set(missing) - {WORD_EMBEDDINGS}:
        raise ModelError(f"{weights}: not a reader for this base model (missing {missing}, unexpected {unexpected})")
    model.eval()
    return model, meta


@dataclass
class Features:
    """Tokenised (question, passage) windows. ``example`` maps each window to its pair; ``offsets`` gives,
    per token, its character span in the passage (None for question and special tokens)."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]]
    example: list[int]
    offsets: list[list[tuple[int, int] | None]]


def tokenize(
    tokenizer: PreTrainedTokenizerFast,
    questions: Sequence[str],
    passages: Sequence[str],
    max_length: int,
    stride: int,
    max_question_tokens: int = 64,
) -> Features:
    """Windows of ``max_length`` tokens over each passage (``stride`` tokens shared between windows),
    each preceded by its question (cut to ``max_question_tokens``)."""
    questions = [_cut_question(tokenizer, q, max_question_tokens) for q in questions]
    enc = tokenizer(
        list(questions),
        list(passages),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    offsets: list[list[tuple[int, int] | None]] = []
    for i, pairs in enumerate(enc["offset_mapping"]):
        seq = enc.sequence_ids(i)
        offsets.append([tuple(o) if s == 1 else None for o, s in zip(pairs, seq, strict=True)])
    return Features(
        input_ids=enc["input_ids"],
        token_type_ids=enc["token_type_ids"],
        example=list(enc["overflow_to_sample_mapping"]),
        offsets=offsets,
    )


def _cut_question(tokenizer: PreTrainedTokenizerFast, question: str, limit: int) -> str:
    ids = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(ids["input_ids"]) <= limit:
        return question
    return question[: ids["offset_mapping"][limit - 1][1]]


def pad(rows: list[list[int]], value: int = 0) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def batch_tensors(features: Features, idx: Sequence[int], device: str = "cpu") -> dict[str, torch.Tensor]:
    import torch

    ids = pad([features.input_ids[i] for i in idx])
    types = pad([features.token_type_ids[i] for i in idx])
    return {
        "input_ids": torch.from_numpy(ids).to(device),
        "token_type_ids": torch.from_numpy(types).to(device),
        "attention_mask": torch.from_numpy((ids != 0).astype(np.int64)).to(device),
    }


@dataclass
class SpanGuess:
    """The reader's best span in one window: characters ``start``..``end`` of the passage, its score
    (start + end logit) and the window's no-answer score ([CLS] start + end logit)."""

    example: int
    start: int
    end: int
    score: float
    null_score: float

    @property
    def margin(self) -> float:
        return self.score - self.null_score


def top_spans(
    start_logits: np.ndarray, end_logits: np.ndarray, features: Features, rows: Sequence[int], n: int
) -> list[list[SpanGuess]]:
    """For each window in ``rows`` (aligned with the logits), its ``n`` highest-scoring passage spans of at
    most MAX_ANSWER_TOKENS tokens, best first (one with score -inf when the window holds no passage)."""
    out = []
    for j, row in enumerate(rows):
        offs = features.offsets[row]
        size = len(offs)
        s_log = start_logits[j, :size].astype(np.float64)
        e_log = end_logits[j, :size].astype(np.float64)
        valid = np.array([o is not None for o in offs])
        s = np.where(valid, s_log, -np.inf)
        e = np.where(valid, e_log, -np.inf)
        # score[i, k] = s[i] + e[k] for i <= k < i + MAX_ANSWER_TOKENS
        grid = s[:, None] + e[None, :]
        band = np.triu(np.ones((size, size), dtype=bool)) & ~np.triu(
            np.ones((size, size), dtype=bool), MAX_ANSWER_TOKENS
        )
        flat = np.where(band, grid, -np.inf).ravel()
        null = float(s_log[0] + e_log[0])
        take = min(n, flat.size)
        best = np.argpartition(-flat, take - 1)[:take]
        best = best[np.argsort(-flat[best], kind="stable")]
        spans = []
        for index in best:
            if not np.isfinite(flat[index]):
                break
            i, k = divmod(int(index), size)
            spans.append(SpanGuess(features.example[row], offs[i][0], offs[k][1], float(flat[index]), null))
        out.append(spans or [SpanGuess(features.example[row], 0, 0, -np.inf, null)])
    return out


# --- answering with the reader -------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]?\s+")
_QUALIFIER = re.compile(
    r"(?:(?:more|less|fewer)\s+than|over|under|up\s+to|at\s+least|at\s+most|about|around|nearly|almost|some|"
    r"roughly|approximately|an\s+estimated|as\s+(?:many|much)\s+as|close\s+to|just\s+over|just\s+under)\s+$",
    re.IGNORECASE,
)
_NUMBER = (
    r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|a\s+hundred|dozens?|hundreds|thousands|millions)"
)
_SCALE = rf"(?:{SCALE_PATTERN})"  # the shared vocabulary (askfront.language.numbers)
_UNIT = (
    r"(?:(?:square\s+|sq\.?\s+|cubic\s+)?(?:kilometers|kilometres|km|miles|mi|meters|metres|feet|acres|hectares)|"
    r"euros?|dollars?|pounds?|US\s+dollars|barrels|tons|tonnes|per\s*cent|percent|%)"
)
_LEFT_OF_NUMBER = re.compile(r"(?:[$€£]\s?|(?:US|USD|EUR|GBP)\s?\$?)$")
_RIGHT_OF_NUMBER = re.compile(rf"^(?:\s*-?\s*{_SCALE}\b)?(?:\s*{_UNIT}(?![\w-]))?", re.IGNORECASE)


def whole_quantity(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``text[start:end]`` to the whole quantity it is part of: '9 billion' in 'over 9 billion euros'
    becomes 'over 9 billion euros', '5 million' in 'up to $5 million' becomes 'up to $5 million'.
    Spans that are not quantities are returned as they are."""
    span = text[start:end]
    if not re.search(rf"\d|\b{_NUMBER}\b|\b{_SCALE}\b", span, re.IGNORECASE):
        return start, end
    # a bare scale word ("billion") takes in the number before it
    m = re.search(rf"({_NUMBER}[\s-]*)$", text[max(0, start - 24) : start], re.IGNORECASE)
    if re.match(rf"^{_SCALE}\b", span, re.IGNORECASE) and m:
        start -= len(m.group(1))
    if re.search(rf"(?:\d|\b{_NUMBER}|\b{_SCALE})$", text[start:end], re.IGNORECASE):
        right = _RIGHT_OF_NUMBER.match(text[end:])
        if right and right.group(0).strip():
            end += len(right.group(0))
    left = _LEFT_OF_NUMBER.search(text[max(0, start - 6) : start])
    if left and re.match(r"\d", text[start:end]):
        start -= len(left.group(0))
    qualifier = _QUALIFIER.search(text[max(0, start - 24) : start])
    if qualifier and not re.match(
        r"(?:more|less|fewer|over|under|up|at|about|around|nearly|almost|some|roughly|approximately|"
        r"an|as|close|just)\b",
        text[start:end],
        re.IGNORECASE,
    ):
        start -= len(qualifier.group(0))
    # a figure given in two units is one answer: "140 kilometers or about 85 miles"
    for m in numbers.DISTANCE.finditer(text, max(0, start - 40), min(len(text), end + 60)):
        if m.start() <= start and end <= m.end():
            return m.start(), m.end()
    return start, end


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


@dataclass
class Candidate:
    """One of the reader's best spans in one window of a passage: ``passage.text[start:end]``."""

    passage: Passage
    start: int
    end: int
    margin: float  # span score minus the window's no-answer score
    score: float = 0.0  # start + end logit of the span
    null: float = 0.0  # the window's no-answer score

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
        characters in ``text`` and its words."""
        a, b = whole_words(self.text, self.start, self.end)
        a, b = whole_quantity(self.text, a, b)
        a, b = whole_name(self.text, a, b)
        a, b = balanced(self.text, a, b)
        piece = self.text[a:b]
        a += len(piece) - len(piece.lstrip(" ,;:"))
        b -= len(piece) - len(piece.rstrip(" ,;:"))
        return a, b, numbers.display(self.text[a:b])


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span that starts or ends inside a word ('Al-Marsoo' of 'Al-Marsoos': the reader works on
    word pieces) to whole words."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


_TITLES = (
    r"(?:Capt|Lt|Col|Gen|Maj|Sgt|Cpl|Pvt|Pfc|Spc|Adm|Cmdr|Cdr|Brig|Lt\.\s?Col|Lt\.\s?Gen|Maj\.\s?Gen|"
    r"Brig\.\s?Gen|Rear\s+Adm|Vice\s+Adm|Staff\s+Sgt|Sgt\.\s+Maj|Dr|Gov|Sen|Rep|Amb|Insp|Supt)\.?"
)
_TITLE_BEFORE = re.compile(rf"\b(?:{_TITLES}\s+)+$")
_UNIT_NOUN = r"(?:Battalion|Regiment|Brigade|Division|Company|Squadron|Group|Corps|Wing|Fleet|Battery|Command)"
_UNIT_AFTER = re.compile(rf"^,\s+(?:\d+(?:st|nd|rd|th)\s+)?(?:[A-Z][\w-]*\s+){{0,4}}{_UNIT_NOUN}\b")
_NAME_AFTER = re.compile(r"^\s(?:[A-Z][a-z][\w'\u2019-]*)(?:\s(?:[A-Z][a-z][\w'\u2019-]*)){0,2}\b")


def whole_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span that sits inside a longer name or unit to all of it: 'Christophe' of 'Capt. Christophe
    Cluzel' -> the whole name with its rank, '2nd Battalion' of '2nd Battalion, 5th Special Forces Group'
    -> the whole unit. Spans that are not names are returned as they are."""
    span = text[start:end]
    if not span or (not span[0].isupper() and not span[0].isdigit()):
        return start, end
    if re.search(rf"\b{_UNIT_NOUN}$", span):
        unit = _UNIT_AFTER.match(text[end:])
        if unit:
            end += unit.end()
    elif span[-1].isalpha() and span.split()[-1][0].isupper():
        after = _NAME_AFTER.match(text[end:])
        if after and not re.match(r"^[,.;:]", text[end:]):
            end += after.end()
    title = _TITLE_BEFORE.search(text[max(0, start - 30) : start])
    if title and span[0].isupper():
        start -= len(title.group(0))
    return start, end


def balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the other half of a bracket the span opens or closes ('HoR) government' -> '(HoR) government');
    a bracket whose other half is far away is left out instead."""
    piece = text[start:end]
    if piece.count(")") > piece.count("("):
        opening = text.rfind("(", max(0, start - 40), start)
        if opening >= 0:
            return opening, end
        return start, start + piece.rfind(")") if piece.rfind(")") > 0 else end
    if piece.count("(") > piece.count(")"):
        closing = text.find(")", end, end + 40)
        if closing >= 0:
            return start, closing + 1
        return start, start + piece.rfind("(") if piece.rfind("(") > 0 else end
    return start, end


# Spans kept per window: the best of the right answer type is nearly always among the first few.
SPANS_PER_WINDOW = 10


def _title_end(text: str, begin: int, hit: Hit) -> int:
    """Characters of a passage that are its report's title line (a report that opens with its title, as
    one without metadata does): a title is not an answer."""
    if begin != 0:
        return 0
    first = text.split("\n", 1)[0]
    title = hit.record.title.strip()
    return len(first) if title and first.strip() == title else 0


_LOADED: dict[str, tuple[BertForQuestionAnswering, dict, PreTrainedTokenizerFast]] = {}


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
        self._parsed = LRU(256)

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
                recorded = self.meta.get("verifier_sha256")
                if recorded and file_sha256(path) != recorded:
                    raise ModelError(
                        f"{path}: sha256 does not match the one recorded in {META_FILE}; damaged or replaced"
                    )
                self.verifier = verify.Verifier.load(path)
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
        ends = list(_SENTENCE_END.finditer(text[: r.start - lo]))
        begin = ends[-1].end() if ends else (0 if lo == 0 else r.start - lo)
        tail_from = r.end - lo
        m = _SENTENCE_END.search(text, tail_from)
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
                out.append(Passage(ranks[0], ranks, begin, text, path, _title_end(text, begin, hits[ranks[0]])))
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
        guesses = self.read([resolved] * len(passages), [p.text for p in passages], spans=SPANS_PER_WINDOW)
        return [Candidate(passages[g.example], g.start, g.end, g.margin, g.score, g.null_score) for g in guesses]

    def decide(self, resolved: str, hits: list[Hit]) -> verify.Decision:
        """Read ``hits`` for ``resolved`` and decide: the right-typed best span, and whether it answers."""
        found = self.candidates(resolved, hits)
        return verify.decide(resolved, found, self.verifier, self.min_margin, self.rank_penalty)

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
