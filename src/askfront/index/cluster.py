"""Embedding on a Ray cluster: ``askfront index --ray ADDRESS`` (or ``auto``).

The changed reports are read and split on this machine as always; only the passages go to the cluster,
where a pool of actors (each loads the model once, on a CPU or a GPU) embeds them in batches; the vectors
come back, in order, to the same atomic, incremental index writer. The cluster's workers need askfront
and the same model installed (the model's identity is checked on every actor). A worker that dies is
restarted and its batch retried; a cluster that fails outright stops the build with one line, and the
live index stays as it was, to be completed by the next run, with or without Ray.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from askfront.core.errors import AskfrontError, ConfigError, one_line

if TYPE_CHECKING:
    from askfront.index.embed import Embedder

BATCH = 256  # passages per actor call: long enough to amortise a round trip, short enough for progress
RETRIES = 3  # times an actor is restarted and its batch retried after its process dies
# Every wait on the cluster has a limit, so an impossible request (a GPU the cluster lacks) or a hung node
# ends the build with one line instead of waiting for ever. Loading the model on a worker takes ~10 s on 2
# cores; a batch of 256 passages ~20 s on one CPU.
START_TIMEOUT_S = 300.0
BATCH_TIMEOUT_S = 600.0


class EmbedWorker:
    """A Ray actor: one model, loaded once, embedding batches of passages."""

    def __init__(self, model: str, precision: str, device: str, threads: int) -> None:
        import torch

        from askfront.index.embed import Embedder

        if threads > 0:
            torch.set_num_threads(threads)
        self.embedder = Embedder(model, precision, device=device)
        _ = self.embedder.model

    def identity(self) -> tuple[str, int, str]:
        return self.embedder.sha256, os.getpid(), self.embedder.device

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)


class RayEmbedder:
    """The ``TextEmbedder`` of ``local`` (same name, identity, dimension, queries), with passages embedded
    by ``workers`` actors on the Ray cluster at ``address`` (``auto``: the local cluster, or a new one)."""

    def __init__(self, local: Embedder, address: str, workers: int = 0, gpus_per_worker: float = 0.0) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ConfigError('--ray needs the ray extra: pip install -e ".[ray]"') from None
        self.local, self.address = local, address
        self.workers, self.gpus_per_worker = workers, gpus_per_worker
        self.name = local.name

    @property
    def sha256(self) -> str:
        return self.local.sha256

    @property
    def files(self) -> dict[str, str]:
        return self.local.files

    @property
    def dimension(self) -> int:
        return self.local.dimension

    @property
    def precision(self) -> str:
        return self.local.precision

    def warm_up(self) -> None:
        """The local model (questions are embedded here); the cluster is reached when a build starts."""
        self.local.warm_up()

    def encode_query(self, text: str) -> np.ndarray:
        return self.local.encode_query(text)

    def encode(self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for ``texts`` in input order, embedded on the cluster (longest first, in batches)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import ray
        from ray.util import ActorPool

        self._connect()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [order[lo : lo + BATCH] for lo in range(0, len(order), BATCH)]
        actors = self._start_actors(min(len(batches), self._pool_size()))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        try:
            pool = ActorPool(actors)
            for rows in batches:
                pool.submit(lambda actor, rows: actor.encode.remote([texts[i] for i in rows]), rows)
            for rows in batches:  # ActorPool returns results in submission order
                out[rows] = pool.get_next(timeout=BATCH_TIMEOUT_S)
                if on_progress:
                    on_progress(len(rows))
        except TimeoutError:
            raise AskfrontError(
                f"the Ray cluster at {self.address} sent no vectors for {BATCH_TIMEOUT_S:.0f} s; the index was not "
                "changed: run askfront index again"
            ) from None
        except ray.exceptions.RayError as err:
            raise AskfrontError(
                f"the Ray cluster at {self.address} failed during the build ({type(err).__name__}: "
                f"{one_line(err, 120)}); the index was not changed: run askfront index again"
            ) from None
        finally:
            for actor in actors:
                ray.kill(actor)
        return out

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        try:
            if self.address == "auto":  # a cluster already running here, else a new one for this build
                try:
                    ray.init(address="auto", log_to_driver=False, logging_level="ERROR")
                except ConnectionError:
                    ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            else:
                ray.init(address=self.address, log_to_driver=False, logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise AskfrontError(f"cannot reach the Ray cluster at {self.address} ({one_line(err, 120)})") from None

    def check(self) -> None:
        """Contact the cluster and check it can run the workers asked for (CPUs, GPUs): one line at once,
        before any report is read, when it cannot."""
        import ray

        self._connect()
        resources = ray.cluster_resources()
        cpus, gpus = resources.get("CPU", 0), resources.get("GPU", 0)
        workers = self._pool_size()
        if self.gpus_per_worker > 0 and gpus < self.gpus_per_worker * max(1, self.workers):
            raise AskfrontError(
                f"the Ray cluster at {self.address} has {gpus:g} GPUs; {max(1, self.workers)} workers with "
                f"{self.gpus_per_worker:g} GPU each need {self.gpus_per_worker * max(1, self.workers):g}"
            )
        if workers > cpus:
            raise AskfrontError(
                f"the Ray cluster at {self.address} has {cpus:g} CPUs; {workers} workers need one each "
                "(set --ray-workers to at most that)"
            )

    def _pool_size(self) -> int:
        import ray

        if self.workers > 0:
            return self.workers
        resources = ray.cluster_resources()
        if self.gpus_per_worker > 0:
            return max(1, int(resources.get("GPU", 0) / self.gpus_per_worker))
        return max(1, int(resources.get("CPU", 1)))

    def _start_actors(self, count: int) -> list:
        import ray

        remote = ray.remote(EmbedWorker).options(
            num_cpus=1,
            num_gpus=self.gpus_per_worker,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
        )
        device = "cuda" if self.gpus_per_worker > 0 else "cpu"
        precision = "auto" if device == "cuda" else self.local.precision
        model = "" if self.local.name == _default_name() else str(self.local.path)
        actors = [remote.remote(model, precision, device, 1) for _ in range(count)]
        try:
            identities = ray.get([a.identity.remote() for a in actors], timeout=START_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            for actor in actors:
                ray.kill(actor)
            raise AskfrontError(
                f"the Ray workers did not start within {START_TIMEOUT_S:.0f} s (does the cluster have the CPUs "
                "and GPUs asked for?)"
            ) from None
        except ray.exceptions.RayError as err:
            for actor in actors:
                ray.kill(actor)
            raise AskfrontError(f"the Ray workers could not load the model ({one_line(err, 160)})") from None
        wrong = [pid for sha, pid, _ in identities if sha != self.sha256]
        if wrong:
            for actor in actors:
                ray.kill(actor)
            raise AskfrontError(
                f"the model on the Ray workers differs from this machine's ({self.name}); install the same one there"
            )
        return actors


def _default_name() -> str:
    from askfront.index.embed import DEFAULT_MODEL_NAME

    return DEFAULT_MODEL_NAME
