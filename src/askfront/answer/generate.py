"""Optional generative answers from a model behind an OpenAI-compatible endpoint, checked sentence by sentence.

The model gets the retrieved passages numbered [1]..[n] and must cite them. askfront does not trust the
reply: every sentence must cite a passage, every number, name and date in it must appear in the passages
it cites, and it must be close in meaning to one of their sentences. Sentences that fail are shown as
unsupported, without citation marks. If the endpoint is down or slow, the extractive answer is returned
with a one-line notice.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from askfront.answer.conversation import ABSTAIN_TEXT, Answer, Answerer, abstain, passage_citation
from askfront.core.errors import ConfigError
from askfront.language.nlp import load_nlp

if TYPE_CHECKING:
    from spacy.language import Language

    from askfront.index.embed import Embedder
    from askfront.search.retrieve import Hit

SYSTEM_PROMPT = (
    "You answer questions about news reports using only the numbered passages given. "
    "Answer in one or two short sentences. End every sentence with the number of the passage it comes "
    "from, like [1]. Never add figures, names or dates that are not in the passages. If the passages do "
    "not answer the question, reply exactly: The reports don't say."
)
MIN_SIMILARITY = 0.5  # cosine between a reply sentence and its closest cited sentence, below = unsupported
UNSUPPORTED = "[not supported by the cited reports]"

_NUMBER_WORD = re.compile(
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen"
    r"|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|trillions?"
    r"|dozens?|bn|m)",  # scales too: "2.5 billion" is not backed by a passage saying "2.5 million" ("2.5m": m)
    re.IGNORECASE,
)
_MARK = re.compile(r"\s*\[(\d+)\]")
_SAYS_NOTHING = re.compile(r"reports? (?:don't|do not|does not|doesn't) say|not (?:mentioned|stated|given)", re.I)


@dataclass
class SentenceCheck:
    """One sentence of the model's reply and whether the passages it cites back it."""

    text: str  # without citation marks
    cited: list[int]
    supported: bool
    reason: str  # why not, for the user ('' when supported)


def facts(sentence: str) -> list[str]:
    """Numbers, number words and capitalised names (not the sentence's first word) a sentence asserts."""
    found = [m.replace(",", "") for m in re.findall(r"\d[\d,.]*\d|\d", sentence)]
    words = re.findall(r"[A-Za-z][\w'-]*", sentence)
    found += [w.lower() for w in words if _NUMBER_WORD.fullmatch(w)]
    found += [w for i, w in enumerate(words) if i > 0 and w[0].isupper() and w not in {"I", "The", "A", "An"}]
    return found


def check_sentence(text: str, cited: list[int], passages: dict[int, str], sims: dict[int, float]) -> SentenceCheck:
    """Is ``text`` backed by the passages it cites? ``sims``: its best cosine to a sentence of each passage."""
    known = [n for n in dict.fromkeys(cited) if n in passages]  # [0], [7] of 3 passages cite nothing
    missing = _missing(text, [passages[n] for n in known or passages])
    if not known:
        absent = f"; {', '.join(missing)} in none of the passages" if missing else ""
        return SentenceCheck(text, cited, False, f"cites no given passage{absent}")
    if missing:
        return SentenceCheck(text, cited, False, f"not in the cited passages: {', '.join(missing)}")
    if max(sims.get(n, 0.0) for n in known) < MIN_SIMILARITY:
        return SentenceCheck(text, cited, False, "does not say what the cited passages say")
    return SentenceCheck(text, known, True, "")  # only the numbers of given passages are kept


def with_marks(text: str, cited: list[int]) -> str:
    """'Abu Grain is 140 km from Sirte.' + [1] -> 'Abu Grain is 140 km from Sirte [1].'"""
    marks = "".join(f" [{n}]" for n in cited)
    body = text.rstrip(".!?")
    return body + marks + text[len(body) :]


def _missing(text: str, sources: list[str]) -> list[str]:
    """The facts of ``text`` that none of ``sources`` contains (as whole words; '1,400' matches '1400')."""
    source = " ".join(sources).replace(",", "")
    return [f for f in facts(text) if not re.search(rf"(?<!\w){re.escape(f)}(?!\w)", source, re.IGNORECASE)]


class LLMAnswerer:
    """Answers written by a model on an OpenAI-compatible server (Ollama, llama.cpp server, vLLM).

    It sees the passages the conversation retrieved and the question as resolved (a follow-up stands
    alone); if the endpoint fails, ``fallback`` answers from the same passages, with a notice."""

    def __init__(
        self,
        fallback: Answerer,
        embedder: Embedder,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 30.0,
        nlp: Language | None = None,
    ) -> None:
        if not base_url or not model:
            raise ConfigError("the llm answerer needs ASKFRONT_LLM_URL (or --llm-url) and ASKFRONT_LLM_MODEL")
        self.fallback, self.embedder, self.base_url, self.model = fallback, embedder, base_url, model
        self.api_key, self.timeout = api_key, timeout
        self._client = None
        self._nlp = nlp

    def warm_up(self) -> None:
        """Load the fallback reader and spaCy now; the endpoint is not called."""
        self.fallback.warm_up()
        _ = self.nlp

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            self._nlp = load_nlp()
        return self._nlp

    @property
    def client(self):
        if self._client is None:
            try:
                from openai import OpenAI
            except ImportError:
                raise ConfigError("the llm answerer needs the 'llm' extra: pip install 'askfront[llm]'") from None
            self._client = OpenAI(
                base_url=self.base_url, api_key=self.api_key or "none", timeout=self.timeout, max_retries=0
            )
        return self._client

    def answer(self, question: str, resolved: str, hits: list[Hit]) -> Answer:
        """Ask the model; check its reply; fall back to the extractive answer if the endpoint fails."""
        import openai

        started = time.perf_counter()
        if not hits:
            return abstain(question, resolved, hits)
        prompt = "\n\n".join(f"[{n}] {' '.join(h.record.text.split())}" for n, h in enumerate(hits, 1))
        try:
            reply = self.client.chat.completions.create(
                model=self.model,
                temperature=0,
                max_tokens=200,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": f"Passages:\n\n{prompt}\n\nQuestion: {resolved}"},
                ],
            )
            text = (reply.choices[0].message.content or "").strip()
        except openai.APITimeoutError:
            return self._fallback(question, resolved, hits, f"no reply within {self.timeout:g} s")
        except (openai.APIError, OSError) as err:
            return self._fallback(question, resolved, hits, f"{type(err).__name__}: {str(err)[:80]}")
        generated = time.perf_counter()
        answer = self.checked(question, resolved, text, hits)
        answer.timings = {
            "generate_ms": (generated - started) * 1000,
            "check_ms": (time.perf_counter() - generated) * 1000,
        }
        return answer

    def checked(self, question: str, resolved: str, reply: str, hits: list[Hit]) -> Answer:
        """The model's ``reply`` turned into an Answer in which only checked sentences carry citations."""
        passages = {n: h.record.text for n, h in enumerate(hits, 1)}
        if not reply or (_SAYS_NOTHING.search(reply) and not _MARK.search(reply)):
            return abstain(question, resolved, hits)
        checks = self._check(reply, passages)
        shown, cited = [], set()
        for check in checks:
            if check.supported:
                shown.append(with_marks(check.text, check.cited))
                cited.update(check.cited)
            else:
                shown.append(f"{UNSUPPORTED} {check.text}")
        supported = [c for c in checks if c.supported]
        citations = [passage_citation(n, hits[n - 1]) for n in sorted(cited)]  # the numbers the model cited
        text = " ".join(shown)
        if not supported:
            text = f"{ABSTAIN_TEXT} The model's reply could not be checked against the reports: {text}"
        return Answer(
            question,
            text,
            supported[0].text if supported else "",
            citations,
            abstained=not supported,
            supported=len(supported) == len(checks),
            resolved_question=resolved,
            checks=[vars(c) for c in checks],
        )

    def _check(self, reply: str, passages: dict[int, str]) -> list[SentenceCheck]:
        nlp = self.nlp
        sentences = [s.text.strip() for s in nlp(reply).sents if s.text.strip()]
        units: list[tuple[str, list[int]]] = []
        for sentence in sentences:
            marks = [int(n) for n in _MARK.findall(sentence)]
            text = _MARK.sub("", sentence).strip()
            if not re.search(r"\w", text) and units:  # a lone '[2].' split off belongs to the sentence before
                units[-1] = (units[-1][0] + text, units[-1][1] + marks)
            elif text:
                units.append((text, marks))
        source_sentences = {n: [s.text for s in nlp(text).sents if s.text.strip()] for n, text in passages.items()}
        flat = [(n, s) for n, sents in source_sentences.items() for s in sents]
        vectors = self.embedder.encode([u[0] for u in units] + [s for _, s in flat])
        mine, theirs = vectors[: len(units)], vectors[len(units) :]
        checks = []
        for (text, marks), vector in zip(units, mine, strict=True):
            sims: dict[int, float] = {}
            for (n, _), other in zip(flat, theirs, strict=True):
                sims[n] = max(sims.get(n, -1.0), float(np.dot(vector, other)))
            checks.append(check_sentence(text, marks, passages, sims))
        return checks

    def _fallback(self, question: str, resolved: str, hits: list[Hit], why: str) -> Answer:
        answer = self.fallback.answer(question, resolved, hits)
        answer.notice = f"The language model at {self.base_url} did not answer ({why}); this is the extractive answer."
        return answer
