"""A running app says where it answers: ``<index>/.in-use/app-<pid>.json`` holds its address and the
settings its answers depend on, so ``askfront ask`` can put a question to it (models already loaded)
instead of loading them again. Written when the app starts serving, removed when it stops."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from askfront.core.config import Settings
from askfront.core.formats import write_whole
from askfront.index.versions import IN_USE

# Settings that change how the app serves, not what it answers: an app and a command line that differ only
# in these give the same answer.
SERVING_ONLY = (
    "host", "port", "auth", "allowed_hosts", "trusted_proxies", "watch_s", "ask_wait_s", "body_timeout_s",
    "batch_size", "device", "precision", "ray", "ray_workers", "ray_gpus_per_worker", "conversations",
)  # fmt: skip


def answering(settings: Settings) -> str:
    """A digest of every setting an answer depends on (corpus and index as absolute paths)."""
    values = {k: str(v) for k, v in asdict(settings).items() if k not in SERVING_ONLY}
    values["corpus"], values["index"] = str(settings.corpus.resolve()), str(settings.index.resolve())
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def announce(settings: Settings, url: str) -> Path | None:
    """Write this app's presence file (None when the index folder cannot be written: then it is not found)."""
    path = settings.index / IN_USE / f"app-{os.getpid()}.json"
    record = {"pid": os.getpid(), "url": url, "answering": answering(settings), "login": bool(settings.auth)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, json.dumps(record).encode())
    except OSError:
        return None
    return path


def running_apps(settings: Settings) -> list[str]:
    """Addresses of the apps running on this machine that answer as ``settings`` would, without a login."""
    wanted, found = answering(settings), []
    for path in sorted((settings.index / IN_USE).glob("app-*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            os.kill(int(record["pid"]), 0)  # still running (a killed app leaves its file behind)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if record.get("answering") == wanted and not record.get("login") and isinstance(record.get("url"), str):
            found.append(record["url"])
    return found
