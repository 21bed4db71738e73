"""The second reader: a cross-encoder that reads the question with one candidate answer marked in its
sentence and scores whether that candidate answers the question.

The span reader proposes candidates from 256-token windows; this model reads only the question, the
report's title and the candidate's sentence (« candidate » marked), so it sees what the reader's start/end
scores cannot weigh: whether the sentence is about the thing the question asks of (wounded, not killed;
Syria, not the total; the right event). Its base is the packaged all-MiniLM-L6-v2 (sha-checked, chosen
over all-mpnet-base-v2 by measurement: benchmarks/RESULTS.md); only the fine-tuned layers ship
(``check.safetensors``, fp16, without the word embeddings, which are read from the packaged base), with
their sha256 in ``check.json``. Trained by ``training/train_check.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askfront.answer.reader.decode import PAD_ROWS, PAD_TO
from askfront.answer.reader.kinds import sentence_bounds
from askfront.core.errors import ModelError
from askfront.index.embed import DEFAULT_MODEL_SHA256, check_default_model, default_model_path, file_sha256

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerFast

CHECK_META = "check.json"
CHECK_WEIGHTS = "check.safetensors"
WORD_EMBEDDINGS = "encoder.embeddings.word_embeddings.weight"
# Inputs are short on purpose: the question (at most 40 word pieces) and one or two sentences around the
# candidate; 128 word pieces hold 98% of SQuAD's answer sentences with their questions whole.
MAX_LENGTH = 128
# Characters of the sentence kept each side of the candidate when the sentence is longer.
SIDE_CHARS = 300
OPEN, CLOSE = "«", "»"  # both single word pieces in the base's vocabulary


def marked(sentence: str, start: int, end: int, title: str = "") -> str:
    """The second text the model reads: ``title | sentence`` with characters start..end of the sentence
    marked « ... », cut to SIDE_CHARS each side of the mark at word boundaries."""
    lo, hi = max(0, start - SIDE_CHARS), min(len(sentence), end + SIDE_CHARS)
    if lo > 0:
        space = sentence.find(" ", lo)
        lo = space + 1 if 0 <= space < start else lo
    if hi < len(sentence):
        space = sentence.rfind(" ", end, hi)
        hi = space if space > end else hi
    text = f"{sentence[lo:start]}{OPEN} {sentence[start:end]} {CLOSE}{sentence[end:hi]}"
    text = re.sub(r"\s+", " ", text).strip()
    title = " ".join(title.split())
    return f"{title} | {text}" if title else text


def _model_class():
    import torch
    from torch import nn
    from transformers import AutoModel

    class CheckModel(nn.Module):
        """The base encoder and one linear layer over two means of its last layer: over the whole input
        (what the question and sentence say together) and over the marked candidate's tokens (what the
        candidate is, read in context): a logit for "this candidate answers". Means, not the [CLS] vector:
        the base was trained to mean-pool, and a [CLS] head had not left chance after 4,000 examples."""

        def __init__(self, encoder, marks: tuple[int, int]) -> None:
            super().__init__()
            self.encoder, self.marks = encoder, marks
            self.head = nn.Linear(2 * encoder.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}  # MPNet has none
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            opened = torch.cumsum((input_ids == self.marks[0]).int(), 1) - torch.cumsum(
                (input_ids == self.marks[1]).int(), 1
            )
            inside = ((opened > 0).unsqueeze(-1).to(hidden.dtype)) * mask
            inside = torch.where(inside.sum(1, keepdim=True) > 0, inside, mask)  # mark cut off: the whole input
            whole = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            span = (hidden * inside).sum(1) / inside.sum(1).clamp(min=1)
            return self.head(torch.cat([whole, span], -1)).squeeze(-1)

    return CheckModel, AutoModel


def base_model(base: Path | None = None, check: bool = True):
    """A fresh model on the base encoder (the packaged all-MiniLM-L6-v2 unless ``base``; sha-checked)."""
    from transformers.utils import logging as transformers_logging

    base = base or default_model_path()
    if check:
        check_default_model(base)
    model_class, auto = _model_class()
    transformers_logging.disable_progress_bar()
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        encoder = auto.from_pretrained(str(base), local_files_only=True, add_pooling_layer=False)
    finally:
        transformers_logging.set_verbosity(verbosity)
    tokenizer = load_tokenizer(base)
    marks = (tokenizer.convert_tokens_to_ids(OPEN), tokenizer.convert_tokens_to_ids(CLOSE))
    if tokenizer.unk_token_id in marks:
        raise ModelError(f"{base}: the base's vocabulary lacks the marks {OPEN} {CLOSE}")
    return model_class(encoder, marks)


def load_tokenizer(base: Path | None = None) -> PreTrainedTokenizerFast:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base or default_model_path()), local_files_only=True)


def encode(tokenizer: PreTrainedTokenizerFast, questions: Sequence[str], texts: Sequence[str], device: str = "cpu"):
    """Tensors for (question, marked sentence) pairs; the sentence is cut when the pair is too long."""
    enc = tokenizer(
        list(questions), list(texts), truncation="longest_first", max_length=MAX_LENGTH, padding=True,
        pad_to_multiple_of=PAD_TO, return_tensors="pt",  # a few shapes, not one per length (decode.PAD_TO)
    )  # fmt: skip
    return {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


def export(model, folder: Path, meta: dict[str, Any]) -> Path:
    """Write the trained layers (fp16, no word embeddings) and ``check.json`` with their sha256."""
    from askfront.answer.reader.model import save_fp16

    weights = save_fp16(model, folder / CHECK_WEIGHTS, WORD_EMBEDDINGS)
    meta = {**meta, "weights": CHECK_WEIGHTS, "sha256": file_sha256(weights), "base_sha256": DEFAULT_MODEL_SHA256,
            "max_length": MAX_LENGTH}  # fmt: skip
    (folder / CHECK_META).write_text(json.dumps(meta, indent=2) + "\n")
    return weights


def load(folder: Path):
    """The trained checker in ``folder``, its weights checked against the sha256 in ``check.json`` and the
    base's against the packaged model's."""
    from safetensors.torch import load_file

    meta_path = folder / CHECK_META
    try:
        meta = json.loads(meta_path.read_text())
        weights = folder / str(meta["weights"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelError(f"{meta_path}: cannot read the answer checker's description ({err})") from err
    if not weights.is_file():
        raise ModelError(f"{weights}: answer checker weights not found")
    if file_sha256(weights) != meta.get("sha256"):
        raise ModelError(f"{weights}: sha256 does not match the one in {CHECK_META}; damaged or replaced")
    if meta.get("base_sha256") != DEFAULT_MODEL_SHA256:
        raise ModelError(f"{meta_path}: trained on another base model ({str(meta.get('base_sha256'))[:12]}…)")
    model = base_model()
    state = load_file(str(weights))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if unexpected or set(missing) - {WORD_EMBEDDINGS}:
        raise ModelError(f"{weights}: not an answer checker for this base model")
    model.eval()
    return model, meta


class Checker:
    """The loaded checker: logits for (question, candidate) pairs, a candidate being a reader span in its
    passage (``reader.Candidate``: its shown span, marked in its sentence, with the report's title)."""

    def __init__(self, model, meta: dict, device: str = "cpu", precision: str = "fp32") -> None:
        self.model, self.meta, self.device, self.precision = model.to(device), meta, device, precision
        self.tokenizer = load_tokenizer()

    @staticmethod
    def text(candidate) -> str:
        a, b, _ = candidate.span()
        s, e = sentence_bounds(candidate.text, a, b)
        return marked(candidate.text[s:e], a - s, b - s, candidate.passage.title)

    def logits(self, question: str, candidates: Sequence) -> list[float]:
        import torch

        from askfront.index.embed import autocast

        if not candidates:
            return []
        texts = [self.text(c) for c in candidates]
        texts += texts[:1] * (-len(texts) % PAD_ROWS)  # a few batch shapes (decode.PAD_ROWS); extra rows unread
        with torch.inference_mode(), autocast(self.device, self.precision):
            out = self.model(**encode(self.tokenizer, [question] * len(texts), texts, self.device))
        return [float(x) for x in out.float().cpu()][: len(candidates)]
