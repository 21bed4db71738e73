"""The app's memory over a long session: 900 questions through one Service (as the page asks them), the
resident set size printed every 100, so growth that caches should bound shows.

    python benchmarks/memory.py [--corpus corpus] [--questions 900] [--app]

A third of the questions repeat one question (a journalist asking again); the rest are the demo
questions with a running number (each one new to every cache). Prints RSS in MB (from /proc).
``--app``: the same questions to a real ``python app.py`` over HTTP (its /ask API, gradio_client), the
app's RSS read from /proc every 100.
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
    parser.add_argument("--app", action="store_true", help="ask a running app over HTTP instead")
    args = parser.parse_args()
    if args.app:
        return through_the_app(args)
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


def rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def through_the_app(args) -> None:
    import shutil
    import socket
    import subprocess
    import sys
    import urllib.request

    from gradio_client import Client

    demo = [json.loads(line)["question"] for line in Path("eval/demo.jsonl").read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        shutil.copytree(args.corpus, Path(tmp) / "corpus")
        app = Path(__file__).resolve().parents[1] / "app.py"
        proc = subprocess.Popen([sys.executable, str(app), "--port", str(port)], cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            print(f"app before: RSS {rss_of(proc.pid):.0f} MB", flush=True)
            started = time.perf_counter()
            for n in range(1, args.questions + 1):
                question = demo[0] if n % 3 == 0 else f"{demo[n % len(demo)].rstrip('?')} ({n})?"
                client.predict(question, api_name="/ask")
                if n % 100 == 0:
                    print(f"{n:4d} questions: app RSS {rss_of(proc.pid):.0f} MB, "
                          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
