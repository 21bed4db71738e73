"""Does the reader's span answer the question? The decision among its candidates, and a small fitted
answerability verifier.

The span reader marks the best spans in each window and scores them against "no answer"; on its own that
margin decides "answerable" badly (SQuAD v2.0: abstention precision 0.68 at recall 0.26). On top of it:

- answer types (``kinds.py``) keep only spans of the kind the question asks for;
- the answer checker (``check.py``), a second reader, reads each of the first few right-typed candidates
  marked in its sentence and picks the one it scores best;
- the verifier: a logistic model over what the checker, reader and retriever know (the checker's logit
  and its lead over the next candidate, span and no-answer scores, their margin, how many read passages
  give the same answer, retrieval rank ...). Its weights are fitted on SQuAD v2.0 dev-calib only
  (``benchmarks/reader.py``) and ship beside the reader as ``verifier.json``; it gives the probability
  that the chosen span is a right answer, which "How sure" puts in words (``BANDS``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from askfront.answer.reader.breakdown import part_named
from askfront.answer.reader.kinds import counts_fit, expected_type, fits, sentence_bounds
from askfront.core.errors import ModelError, one_line

VERIFIER_FILE = "verifier.json"

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
    "check",
    "check_gap",
)


@dataclass
class Evidence:
    """What the verifier looks at for one chosen span, as numbers (``FEATURES`` order)."""

    values: dict[str, float]

    def vector(self, names: Sequence[str] = FEATURES) -> np.ndarray:
        return np.array([self.values[name] for name in names], dtype=np.float64)


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
    check: float = 0.0,
    check_gap: float = 0.0,
) -> Evidence:
    """Features of the chosen span. ``others``: (normalised text, margin) of the reader's other spans;
    ``agree``: how many of the ``passages`` read have a best right-typed span that agrees with the chosen one;
    ``top_margin``: the best margin of any span, of any type; ``null_max``: the highest no-answer score of
    any window read; ``check``: the answer checker's logit for the chosen span, ``check_gap``: how far the
    checker put the next different candidate behind it (0 without a checker)."""
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
            "check": check,
            "check_gap": check_gap,
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
    def from_json(cls, data: dict, count: int = len(FEATURES)) -> Logistic:
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
        if any(a.shape != (count,) for a in arrays) or not all(np.isfinite(a).all() for a in arrays):
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
    features: tuple[str, ...] = FEATURES  # an earlier verifier.json may use fewer (no answer checker)

    def probability(self, ev: Evidence) -> float:
        return float(self.models[group_of(ev)].probabilities(ev.vector(self.features)[None, :])[0])

    def threshold_for(self, ev: Evidence) -> float:
        return self.models[group_of(ev)].threshold

    def save(self, path: Path) -> None:
        models = {g: m.to_json() for g, m in self.models.items()}
        data = {"features": list(self.features), "models": models, **self.meta}
        path.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Verifier:
        try:
            data = json.loads(path.read_text())
            names = data["features"]
            if not isinstance(names, list) or not names or not set(names) <= set(FEATURES):
                raise ValueError(f"features {names} are not among this version's {list(FEATURES)}")
            models = {g: Logistic.from_json(data["models"][g], len(names)) for g in GROUPS}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ModelError(f"{path}: cannot read the answerability verifier ({one_line(err)})") from err
        return cls(models, {k: v for k, v in data.items() if k not in {"features", "models"}}, tuple(names))


# --- the decision ----------------------------------------------------------------------------------------

# Spans considered besides the reader's best: those within POOL_MARGIN logits of it, at most POOL_SIZE (the
# right-typed answer is almost always among them; more only costs time).
POOL_MARGIN = 8.0
POOL_SIZE = 60
# An abstention whose best span's probability reached this share of the threshold says a passage may
# answer it (on the demo report: 'How many civilians were killed in Derna?' 0.26 of 0.275 says so; 'How many
# refugees have fled Sirte?' 0.04 does not).
NEAR_SHARE = 0.5
NEAR_MARGIN = 2.0
# The answer checker reads this many distinct right-typed candidates (best reader margin first, see
# ``distinct``): a sub-total ("23 in Syria") sits behind the total and its longer variants, and each
# candidate read costs ~8 ms on 2 cores.
CHECK_CANDIDATES = 6
# The checker's pick adds this share of the reader's margin to its own logit (verifier.json records the
# weight chosen on SQuAD v2.0 dev-calib as "check_margin_weight").
CHECK_MARGIN_WEIGHT = 0.5
CHECK_GAP_ALONE = 10.0  # check_gap when the checker read a single candidate


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
    """The sentence(s) of ``text`` holding characters start..end."""
    begin, stop = sentence_bounds(text, start, end)
    return text[begin:stop]


def usable_spans(found: Sequence, penalty: float = 0.0) -> list:
    """The reader's candidates outside title lines, best (margin less ``penalty`` per rank) first."""
    return sorted(
        (c for c in found if math.isfinite(c.margin) and c.start >= c.passage.title_end),
        key=lambda c: -(c.margin - penalty * c.rank),
    )


def typed_pool(kind: str, usable: Sequence, penalty: float = 0.0, question: str = "") -> tuple[list, list]:
    """From ``usable`` (best first): the pool within POOL_MARGIN of the best as (candidate, shown text),
    and those of it whose text fits ``kind`` (and, given the ``question``, whose figure counts what it
    asks: ``kinds.counts_fit``)."""
    if not usable:
        return [], []
    top = usable[0].margin - penalty * usable[0].rank
    pool = [c for c in usable if c.margin - penalty * c.rank >= top - POOL_MARGIN][:POOL_SIZE]
    shown = [(c, c.span()[2]) for c in pool]
    return shown, [(c, t) for c, t in shown if t and fits(kind, t) and _counts(question, kind, c)]


def _counts(question: str, kind: str, c) -> bool:
    if not question or kind != "quantity":
        return True
    a, b, _ = c.span()
    s, e = sentence_bounds(c.text, a, b)
    return counts_fit(question, kind, c.text[s:e], a - s, b - s)


def distinct(typed: Sequence, limit: int) -> list[tuple]:
    """The first ``limit`` of ``typed`` (candidate, shown text), best first, skipping a text already taken
    and a span that holds one already taken in the same passage ("34 strikes against ISIL on January 8:
    23" after "34"): the checker then reads other answers ("23"), not the same one with more words."""
    from askfront.language.text import normalize

    seen: set[str] = set()
    taken: list[tuple[tuple[str, int], int, int]] = []
    out = []
    for c, t in typed:
        key, (a, b, _), where = normalize(t), c.span(), (c.passage.path, c.passage.begin)
        if key in seen or any(w == where and a <= ta and tb <= b for w, ta, tb in taken):
            continue
        seen.add(key)
        taken.append((where, a, b))
        out.append((c, t))
        if len(out) == limit:
            break
    return out


def checked(question: str, typed: Sequence, checker, margin_weight: float) -> tuple[tuple, float, float]:
    """The answer checker's pick among the first CHECK_CANDIDATES ``distinct`` right-typed candidates:
    the best checker logit plus ``margin_weight`` x the reader's margin; its logit and how far the next
    is behind."""
    pool = distinct(typed, CHECK_CANDIDATES)
    logits = checker.logits(question, [c for c, _ in pool])
    ranked = sorted(range(len(pool)), key=lambda i: -(logits[i] + margin_weight * pool[i][0].margin))
    part = part_named(question, pool)
    if part is not None:  # the question names one part of an explicit breakdown: that part, not the total
        ranked.remove(part)
        ranked.insert(0, part)
    best = ranked[0]
    gap = logits[best] - max(logits[i] for i in ranked[1:]) if len(ranked) > 1 else CHECK_GAP_ALONE
    return pool[best], logits[best], max(-CHECK_GAP_ALONE, min(gap, CHECK_GAP_ALONE))


def reports_of(agreeing: Sequence) -> int:
    """How many reports the agreeing candidates come from, copies counted once: a report the index found
    to copy another (``Passage.report``) and two reports whose read passages are the same text (a wire
    story filed twice, a file copied) are one report."""
    texts: dict[str, set[str]] = {}
    for c in agreeing:
        texts.setdefault(c.passage.report or c.passage.path, set()).add(" ".join(c.passage.text.split()))
    groups: list[set[str]] = []
    for found in texts.values():
        same = [g for g in groups if g & found]
        merged = found.union(*same)
        groups = [g for g in groups if not g & found] + [merged]
    return len(groups)


def decide(
    question: str, found: Sequence, verifier: Verifier | None, min_margin: float, rank_penalty: float = 0.0,
    checker=None, margin_weight: float | None = None,
) -> Decision:  # fmt: skip
    """Pick the answer among the reader's candidates (``reader.Candidate``: n-best spans of every window
    read), outside any title line and of the type the question asks for: with the answer checker
    (``check.Checker``), the one it scores best (see ``checked``), else the reader's best-scoring one;
    answer when the verifier's probability reaches its threshold. Without a verifier a span scores its
    margin less ``rank_penalty`` per retrieval rank, and answers when that reaches ``min_margin``."""
    from askfront.language.text import normalize

    kind = expected_type(question)
    penalty = 0.0 if verifier is not None else rank_penalty

    def scored(c) -> float:
        return c.margin - penalty * c.rank

    usable = usable_spans(found, penalty)
    shown, typed = typed_pool(kind, usable, penalty, question)
    if not typed:
        return Decision(kind)
    check_logit = check_gap = 0.0
    if checker is not None:
        if margin_weight is None:
            meta = verifier.meta if verifier is not None else {}
            margin_weight = float(meta.get("check_margin_weight", CHECK_MARGIN_WEIGHT))
        (chosen, text), check_logit, check_gap = checked(question, typed, checker, margin_weight)
    else:
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
        usable[0].margin, max(c.null for c in usable), check_logit, check_gap,
    )  # fmt: skip
    decision = Decision(kind, best=chosen, text=text, reports=reports_of(agreeing), evidence=ev)
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


# "How sure" in words, by the verifier's probability that the answer is right: the lowest probability of
# each band. benchmarks/reader.py measures how often answers in each band were right on the SQuAD test
# parts (benchmarks/RESULTS.md); verifier.json may set its own "bands".
BANDS = ((0.9, "clear match"), (0.7, "likely match"), (0.0, "weak match: check the quote"))


def band(probability: float | None, verifier: Verifier | None) -> str:
    """The word for a verifier probability (no probability: a weak match)."""
    bands = verifier.meta.get("bands", BANDS) if verifier is not None else BANDS
    if probability is None:
        return bands[-1][1]
    return next((word for floor, word in bands if probability >= floor), bands[-1][1])


def confidence_words(decision: Decision, verifier: Verifier | None) -> str:
    """How sure askfront is, in words: where the answer was found ('one passage', 'found in 3 reports')
    and the band of the verifier's probability ('clear match', 'likely match', 'weak match: check the
    quote')."""
    where = f"found in {decision.reports} reports" if decision.reports >= 2 else "one passage"
    return f"{where}, {band(decision.probability, verifier)}"
