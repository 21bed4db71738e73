"""What finding names and dates costs at index time, and how fast the views answer.

    python benchmarks/entities.py --qa ../shared/qa --workdir /tmp/askfront-entities [--paragraphs 1500] [--runs 3]

1. Index time: SQuAD v1.1 dev-heldin paragraphs (real encyclopedia prose, one report each) indexed from
   scratch; the build reports the seconds spent finding names and dates and the seconds spent embedding.
   The overhead is names+dates / (whole build - names+dates), models already loaded; names and dates
   are found by one spaCy worker per core, as `askfront index` does. Both precisions where bf16 is native
   (fp32 stands in for CPUs without it, where embedding is ~2.5x slower); --runs fresh builds of each,
   medians (timings on these machines are noisy).
2. Views: the corpus-wide name list, the reports and passages naming the most frequent name, and the
   timeline, on an index of about --view-passages passages (paragraphs repeated under new names: the
   views are SQL and grouping, so repeated text costs what new text would); median of 5 runs each.

Prints one Markdown table. Name the CPU beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path

from reader import cpu_name  # benchmarks/ is on sys.path when a script in it runs (names the CPU family)

from askfront.analysis import views
from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.embed import Embedder, bf16_is_fast
from askfront.index.store import Index


def paragraphs(qa: Path, limit: int) -> list[tuple[str, str]]:
    data = json.loads((qa / "squad-v1.1-dev-heldin.json").read_text(encoding="utf-8"))["data"]
    out = [(a["title"], p["context"]) for a in data for p in a["paragraphs"]]
    return out[:limit]


def write_corpus(folder: Path, texts: list[tuple[str, str]], copies: int = 1) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for c in range(copies):
        for i, (title, text) in enumerate(texts):
            (folder / f"p{c:02d}-{i:05d}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
            (folder / f"p{c:02d}-{i:05d}.txt.meta.yaml").write_text(f"date: {2010 + i % 10}-0{1 + i % 9}\n")


def timed(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qa", type=Path, default=Path("../shared/qa"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/askfront-entities"))
    parser.add_argument("--paragraphs", type=int, default=1500)
    parser.add_argument("--view-passages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="fresh builds per precision; medians are printed")
    both = "default: both where bf16 is native, else fp32"
    parser.add_argument("--precision", choices=["bf16", "fp32"], action="append", help=both)
    args = parser.parse_args()
    texts = paragraphs(args.qa, args.paragraphs)
    write_corpus(args.workdir / "corpus", texts)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores")
    print()
    print(f"| {len(texts)} reports, median of {args.runs} | precision | passages | whole build s | embedding s | "
          "names+dates s | overhead |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    precisions = args.precision or (["bf16", "fp32"] if bf16_is_fast() else ["fp32"])
    for precision in precisions:  # fp32 here stands for CPUs without native bf16 (embedding ~2.5x slower)
        embedder = Embedder(precision=precision)
        _ = embedder.model
        settings = Settings(corpus=args.workdir / "corpus", index=args.workdir / f"index-{precision}")
        whole, embedding, names, overhead = [], [], [], []
        for _ in range(args.runs):
            shutil.rmtree(settings.index, ignore_errors=True)
            report = build_index(settings, embedder, progress=False)
            whole.append(report.seconds)
            embedding.append(report.embed_seconds)
            names.append(report.annotate_seconds)
            overhead.append(report.annotate_seconds / (report.seconds - report.annotate_seconds))
        m = statistics.median
        print(
            f"| | {precision} | {report.chunks} | {m(whole):.1f} | {m(embedding):.1f} | {m(names):.1f} | "
            f"{m(overhead):.1%} |"
        )

    copies = max(1, round(args.view_passages / max(1, report.chunks)))
    write_corpus(args.workdir / "big", texts, copies)
    big = Settings(corpus=args.workdir / "big", index=args.workdir / "big-index")
    shutil.rmtree(big.index, ignore_errors=True)
    build_index(big, embedder, progress=False)
    index = Index.open(big.index)
    names = views.names(index, {})
    top = names[0].key
    print()
    print(f"| views on {len(index)} passages, {len(names)} names | median ms (5 runs) |")
    print("|---|---|")
    print(f"| name list | {timed(lambda: views.names(index, {})):.0f} |")
    print(f"| mentions of the most named ({names[0].name}) | {timed(lambda: views.mentions(index, top, {})):.0f} |")
    print(f"| timeline (all) | {timed(lambda: views.timeline(index, {})):.0f} |")
    print(f"| timeline of the most named | {timed(lambda: views.timeline(index, {}, key=top)):.0f} |")


if __name__ == "__main__":
    main()
