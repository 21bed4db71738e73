"""Arabic retrieval on ARCD (Mozannar et al., 2019; ../shared/qa/arcd-test.json: 702 questions over 234
Wikipedia paragraphs): each paragraph becomes a report, the index is built as askfront builds any, and
each question is searched. A question is found at rank r when the r-th passage comes from its own
paragraph and holds its answer (Arabic folded as askfront folds it: diacritics, alef/ya/ta-marbuta).

    python benchmarks/arcd.py [--data ../shared/qa/arcd-test.json] [--k 5]

Prints recall@1 and recall@k and MRR for BM25, dense (all-MiniLM-L6-v2, an English model) and hybrid.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from askfront.core.arabic import fold_arabic
from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.embed import Embedder
from askfront.index.store import Index
from askfront.search.retrieve import Retriever


def _norm(text: str) -> str:
    return " ".join(fold_arabic(text).split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/qa/arcd-test.json"))
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    data = json.loads(args.data.read_text(encoding="utf-8"))["data"]
    questions = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for a, article in enumerate(data):
            for p, paragraph in enumerate(article["paragraphs"]):
                name = f"a{a:03d}-p{p:02d}.txt"
                (corpus / name).write_text(f"{article.get('title', '')}\n\n{paragraph['context']}\n", encoding="utf-8")
                for qa in paragraph["qas"]:
                    questions.append((qa["question"], name, [_norm(x["text"]) for x in qa["answers"]]))
        settings = Settings(corpus=corpus, index=Path(tmp) / "index")
        embedder = Embedder.from_settings(settings)
        started = time.perf_counter()
        report = build_index(settings, embedder, progress=False)
        print(f"index: {len(list(corpus.iterdir()))} reports, {report.chunks} passages, "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        index = Index.open(settings.index)
        try:
            for mode in ("bm25", "dense", "hybrid"):
                print(mode, _measure(Retriever(index, embedder, mode=mode, top_k=args.k), questions, args.k))
        finally:
            index.close()


def _measure(retriever: Retriever, questions: list, k: int) -> str:
    at1 = atk = 0
    reciprocal = 0.0
    for question, name, answers in questions:
        for rank, hit in enumerate(retriever.search(question, top_k=k), 1):
            text = _norm(hit.record.text)
            if hit.record.path == name and any(answer in text for answer in answers):
                at1 += rank == 1
                atk += 1
                reciprocal += 1 / rank
                break
    n = len(questions)
    return f"recall@1 {at1 / n:.3f}  recall@{k} {atk / n:.3f}  MRR {reciprocal / n:.3f}  ({n} questions)"


if __name__ == "__main__":
    main()
