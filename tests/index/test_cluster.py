"""Embedding on a real local Ray cluster (head on 127.0.0.1, 2 CPUs, stopped at the end): a --ray build
equals a local one, updates incrementally, and survives or cleanly fails when a worker is killed; and the
device setting on this machine (no GPU here: a GPU asked for is a one-line error)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from askfront.core.config import Settings
from askfront.core.errors import ConfigError
from askfront.index.build import build_index
from askfront.index.embed import Embedder, resolve_device, resolve_precision
from askfront.index.store import Index, live_version
from askfront.search.retrieve import Retriever
from tests.conftest import bigger_corpus, free_port, write_disagreeing

RAY = shutil.which("ray", path=str(Path(sys.executable).parent))
QUESTIONS = ("How many strikes has the coalition conducted?", "Who said ISIL had lost territory?", "Fallujah aid")


def test_device_setting_on_a_machine_without_a_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto") == "cpu" and Embedder(device="auto").device == "cpu"
    with pytest.raises(ConfigError, match="device cuda: torch sees no such GPU"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        resolve_precision("fp16", "cpu")
    assert resolve_precision("auto", "cuda") == "fp16"
    with pytest.raises(ConfigError, match="device must be one of auto, cpu, cuda, mps"):
        Settings.from_env({"ASKFRONT_DEVICE": "tpu"})


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A Ray head of our own on 127.0.0.1: its own port and temp folder, in its own process group, stopped
    by signalling that group, so another Ray cluster on this machine is neither joined nor stopped."""
    import tempfile

    assert RAY, "the ray extra is part of dev: pip install -e '.[dev]'"
    port = free_port()
    temp = tempfile.mkdtemp(prefix="askfront-ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--temp-dir", temp, "--include-dashboard", "false", "--disable-usage-stats"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while subprocess.run([RAY, "status", "--address", address], capture_output=True, env=env).returncode != 0:
        assert head.poll() is None, head.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the Ray head did not start in 120 s"
        time.sleep(1)
    yield address
    os.killpg(head.pid, signal.SIGTERM)  # --block: ray stops what it started
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
    shutil.rmtree(temp, ignore_errors=True)


def _askfront(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # only the address given
    return subprocess.run(
        [sys.executable, "-m", "askfront", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


@pytest.mark.slow
def test_a_ray_build_equals_a_local_one_and_updates_incrementally(
    ray_head: str, tmp_path: Path, embedder: Embedder
) -> None:
    write_disagreeing(tmp_path / "corpus")
    _bigger_corpus_from(tmp_path / "corpus", 6)
    local = Settings(corpus=tmp_path / "corpus", index=tmp_path / "local-index")
    build_index(local, embedder, progress=False)
    built = _askfront("index", "--ray", ray_head, "--no-progress", cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    assert f"(embedded on Ray at {ray_head})" in built.stdout and "10 added" in built.stdout

    a, b = Index.open(local.index), Index.open(tmp_path / "index")
    assert a.manifest.files == b.manifest.files and a.manifest.model_sha256 == b.manifest.model_sha256
    assert [c.text for p in a.manifest.files for c in a.chunks_of(p)] == [
        c.text for p in b.manifest.files for c in b.chunks_of(p)
    ]
    cosine = np.sum(np.asarray(a.vectors) * np.asarray(b.vectors), axis=1)
    assert cosine.min() >= 0.999, cosine.min()
    for question in QUESTIONS:
        top_a = [h.record.id for h in Retriever(a, embedder).search(question)]
        top_b = [h.record.id for h in Retriever(b, embedder).search(question)]
        assert top_a == top_b, question

    (tmp_path / "corpus" / "tripoli.txt").write_text("Tripoli\n\nFayez al-Sarraj arrived in Tripoli by boat.\n")
    again = _askfront("index", "--ray", ray_head, "--no-progress", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 added, 0 changed, 10 unchanged" in again.stdout and "(1 embedded)" in again.stdout


def _bigger_corpus_from(corpus: Path, files: int) -> None:
    """``files`` more reports made from the demo report (tests/test_cli.py)."""
    from tests.conftest import DEMO

    shutil.copy(DEMO, corpus)
    bigger_corpus(corpus, files)
    (corpus / DEMO.name).unlink()


@pytest.mark.slow
def test_a_worker_killed_mid_build_never_breaks_the_index(ray_head: str, tmp_path: Path) -> None:
    write_disagreeing(tmp_path / "corpus")
    first = _askfront("index", "--no-progress", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    before = live_version(tmp_path / "index")
    _bigger_corpus_from(tmp_path / "corpus", 150)
    proc = subprocess.Popen(
        [sys.executable, "-m", "askfront", "index", "--ray", ray_head, "--no-progress"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("RAY_")},
    )  # fmt: skip
    deadline, killed = time.monotonic() + 300, None
    while killed is None and proc.poll() is None and time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", "ray::EmbedWorker.encode"], capture_output=True, text=True)
        pids = [int(p) for p in found.stdout.split()]
        if pids:  # a worker is embedding a batch: kill it there
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    out, err = proc.communicate(timeout=600)
    assert killed is not None, "no worker was seen embedding"
    # the actor is restarted and its batch retried (cluster.RETRIES): the build completes
    assert proc.returncode == 0, err[-2000:]
    assert "150 added" in out and live_version(tmp_path / "index") != before
    assert len(Index.open(tmp_path / "index").manifest.files) == 154 and Index.open(tmp_path / "index").verify() == []
    finished = _askfront("index", "--no-progress", cwd=tmp_path)  # and the next run, without Ray, completes
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert len(Index.open(tmp_path / "index").manifest.files) == 154


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--ray-gpus-per-worker", "1"), "has 0 GPUs"),
        (("--ray-workers", "5"), "has 2 CPUs; 5 workers need one each"),
    ],
)
def test_an_impossible_ray_request_is_one_line_at_once(ray_head: str, tmp_path: Path, flags, says: str) -> None:
    write_disagreeing(tmp_path / "corpus")
    started = time.monotonic()
    done = _askfront("index", "--ray", ray_head, *flags, "--no-progress", cwd=tmp_path)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert not (tmp_path / "index").exists() or live_version(tmp_path / "index") is None  # nothing was read
