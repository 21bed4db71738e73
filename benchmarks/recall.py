"""Retrieval recall@k and MRR for several chunk sizes and retrievers, on a JSONL question file.

    python benchmarks/recall.py [--questions eval/demo.jsonl] [--corpus corpus] [--sizes 200/40,500/100,1000/100]

A question counts as found at rank r when the r-th passage contains one of its gold answers
(case- and space-insensitive). Unanswerable questions (empty ``answers``) are skipped here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.embed import Embedder
from askfront.index.store import Index
from askfront.search.retrieve import Retriever


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=Path("eval/demo.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--sizes", default="200/40,300/60,500/100,800/100,1000/100")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    questions = [(r["question"], [_norm(a) for a in r["answers"]]) for r in rows if r["answers"]]
    embedder = Embedder()
    print(f"{len(questions)} answerable questions from {args.questions}, corpus {args.corpus}")
    print(f"{'chunk/overlap':>13} {'retriever':>9} {'chunks':>6} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'MRR':>6}")
    for spec in args.sizes.split(","):
        size, overlap = (int(x) for x in spec.split("/"))
        with tempfile.TemporaryDirectory() as tmp:
            settings = dataclasses.replace(
                Settings(), corpus=args.corpus, index=Path(tmp), chunk_size=size, chunk_overlap=overlap
            )
            build_index(settings, embedder, log=lambda _m: None, progress=False)
            index = Index.open(settings.index)
            for mode in ("dense", "bm25", "hybrid"):
                retriever = Retriever(index, embedder, mode)
                ranks = []
                for question, answers in questions:
                    hits = retriever.search(question, top_k=5)
                    found = [i for i, h in enumerate(hits, 1) if any(a in _norm(h.record.text) for a in answers)]
                    ranks.append(found[0] if found else None)
                n = len(ranks)
                recall = {k: sum(1 for r in ranks if r and r <= k) / n for k in (1, 3, 5)}
                mrr = sum(1 / r for r in ranks if r) / n
                scores = " ".join(f"{v:6.3f}" for v in (recall[1], recall[3], recall[5], mrr))
                print(f"{spec:>13} {mode:>9} {len(index):>6} {scores}")
            index.close()


if __name__ == "__main__":
    main()
