"""Find the passages that best match a question: dense (FAISS), lexical (BM25), or both fused by RRF."""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import numpy as np

from askfront.config import RETRIEVERS
from askfront.embed import Embedder
from askfront.errors import ConfigError
from askfront.index import ChunkRecord, Index, tokenize

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)
MODES = RETRIEVERS


@dataclass(frozen=True)
class Hit:
    """A retrieved passage. ``score`` is the fused score; dense/bm25 are the raw per-retriever scores."""

    record: ChunkRecord
    score: float
    dense: float | None = None
    bm25: float | None = None


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some report files and/or a date range (ISO dates, partial ones allowed)."""

    files: tuple[str, ...] = ()
    since: str = ""
    until: str = ""

    def __bool__(self) -> bool:
        return bool(self.files or self.since or self.until)


def date_bounds(date: str) -> tuple[str, str]:
    """First and last day covered by an ISO date that may be partial: '2016-05' -> 2016-05-01..2016-05-31."""
    parts = date.strip()[:10].split("-")
    try:
        year = int(parts[0])
        month_lo, month_hi = (int(parts[1]),) * 2 if len(parts) > 1 else (1, 12)
        day_lo = int(parts[2]) if len(parts) > 2 else 1
        day_hi = int(parts[2]) if len(parts) > 2 else calendar.monthrange(year, month_hi)[1]
    except (ValueError, IndexError):
        raise ConfigError(f"not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD): {date!r}") from None
    return f"{year:04d}-{month_lo:02d}-{day_lo:02d}", f"{year:04d}-{month_hi:02d}-{day_hi:02d}"


class Retriever:
    """Searches one ``Index`` with one ``Embedder``; the CLI, the UI and evaluation all go through it."""

    def __init__(self, index: Index, embedder: Embedder, mode: str = "hybrid", top_k: int = 5) -> None:
        if mode not in MODES:
            raise ConfigError(f"retriever must be one of {', '.join(MODES)}, not {mode!r}")
        index.check_model(embedder.sha256)
        self.index, self.embedder, self.mode, self.top_k = index, embedder, mode, top_k

    def search(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """The ``top_k`` best passages for ``query``, best first, within ``filters``."""
        k = top_k or self.top_k
        if not query.strip() or len(self.index) == 0:
            return []
        allowed = self._allowed(filters) if filters else None
        if allowed is not None and not len(allowed):
            return []
        pool = max(k * 4, 20)  # each retriever's depth before fusion
        dense = self._dense(query, pool, allowed) if self.mode != "bm25" else {}
        lexical = self._bm25(query, pool, allowed) if self.mode != "dense" else {}
        fused: dict[int, float] = {}
        for ranking in (dense, lexical):
            for rank, chunk_id in enumerate(ranking, 1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        return [
            Hit(record, fused[record.id], dense.get(record.id), lexical.get(record.id))
            for record in self.index.records(best)
        ]

    def _dense(self, query: str, pool: int, allowed: np.ndarray | None) -> dict[int, float]:
        import faiss

        vector = self.embedder.encode_query(query)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            params = (
                faiss.SearchParametersHNSW(sel=selector, efSearch=max(96, pool))
                if isinstance(self.index.dense, faiss.IndexHNSW)
                else faiss.SearchParameters(sel=selector)
            )
        scores, ids = self.index.dense.search(vector, min(pool, len(self.index)), params=params)
        found = np.sort(ids[0][ids[0] >= 0])  # sorted: memory-mapped rows are read in file order
        if not isinstance(self.index.dense, faiss.IndexFlat) and len(found):
            # approximate candidates, exact order: re-score from the float32 vectors (memory-mapped)
            exact = self.index.vectors[found] @ vector[0]
            order = np.argsort(-exact)
            return {int(i): float(s) for i, s in zip(found[order], exact[order], strict=True)}
        return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}

    def _bm25(self, query: str, pool: int, allowed: np.ndarray | None) -> dict[int, float]:
        tokens = tokenize([query])[0]
        if self.index.bm25 is None or not tokens:
            return {}
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.index), dtype=np.float32)
            mask[allowed] = 1.0
        scores = self.index.bm25.get_scores(tokens, weight_mask=mask)
        # Our own top-k: bm25s partitions for the k largest from the far end, which numpy does ~15x slower
        # when most scores tie at zero, as they do for most passages of a large index (62 vs 4 ms at 1M).
        k = min(pool, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties in passage order
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}

    def _allowed(self, filters: Filters) -> np.ndarray:
        """Chunk ids of the reports that pass the filters."""
        since = date_bounds(filters.since)[0] if filters.since else ""
        until = date_bounds(filters.until)[1] if filters.until else ""
        paths = []
        for path, _title, date in self.index.documents():
            if filters.files and not any(path == f or path.startswith(f.rstrip("/") + "/") for f in filters.files):
                continue
            if since or until:
                try:
                    first, last = date_bounds(date)
                except ValueError:
                    continue  # an undated report cannot be shown to fall inside a date range
                if (since and last < since) or (until and first > until):
                    continue
            paths.append(path)
        ids = [i for path in paths for i in self.index.chunk_ids(path)]
        return np.array(sorted(ids), dtype=np.int64)
