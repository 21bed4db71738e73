"""A flood of bad requests: stalled uploads are dropped and never take every file descriptor, and the
framework's error lines come once per kind per minute."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from askfront.app.floods import OncePerKind
from tests.conftest import DEMO, free_port, start_app


def test_one_line_per_kind_per_minute_and_a_count_of_the_rest() -> None:
    now = [0.0]
    once = OncePerKind(every_s=60, clock=lambda: now[0])
    logger = logging.getLogger("askfront-test-flood")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger.addHandler(Keep())
    logger.addFilter(once)
    logger.propagate = False
    try:
        for _ in range(500):
            logger.error("socket.accept() out of system resource")
            logger.error("Exception in ASGI application")
            now[0] += 0.1  # 50 s
        now[0] += 11
        logger.error("Exception in ASGI application")
    finally:
        logger.removeFilter(once)
    assert seen == [
        "socket.accept() out of system resource",
        "Exception in ASGI application",
        "Exception in ASGI application [499 more like this in the last 60 s not shown]",
    ]


def _stalled_upload(port: int) -> socket.socket:
    """A real upload that sends its headers and a few bytes of a 10 MB body, then nothing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(
        b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 10000000\r\n\r\n--xyz\r\n"
    )
    return s


@pytest.mark.slow
def test_stalled_uploads_are_dropped_and_the_app_keeps_answering(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    shutil.copy(DEMO, tmp_path / "corpus")
    port = free_port()
    proc = start_app(tmp_path, port, env={"ASKFRONT_BODY_TIMEOUT_S": "2"})
    log = tmp_path / f"app-{port}.log"
    try:
        fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        lines = len(log.read_text().splitlines())
        stalled = [_stalled_upload(port) for _ in range(100)]
        time.sleep(1)
        assert len(os.listdir(f"/proc/{proc.pid}/fd")) > fds + 50  # they are open now
        answers = []
        for s in stalled:  # every one is answered (408 after 2 s, or 503 beyond the 64 at once) and closed
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            answers.append(answer.split(b"\r\n", 1)[0])
            s.close()
        assert set(answers) <= {b"HTTP/1.1 408 Request Timeout", b"HTTP/1.1 503 Service Unavailable"}, set(answers)
        assert answers.count(b"HTTP/1.1 408 Request Timeout") >= 64
        time.sleep(1)
        assert len(os.listdir(f"/proc/{proc.pid}/fd")) <= fds + 5  # given back
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
        assert page.status == 200  # still serving
        assert len(log.read_text().splitlines()) - lines < 10, log.read_text()[-3000:]  # no flood of lines
    finally:
        proc.terminate()
        proc.wait(timeout=30)
