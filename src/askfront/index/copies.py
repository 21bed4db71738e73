"""Reports that are copies of one another: the same file saved twice, or the same wire story filed by two
outlets with another headline, byline or footer. Found at index time so that agreement counts reports,
not copies ("found in 2 reports" from two copies of one story is false corroboration).

Byte-identical and same-words copies are found by a hash of the report's words; near-identical ones by
MinHash over 5-word shingles with banded candidate buckets (no pairwise comparison of all reports), then
kept when the estimated resemblance is at least ``NEAR_COPY``.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

# Share of 5-word shingles two reports must have in common (estimated) to be one story: a wire story
# re-filed with its own headline, dateline and a closing paragraph keeps ~85-95% of its shingles; two
# reports on one event written separately share well under 30%.
NEAR_COPY = 0.8
SHINGLE = 5  # words per shingle
PERMUTATIONS, BANDS = 64, 16  # MinHash size, and buckets of 4 values: pairs at 0.8 meet in a bucket ~99.9%
MIN_WORDS = 40  # shorter reports are copies only when their words are identical (too few shingles)
_WORD = re.compile(r"\w+")
_SEEDS = np.random.default_rng(20261205).integers(1, 2**63 - 1, size=PERMUTATIONS, dtype=np.int64).astype(np.uint64)


def find_copies(reports: Sequence[tuple[str, str]]) -> dict[str, str]:
    """For ``(path, text)`` pairs: each report that copies another -> the report it copies (the first
    path of its group, in sorted order). Reports with no copy are not listed."""
    words = {path: _WORD.findall(text.lower()) for path, text in sorted(reports)}
    group = _Groups()
    by_words: dict[bytes, str] = {}
    for path, found in words.items():
        key = hashlib.sha256(" ".join(found).encode("utf-8")).digest()
        if key in by_words:
            group.join(by_words[key], path)
        else:
            by_words[key] = path
    signatures = {path: _minhash(found) for path, found in words.items() if len(found) >= MIN_WORDS}
    buckets: dict[tuple[int, bytes], list[str]] = defaultdict(list)
    rows = PERMUTATIONS // BANDS
    for path, sig in signatures.items():
        for band in range(BANDS):
            buckets[(band, sig[band * rows : (band + 1) * rows].tobytes())].append(path)
    for members in buckets.values():
        for other in members[1:]:
            if group.find(other) != group.find(members[0]) and _resemblance(signatures, members[0], other):
                group.join(members[0], other)
    return {path: group.find(path) for path in words if group.find(path) != path}


def _minhash(words: list[str]) -> np.ndarray:
    """MinHash of the report's shingles: for each seed, the least of (shingle hash XOR seed) mixed."""
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    # Python's string hash: fast, and the same for every report of one call (all signatures of a build
    # are made in one process; none is stored)
    hashes = np.fromiter((hash(s) for s in shingles), dtype=np.int64, count=len(shingles)).view(np.uint64)
    mixed = (hashes[:, None] ^ _SEEDS[None, :]) * np.uint64(0x9E3779B97F4A7C15)  # wraps modulo 2**64
    return mixed.min(axis=0)


def _resemblance(signatures: dict[str, np.ndarray], a: str, b: str) -> bool:
    return float(np.mean(signatures[a] == signatures[b])) >= NEAR_COPY


class _Groups:
    """Union-find over report paths; a group is named by its first path in sorted order."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, path: str) -> str:
        root = self.parent.get(path, path)
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        return root

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            first, second = sorted((ra, rb))
            self.parent[second] = first
