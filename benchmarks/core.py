"""Index build throughput (fp32 vs bf16) and search latency, printed as figures.

    python benchmarks/core.py [--copies 210] [--rounds 3]

Build: the demo report is replicated ``--copies`` times (each copy's paragraphs are tagged with the
copy number, so no passage is a duplicate that the builder would skip), and a fresh index is built with
each precision in turn, ``--rounds`` times; medians are quoted because timings on a shared 2-core
machine are noisy. Search: every question of eval/demo.jsonl, 20 times each, on the demo index
(embed the query + FAISS + BM25 + fusion), in one process after the model is loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

from scale import make_corpus  # benchmarks/ is on sys.path when a script in it runs

from askfront.core.config import Settings
from askfront.evaluate.scoring import percentile
from askfront.index.build import build_index
from askfront.index.embed import Embedder
from askfront.index.store import Index
from askfront.search.retrieve import Retriever

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=210)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = Embedder()
    import torch

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, bf16 native: {base.precision == 'bf16'}")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(corpus, args.copies)
        rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for round_ in range(args.rounds):
            for precision in rates:
                embedder = Embedder(precision=precision)
                embedder._model = base.model  # same loaded weights; only the autocast differs
                index_dir = Path(tmp) / f"index-{precision}-{round_}"
                settings = dataclasses.replace(Settings(), corpus=corpus, index=index_dir)
                report = build_index(settings, embedder, log=lambda _m: None, progress=False)
                assert report.embedded == report.chunks, "duplicate chunks were skipped: not a fair figure"
                rates[precision].append(report.chunks / report.seconds)
                print(f"  build {precision}: {report.chunks} chunks in {report.seconds:.1f} s")
        for precision, values in rates.items():
            print(f"build {precision}: median {statistics.median(values):.1f} chunks/s over {len(values)} builds")

    rows = [json.loads(line) for line in (ROOT / "eval" / "demo.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(Settings(), corpus=ROOT / "corpus", index=Path(tmp))
        build_index(settings, base, log=lambda _m: None, progress=False)
        retriever = Retriever(Index.open(settings.index), base)
        retriever.search("warm up")
        times = []
        for _ in range(20):
            for row in rows:
                started = time.perf_counter()
                retriever.search(row["question"])
                times.append((time.perf_counter() - started) * 1000)
        print(
            f"search latency over {len(times)} queries: p50 {percentile(sorted(times), 50):.1f} ms, "
            f"p95 {percentile(sorted(times), 95):.1f} ms"
        )


if __name__ == "__main__":
    main()
