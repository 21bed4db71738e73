"""All settings in one place: defaults, overridden by ``ASKFRONT_*`` env vars, then by CLI flags."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from askfront.core import registry
from askfront.core.errors import ConfigError

ENV_PREFIX = "ASKFRONT_"
RAY_ADDRESS = re.compile(r"(?:ray://)?[\w.\-]+:\d{1,5}")  # host:port of a Ray cluster's head
READER_META = "reader.json"  # what makes a folder a reader (askfront.answer.reader.model.META_FILE)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # fp16: GPUs only
DEVICES = ("auto", "cpu", "cuda", "mps")
INDEX_TYPES = ("auto", "flat", "hnsw")
SECRETS = ("auth", "llm_key")  # never printed or written to a file (see Settings.public)
# Upper bounds of the sizes, so a typo (ASKFRONT_TOP_K=5000) is refused, not run for an hour.
LIMITS = {
    "batch_size": 4096,
    "chunk_size": 100_000,
    "top_k": 100,
    "reader_read_k": 100,
    "max_file_mb": 10_000,
    "llm_timeout": 3600,
}


@dataclass(frozen=True)
class Settings:
    """askfront configuration. Every field can be set as ``ASKFRONT_<FIELD>`` (e.g. ``ASKFRONT_TOP_K=8``)."""

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    # Empty means the packaged all-MiniLM-L6-v2; otherwise a local sentence-transformers model folder.
    model: str = ""
    # "auto" uses bf16 autocast where the CPU has native bf16 (measured: same top-5, ~2.5x faster), else fp32.
    precision: str = "auto"
    # Where the models run: "auto" is a GPU when torch sees one (CUDA, or Apple's MPS), in fp16, else the CPU.
    # Vectors do not depend on it (cosine >= 0.999), so switching needs no rebuild.
    device: str = "auto"
    batch_size: int = 32
    # Chosen from measured retrieval recall on eval/demo.jsonl (see README "Chunking").
    chunk_size: int = 500
    chunk_overlap: int = 100
    # Embed on a Ray cluster: its address, or "auto" (a cluster running here, else a new local one).
    # Workers: 0 = one per CPU of the cluster (or per ray_gpus_per_worker of its GPUs).
    ray: str = ""
    ray_workers: int = 0
    ray_gpus_per_worker: float = 0.0
    # "auto" is exact search (flat inner product) up to hnsw_threshold chunks, HNSW above.
    index_type: str = "auto"
    hnsw_threshold: int = 200_000
    top_k: int = 5
    retriever: str = "hybrid"  # dense | bm25 | hybrid
    max_file_mb: float = 20.0
    # "reader" (default): the trained span reader shipped in askfront/models/reader; "rules": the hand-rule
    # extractor it replaced (kept for comparison); "llm": a model behind an OpenAI-compatible endpoint.
    answerer: str = "reader"
    reader: str = ""  # a reader folder (reader.json + weights) other than the shipped one
    # The reader answers when its best span beats its no-answer score by this margin (logits), less
    # reader_rank_penalty per retrieval rank below the first. Calibrated by `python benchmarks/reader.py`
    # on the first 5 articles of SQuAD v2.0 dev-heldin (1,206 questions, open retrieval; none of them in the
    # figures reported): the mean of answerable-question F1 and SQuAD v2.0 F1 over a grid of margins -3..12
    # and penalties 0..4; that mean is flat (0.54-0.57) for margins -3..4, so the highest margin within
    # 0.01 of its best is taken: a wrong figure is worse than "the reports don't say" (benchmarks/RESULTS.md,
    # "Reader"). Recalibrate whenever the reader's weights change.
    reader_min_margin: float = 3.25
    reader_rank_penalty: float = 0.0
    # The reader reads this many retrieved passages (more than the top_k shown), so the answering passage is
    # read more often and agreement across passages counts; the verifier (models/reader/verifier.json) was
    # fitted and its threshold chosen with this value (benchmarks/reader.py).
    reader_read_k: int = 10
    llm_url: str = ""  # e.g. http://127.0.0.1:11434/v1 (Ollama) or http://127.0.0.1:8080/v1 (llama.cpp)
    llm_model: str = ""
    llm_key: str = ""  # only if the endpoint wants one; set it in the environment, not on the command line
    llm_timeout: float = 30.0
    # The browser app: loopback only unless configured; port 0 means GRADIO_SERVER_PORT or 7860.
    host: str = "127.0.0.1"
    port: int = 0
    auth: str = ""  # "user:password" turns on Gradio's login page
    # Host names the app answers to besides loopback and the listening address (comma-separated, e.g. a
    # LAN name or a reverse proxy's); requests for any other Host are refused (DNS rebinding).
    allowed_hosts: str = ""
    # Addresses of reverse proxies whose X-Forwarded-For header names the client (comma-separated); by
    # default none: the login throttle counts failures by the socket peer.
    trusted_proxies: str = ""
    # The app scans corpus/ this often (seconds) and updates the index when reports were added, changed or
    # removed there; 0 turns it off. A scan only lists names, sizes and times (milliseconds for thousands).
    watch_s: float = 5.0
    # A question waits at most this long (seconds) for the one before it (questions are answered one at a
    # time); then it is refused with a line saying so. A question is at most MAX_QUESTION_CHARS long, so
    # one takes well under this (measured on the demo, Sapphire Rapids, 2 cores: p95 0.1 s; five questions of
    # 2,000 characters 0.13-1.3 s).
    ask_wait_s: float = 20.0
    # An upload (any request body) that sends nothing for this long (seconds) is dropped with 408: a
    # flood of stalled uploads would otherwise hold a file descriptor each until the app runs out. A real
    # upload on a slow link sends a packet well within this.
    body_timeout_s: float = 20.0
    # Where the app keeps conversations (one JSON file each, mode 0600), so a reload or a restart shows them.
    conversations: Path = Path("conversations")

    def __post_init__(self) -> None:
        """Refuse impossible values when the settings are made, not deep inside a run."""
        choices = {
            "precision": PRECISIONS,
            "device": DEVICES,
            "index_type": INDEX_TYPES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        registry.RETRIEVERS.get(self.retriever)  # the registries name what can be chosen (one-line errors)
        registry.ANSWERERS.get(self.answerer)
        self._check_forms()

    def _check_forms(self) -> None:
        """Settings first used late (the login, the Ray cluster, a reader folder) are checked here too, so
        a typo is one line at start, not an error minutes into a build or at the first question."""
        user, sep, password = self.auth.partition(":")
        if self.auth and not (sep and user and password):
            raise ConfigError("ASKFRONT_AUTH must be user:password")
        if self.ray and self.ray != "auto" and not RAY_ADDRESS.fullmatch(self.ray):
            raise ConfigError(f"ray must be auto or host:port (or ray://host:port), not {self.ray!r}")
        if self.reader and not (Path(self.reader).expanduser() / READER_META).is_file():
            raise ConfigError(f"reader {self.reader}: not a reader folder (no {READER_META} in it)")
        positive = (
            "batch_size",
            "chunk_size",
            "top_k",
            "reader_read_k",
            "hnsw_threshold",
            "max_file_mb",
            "llm_timeout",
            "body_timeout_s",
        )
        for name in positive:
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be greater than 0, not {value!r}")
            if name in LIMITS and value > LIMITS[name]:
                raise ConfigError(f"{name} must be at most {LIMITS[name]}, not {value!r}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError(f"chunk_overlap must be at least 0 and below chunk_size, not {self.chunk_overlap}")
        if not 0 <= self.ray_workers <= 10_000 or not 0 <= self.ray_gpus_per_worker <= 64:
            raise ConfigError("ray_workers must be 0..10000 and ray_gpus_per_worker 0..64")
        if not 0 <= self.port < 65536:
            raise ConfigError(f"port must be 0..65535, not {self.port}")
        if not (0 <= self.watch_s <= 86_400 and 0 < self.ask_wait_s <= 3600):
            raise ConfigError("watch_s must be 0..86400 (0: off) and ask_wait_s above 0, at most 3600")
        if not math.isfinite(self.reader_min_margin) or not 0 <= self.reader_rank_penalty < 100:
            raise ConfigError("reader_min_margin must be a number and reader_rank_penalty 0..100")

    def public(self) -> dict[str, str]:
        """Every setting as text for reports and results files, secrets (``SECRETS``) left out."""
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if f.name not in SECRETS}

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes. One unit everywhere (uploads, the web server, indexing): MB = 10^6 bytes."""
        return int(self.max_file_mb * 1_000_000)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``ASKFRONT_*`` variables, then apply non-None ``overrides`` (CLI flags)."""
        environ = dict(os.environ if environ is None else environ)
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(hints[f.name], raw, ENV_PREFIX + f.name.upper())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return dataclasses.replace(cls(), **values)


def _parse(kind: Any, raw: str, name: str) -> Any:
    """Convert an environment string to the field's type, with an error that names the variable."""
    try:
        if kind is Path:
            return Path(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        return raw
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
