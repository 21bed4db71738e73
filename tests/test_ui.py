"""The browser app for real: ``python app.py`` on a free loopback port, driven by headless Debian Chromium
through Playwright; and 8 concurrent API sessions over HTTP."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from askfront import evaluate
from askfront.config import Settings
from askfront.errors import ConfigError
from askfront.ui import launch_settings, safe_upload_name

from .conftest import DEMO, DEMO_META, ROOT
from .test_generate import _free_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
NEW_REPORT = """Ferry reaches Malta

A ferry from Benghazi reached Valletta on Tuesday carrying 212 passengers, the port authority said.
"""
XSS_REPORT = """Convoy report <script>window.__xss = 1</script>

The aid convoy reached Tobruk with 48 trucks <img src=x onerror="window.__xss = 2"> after a day on the road.
"""


def _start_app(work: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python app.py`` in a folder with only the demo corpus: it must build index/ itself, then serve."""
    work = tmp_path_factory.mktemp("app")
    (work / "corpus").mkdir()
    shutil.copy(DEMO, work / "corpus")
    shutil.copy(DEMO_META, work / "corpus")
    port = _free_port()
    proc = _start_app(work, port)
    log = (work / f"app-{port}.log").read_text()
    assert f"askfront: serving on http://127.0.0.1:{port}" in log and "building it from corpus" in log
    assert (work / "index" / "CURRENT").exists()
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed for the browser tests (see README: Test)"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app_url)
    page.dialogs = dialogs
    yield page
    page.close()


def _ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def _last_answer(page, contains: str):
    bot = page.locator("#chat .message.bot, #chat [data-testid='bot']").last
    # look inside the chat only: a bare "48" also matches the build time in the status line
    page.locator("#chat").get_by_text(contains).first.wait_for(timeout=60_000)
    return bot


@pytest.mark.browser
def test_answer_with_citation_and_highlighted_passage(page) -> None:
    assert "Index: 1 report, 10 passages" in page.locator("#index-status").inner_text()
    _ask(page, "How far is Abu Grain from Sirte?")
    bot = _last_answer(page, "140 kilometers (about 85 miles)")
    assert bot.locator("strong", has_text="140 kilometers (about 85 miles)").count() == 1  # bold short answer
    assert "[1]" in bot.inner_text() and "misrata-militia-gain-back-territory.txt" in bot.inner_text()

    page.locator("#citations label", has_text="[1] Misrata militia gain back territory").click()
    mark = page.locator("#passage mark.answer-span")
    mark.wait_for()
    assert mark.inner_text() == "140 kilometers or about 85 miles"
    passage = page.locator("#passage").inner_text()
    assert "characters 762-905" in passage and "Mohamed al-Gasri" in passage  # the surrounding text too

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-answer.png"))

    page.get_by_text("Export the latest answer as Markdown").click()
    exported = page.locator("#export textarea").input_value()
    assert exported.startswith("**Q:** How far is Abu Grain from Sirte?")
    assert "[1] Misrata militia gain back territory from the Islamic State (2016-05)" in exported

    _ask(page, "And how many people live there?")  # a follow-up the report does not answer
    page.get_by_text("The reports don't say.").first.wait_for(timeout=60_000)
    assert "Closest passage" in page.locator("#passage").inner_text()


@pytest.mark.browser
def test_upload_rebuild_answer_and_report_text_stays_inert(page, tmp_path: Path) -> None:
    (tmp_path / "ferry.txt").write_text(NEW_REPORT)
    (tmp_path / "convoy.txt").write_text(XSS_REPORT)
    page.get_by_text("Reports and index").click()
    page.locator("#upload input[type=file]").set_input_files(
        [str(tmp_path / "ferry.txt"), str(tmp_path / "convoy.txt")]
    )
    added_box = "document.querySelector('#added textarea')"
    page.wait_for_function(f"{added_box} && {added_box}.value.includes('convoy')", timeout=60_000)
    added = page.locator("#added textarea").input_value()
    assert "Added ferry.txt" in added and "Added convoy.txt" in added

    page.locator("#rebuild").click()
    page.wait_for_function("document.querySelector('#rebuilt textarea').value.startsWith('Rebuilt:')", timeout=180_000)
    assert "2 added" in page.locator("#rebuilt textarea").input_value()
    assert "Index: 3 reports" in page.locator("#index-status").inner_text()

    _ask(page, "How many passengers did the ferry from Benghazi carry?")
    _last_answer(page, "212")
    _ask(page, "How many trucks did the aid convoy have when it reached Tobruk?")
    _last_answer(page, "48")
    page.locator("#passage mark.answer-span").wait_for()
    passage = page.locator("#passage").inner_text()
    assert 'onerror="window.__xss = 2"' in passage  # shown as text ...
    assert page.evaluate("window.__xss") is None  # ... never run
    assert page.locator("#passage img, #chat img[src='x'], #passage script").count() == 0
    assert page.dialogs == []


def _post_login(port: int, user: str, password: str) -> int:
    data = urllib.parse.urlencode({"username": user, "password": password}).encode()
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/login", data=data, timeout=10).status
    except urllib.error.HTTPError as err:
        return err.code


def _get(url: str, host: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.browser
def test_requests_for_another_host_are_refused(app_url: str) -> None:
    port = app_url.rstrip("/").rsplit(":", 1)[1]
    status, body = _get(app_url, "attacker.example")  # what a DNS-rebinding page sends
    assert status == 421 and body.startswith("askfront: error: refused a request for host 'attacker.example'")
    status, body = _get(app_url + "gradio_api/info", f"attacker.example:{port}")
    assert status == 421 and body.startswith("askfront: error: refused") and "named_endpoints" not in body
    assert _get(app_url, f"localhost:{port}")[0] == 200
    assert _get(app_url, f"127.0.0.1:{port}")[0] == 200


@pytest.mark.browser
def test_eight_concurrent_sessions_get_correct_answers(app_url: str) -> None:
    from gradio_client import Client

    questions = [q for q in evaluate.read_questions(ROOT / "eval" / "demo.jsonl") if q.answers][:8]
    results: dict[str, tuple[dict, float]] = {}

    def session(question: evaluate.Question) -> None:
        client = Client(app_url, verbose=False)
        started = time.perf_counter()
        answer = client.predict(question.question, api_name="/ask")
        results[question.question] = (answer, (time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=session, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert len(results) == 8
    right = [q for q in questions if evaluate.exact_match(results[q.question][0]["short_answer"], q.answers)]
    assert len(right) >= 7, {q.question: results[q.question][0]["short_answer"] for q in questions}
    latencies = sorted(ms for _, ms in results.values())
    print(f"\n8 concurrent sessions: p50 {statistics.median(latencies):.0f} ms, max {latencies[-1]:.0f} ms")


def test_upload_names_and_launch_settings() -> None:
    assert safe_upload_name("../../etc/cron.d/report.txt") == "report.txt"
    assert safe_upload_name("..\\..\\evil.md") == "evil.md"
    assert safe_upload_name(".hidden report.PDF") == "hidden report.PDF"
    assert safe_upload_name("a<b>|c.html") == "a_b_c.html"
    for bad in ("payload.exe", "notes", "../", "x.html.sh"):
        with pytest.raises(ConfigError):
            safe_upload_name(bad)

    assert launch_settings(Settings(), {}) == ("127.0.0.1", 7860, None)
    assert launch_settings(Settings(), {"GRADIO_SERVER_PORT": "9001"})[1] == 9001
    assert launch_settings(Settings(port=9002), {"GRADIO_SERVER_PORT": "9001"})[1] == 9002
    env_settings = Settings.from_env(
        {"ASKFRONT_HOST": "0.0.0.0", "ASKFRONT_PORT": "9003", "ASKFRONT_AUTH": "ed:s3cret"}
    )
    assert launch_settings(env_settings, {}) == ("0.0.0.0", 9003, ("ed", "s3cret"))
    with pytest.raises(ConfigError):
        launch_settings(Settings(auth="nopassword"), {})


@pytest.mark.browser
def test_login_required_when_askfront_auth_is_set(browser, demo_settings: Settings) -> None:
    work = demo_settings.index.parent
    port = _free_port()
    proc = _start_app(work, port, {"ASKFRONT_AUTH": "editor:front-line-7"})
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_text("Login").first.wait_for(timeout=30_000)
        assert page.locator("#question textarea").count() == 0
        page.locator("input[type=text], input[name=username]").first.fill("editor")
        page.locator("input[type=password]").first.fill("front-line-7")
        page.get_by_role("button", name="Login").click()
        page.locator("#question textarea").wait_for(timeout=30_000)
        page.close()
        # wrong passwords are throttled: after 5, the next attempt must wait (HTTP 429 with Retry-After)
        codes = [_post_login(port, "editor", f"guess-{n}") for n in range(7)]
        assert codes[:5] == [400] * 5 and codes[5:] == [429, 429], codes
    finally:
        proc.terminate()
        proc.wait(timeout=30)
