"""Find the passages that best match a question: rankers (dense FAISS, lexical BM25) fused by RRF.

A ranker turns a question into {chunk id: score}, best first; ``rrf`` is the pure fusion function; the
``Retriever`` runs the rankers a retriever mode names (``core.registry.RETRIEVERS``; rankers are
``core.registry.RANKERS``) and returns ``Hit``s with every ranker's score by name. Adding a ranker is one
class and one registry entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from askfront.core.arabic import is_arabic
from askfront.core.errors import REPAIR, BadIndexError, ConfigError, one_line
from askfront.core.registry import RANKERS, RETRIEVERS
from askfront.core.types import Component, Filters, Hit, in_files, iso_date_bounds
from askfront.index.embed import TextEmbedder
from askfront.index.store import Index, tokenize

__all__ = ["Filters", "Hit", "Retriever", "rrf"]

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: each id scores the sum of 1 / (k + rank) over the rankings (best first)
    that hold it; the result is ordered best first (ties keep the order of first appearance)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return dict(sorted(fused.items(), key=lambda kv: -kv[1]))


class Ranker(Component, Protocol):
    """Scores passages of one index for a question: {chunk id: score}, best first, at most ``pool``."""

    name: str

    def rank(self, query: str, pool: int, allowed: np.ndarray | None) -> Mapping[int, float]: ...


class DenseRanker:
    """Cosine similarity of question and passage vectors (FAISS; HNSW candidates re-scored exactly)."""

    name = "dense"

    def warm_up(self) -> None:
        self.embedder.warm_up()  # the question is embedded by the same model

    def __init__(self, index: Index, embedder: TextEmbedder) -> None:
        self.index, self.embedder = index, embedder

    def rank(self, query: str, pool: int, allowed: np.ndarray | None) -> dict[int, float]:
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


class BM25Ranker:
    """BM25 over the index's own tokens (bm25s, memory-mapped)."""

    name = "bm25"

    def warm_up(self) -> None:
        """Nothing to load: the BM25 index is memory-mapped when the index opens."""

    def __init__(self, index: Index, embedder: TextEmbedder | None = None) -> None:
        self.index = index

    def rank(self, query: str, pool: int, allowed: np.ndarray | None) -> dict[int, float]:
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


def date_bounds(date: str) -> tuple[str, str]:
    """First and last day covered by an ISO date that may be partial: '2016-05' -> 2016-05-01..2016-05-31."""
    bounds = iso_date_bounds(date.strip()[:10])
    if bounds is None:
        raise ConfigError(f"not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD): {date!r}")
    return bounds


class Retriever:
    """Searches one ``Index`` with one embedder; the CLI, the UI and evaluation all go through it."""

    def __init__(self, index: Index, embedder: TextEmbedder, mode: str = "hybrid", top_k: int = 5) -> None:
        names = RETRIEVERS.get(mode).options["rankers"]
        index.check_model(embedder.sha256)
        self.index, self.embedder, self.mode, self.top_k = index, embedder, mode, top_k
        self.rankers: list[Ranker] = [RANKERS.load(name)(index, embedder) for name in names]

    def search(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """The ``top_k`` best passages for ``query``, best first, within ``filters``."""
        k = top_k or self.top_k
        if not query.strip() or len(self.index) == 0:
            return []
        allowed = self._allowed(filters) if filters else None
        if allowed is not None and not len(allowed):
            return []
        pool = max(k * 4, 20)  # each ranker's depth before fusion
        rankers = self.rankers
        if is_arabic(query) and any(r.name != "dense" for r in rankers):
            # the embedding model is English: on Arabic its ranking is noise that drowns BM25's in the fusion
            # (ARCD test, 702 questions: recall@5 BM25 0.84, dense 0.003, hybrid 0.70; benchmarks/arcd.py)
            rankers = [r for r in rankers if r.name != "dense"]
        try:
            scores = {r.name: r.rank(query, pool, allowed) for r in rankers}
        except (OSError, ValueError, IndexError, RuntimeError, MemoryError) as err:  # a damaged index file
            raise BadIndexError(f"{self.index.folder}: index is damaged ({one_line(err, 120)}); {REPAIR}") from None
        fused = rrf([list(ranking) for ranking in scores.values()])
        best = list(fused)[:k]
        return [
            Hit(
                record,
                fused[record.id],
                {name: found[record.id] for name, found in scores.items() if record.id in found},
            )
            for record in self.index.records(best)
        ]

    def undated_left_out(self, filters: Filters) -> int:
        """How many reports (within the file filter) a date filter leaves out for having no readable date."""
        if not (filters.since or filters.until):
            return 0
        count = 0
        for path, _title, date in self.index.documents():
            if filters.files and not in_files(path, filters.files):
                continue
            try:
                date_bounds(date)
            except ConfigError:
                count += 1
        return count

    def reports_within(self, filters: Filters | None) -> list[str]:
        """The reports (corpus paths) that pass ``filters`` (all of them without filters)."""
        if not filters:
            return [path for path, _title, _date in self.index.documents()]
        since = date_bounds(filters.since)[0] if filters.since else ""
        until = date_bounds(filters.until)[1] if filters.until else ""
        if since and until and since > until:
            raise ConfigError(f"the date range is reversed: from {filters.since} is after until {filters.until}")
        paths = []
        for path, _title, date in self.index.documents():
            if filters.files and not in_files(path, filters.files):
                continue
            if since or until:
                try:
                    first, last = date_bounds(date)
                except ValueError:
                    continue  # an undated report cannot be shown to fall inside a date range
                if (since and last < since) or (until and first > until):
                    continue
            paths.append(path)
        return paths

    def _allowed(self, filters: Filters) -> np.ndarray:
        """Chunk ids of the reports that pass the filters."""
        ids = [i for path in self.reports_within(filters) for i in self.index.chunk_ids(path)]
        return np.array(sorted(ids), dtype=np.int64)
