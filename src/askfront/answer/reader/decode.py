"""From text to the reader's inputs and back: question and passage windows as word pieces (with offsets
into the passage), batches as tensors, and the best spans of each window decoded from start/end scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch
    from transformers import PreTrainedTokenizerFast


# Longest answer the reader may mark, in word pieces ("more than 700 square miles" is 6; SQuAD answers
# rarely pass 20).
MAX_ANSWER_TOKENS = 30


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


# Windows are padded to a multiple of this many tokens: a few input shapes instead of one per length, so the
# math library's per-shape caches stop growing (the app's memory crept ~0.3 MB a question without it).
PAD_TO = 32
PAD_ROWS = 4  # and batches to a multiple of this many windows


def pad(rows: list[list[int]], value: int = 0) -> np.ndarray:
    width = max(PAD_TO, -(-max(len(r) for r in rows) // PAD_TO) * PAD_TO)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def batch_tensors(
    features: Features, idx: Sequence[int], device: str = "cpu", pad_rows: bool = True
) -> dict[str, torch.Tensor]:
    """The windows ``idx`` as model inputs; rows of padding are added up to a multiple of ``PAD_ROWS`` (their
    outputs follow the real rows and are not read), so batch shapes are few too. Training passes
    ``pad_rows=False``: its loss reads every row of the output."""
    import torch

    extra = [[]] * (-len(idx) % PAD_ROWS if pad_rows else 0)
    ids = pad([features.input_ids[i] for i in idx] + extra)
    types = pad([features.token_type_ids[i] for i in idx] + extra)
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
