"""Does the reader's span answer the question? Answer types, and a small fitted answerability verifier.

The span reader marks the best span in each window and scores it against "no answer"; on its own that
margin decides "answerable" badly (SQuAD v2.0: abstention precision 0.68 at recall 0.26). Two checks sit
on top of it:

- answer types: a "how old" question needs an age, "how many/much" a quantity, "what year" or "when" a
  date or time, "how far" a distance, "who"/"where" something that is not a bare number or date; a span
  of the wrong type is not the answer (the reader takes its next span of the right type, or abstains);
- the verifier: a logistic model over what the reader and retriever already know (span and no-answer
  scores, their margin, how far the next different answer is behind, how many read passages give the
  same answer, retrieval rank, how much of the question the answering sentence and passage hold). Its
  weights are fitted on SQuAD v2.0 dev-calib only (``benchmarks/reader.py``) and ship beside the reader
  as ``verifier.json``; it gives the probability that the span is a right answer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from askfront.core.errors import ModelError, one_line
from askfront.language.dates import MONTH_PATTERN

VERIFIER_FILE = "verifier.json"

# --- answer types ----------------------------------------------------------------------------------------

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|"
    r"thousands?|millions?|billions?|trillions?|dozens?|several|a\s+few|half|twice"
)
NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_MONTH = re.compile(rf"\b(?:{MONTH_PATTERN})\b\.?", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\b\d{1,4}\s*(?:BC|BCE|AD|CE)\b")
_TIME_WORDS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|spring|summer|autumn|fall|winter|"
    r"century|centuries|decade|decades|year|years|month|months|week|weeks|day|days|night|morning|evening|"
    r"afternoon|dawn|noon|midnight|hours?|minutes?|era|age|period|dynasty|reign|war|ago|later|earlier|"
    r"after|before|during|until|since|following|prior|when|while|once|then|early|late|mid|modern|ancient|"
    r"medieval|[a-z]+ian|[a-z]+ic)\b|\d",
    re.IGNORECASE,
)
_RELATIVE_DAY = re.compile(r"^(?:today|yesterday|tomorrow|now|recently|currently|this\s+week)$", re.IGNORECASE)
_DISTANCE_UNIT = re.compile(
    r"\b(?:kilomet(?:er|re)s?|km|miles?|mi|met(?:er|re)s?|m|feet|foot|ft|yards?|nautical|blocks?)\b", re.IGNORECASE
)
_AGE = re.compile(r"\b(?:years?|months?)\s+old\b|\baged?\b|\bage\s+of\b", re.IGNORECASE)


# What a question asks for: the first pattern that matches, in this order ("At what age ... how many" is an age).
_ASKS = (
    (re.compile(r"\bhow\s+old\b|\bwhat\s+(?:was|is|were|are)\s+(?:the\s+)?(?:\w+\s+)?age\b|"
                r"\bat\s+what\s+age\b"), "age"),
    (re.compile(r"\bhow\s+far\b|\bwhat\s+(?:is|was)\s+the\s+distance\b"), "distance"),
    (re.compile(r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:percentage|percent|proportion|share|number)\s+of\b"), "quantity"),
    (re.compile(r"\b(?:what|which|in\s+what|in\s+which)\s+year\b|\byear\s+(?:did|was|were)\b"), "year"),
    (re.compile(r"\b(?:what|which|on\s+what|on\s+which)\s+(?:date|day)\b"), "date"),
    (re.compile(r"^(?:\w+\s+){0,2}when\b"), "time"),
    (re.compile(r"^(?:\w+\s+){0,2}(?:who|whom|where)\b"), "entity"),
)  # fmt: skip


def expected_type(question: str) -> str:
    """What kind of answer the question asks for: age, quantity, distance, year, date, time, entity or ''
    (anything: 'what', 'which', 'why', 'how' + adjective...)."""
    q = " ".join(question.lower().split())
    return next((kind for pattern, kind in _ASKS if pattern.search(q)), "")


def is_date(span: str) -> bool:
    """A calendar date or year ('Jan. 7', '4 February 2015', '1998')."""
    return bool(_MONTH.search(span) or _YEAR.search(span))


def fits(kind: str, span: str) -> bool:
    """Whether ``span`` can be an answer of ``kind`` (see ``expected_type``)."""
    text = " ".join(span.split())
    if not kind or not text:
        return bool(text)
    if kind == "age":
        return bool(NUMBER.search(text)) and (not is_date(text) or bool(_AGE.search(text)))
    if kind == "quantity":
        return bool(NUMBER.search(text)) and not (_MONTH.search(text) and not re.search(r"\d{2,}", text))
    if kind == "distance":  # a figure, or a place reached ("as far as Ras Lanuf")
        if re.match(r"(?:as\s+far\s+as|up\s+to|to|near|outside)\s+[A-Z]", text):
            return True
        return bool(NUMBER.search(text)) and (bool(_DISTANCE_UNIT.search(text)) or not is_date(text))
    if kind == "year":
        return bool(re.search(r"\d", text))
    if kind == "date":
        return bool(re.search(r"\d", text) or _MONTH.search(text)) and not _RELATIVE_DAY.match(text)
    if kind == "time":
        return bool(_TIME_WORDS.search(text) or _MONTH.search(text)) and not _RELATIVE_DAY.match(text)
    if kind == "entity":
        # who/where: anything but a bare number or date
        bare = re.sub(
            rf"\d[\d,.:/-]*|\b(?:{MONTH_PATTERN})\b\.?|\b(?:st|nd|rd|th|of|and|the|on|in)\b", "", text, flags=re.I
        )
        return bool(re.search(r"[A-Za-z]{2,}", bare))
    return True


# --- features --------------------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9]+(?:['\u2019][a-z]+)?")
_STOP_WORDS = (
    "a an the of in on at to for from by with and or but is are was were be been being do does did has have had "
    "what which who whom whose when where why how that this these those it its as into than then there their "
    "they he she his her him them we our you your i me my not no so if about after before during over under up "
    "out many much most more some any all can could would should will may might"
)
_STOP = frozenset(_STOP_WORDS.split())
_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b(?:[A-Z][\w'\u2019-]+|\d[\d,.]*)\b")


def _stem(word: str) -> str:
    w = word.lower().replace("\u2019", "'")
    for suffix in ("'s", "ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text) if w.lower() not in _STOP}


FEATURES = (
    "margin",
    "span_score",
    "null_score",
    "gap_to_other",
    "agree",
    "agree_share",
    "log_rank",
    "passages",
    "sentence_overlap",
    "passage_overlap",
    "names_missing",
    "type_asked",
    "behind_untyped",
    "null_max",
    "answer_words",
)


@dataclass
class Evidence:
    """What the verifier looks at for one chosen span, as numbers (``FEATURES`` order)."""

    values: dict[str, float]

    def vector(self) -> np.ndarray:
        return np.array([self.values[name] for name in FEATURES], dtype=np.float64)


def evidence(
    question: str,
    kind: str,
    chosen_text: str,
    chosen_margin: float,
    chosen_score: float,
    chosen_null: float,
    rank: int,
    sentence: str,
    passage: str,
    others: Sequence[tuple[str, float]],
    agree: int,
    passages: int,
    top_margin: float,
    null_max: float,
) -> Evidence:
    """Features of the chosen span. ``others``: (normalised text, margin) of the reader's other spans;
    ``agree``: how many of the ``passages`` read have a best right-typed span that agrees with the chosen one;
    ``top_margin``: the best margin of any span, of any type; ``null_max``: the highest no-answer score of
    any window read."""
    from askfront.language.text import normalize

    norm = normalize(chosen_text)
    different = [m for t, m in others if t and not _same(t, norm)]
    gap = chosen_margin - max(different) if different else 10.0
    q_words = content_words(question)
    sent_words, pass_words = content_words(sentence), content_words(passage)
    names = {n.lower() for n in _NAME.findall(question)}
    low = passage.lower()
    missing = sum(1 for n in names if n not in low) / len(names) if names else 0.0
    return Evidence(
        {
            "margin": chosen_margin,
            "span_score": chosen_score,
            "null_score": chosen_null,
            "gap_to_other": min(gap, 10.0),
            "agree": float(agree),
            "agree_share": agree / max(1, passages),
            "log_rank": math.log1p(rank),
            "passages": math.log1p(passages),
            "sentence_overlap": len(q_words & sent_words) / len(q_words) if q_words else 0.0,
            "passage_overlap": len(q_words & pass_words) / len(q_words) if q_words else 0.0,
            "names_missing": missing,
            "type_asked": float(bool(kind)),
            "behind_untyped": min(top_margin - chosen_margin, 20.0),
            "null_max": null_max,
            "answer_words": math.log1p(len(chosen_text.split())),
        }
    )


def _same(a: str, b: str) -> bool:
    """Two normalised answers agree when one holds the other ('85 miles' and '140 kilometers or about 85 miles')."""
    return bool(a and b) and (a == b or f" {a} " in f" {b} " or f" {b} " in f" {a} ")


# --- the verifier ----------------------------------------------------------------------------------------


@dataclass
class Logistic:
    """Logistic regression over standardised ``FEATURES`` (those in ``used``; the others weigh 0)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float = 0.5  # answer when the probability reaches this (chosen on calibration questions)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    @classmethod
    def fit(cls, rows: np.ndarray, labels: np.ndarray, used: Sequence[str] = FEATURES, l2: float = 1.0) -> Logistic:
        """Fit by Newton's method (L2-penalised log loss) on the ``used`` features; threshold set by the caller."""
        mask = np.array([name in used for name in FEATURES])
        mean = rows.mean(axis=0)
        scale = rows.std(axis=0)
        scale[scale < 1e-9] = 1.0
        x = np.hstack([((rows - mean) / scale)[:, mask], np.ones((len(rows), 1))])
        w = np.zeros(x.shape[1])
        penalty = np.full(x.shape[1], l2)
        penalty[-1] = 0.0
        for _ in range(50):
            p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
            grad = x.T @ (p - labels) + penalty * w
            hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-8:
                break
        weights = np.zeros(len(FEATURES))
        weights[mask] = w[:-1]
        return cls(mean, scale, weights, float(w[-1]))

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "weights": self.weights.tolist(),
                "bias": self.bias, "threshold": self.threshold}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> Logistic:
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
        if any(a.shape != (len(FEATURES),) for a in arrays) or not all(np.isfinite(a).all() for a in arrays):
            raise ValueError("mean, scale and weights must each hold one finite number per feature")
        if not all(a > 0 for a in arrays[1]):
            raise ValueError("scales must be positive")
        return cls(*arrays, float(data["bias"]), float(data["threshold"]))


GROUPS = ("one", "many")  # one passage read (a single report, reading comprehension) or several


def group_of(ev: Evidence) -> str:
    return "one" if ev.values["passages"] <= math.log1p(1) + 1e-9 else "many"


@dataclass
class Verifier:
    """P(the chosen span answers the question), from one logistic model per ``GROUPS`` entry: evidence
    means different things when one passage was read than when ten were (agreement, rank)."""

    models: dict[str, Logistic]
    meta: dict

    def probability(self, ev: Evidence) -> float:
        return float(self.models[group_of(ev)].probabilities(ev.vector()[None, :])[0])

    def threshold_for(self, ev: Evidence) -> float:
        return self.models[group_of(ev)].threshold

    def save(self, path: Path) -> None:
        data = {"features": list(FEATURES), "models": {g: m.to_json() for g, m in self.models.items()}, **self.meta}
        path.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Verifier:
        try:
            data = json.loads(path.read_text())
            if data["features"] != list(FEATURES):
                raise ValueError(f"features {data['features']} are not this version's {list(FEATURES)}")
            models = {g: Logistic.from_json(data["models"][g]) for g in GROUPS}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ModelError(f"{path}: cannot read the answerability verifier ({one_line(err)})") from err
        return cls(models, {k: v for k, v in data.items() if k not in {"features", "models"}})


# --- the decision ----------------------------------------------------------------------------------------

# Spans considered besides the reader's best: those within POOL_MARGIN logits of it, at most POOL_SIZE (the
# right-typed answer is almost always among them; more only costs time).
POOL_MARGIN = 8.0
POOL_SIZE = 60
# An abstention whose best span's probability reached this share of the threshold says a passage may
# answer it (on the demo report: 'How many civilians were killed in Derna?' 0.26 of 0.275 says so; 'How many
# refugees have fled Sirte?' 0.04 does not).
NEAR_SHARE = 0.5
# The verifier's probability is its estimate that the span is right (fitted on SQuAD v2.0 dev-calib); from
# this one up an answer from one passage is called a clear match (verifier.json may set its own "strong").
STRONG = 0.6
NEAR_MARGIN = 2.0
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]?\s+|\n\s*\n")


@dataclass
class Decision:
    """The reader's verdict on a question: the chosen candidate (None: abstain), the best right-typed one
    even when abstaining, the verifier's probability, and how many read reports give the same answer."""

    kind: str
    chosen: object | None = None
    best: object | None = None
    text: str = ""
    probability: float | None = None
    reports: int = 0
    near: bool = False
    evidence: Evidence | None = None


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) of ``text`` holding characters start..end (a cheap split; no parser)."""
    begin = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        begin = m.end()
    m = _SENTENCE_END.search(text, end)
    return text[begin : m.start() + 1 if m else len(text)]


def decide(
    question: str, found: Sequence, verifier: Verifier | None, min_margin: float, rank_penalty: float = 0.0
) -> Decision:
    """Pick the answer among the reader's candidates (``reader.Candidate``: n-best spans of every window
    read): the best-scoring span of the type the question asks for, outside any title line; answer when the
    verifier's probability reaches its threshold. Without a verifier a span scores its margin less
    ``rank_penalty`` per retrieval rank, and answers when that reaches ``min_margin``."""
    from askfront.language.text import normalize

    kind = expected_type(question)
    penalty = 0.0 if verifier is not None else rank_penalty

    def scored(c) -> float:
        return c.margin - penalty * c.rank

    usable = sorted(
        (c for c in found if math.isfinite(c.margin) and c.start >= c.passage.title_end), key=lambda c: -scored(c)
    )
    if not usable:
        return Decision(kind)
    pool = [c for c in usable if scored(c) >= scored(usable[0]) - POOL_MARGIN][:POOL_SIZE]
    shown = [(c, c.span()[2]) for c in pool]
    typed = [(c, t) for c, t in shown if t and fits(kind, t)]
    if not typed:
        return Decision(kind)
    chosen, text = typed[0]
    norm = normalize(text)
    per_passage: dict[tuple[str, int], tuple[object, str]] = {}
    for c, t in typed:
        per_passage.setdefault((c.passage.path, c.passage.begin), (c, normalize(t)))
    agreeing = [c for c, t in per_passage.values() if _same(t, norm)]
    ev = evidence(
        question, kind, text, chosen.margin, chosen.score, chosen.null, chosen.rank,
        sentence_around(chosen.text, chosen.start, chosen.end), chosen.text,
        [(normalize(t), c.margin) for c, t in shown if c is not chosen], len(agreeing), len(per_passage),
        usable[0].margin, max(c.null for c in usable),
    )  # fmt: skip
    decision = Decision(kind, best=chosen, text=text, reports=len({c.passage.path for c in agreeing}), evidence=ev)
    if verifier is not None:
        decision.probability = verifier.probability(ev)
        threshold = verifier.threshold_for(ev)
        answers = decision.probability >= threshold
        decision.near = not answers and decision.probability >= threshold * NEAR_SHARE
    else:
        answers = scored(chosen) >= min_margin
        decision.near = not answers and scored(chosen) >= min_margin - NEAR_MARGIN
    if answers:
        decision.chosen = chosen
    return decision


def confidence_words(decision: Decision, verifier: Verifier | None) -> str:
    """How sure askfront is, in words: 'found in 3 reports', 'one passage, clear match', 'one passage,
    weak match: check the quote'."""
    if decision.reports >= 2:
        return f"found in {decision.reports} reports"
    strong = (
        decision.probability is not None
        and verifier is not None
        and decision.probability >= verifier.meta.get("strong", STRONG)
    )
    return "one passage, clear match" if strong else "one passage, weak match: check the quote"
