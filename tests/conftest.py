"""Shared fixtures: one real embedding model per test session, and small real corpora in tmp folders."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from askfront.core.config import Settings
from askfront.index.embed import Embedder

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpus" / "misrata-militia-gain-back-territory.txt"
DEMO_META = DEMO.with_name(DEMO.name + ".meta.yaml")


class CountingEmbedder(Embedder):
    """The real model, counting how many passages it is asked to embed (to prove what is re-embedded)."""

    def __init__(self, model_from: Embedder) -> None:
        super().__init__(precision=model_from.precision)
        self._model = model_from.model  # share the loaded model; the weights check already ran
        self.encoded = 0

    def encode(self, texts, on_progress=None):
        self.encoded += len(texts)
        return super().encode(texts, on_progress)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def counting(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def demo_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO, corpus)
    shutil.copy(DEMO_META, corpus)
    return corpus


@pytest.fixture
def settings(demo_corpus: Path) -> Settings:
    return Settings(corpus=demo_corpus, index=demo_corpus.parent / "index")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A small, valid PDF whose pages hold the given lines of text (Helvetica), written by hand."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(len(pages)))}] /Count {len(pages)} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        body = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {body} ET"
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The demo report, indexed once for every test that only reads the index."""
    from askfront.index.build import build_index

    root = tmp_path_factory.mktemp("demo")
    (root / "corpus").mkdir()
    shutil.copy(DEMO, root / "corpus")
    shutil.copy(DEMO_META, root / "corpus")
    settings = Settings(corpus=root / "corpus", index=root / "index")
    assert build_index(settings, embedder, progress=False).ok
    return settings


@pytest.fixture(scope="session")
def answerer(demo_settings: Settings, embedder: Embedder):
    """The default conversation (the trained reader) over the demo index."""
    from askfront.answer.registry import load_answerer

    return load_answerer(demo_settings, embedder)


@pytest.fixture(scope="session")
def rules(demo_settings: Settings, embedder: Embedder):
    """The same conversation with the rule answerer (kept for comparison)."""
    import dataclasses

    from askfront.answer.registry import load_answerer

    return load_answerer(dataclasses.replace(demo_settings, answerer="rules"), embedder)


DISAGREEING = {
    "manbij.txt": (
        "Coalition strikes near Manbij\n\nThe coalition has conducted 34 strikes near Manbij since Monday, the task "
        "force said on Thursday. Kurdish-led forces advanced on the city from the south.\n",
        "title: Strikes near Manbij\ndate: 2016-06-02\nsource: https://example.org/manbij\n",
    ),
    "pentagon.txt": (
        "Pentagon briefing on the air campaign\n\nCoalition aircraft have conducted almost 8,000 strikes against "
        "ISIL since August 2014, Pentagon spokesman Peter Cook said on May 10. He said ISIL had lost about 45 "
        "percent of its territory in Iraq.\n",
        "title: Pentagon briefing\ndate: 2016-05-10\nsource: https://example.org/pentagon\n",
    ),
    "mosul.md": (
        "# Mosul operations update\n\nThe coalition has conducted more than 300 strikes in the Mosul area since "
        "March, a coalition spokesman said. Iraqi forces retook the village of Kabrouk on April 26. ISIS "
        "fighters withdrew to the north.\n",
        "title: Mosul operations update\ndate: 2016-04-30\n",
    ),
    "aid.txt": (
        "Aid convoy reaches Fallujah\n\nA convoy of 20 trucks carrying food reached Fallujah on Sunday, the World "
        "Food Programme said. The UN said Da'esh still holds the north of the city.\n",
        "",
    ),
}


def write_disagreeing(corpus: Path) -> None:
    """Four reports written for the tests: three give different counts of coalition strikes (34, almost
    8,000, more than 300), one is about something else and undated; ISIL appears under three names."""
    corpus.mkdir(parents=True, exist_ok=True)
    for name, (text, meta) in DISAGREEING.items():
        (corpus / name).write_text(text, encoding="utf-8")
        if meta:
            (corpus / f"{name}.meta.yaml").write_text(meta, encoding="utf-8")
    (corpus / "aliases.yaml").write_text("- ISIL, ISIS, Da'esh, Islamic State\n", encoding="utf-8")


@pytest.fixture(scope="session")
def disagreeing(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The disagreeing reports, indexed once."""
    from askfront.index.build import build_index

    root = tmp_path_factory.mktemp("disagreeing")
    write_disagreeing(root / "corpus")
    settings = Settings(corpus=root / "corpus", index=root / "index")
    assert build_index(settings, embedder, progress=False).ok
    return settings


def write_manifest(version: Path, manifest: dict, sealed: bool = True) -> None:
    """Rewrite an index version's manifest as askfront would have written it: with its checksum beside it
    (``sealed``), or without one, as askfront did before the manifest had its own checksum."""
    import json

    from askfront.index.store import MANIFEST_SEAL, seal_of

    text = json.dumps(manifest)
    (version / "manifest.json").write_text(text)
    seal = version / MANIFEST_SEAL
    if sealed:
        seal.write_text(seal_of(text) + "\n")
    else:
        seal.unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def askfront(
    *args: str, cwd: Path, prefix: tuple[str, ...] = (), extra_env: dict[str, str] | None = None, **kw
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "askfront", *args], cwd=cwd, env=env, capture_output=True, text=True, **kw
    )


def bigger_corpus(corpus: Path, files: int) -> None:
    text = (corpus / "misrata-militia-gain-back-territory.txt").read_text()
    for n in range(files):
        paragraphs = [f"Dispatch {n}, part {i}: {p}" for i, p in enumerate(text.split("\n")) if p.strip()]
        (corpus / f"dispatch-{n:03d}.txt").write_text("\n\n".join(paragraphs))


def start_app(work: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    log = (work / f"app-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
        cwd=work, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, (work / f"app-{port}.log").read_text()[-2000:]
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return proc
        except OSError:
            assert time.monotonic() < deadline, "app did not start in 180 s"
            time.sleep(0.5)


SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Port of Misrata",
            "paragraphs": [
                {
                    "context": "The port of Misrata reopened on 3 June after repairs that took eleven weeks. "
                    "Harbour master Salem Ounis said 14 cargo ships were waiting offshore.",
                    "qas": [
                        {"id": "p1", "question": "How many cargo ships were waiting offshore?",
                         "answers": [{"text": "14", "answer_start": 0}], "is_impossible": False},
                        {"id": "p2", "question": "Who said that cargo ships were waiting offshore?",
                         "answers": [{"text": "Salem Ounis", "answer_start": 0},
                                     {"text": "Harbour master Salem Ounis", "answer_start": 0}],
                         "is_impossible": False},
                        {"id": "p3", "question": "How many tonnes of grain did the ships carry?",
                         "answers": [], "is_impossible": True},
                    ],
                },
                {
                    "context": "Flights between Tripoli and Tunis resumed on Monday, the airline said.",
                    "qas": [{"id": "p4", "question": "How many passengers were on the first flight?", "answers": [],
                             "is_impossible": True},
                            {"id": "bad", "answers": []}],
                },
            ],
        }
    ],
}  # fmt: skip
