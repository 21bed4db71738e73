"""``askfront ask`` through a running app: when an app answers from the same corpus, index and answer
settings on this machine (app.presence), the question goes to its /ask API over loopback and the answer
comes back in about the time it takes to answer, with no models to load (~10 s on 2 cores)."""

from __future__ import annotations

import json
import urllib.request

from askfront.answer.conversation import Answer
from askfront.app.presence import running_apps
from askfront.core.config import Settings

CONNECT_S = 2.0  # an app that does not take the question within this is passed over


def ask_running_app(settings: Settings, question: str) -> tuple[Answer, str] | None:
    """The answer of the first running app that gives one, and its address; None when none does."""
    for url in running_apps(settings):
        try:
            return _ask(url, question, settings.ask_wait_s + 30), url
        except (OSError, ValueError, KeyError, TypeError):
            continue  # stopped, busy or not an askfront app: the next, or answered here
    return None


def _ask(url: str, question: str, wait_s: float) -> Answer:
    call = url.rstrip("/") + "/gradio_api/call/ask"
    body = json.dumps({"data": [question]}).encode()
    request = urllib.request.Request(call, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=CONNECT_S) as reply:
        event = json.loads(reply.read())["event_id"]
    with urllib.request.urlopen(f"{call}/{event}", timeout=wait_s) as stream:
        kind = ""
        for raw in stream:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                data = json.loads(line.partition(":")[2])
                if kind == "error":
                    raise ValueError(f"the app could not answer: {data}")
                return Answer.from_dict(data[0])
    raise ValueError("the app closed the answer stream without an answer")
