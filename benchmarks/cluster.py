"""Local build vs `--ray` builds with 1 and 2 workers, on this machine (the overhead of Ray, not a speed-up:
a 2-core machine has no spare cores for it).

    python benchmarks/cluster.py --qa ../shared/qa --workdir /tmp/askfront-cluster [--paragraphs 1000]

Starts a local Ray head on 127.0.0.1 (2 CPUs), builds the same corpus (SQuAD v1.1 dev-heldin paragraphs,
one report each) from scratch three times in this process, and prints the whole-build and embedding
seconds of each, and the passages per second of the embedding step. Names and dates are found locally
in every case. Name the CPU beside the figures.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from entities import paragraphs, write_corpus  # benchmarks/ is on sys.path when a script in it runs
from reader import cpu_name

from askfront.core.config import Settings
from askfront.index.build import build_index
from askfront.index.cluster import RayEmbedder
from askfront.index.embed import Embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qa", type=Path, default=Path("../shared/qa"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/askfront-cluster"))
    parser.add_argument("--paragraphs", type=int, default=1000)
    parser.add_argument("--port", type=int, default=6391)
    args = parser.parse_args()
    ray_cli = str(Path(sys.executable).parent / "ray")
    write_corpus(args.workdir / "corpus", paragraphs(args.qa, args.paragraphs))
    subprocess.run([ray_cli, "stop", "--force"], capture_output=True)
    subprocess.run(
        [ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(args.port), "--num-cpus", "2",
         "--include-dashboard", "false", "--disable-usage-stats"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        local = Embedder()
        _ = local.model
        print(f"CPU: {cpu_name()}; precision {local.precision}")
        print()
        print(f"| {args.paragraphs} reports | passages | whole build s | embedding s | passages/s embedded |")
        print("|---|---|---|---|---|")
        for label, workers in (("local", 0), ("--ray, 1 worker", 1), ("--ray, 2 workers", 2)):
            embedder = local if not workers else RayEmbedder(local, f"127.0.0.1:{args.port}", workers)
            settings = Settings(corpus=args.workdir / "corpus", index=args.workdir / f"index-{workers}")
            shutil.rmtree(settings.index, ignore_errors=True)
            report = build_index(settings, embedder, progress=False)
            rate = report.embedded / report.embed_seconds
            print(f"| {label} | {report.chunks} | {report.seconds:.1f} | {report.embed_seconds:.1f} | {rate:.0f} |")
    finally:
        import ray

        ray.shutdown()  # disconnect before the head is stopped, or its exit is reported as a crash
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True)


if __name__ == "__main__":
    main()
