"""The reader's files: its folder (reader.json, fp16 weights, verifier), the base model it was trained from
(the packaged embedding model, sha-checked), loading and exporting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askfront.core.config import READER_META
from askfront.core.errors import ModelError
from askfront.index.embed import DEFAULT_MODEL_SHA256, check_default_model, default_model_path, file_sha256

if TYPE_CHECKING:
    from transformers import BertForQuestionAnswering, PreTrainedTokenizerFast


READER_DIR = Path(__file__).parents[2] / "models" / "reader"  # askfront/models/reader: package data


WEIGHTS_FILE = "reader.safetensors"


META_FILE = READER_META  # the settings check knows it too


WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"


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
    weights = save_fp16(model, folder / WEIGHTS_FILE, WORD_EMBEDDINGS)
    meta = {**meta, "weights": WEIGHTS_FILE, "sha256": file_sha256(weights), "base_sha256": DEFAULT_MODEL_SHA256}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return weights


def save_fp16(model, weights: Path, frozen: str) -> Path:
    """Every weight of ``model`` but the ``frozen`` word embeddings, as fp16 safetensors, written aside
    then renamed (the reader's and the answer checker's shipped files)."""
    from safetensors.torch import save_file

    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").half().contiguous() for k, v in model.state_dict().items() if k != frozen}
    tmp = weights.with_suffix(".tmp")
    save_file(state, str(tmp))
    tmp.chmod(0o644)
    tmp.replace(weights)
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
