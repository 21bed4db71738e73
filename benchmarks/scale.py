"""Newsroom-scale figures: index build vs the LangChain recipe, and query latency/memory up to 1M chunks.

    python benchmarks/scale.py build [--copies 1300] [--repeats 1]
    python benchmarks/scale.py query [--sizes 10000,100000,1000000] [--workdir DIR]

``build``: a corpus of real report text (the demo report, every sentence of each copy tagged so no two
chunks are identical and nothing is skipped as a duplicate), 1000/100-character chunks for everyone. In one
run, each as a whole process: the LangChain recipe (benchmarks/langchain_recipe.py), ``askfront index``
with the same chunking, and plain ``SentenceTransformer.encode`` fp32 over the same chunks (the
reference limit). Prints chunks/s, wall times, the askfront/LangChain ratio and recall@5 of both on
eval/demo.jsonl (a top-5 passage contains a gold answer; the same test for both).

``query``: indexes of N chunks whose texts are sentences of the demo report recombined and whose
vectors are SYNTHETIC (random unit vectors) except for the demo report's real chunks, written in
askfront's index format. For each size, a fresh process loads model + index (cold start: until
ready, and until a first answer, which also loads spaCy), asks the demo questions through the
extractive answerer (embed + hybrid search + answer; no LLM) and reports latency p50/p95 and peak RSS.
Also HNSW recall@10 against exact search on the same vectors.
Needs: pip install langchain-community langchain-huggingface (build only).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpus" / "misrata-militia-gain-back-territory.txt"
QUESTIONS = ROOT / "eval" / "demo.jsonl"


def _report_body() -> str:
    from askfront.ingest.reports import strip_footer

    return strip_footer(DEMO.read_text(encoding="utf-8"))


def make_corpus(folder: Path, copies: int) -> None:
    """``copies`` files of the demo report; every sentence tagged with its copy number, so that no two
    chunks of any size are identical and askfront's duplicate skipping gives it nothing."""
    paragraphs = [p for p in _report_body().split("\n") if p.strip()]
    folder.mkdir(parents=True)
    for i in range(copies):
        tagged = [re.sub(r"(?<=[.!?])(?=\s|$)", f" [{i}]", p) + f" [{i}]" for p in paragraphs]
        (folder / f"report-{i:05d}.txt").write_text("\n\n".join(tagged) + "\n", encoding="utf-8")


def _timed(cmd: list[str], **kw) -> tuple[float, str]:
    """Wall time of a whole process, and its standard output (errors go to ours)."""
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, **kw)
    return time.perf_counter() - started, done.stdout


def _recall(search, k: int = 5) -> float:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["answers"]]
    found = 0
    for row in rows:
        texts = " ".join(" ".join(t.lower().split()) for t in search(row["question"], k))
        found += any(" ".join(a.lower().split()) in texts for a in row["answers"])
    return found / len(rows)


RAW_ENCODE = """
import json, sys, time
from langchain_text_splitters import RecursiveCharacterTextSplitter
from pathlib import Path
from sentence_transformers import SentenceTransformer
texts = [c for p in sorted(Path(sys.argv[1]).glob('*.txt'))
         for c in RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_text(p.read_text())]
model = SentenceTransformer(sys.argv[2], device='cpu')
started = time.perf_counter()
model.encode(texts, batch_size=32)
print(json.dumps({'chunks': len(texts), 'seconds': time.perf_counter() - started}))
"""


def build(copies: int, repeats: int) -> None:
    from askfront.core.config import Settings
    from askfront.index.embed import Embedder, default_model_path
    from askfront.index.store import Index
    from askfront.search.retrieve import Retriever

    model = str(default_model_path())
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(corpus, copies)
        rows: dict[str, list[dict]] = {"langchain": [], "askfront": [], "raw": []}
        for r in range(repeats):
            index = Path(tmp) / f"askfront-{r}"
            wall, out = _timed(
                [sys.executable, "-m", "askfront", "index", "--corpus", str(corpus), "--index", str(index),
                 "--chunk-size", "1000", "--chunk-overlap", "100", "--no-progress"], env=env,
            )  # fmt: skip
            chunks, embedded = (int(x) for x in re.search(r"chunks: (\d+) \((\d+) embedded", out).groups())
            assert embedded == chunks, f"{chunks - embedded} duplicate chunks were skipped: not a fair comparison"
            seconds = float(re.search(r"in ([\d.]+) s", out).group(1))
            rows["askfront"].append({"wall": wall, "chunks": chunks, "build": seconds})
            wall, out = _timed(
                [sys.executable, str(ROOT / "benchmarks" / "langchain_recipe.py"), str(corpus),
                 str(Path(tmp) / f"lc-{r}"), model, "--questions", str(QUESTIONS)], env=env,
            )  # fmt: skip
            data = json.loads(out.strip().splitlines()[-1])
            rows["langchain"].append({"wall": wall, "chunks": data["chunks"], "build": data["build_seconds"],
                                      "recall": data["recall@5"]})  # fmt: skip
            wall, out = _timed([sys.executable, "-c", RAW_ENCODE, str(corpus), model], env=env)
            data = json.loads(out.strip().splitlines()[-1])
            rows["raw"].append({"wall": wall, "chunks": data["chunks"], "build": data["seconds"]})
        retriever = Retriever(Index.open(Path(tmp) / "askfront-0"), Embedder(), "hybrid", 5)
        ask_recall = _recall(lambda q, k: [h.record.text for h in retriever.search(q, top_k=k)])
        dense = Retriever(retriever.index, retriever.embedder, "dense", 5)
        dense_recall = _recall(lambda q, k: [h.record.text for h in dense.search(q, top_k=k)])
        settings = Settings()
        print(f"corpus: {copies} copies of the demo report, 1000/100-character chunks, {repeats} run(s), medians")
        print(f"askfront precision: {settings.precision} -> {retriever.embedder.precision} on this CPU "
              "(auto = bf16 where the CPU has native bf16, else fp32)")  # fmt: skip
        for name, label in (("raw", "SentenceTransformer.encode fp32 (encode only)"),
                            ("langchain", "LangChain recipe (whole process)"),
                            ("askfront", "askfront index (whole process)")):  # fmt: skip
            chunks = rows[name][0]["chunks"]
            wall = statistics.median(x["wall"] for x in rows[name])
            inner = statistics.median(x["build"] for x in rows[name])
            print(f"  {label:<48} {chunks:>6} chunks  {wall:7.1f} s wall  {chunks / wall:6.1f} chunks/s "
                  f"(build/encode part {inner:6.1f} s, {chunks / inner:6.1f} chunks/s)")  # fmt: skip
        lc = statistics.median(x["wall"] for x in rows["langchain"])
        af = statistics.median(x["wall"] for x in rows["askfront"])
        print(f"  askfront / LangChain speed (whole process): {lc / af:.2f}x")
        print(f"  recall@5: LangChain {rows['langchain'][0]['recall']:.3f}, askfront hybrid {ask_recall:.3f}, "
              f"askfront dense {dense_recall:.3f}")  # fmt: skip


QUERY_PROCESS = """
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from askfront.core.config import Settings
from askfront.answer.registry import load_answerer
answerer = load_answerer(Settings(index=Path(sys.argv[1])))
answerer.retriever.embedder.model  # loaded lazily: count it here
getattr(answerer.answerer, 'model', None)  # the reader too
ready = time.perf_counter() - t0
answerer.ask('warm up: how far is Abu Grain from Sirte?')  # also loads spaCy
cold = time.perf_counter() - t0
from askfront.evaluate.runner import percentile  # after the clock: not part of start-up
rows = [json.loads(l) for l in Path(sys.argv[2]).read_text().splitlines() if l.strip()]
times, search = [], []
for _ in range(3):  # questions repeat: parsed passages are cached, as in a chat that returns to them
    for row in rows:
        started = time.perf_counter()
        answer = answerer.ask(row['question'])
        times.append((time.perf_counter() - started) * 1000)
        search.append(answer.timings['retrieve_ms'])  # embed + hybrid search, the part that grows with the index
pct = lambda xs, q: percentile(sorted(xs), q)  # nearest rank, as askfront eval and core.py
# VmHWM, not ru_maxrss: on Linux ru_maxrss carries the parent's peak across fork+exec
rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
print(json.dumps({'ready_s': ready, 'cold_start_s': cold, 'p50_ms': pct(times, 50), 'p95_ms': pct(times, 95),
                  'first_p95_ms': pct(times[:len(rows)], 95), 'search_p50_ms': pct(search, 50),
                  'search_p95_ms': pct(search, 95), 'peak_rss_mb': rss}))
"""


def synthetic_index(folder: Path, size: int, embedder) -> float:
    """An askfront index of ``size`` chunks: the demo report's real chunks + synthetic ones. Returns build s."""
    import numpy as np

    from askfront import __version__
    from askfront.core.config import Settings
    from askfront.index.chunk import Chunk, make_splitter, split_document
    from askfront.index.manifest import Manifest
    from askfront.index.write import publish, write_version
    from askfront.ingest.reports import Document, load_document

    settings = Settings()
    demo = load_document(DEMO, DEMO.parent)
    real = split_document(demo, make_splitter(settings.chunk_size, settings.chunk_overlap))
    real_vectors = embedder.encode([c.text for c in real])
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(_report_body().split()))
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    n = size - len(real)
    docs, chunks = [demo], list(real)
    per_doc = 100
    for d in range(0, n, per_doc):
        parts = []
        offset = 0
        path = f"synthetic/doc-{d // per_doc:06d}.txt"
        for _ in range(min(per_doc, n - d)):
            text = " ".join(rng.choice(sentences, size=3))
            parts.append(text)
            chunks.append(Chunk(path, offset, offset + len(text), text, None))
            offset += len(text) + 1
        docs.append(Document(path, f"Synthetic {d // per_doc}", "\n".join(parts), "", ""))
    vectors = rng.standard_normal((size, real_vectors.shape[1]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[: len(real)] = real_vectors
    manifest = Manifest(
        model_name=embedder.name, model_sha256=embedder.sha256, dimension=vectors.shape[1],
        chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap, index_type="auto",
        askfront_version=__version__, built_at="synthetic",
    )  # fmt: skip
    folder.mkdir(parents=True)
    write_version(folder / "v-1", manifest, docs, chunks, vectors, settings.hnsw_threshold)
    publish(folder, folder / "v-1")
    return time.perf_counter() - started


def hnsw_recall(embedder, count: int = 20_000, k: int = 10) -> tuple[float, float]:
    """Recall@k of the approximate index as askfront searches it (HNSW over 8-bit vectors, a pool of
    max(4k, 20) candidates re-scored exactly) against exact search, on REAL model vectors of ``count``
    recombined demo-report texts; queries are the demo questions and 200 texts left out of the index.
    Returns (recall of the raw HNSW top-k, recall after re-scoring)."""
    import faiss
    import numpy as np

    from askfront.core.config import Settings
    from askfront.index.write import make_faiss

    sentences = re.split(r"(?<=[.!?])\s+", " ".join(_report_body().split()))
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(sentences, size=3)) for _ in range(count + 200)]
    vectors = embedder.encode(texts)
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    queries = np.vstack([embedder.encode([r["question"] for r in rows]), vectors[count:]])
    vectors = np.ascontiguousarray(vectors[:count])
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    approx = make_faiss(vectors, "hnsw", Settings().hnsw_threshold)
    _, truth = exact.search(queries, k)
    _, raw = approx.search(queries, k)
    _, pool = approx.search(queries, max(4 * k, 20))
    rescored = [p[np.argsort(-(vectors[p] @ q))][:k] for p, q in zip(pool, queries, strict=True)]
    overlap = lambda found: sum(len(set(t) & set(f)) for t, f in zip(truth, found, strict=True)) / truth.size  # noqa: E731
    return overlap(raw), overlap(rescored)


def query(sizes: list[int], workdir: Path | None) -> None:
    from askfront.index.embed import Embedder

    embedder = Embedder()
    print("vectors beyond the demo report's own chunks are synthetic (random unit vectors); texts are")
    print("recombined demo sentences. Latency: extractive ask() = embed + hybrid search + answer, 3 x 40 questions.")
    print("search = the embed + hybrid search part of ask(), the part that grows with the index.")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = (workdir or Path(tmp)) / f"idx-{size}"
            built = 0.0 if (folder / "CURRENT").exists() else synthetic_index(folder, size, embedder)
            env = {**os.environ, "HF_HUB_OFFLINE": "1"}
            _, out = _timed([sys.executable, "-c", QUERY_PROCESS, str(folder), str(QUESTIONS)], env=env)
            data = json.loads(out.strip().splitlines()[-1])
            kind = "hnsw, 8-bit" if size > 200_000 else "flat"
            print(
                f"  {size:>9,} chunks ({kind}): written in {built:6.1f} s (0 = reused); "
                f"cold start {data['ready_s']:.1f} s to load, {data['cold_start_s']:.1f} s to a first answer; "
                f"ask p50 {data['p50_ms']:.1f} ms, p95 {data['p95_ms']:.1f} ms (first pass alone p95 "
                f"{data['first_p95_ms']:.1f} ms); search p50 {data['search_p50_ms']:.1f} ms, "
                f"p95 {data['search_p95_ms']:.1f} ms; peak RSS {data['peak_rss_mb']:.0f} MB"
            )
            if workdir is None:
                shutil.rmtree(folder)
    raw, rescored = hnsw_recall(embedder)
    print(f"  HNSW recall@10 vs exact search on 20,000 real MiniLM vectors, 240 queries: {raw:.3f} raw, "
          f"{rescored:.3f} as askfront searches (candidates re-scored exactly)")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  (this benchmark process, which built the indexes: peak RSS {peak:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    b = sub.add_parser("build")
    b.add_argument("--copies", type=int, default=1300)
    b.add_argument("--repeats", type=int, default=1)
    q = sub.add_parser("query")
    q.add_argument("--sizes", default="10000,100000,1000000")
    q.add_argument("--workdir", type=Path, help="keep the indexes here and reuse them on the next run")
    args = parser.parse_args()
    if args.what == "build":
        build(args.copies, args.repeats)
    else:
        query([int(s) for s in args.sizes.split(",")], args.workdir)


if __name__ == "__main__":
    main()
