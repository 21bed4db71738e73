"""The app's memory over a long session: 900 questions through one Service (as the page asks them), the
resident set size printed every 100, so growth that caches should bound shows.

    python benchmarks/memory.py [--corpus corpus] [--questions 900]

A third of the questions repeat one question (a journalist asking again); the rest are the demo
questions with a running number (each one new to every cache). Prints RSS in MB (from /proc) and the
sizes of askfront's caches.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path

from askfront.answer.registry import load_answerer
from askfront.app.service import Service
from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.embed import Embedder


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--questions", type=int, default=900)
    args = parser.parse_args()
    demo = [json.loads(line)["question"] for line in Path("eval/demo.jsonl").read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus=args.corpus, index=Path(tmp) / "index")
        embedder = Embedder.from_settings(settings)
        build_index(settings, embedder, progress=False)
        conversation = load_answerer(settings, embedder)
        conversation.warm_up()
        service = Service(settings, embedder, conversation)
        history = []
        started = time.perf_counter()
        print(f"before: RSS {rss_mb():.0f} MB")
        for n in range(1, args.questions + 1):
            question = demo[0] if n % 3 == 0 else f"{demo[n % len(demo)].rstrip('?')} ({n})?"
            history = [*history, service.ask(question, history=history[-4:])][-50:]  # the page keeps its own
            if n % 100 == 0:
                gc.collect()
                print(f"{n:4d} questions: RSS {rss_mb():.0f} MB, {time.perf_counter() - started:.0f} s", flush=True)
        service.close()


if __name__ == "__main__":
    main()
