"""What an index version is: its manifest (every field type-checked when read) and its identity, the
model, chunking and search settings its vectors and structures were made with (``index_identity``: the
one place that reads it from settings)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from askfront.core.config import Settings


# 2: the manifest records a checksum of every file and the search settings; the model identity covers
# tokenizer and config files, not only the weights. 3: names and dated sentences (tables mentions, dated).
# 4: reports that copy another (``copies``), so agreement counts reports, not copies. 5: undated reports
# take the date they say themselves (``dates_read``: how each was read).
FORMAT_VERSION = 5


VECTOR_FORMATS = (2, 3, 4, 5)  # formats whose vectors and passages a build can reuse


# How passages are tokenised and scored for BM25. Part of the index identity: an index built with other
# values is rebuilt (vectors reused), never searched with a tokenizer that differs from its own.
BM25_SETTINGS = {
    "library": "bm25s",
    "stopwords": "en_plus",
    "lowercase": True,
    "method": "lucene",
    "k1": 1.5,
    "b": 0.75,
    "arabic": "folded",  # diacritics, tatweel and alef/ya/ta-marbuta variants folded (core.arabic)
}


# HNSW graph parameters (only for large indexes, see make_faiss); also part of the identity.
HNSW_SETTINGS = {"M": 32, "efConstruction": 80, "efSearch": 96, "vectors": "SQ8"}


@dataclass
class Manifest:
    """What an index was built from: enough to tell whether it can still be used or extended."""

    model_name: str
    model_sha256: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    index_type: str
    askfront_version: str
    built_at: str
    chunks: int = 0
    files: dict[str, str] = field(default_factory=dict)  # corpus path -> content sha256
    indexed: dict[str, str] = field(default_factory=dict)  # corpus path -> when that content was indexed
    format_version: int = FORMAT_VERSION
    search: dict[str, Any] = field(default_factory=dict)  # search_identity() it was built with
    model_files: dict[str, str] = field(default_factory=dict)  # sha256 of each model file behind model_sha256
    checksums: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> {"sha256", "bytes"}
    copies: dict[str, str] = field(default_factory=dict)  # report -> the report it copies (index.copies)
    dates_read: dict[str, str] = field(default_factory=dict)  # report -> how its date was read from it
    ocr_pages: dict[str, str] = field(default_factory=dict)  # report -> its pages read by OCR ("1,3")

    @classmethod
    def from_json(cls, raw: Any) -> Manifest:
        """A manifest read from JSON, every field's type checked (TypeError naming the field otherwise)."""
        if not isinstance(raw, dict):
            raise TypeError("manifest.json is not an object")
        known = {f.name: str(f.type) for f in fields(cls)}  # annotations as written: "str", "dict[str, str]"
        for name, value in raw.items():
            if name not in known:
                raise TypeError(f"manifest field {name!r} is unknown")
            kind = dict if known[name].startswith("dict[") else {"str": str, "int": int}.get(known[name])
            if kind is None or not isinstance(value, kind) or isinstance(value, bool):
                raise TypeError(f"manifest field {name!r} is {type(value).__name__}, not {known[name]}")
        for name in ("files", "indexed", "model_files", "copies", "dates_read", "ocr_pages"):
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.get(name, {}).items()):
                raise TypeError(f"manifest field {name!r} must map names to text")
        for name, c in raw.get("checksums", {}).items():
            if not (isinstance(c, dict) and isinstance(c.get("sha256"), str) and type(c.get("bytes")) is int):
                raise TypeError(f"manifest checksum of {name!r} must hold a sha256 and a byte count")
        return cls(**raw)

    def mismatch(self, wanted: Identity) -> str:
        """Why vectors of this index cannot be reused for the ``wanted`` identity ('' if they can)."""
        if self.format_version not in VECTOR_FORMATS:
            return f"index format {self.format_version} (older askfront) is not {FORMAT_VERSION}"
        if self.model_sha256 != wanted.model_sha256:
            return f"embedding model changed ({self.model_name}, weights {self.model_sha256[:12]}…)"
        if (self.chunk_size, self.chunk_overlap) != (wanted.chunk_size, wanted.chunk_overlap):
            return (
                f"chunk settings changed ({self.chunk_size}/{self.chunk_overlap} -> "
                f"{wanted.chunk_size}/{wanted.chunk_overlap})"
            )
        return ""


@dataclass(frozen=True)
class Identity:
    """What an index's vectors and search structures depend on besides the reports: the embedding model,
    the chunking and the search settings. ``index_identity`` is the one place that reads it from settings."""

    model_sha256: str
    chunk_size: int
    chunk_overlap: int
    index_type: str
    hnsw_threshold: int

    def search(self, chunks: int) -> dict[str, Any]:
        """The search structures an index of ``chunks`` passages is built with (see ``search_identity``)."""
        return search_identity(self.index_type, chunks, self.hnsw_threshold)


def index_identity(settings: Settings, model_sha256: str) -> Identity:
    """The identity an index built or searched with ``settings`` and that model must have."""
    return Identity(model_sha256, settings.chunk_size, settings.chunk_overlap, settings.index_type,
                    settings.hnsw_threshold)  # fmt: skip


def search_identity(index_type: str, chunks: int, hnsw_threshold: int) -> dict[str, Any]:
    """The settings the search structures of an index are built with (BM25 tokenizer, FAISS kind, HNSW)."""
    kind = dense_kind(index_type, chunks, hnsw_threshold)
    return {"bm25": BM25_SETTINGS, "dense": {"kind": kind, **(HNSW_SETTINGS if kind == "hnsw" else {})}}


def dense_kind(index_type: str, chunks: int, hnsw_threshold: int) -> str:
    """flat or hnsw: ``auto`` is exact search up to ``hnsw_threshold`` passages."""
    if index_type == "auto":
        return "hnsw" if chunks > hnsw_threshold else "flat"
    return index_type  # flat or hnsw: the settings checked it
