"""The browser app for real: ``python app.py`` on a free loopback port over a small newsroom corpus (the demo
report, a dated press note with a source URL, a two-page PDF, undated field notes, example questions),
driven by headless Debian Chromium through Playwright; and 8 concurrent API sessions over HTTP."""

from __future__ import annotations

import csv
import io
import re
import shutil
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from askfront.app.corpus_edits import safe_upload_name
from askfront.app.launch import launch_settings
from askfront.core.config import Settings
from askfront.core.errors import ConfigError
from askfront.evaluate import question_files, scoring
from askfront.ingest.reports import scan_corpus
from tests.conftest import DEMO, DEMO_META, ROOT, free_port, make_pdf, start_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
FERRY = "Ferry reaches Malta\n\nA ferry from Benghazi reached Valletta on Tuesday carrying 212 passengers, the port authority said.\n"  # noqa: E501
FERRY_META = "title: Ferry from Benghazi reaches Valletta\ndate: 2016-06-14\nsource: https://example.org/ferry\n"
NOTES = "# Field notes\n\nThe road from Ajdabiya to Brega was reopened on Monday, a driver said.\n"
LONG_ADDRESS = (
    "https://example.org/reports/libya/field-notes-from-the-coast-road-between-ajdabiya-and-brega-by-the-desk"
    "-team-update-three-with-the-drivers-accounts"
)
EXAMPLES = "# questions for the desk\nHow many passengers did the ferry carry?\nHow far is Abu Grain from Sirte?\n"
XSS_REPORT = """Convoy report <script>window.__xss = 1</script>

The aid convoy reached Tobruk with 48 trucks <img src=x onerror="window.__xss = 2"> after a day on the road.
"""


def desk_corpus(corpus: Path) -> None:
    """Four reports with and without metadata, and the desk's example questions."""
    corpus.mkdir()
    shutil.copy(DEMO, corpus)
    shutil.copy(DEMO_META, corpus)
    (corpus / "ferry.txt").write_text(FERRY)
    (corpus / "ferry.txt.meta.yaml").write_text(FERRY_META)
    (corpus / "notes.md").write_text(NOTES)
    (corpus / "notes.md.meta.yaml").write_text(f"source: {LONG_ADDRESS}\n")  # no title, no date: still undated
    pdf = make_pdf([["Briefing on Derna"], ["The Derna council said 35 families returned to the old city on Sunday."]])
    (corpus / "briefing.pdf").write_bytes(pdf)
    (corpus / "briefing.pdf.meta.yaml").write_text(
        "title: Derna council briefing\ndate: 2016-07\nsource: Derna council press office\n"
    )
    (corpus / "examples.txt").write_text(EXAMPLES)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``python app.py`` in a folder with only corpus/: it must build index/ itself, then serve."""
    work = tmp_path_factory.mktemp("app")
    desk_corpus(work / "corpus")
    port = free_port()
    proc = start_app(work, port)
    log = (work / f"app-{port}.log").read_text()
    assert f"askfront: serving on http://127.0.0.1:{port}" in log and "building it from corpus" in log
    assert (work / "index" / "CURRENT").exists()
    yield f"http://127.0.0.1:{port}/", work / f"app-{port}.log"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def app_url(desk: tuple[str, Path]) -> str:
    return desk[0]


@pytest.fixture(scope="module")
def corpus(desk: tuple[str, Path]) -> Path:
    """The corpus folder of the app under test."""
    return desk[1].parent / "corpus"


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


def _open(browser, url: str, width: int = 1280, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.dialogs = dialogs
    page.locator("#index-status").get_by_text("Index:").wait_for(timeout=30_000)
    return page


@pytest.fixture
def page(browser, app_url: str):
    page = _open(browser, app_url)
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


def _reports_panel(page) -> None:
    if not page.locator("#reports-table").is_visible():
        page.get_by_text("Reports", exact=True).click()
    page.locator("#reports-table").wait_for()


def _upload(page, *paths: Path) -> str:
    _reports_panel(page)
    page.locator("#added textarea").evaluate("e => { e.value = '' }")
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])
    last = paths[-1].name
    page.wait_for_function(
        f"document.querySelector('#added textarea').value.includes({last!r})", timeout=60_000
    )  # fmt: skip
    return page.locator("#added textarea").input_value()


def _choose(page, dropdown: str, text: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.locator("[role=option]", has_text=text).first.click()


def _no_word_split(page, selector: str) -> list[str]:
    """Words in the cells of the table at ``selector`` that are wider than their cell (split over lines)."""
    return page.locator(selector).last.evaluate(
        """t => {
          const c = document.createElement("canvas").getContext("2d");
          const out = [];
          for (const cell of t.querySelectorAll("th, td")) {
            c.font = getComputedStyle(cell).font;
            const inner = cell.clientWidth - parseFloat(getComputedStyle(cell).paddingLeft)
              - parseFloat(getComputedStyle(cell).paddingRight);
            for (const word of cell.innerText.split(/\\s+/)) {
              if (word && c.measureText(word).width > inner + 1) out.push(word);
            }
          }
          return out;
        }"""
    )


def _wait_index_message(page, starts: str, timeout: int = 180_000) -> str:
    page.wait_for_function(
        f"document.querySelector('#rebuilt textarea').value.includes({starts!r})", timeout=timeout
    )  # fmt: skip
    return page.locator("#rebuilt textarea").input_value()


@pytest.mark.browser
def test_answer_with_citation_and_highlighted_passage(page) -> None:
    assert "Index: 4 reports, 13 passages" in page.locator("#index-status").inner_text()
    _ask(page, "How far is Abu Grain from Sirte?")
    bot = _last_answer(page, "140 kilometers (about 85 miles)")
    assert bot.locator("strong", has_text="140 kilometers (about 85 miles)").count() == 1  # bold short answer
    text = bot.inner_text()
    assert "[1]" in text and "misrata-militia-gain-back-territory.txt, paragraph 3, characters 762-905" in text

    page.locator("#citations label", has_text="[1] Misrata militia gain back territory").click()
    mark = page.locator("#passage mark.answer-span")
    mark.wait_for()
    assert mark.inner_text() == "140 kilometers or about 85 miles"
    passage = page.locator("#passage .passage").inner_text()
    assert "Mohamed al-Gasri" in passage  # the surrounding text too, cut where sentences end:
    assert re.match(r"… [A-Z]", passage) and re.search(r"[.!?\"”] …$", passage.strip()), passage
    # the highlighted span is scrolled into view inside the passage box
    assert page.locator("#passage mark.answer-span").evaluate(
        "m => { const b = m.closest('.passage').getBoundingClientRect(), r = m.getBoundingClientRect();"
        " return r.top >= b.top && r.bottom <= b.bottom; }"
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-answer.png"))

    _ask(page, "And how many people live there?")  # a follow-up the reports do not answer
    page.get_by_text("The reports don't say.").first.wait_for(timeout=60_000)
    page.locator("#passage .closest-source").wait_for()
    assert "Closest passage" in page.locator("#passage").inner_text()
    assert page.locator("#passage mark.answer-span, #passage .quote").count() == 0  # not made to look like one


@pytest.mark.browser
def test_citations_carry_page_source_and_open_the_report(page) -> None:
    _ask(page, "How many passengers did the ferry from Benghazi carry?")
    _last_answer(page, "212")
    first = page.locator("#chat .message.bot, #chat [data-testid='bot']").nth(0)  # stays the first answer
    assert first.locator("a[href='https://example.org/ferry']").count() == 1  # the source URL is a link
    assert "Ferry from Benghazi reaches Valletta (2016-06-14)" in first.inner_text()
    _ask(page, "How many families returned to the old city of Derna?")
    second = _last_answer(page, "35")
    assert "Derna council press office" in second.inner_text() and "briefing.pdf, page 2" in second.inner_text()
    assert "page 2" in page.locator("#passage").inner_text()
    page.locator("#show-page").click()  # the cited page itself, rendered, the passage marked
    page.locator("#page-image img").wait_for(timeout=30_000)
    assert "briefing.pdf, page 2: the page, the passage marked" in page.locator("#page-image").inner_text()

    first.locator("a.cite").first.click()  # [1] of the earlier answer shows its citation again
    page.locator("#passage").get_by_text("Ferry from Benghazi reaches Valletta").wait_for(timeout=30_000)
    assert page.locator("#citations input:checked").evaluate("e => e.value").startswith("[1] Ferry")

    page.locator("#open-report").click()
    whole = page.locator("#report-view .report-text")
    whole.locator("mark.answer-span").wait_for(timeout=30_000)
    assert whole.inner_text().startswith("Ferry reaches Malta")  # the whole report, from its first line
    assert whole.locator("mark.answer-span").inner_text() == "212"

    page.get_by_text("Export the conversation").click()
    exported = page.locator("#export textarea").input_value()
    assert exported.startswith("# askfront conversation\n\n## 1. How many passengers did the ferry from Benghazi")
    assert "## 2. How many families returned to the old city of Derna?" in exported
    assert "page 2" in exported and "source: https://example.org/ferry" in exported
    with page.expect_download() as download:
        page.locator("#download-csv").click()
    assert re.fullmatch(r"askfront-conversation-\d{4}-\d\d-\d\d-\d{6}\.csv", download.value.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["short_answer"], r["report_title"], r["page"]) for r in rows] == [
        ("212", "Ferry from Benghazi reaches Valletta", ""),
        ("35", "Derna council briefing", "2"),
    ]
    assert rows[0]["source"] == "https://example.org/ferry" and rows[1]["date"] == "2016-07"
    with page.expect_download() as download:
        page.locator("#download-md").click()
    assert download.value.suggested_filename.endswith(".md")
    assert Path(download.value.path()).read_text(encoding="utf-8") == exported


@pytest.mark.browser
def test_filters_by_title_and_clear_date_messages(page) -> None:
    page.get_by_text("Filters").click()
    page.locator("#filter-files input").click()
    options = [o.inner_text() for o in page.locator("[role=option]").all()]
    assert "Ferry from Benghazi reaches Valletta (ferry.txt)" in options and "Field notes (notes.md)" in options
    page.keyboard.press("Escape")
    page.locator("#filter-since textarea, #filter-since input").first.fill("2016-06")
    page.locator("#filter-until textarea, #filter-until input").first.fill("2016-01")
    _ask(page, "How many passengers did the ferry carry?")
    _last_answer(page, "the date range is reversed: from 2016-06 is after until 2016-01")
    page.locator("#filter-until textarea, #filter-until input").first.fill("2016-12")
    _ask(page, "How many passengers did the ferry carry?")
    answer = _last_answer(page, "212").inner_text()
    assert re.search(r"\d+ undated reports? (was|were) left out by the date filter", answer), answer
    assert "Filters: dated 2016-06 to 2016-12" in answer
    _choose(page, "#filter-files", "Derna council briefing")
    _ask(page, "How many passengers did the ferry carry?")
    page.locator("#chat").get_by_text("reports: briefing.pdf").first.wait_for(timeout=60_000)


@pytest.mark.browser
def test_uploads_are_checked_at_once_and_never_re_added(page, corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "convoy.txt").write_text(XSS_REPORT)
    (tmp_path / "convoy-copy.txt").write_text(XSS_REPORT)
    (tmp_path / "tool.pdf").write_bytes(b"MZ\x90\x00\x03" + bytes(500))  # a program renamed .pdf
    (tmp_path / "blank.md").write_text("   \n\n  \n")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage")
    (tmp_path / "huge.txt").write_bytes(b"Report\n\n" + b"word " * 10_000_000)  # 50 MB, over the 20 MB limit
    before = sorted(p.name for p in corpus.iterdir())

    added = _upload(page, tmp_path / "convoy.txt").splitlines()  # indexed at once: no second click
    assert added[0] == "Added convoy.txt." and added[1].startswith("Rebuilt: files: 1 added"), added
    refused = _upload(page, tmp_path / "convoy-copy.txt", tmp_path / "tool.pdf", tmp_path / "blank.md",
                      tmp_path / "broken.pdf", tmp_path / "huge.txt", tmp_path / "empty.txt").splitlines()  # fmt: skip
    assert refused == [  # the box was emptied: convoy.txt is not added a second time
        "Not added: convoy-copy.txt: the same content is already in the corpus as convoy.txt",
        "Not added: tool.pdf: the content is a Windows program, not a .pdf report",
        "Not added: blank.md: no text found in the file",
        "Not added: broken.pdf: corrupt or unreadable PDF (PdfStreamError: Stream has ended unexpectedly)",
        "Not added: huge.txt: too large (50.0 MB > 20 MB limit)",  # askfront's line, not Gradio's toast
        "Not added: empty.txt: empty file",
    ]
    assert sorted(p.name for p in corpus.iterdir()) == sorted([*before, "convoy.txt"])  # refused: nothing written

    page.locator("#index-status").get_by_text("Index: 5 reports").wait_for(timeout=30_000)
    _ask(page, "How many trucks did the aid convoy have when it reached Tobruk?")
    _last_answer(page, "48")
    page.locator("#passage mark.answer-span").wait_for()
    assert 'onerror="window.__xss = 2"' in page.locator("#passage").inner_text()  # shown as text ...
    assert page.evaluate("window.__xss") is None  # ... never run
    assert page.locator("#passage img, #chat img[src='x'], #passage script").count() == 0
    assert page.dialogs == []


@pytest.mark.browser
def test_metadata_edit_and_delete_reach_every_tab(browser, app_url: str, corpus: Path, tmp_path: Path) -> None:
    editor, other = _open(browser, app_url), _open(browser, app_url)
    reports_before = len(scan_corpus(corpus).files)  # what earlier tests left in the corpus, all indexed
    (tmp_path / "brega.txt").write_text("Brega port\n\nThe port of Brega shipped 300,000 barrels on Friday.\n")
    assert _upload(editor, tmp_path / "brega.txt").startswith("Added brega.txt.\nRebuilt: files: 1 added")
    # the other tab learns of the rebuild by itself (status, reports table, filters)
    other.locator("#index-status").get_by_text(f"Index: {reports_before + 1} reports").wait_for(timeout=15_000)

    _choose(editor, "#report-pick", "brega.txt")
    title = editor.locator("#meta-title textarea, #meta-title input").first
    editor.wait_for_function(  # the fields show the report's current metadata before they are edited
        "document.querySelector('#meta-title textarea, #meta-title input').value === 'Brega port'", timeout=30_000
    )
    title.fill("Brega oil port reopens")
    editor.locator("#meta-date textarea, #meta-date input").first.fill("2016-09-02")
    editor.locator("#meta-source textarea, #meta-source input").first.fill("https://example.org/brega")
    editor.locator("#save-meta").click()
    message = _wait_index_message(editor, "Saved the title, date and source of brega.txt")
    assert "1 changed" in message
    sidecar = corpus / "brega.txt.meta.yaml"
    assert (
        sidecar.read_text() == "title: Brega oil port reopens\ndate: '2016-09-02'\nsource: https://example.org/brega\n"
    )
    _reports_panel(other)
    other.locator("#reports-table").get_by_text("Brega oil port reopens").wait_for(timeout=15_000)
    _ask(other, "How many barrels did Brega ship?")
    answer = _last_answer(other, "300,000")
    assert answer.locator("a[href='https://example.org/brega']").count() == 1
    assert "Brega oil port reopens (2016-09-02)" in answer.inner_text()

    editor.locator("#meta-date textarea, #meta-date input").first.fill("2016-13")
    editor.locator("#save-meta").click()
    editor.get_by_text("askfront: error: not an ISO date").first.wait_for(timeout=30_000)  # one line, no change

    editor.locator("#delete-report").click()  # asks first: nothing is deleted yet
    editor.locator("#confirm-delete-text").get_by_text("Delete brega.txt?").wait_for(timeout=30_000)
    assert (corpus / "brega.txt").exists()
    editor.locator("#confirm-delete").click()
    assert "1 removed" in _wait_index_message(editor, "Deleted brega.txt")
    assert not (corpus / "brega.txt").exists() and not sidecar.exists()
    other.locator("#index-status").get_by_text(f"Index: {reports_before} reports").wait_for(timeout=15_000)
    editor.locator("#undo-delete").click()  # and back, with its metadata
    assert "1 added" in _wait_index_message(editor, "Restored brega.txt.")
    assert sidecar.read_text().startswith("title: Brega oil port reopens")
    other.locator("#index-status").get_by_text(f"Index: {reports_before + 1} reports").wait_for(timeout=15_000)
    editor.locator("#confirm-delete").wait_for(state="hidden")
    editor.locator("#delete-report").click()
    editor.locator("#confirm-delete").click()
    _wait_index_message(editor, "Deleted brega.txt")
    editor.close()
    other.close()


@pytest.mark.browser
def test_reports_copied_into_the_corpus_while_it_runs_are_indexed(page, corpus: Path) -> None:
    before = len(scan_corpus(corpus).files)  # all indexed by now
    (corpus / "tobruk.txt").write_text("Tobruk port\n\nThe port of Tobruk received 14 tankers in August.\n")
    page.locator("#index-status").get_by_text(f"Index: {before + 1} reports").wait_for(timeout=120_000)
    assert "in step with the corpus folder" in page.locator("#index-status").inner_text()  # no click needed
    _ask(page, "How many tankers did Tobruk receive?")
    _last_answer(page, "14")
    (corpus / "tobruk.txt").unlink()  # removed by another program: gone from the index, never cited
    page.locator("#index-status").get_by_text(f"Index: {before} reports").wait_for(timeout=120_000)
    _ask(page, "How many tankers did Tobruk receive?")
    _last_answer(page, "don't say")


_LAYOUT = """() => {
  const box = s => {
    const e = document.querySelector(s); if (!e) return null;
    const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  };
  const bots = document.querySelectorAll("#chat .message.bot, #chat [data-testid='bot']");
  const bold = bots[bots.length - 1].querySelector("strong").getBoundingClientRect();
  const chatBox = box("#chat");
  let header = chatBox.top;
  for (const h of document.querySelectorAll("#chat [data-testid='block-label'], #chat label")) {
    const r = h.getBoundingClientRect(); if (r.height) header = Math.max(header, r.bottom);
  }
  const passage = document.querySelector("#passage .passage");
  const answer = {top: bold.top, bottom: bold.bottom};
  passage.scrollIntoView({block: "center"});  // measured where it shows (elementFromPoint sees the screen only)
  const first = passage.getBoundingClientRect();
  const hit = document.elementFromPoint(first.left + 4, first.top + 4);
  const sources = document.querySelector("#sources");
  return {bold: answer, header, chat: chatBox, viewport: innerHeight,
          heading: box("#sources h3"), citations: box("#citations"), passageBox: box("#passage .passage"),
          meta: box("#passage .where"), firstLineOwn: passage.contains(hit),
          innerCut: passage.scrollHeight > passage.clientHeight + 1,
          wide: sources.scrollWidth - sources.clientWidth, pageWide: document.documentElement.scrollWidth - innerWidth};
}"""


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)])
def test_the_answer_and_its_sources_read_in_order_on_phone_and_desktop(browser, app_url: str, width, height) -> None:
    page = _open(browser, app_url, width=width, height=height)
    try:
        for question, short in (
            ("How far is Abu Grain from Sirte?", "140 kilometers (about 85 miles)"),
            ("When was the road from Ajdabiya to Brega reopened?", "Monday"),  # its source: a long address
        ):
            _ask(page, question)
            _last_answer(page, short)
            page.locator("#passage mark.answer-span").wait_for(timeout=30_000)
            page.wait_for_timeout(900)  # the answer is scrolled into view 150 and 600 ms after it arrives
            m = page.evaluate(_LAYOUT)
            # the answer's first line shows whole, under the chat's header, inside the chat and the screen
            assert m["header"] <= m["bold"]["top"] and m["bold"]["bottom"] <= m["chat"]["bottom"], m
            assert m["bold"]["top"] >= 0 and m["bold"]["bottom"] <= m["viewport"], m
            # Sources reads heading, citations, passage; nothing lies over the passage's text or cuts it
            order = (m["heading"]["bottom"], m["citations"]["top"], m["citations"]["bottom"], m["passageBox"]["top"])
            assert order == tuple(sorted(order)), m
            assert m["meta"]["bottom"] <= m["passageBox"]["top"] and m["firstLineOwn"] and not m["innerCut"], m
            assert m["wide"] <= 1 and m["pageWide"] <= 1, m  # a long source address wraps: nothing runs off
        assert LONG_ADDRESS in page.locator("#passage").inner_text().replace("\n", "")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"ui-{width}.png"))
        _reports_panel(page)  # tables keep words whole; one wider than the screen says it scrolls
        page.get_by_text("People, organisations, places").click()
        page.locator("#names-table").get_by_text("Sirte").first.wait_for(timeout=30_000)
        page.get_by_text("Timeline", exact=True).click()
        page.locator("#timeline-count").get_by_text("dated sentence").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # the page checks every 0.7 s which tables run past their place
        for table in ("#reports-table", "#names-table", "#timeline-table"):
            assert _no_word_split(page, f"{table} table") == [], table
            wider = page.locator(table).evaluate(
                "t => [...t.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1 "
                "&& /(auto|scroll)/.test(getComputedStyle(e).overflowX))"
            )
            assert page.locator(f"{table} ~ .scroll-hint").first.is_visible() == wider, table
            assert wider or width > 700, table  # on a phone every one of them is wider than the screen
    finally:
        page.close()


@pytest.mark.browser
def test_examples_come_from_the_corpus(page) -> None:
    page.get_by_text("How many passengers did the ferry carry?").first.wait_for()
    assert page.get_by_text("Who commands the Libyan National Army?").count() == 0  # the demo's own list


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

    questions = [q for q in question_files.read_questions(ROOT / "eval" / "demo.jsonl") if q.answers][:8]
    results: dict[str, tuple[dict, float]] = {}

    def session(question: question_files.Question) -> None:
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
    right = [q for q in questions if scoring.exact_match(results[q.question][0]["short_answer"], q.answers)]
    assert len(right) >= 7, {q.question: results[q.question][0]["short_answer"] for q in questions}
    latencies = sorted(ms for _, ms in results.values())
    print(f"\n8 concurrent sessions: p50 {statistics.median(latencies):.0f} ms, max {latencies[-1]:.0f} ms")


@pytest.mark.browser
def test_terminal_says_what_the_app_does_without_report_text(desk: tuple[str, Path]) -> None:
    log = desk[1].read_text()
    for line in (
        "askfront: loading the embedding model sentence-transformers/all-MiniLM-L6-v2",
        "askfront: index index: 4 reports, 13 passages",
        "askfront: loading the reader answerer",
        "askfront: serving on http://127.0.0.1:",
        "askfront: upload: Added convoy.txt.",
        "askfront: upload: Not added: tool.pdf: the content is a Windows program, not a .pdf report",
        "askfront: rebuild: files: 1 added",
        "askfront: deleted brega.txt",
    ):
        assert line in log, line
    assert "Valletta" not in log and "barrels" not in log  # no report text in the terminal


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
    port = free_port()
    proc = start_app(work, port, {"ASKFRONT_AUTH": "editor:front-line-7"})
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_text("Login").first.wait_for(timeout=30_000)
        assert "askfront — ask the reports" in page.content()  # the login page names the product
        assert page.locator("#question textarea").count() == 0
        page.locator("input[type=text], input[name=username]").first.fill("editor")
        page.locator("input[type=password]").first.fill("front-line-7")
        page.get_by_role("button", name="Login").click()
        page.locator("#question textarea").wait_for(timeout=30_000)
        page.locator("#logout").click()  # and a way out
        page.get_by_role("button", name="Login").wait_for(timeout=30_000)
        assert page.locator("#question textarea").count() == 0
        page.close()
        # wrong passwords are throttled: after 5, the next attempt must wait (HTTP 429 with Retry-After)
        codes = [_post_login(port, "editor", f"guess-{n}") for n in range(7)]
        assert codes[:5] == [400] * 5 and codes[5:] == [429, 429], codes
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def disagreeing_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over reports written to disagree (tests/conftest.py: DISAGREEING)."""
    from tests.conftest import write_disagreeing

    work = tmp_path_factory.mktemp("disagreeing-app")
    write_disagreeing(work / "corpus")
    port = free_port()
    proc = start_app(work, port)
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.browser
def test_every_report_names_and_timeline_in_the_browser(browser, disagreeing_app: str) -> None:
    page = _open(browser, disagreeing_app, height=1000)
    page.locator("#question textarea").fill("How many strikes has the coalition conducted?")
    page.locator("#every-report").click()
    answer = _last_answer(page, "their figures cover different periods")
    rows = answer.locator("table tbody tr")
    assert [rows.nth(i).inner_text().split("\t")[1:5] for i in range(rows.count())] == [
        ["2016-04-30", "Mosul operations update", "more than 300", "other period: since March"],
        ["2016-05-10", "Pentagon briefing", "almost 8,000", "other period: since August 2014"],
        ["2016-06-02", "Strikes near Manbij", "34", "other period: since Monday"],
    ]  # one row per report, by report date; three spans of time, so no conflict
    assert answer.locator("table strong", has_text="conflicts").count() == 0
    assert _no_word_split(page, "#chat table") == []  # "report date" never wraps letter by letter
    rows.nth(1).locator("a.cite").click()  # [2] shows that report's sentence
    page.locator("#passage").get_by_text("Pentagon briefing (2016-05-10)").wait_for(timeout=30_000)
    assert page.locator("#passage mark.answer-span").inner_text() == "almost 8,000"
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the table scrolls sideways, words stay whole
    assert _no_word_split(page, "#chat table") == []
    page.set_viewport_size({"width": 1280, "height": 1000})

    page.get_by_text("Export the conversation").click()
    exported = page.locator("#export textarea").input_value()
    assert "| [3] | 2016-06-02 | Strikes near Manbij | 34 | other period: since Monday |" in exported

    page.get_by_text("Search the reports (exact words)").click()  # every report, by text
    page.locator("#grep-query textarea, #grep-query input").first.fill("da\u2019esh")  # curly, lower case
    page.locator("#grep-go").click()
    page.locator("#grep-results").get_by_text("1 report, 1 hit for da\u2019esh").wait_for(timeout=30_000)
    page.locator("#grep-query textarea, #grep-query input").first.fill('"coalition has conducted"')
    page.locator("#grep-go").click()
    page.locator("#grep-results").get_by_text("2 reports, 2 hits").wait_for(timeout=30_000)
    assert page.locator("#grep-results h4").all_inner_texts() == [
        "Strikes near Manbij (2016-06-02) · 1 hit",
        "Mosul operations update (2016-04-30) · 1 hit",
    ]  # newest first
    page.locator("#grep-results a.hit").nth(1).click()  # opens the whole report at that hit
    page.locator("#grep-results-report mark.answer-span").wait_for(timeout=30_000)
    assert page.locator("#grep-results-report mark.answer-span").inner_text() == "coalition has conducted"
    assert page.locator("#grep-results-report h4").inner_text() == "Mosul operations update (2016-04-30)"

    page.get_by_text("People, organisations, places").click()
    page.locator("#names-table").get_by_text("Peter Cook").wait_for(timeout=30_000)
    _choose(page, "#name-pick", "ISIL (organisation)")  # ISIL, ISIS and Da'esh: merged by corpus/aliases.yaml
    page.locator("#mentions h4").first.wait_for(timeout=30_000)
    assert page.locator("#mentions h4").all_inner_texts() == [
        "Pentagon briefing (2016-05-10) · 2 hits",
        "Mosul operations update (2016-04-30) · 1 hit",
        "Aid convoy reaches Fallujah (undated) · 1 hit",
    ]  # found by text, every spelling
    page.locator("#restrict").click()
    page.locator("#restricted").get_by_text("the 3 reports that mention it").wait_for(timeout=30_000)
    page.locator("#active-filter").get_by_text(
        "Questions go only to reports: “Aid convoy reaches Fallujah” (aid.txt), “Mosul operations update” "
        "(mosul.md), “Pentagon briefing” (pentagon.txt)"
    ).wait_for(timeout=30_000)  # the filter that is on shows beside the question box, reports by title
    _ask(page, "How many strikes has the coalition conducted?")
    _last_answer(page, "Filters: reports: aid.txt, mosul.md, pentagon.txt")
    page.locator("#clear-filter").click()  # one click clears it
    page.locator("#active-filter").wait_for(state="hidden", timeout=30_000)
    bots = page.locator("#chat .message.bot, #chat [data-testid='bot']")
    asked = bots.count()
    _ask(page, "How many strikes has the coalition conducted near Manbij?")
    page.wait_for_function(
        f"document.querySelectorAll(\"#chat .message.bot, #chat [data-testid='bot']\").length > {asked}",
        timeout=60_000,
    )
    answer = bots.last
    answer.get_by_text("34").first.wait_for(timeout=60_000)  # manbij.txt, outside the cleared filter
    assert "Filters:" not in answer.inner_text()

    _reports_panel(page)
    table = page.locator("#reports-table")
    sideways = "e => { const s = e.querySelector('table')?.parentElement; return s.scrollWidth > s.clientWidth + 1 }"
    assert not table.evaluate(sideways), "the reports table scrolls sideways"
    for header in ("title", "date", "source", "passages"):
        assert table.get_by_text(header, exact=True).first.is_visible()

    page.get_by_text("Timeline", exact=True).click()
    page.locator("#timeline-count").get_by_text("5 dated sentences").wait_for(timeout=30_000)
    assert "from undated reports" not in page.locator("#timeline-count").inner_text()  # aid.txt has no full date
    _choose(page, "#timeline-name", "Kabrouk")
    page.locator("#timeline-count").get_by_text("1 dated sentence", exact=True).wait_for(timeout=30_000)
    assert "Iraqi forces retook the village of Kabrouk on April 26." in page.locator("#timeline-table").inner_text()
    page.wait_for_timeout(1500)  # the filtered CSV reaches the download button after the table
    with page.expect_download() as download:
        page.locator("#timeline-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["date"], r["file"], r["date_as_written"]) for r in rows] == [("2016-04-26", "mosul.md", "April 26")]
    page.close()


def _files_holding(folder: Path, token: bytes) -> list[str]:
    """Files under ``folder`` whose bytes hold ``token``."""
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and token in path.read_bytes():
                found.append(str(path.relative_to(folder)))
        except OSError:
            continue
    return found


@pytest.mark.browser
def test_nothing_of_a_deleted_report_is_left_in_temporary_files(browser, tmp_path: Path) -> None:
    work, temp = tmp_path / "work", tmp_path / "tmp"
    (work / "corpus").mkdir(parents=True)
    temp.mkdir()
    shutil.copy(DEMO, work / "corpus")
    (temp / "askfront-999999-old").mkdir()  # left by an app that was killed: removed at the next start
    port = free_port()
    proc = start_app(work, port, env={"TMPDIR": str(temp)})
    try:
        page = _open(browser, f"http://127.0.0.1:{port}/")
        memo = tmp_path / "memo.txt"
        memo.write_text("Leaked memo\n\nThe informant Zaid Qasimi counted 317 trucks at the Jufra depot.\n")
        assert _upload(page, memo).startswith("Added memo.txt.")
        _ask(page, "How many trucks did the informant count at the Jufra depot?")
        _last_answer(page, "317")
        page.wait_for_timeout(2000)  # the conversation's exports are written after the answer
        held = _files_holding(temp, b"Qasimi")
        assert held and all(p.startswith(f"askfront-{proc.pid}-") for p in held), held  # uploads, exports
        assert not (temp / "askfront-999999-old").exists()
        _reports_panel(page)
        page.locator("#index-status").get_by_text("Index: 2 reports").wait_for(timeout=60_000)
        _choose(page, "#report-pick", "memo.txt")
        page.locator("#delete-report").click()
        page.locator("#confirm-delete-text").get_by_text("Delete memo.txt?").wait_for(timeout=30_000)
        page.wait_for_timeout(500)  # the confirm button settles before it is clicked
        page.locator("#confirm-delete").click()
        _wait_index_message(page, "Deleted memo.txt")
        assert _files_holding(temp, b"Qasimi") == []  # its upload, the exports quoting it
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not list(temp.glob("askfront-*")) and _files_holding(temp, b"Qasimi") == []  # its folder went with it


@pytest.mark.browser
def test_what_the_chat_shows_is_what_the_report_says_and_no_address_becomes_a_link(page, corpus: Path) -> None:
    before = len(scan_corpus(corpus).files)
    (corpus / "checkpoint.txt").write_text(
        "Checkpoint report\n\nOfficials at the Ras Lanuf checkpoint said \u202e91\u202c fighters crossed on "
        "Sunday, as posted on www.evil.example/list and https://evil.example/post by Haf\u00adtar's office.\n"
    )
    (corpus / "checkpoint.txt.meta.yaml").write_text(
        "title: Statement at http://evil.example/x and www.evil.example\nsource: https://example.org/checkpoint\n"
    )
    try:
        page.locator("#index-status").get_by_text(f"Index: {before + 1} reports").wait_for(timeout=120_000)
        _ask(page, "How many fighters crossed at the Ras Lanuf checkpoint?")
        bot = _last_answer(page, "91")
        shown = bot.inner_text()
        assert "91 fighters crossed" in shown and "\u202e" not in shown and "Haftar's office" in shown
        links = bot.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert [h for h in links if not h.startswith("#cite-")] == ["https://example.org/checkpoint"], links
        assert "www.evil.example" in shown and "http://evil.example/x" in shown  # shown as text
    finally:
        (corpus / "checkpoint.txt").unlink()
        (corpus / "checkpoint.txt.meta.yaml").unlink()
    page.locator("#index-status").get_by_text(f"Index: {before} reports").wait_for(timeout=120_000)


@pytest.mark.browser
def test_conversations_are_kept_reopened_renamed_and_deleted(browser, app_url: str, desk) -> None:
    folder = desk[1].parent / "conversations"
    before = set(folder.glob("c-*.json"))  # the module's other tests keep their conversations too
    page = _open(browser, app_url)
    try:
        _ask(page, "How many passengers did the ferry carry?")
        _last_answer(page, "212")
        page.wait_for_function("document.querySelectorAll('#chat .message.bot, #chat [data-testid=bot]').length >= 1")
        page.reload()  # the conversation is shown again after a reload
        page.locator("#index-status").get_by_text("Index:").wait_for(timeout=30_000)
        _last_answer(page, "212")
        assert "212" in page.locator("#passage").inner_text(timeout=30_000)  # its sources too
        [kept] = set(folder.glob("c-*.json")) - before
        assert oct(kept.stat().st_mode & 0o777) == "0o600" and oct(folder.stat().st_mode & 0o777) == "0o700"
        page.get_by_text("Conversations", exact=True).click()
        page.locator("#conversation-new").click()  # a new conversation: the chat empties
        page.wait_for_function("!document.querySelector('#chat').innerText.includes('212')", timeout=30_000)
        _ask(page, "How far is Abu Grain from Sirte?")
        _last_answer(page, "140 kilometers")
        page.wait_for_timeout(1500)  # the list of conversations is refreshed after the answer
        _choose(page, "#conversation-pick", "How many passengers")
        name = page.locator("#conversation-name input, #conversation-name textarea")
        page.wait_for_function(  # picking a conversation puts its name in the box, ready to edit
            "document.querySelector('#conversation-name textarea, #conversation-name input').value"
            ".startsWith('How many passengers')",
            timeout=30_000,
        )
        name.fill("Ferry figures")
        page.locator("#conversation-rename").click()
        said = page.locator("#conversation-said")
        said.get_by_text("Renamed to Ferry figures.").wait_for(timeout=30_000)
        page.locator("#conversation-open").click()  # reopened: the ferry answer, not the distance
        _last_answer(page, "212")
        assert "140 kilometers" not in page.locator("#chat").inner_text()
        page.get_by_text("Export the conversation").click()
        exported = page.locator("#export textarea")
        exported.wait_for(timeout=30_000)
        page.wait_for_function("document.querySelector('#export textarea').value.includes('212')", timeout=30_000)
        assert "140 kilometers" not in exported.input_value()  # the reopened one is what the export holds
        _choose(page, "#conversation-pick", "Ferry figures")
        page.locator("#conversation-delete").click()
        page.locator("#conversation-said").get_by_text("Deleted the conversation you had open.").wait_for(
            timeout=30_000
        )
        assert len(set(folder.glob("c-*.json")) - before) == 1  # the other one is kept
        page.reload()
        page.locator("#index-status").get_by_text("Index:").wait_for(timeout=30_000)
        time.sleep(2)
        assert "212" not in page.locator("#chat").inner_text()  # the deleted one is not shown again
    finally:
        page.close()
