"""The browser chat in real headless Chromium (Playwright), at desktop and phone sizes,
and its API through gradio_client. Screenshots go to tests/artifacts (copied to docs/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from .conftest import ROOT, start_app

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# Glyphs that a machine's fonts may lack (they showed as empty boxes): emoji, dingbats, ●○.
MISSING_GLYPHS = re.compile("[\u2600-\u27bf\u25cb\u25cf\U0001f000-\U0001faff]")


def _chromium() -> str:
    """Debian's chromium; installed with apt-get when missing (CI runs as root with no browser)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.skip("chromium is not installed and installing it needs root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=900, capture_output=True
    )
    return shutil.which("chromium") or pytest.fail("apt-get installed no chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with start_app(tmp_path_factory.mktemp("ui")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = _chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, server, size: str):
    context = browser.new_context(viewport=SIZES[size], permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.accept()))
    page.goto(server["url"])
    page.locator("#header .askdoc-loaded").wait_for(timeout=60_000)
    return context, page


@pytest.fixture(params=list(SIZES))
def page(request, browser, server):
    context, page = _open(browser, server, request.param)
    page.size = request.param
    yield page
    context.close()


@pytest.fixture()
def desktop(browser, server):
    context, page = _open(browser, server, "desktop")
    yield page
    context.close()


def _ask(page, question: str) -> float:
    """Ask and wait for the answer; returns the seconds from the click to the answer shown."""
    answers = page.locator("#chat .message-row.bot-row, #chat .bot-row")
    before = answers.count()
    page.locator("#question textarea").fill(question)
    started = time.monotonic()
    page.locator("#ask").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .bot-row').length > n", arg=before, timeout=60_000, polling=20
    )
    return time.monotonic() - started


def _last_answer(page):
    return page.locator("#chat .bot-row").last


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_citations_open_their_own_evidence(page, server):
    """Item 1 (and the 0.5 s bar): every answer keeps its sources; [n] opens them, marked."""
    took = [_ask(page, "When was NAM established?")]
    took.append(_ask(page, "Where was the summit held?"))
    assert "Baku" in _last_answer(page).inner_text()
    page.locator("#question textarea").fill("   ")
    page.locator("#ask").click()  # an empty question neither adds a bubble nor wipes the sources
    page.wait_for_timeout(500)
    assert page.locator("#chat .bot-row").count() == 2 and page.locator("#chat .user-row").count() == 2
    # The first answer's [1], after a later question: its own passage opens, the sentence marked.
    page.locator("#chat .bot-row").first.locator("a.askdoc-cite").first.click()
    mark = page.locator("#ev-1-1 mark")
    mark.wait_for(state="visible", timeout=10_000)
    assert "1961" in mark.inner_text() and mark.locator("b").inner_text() == "1961"
    assert page.locator("#ev-2").is_hidden()
    assert mark.evaluate("m => { const r = m.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight }")
    if page.size == "phone":
        _screenshot(page, "phone-citation.png")
        page.locator("#side-close").click()
        page.locator("#side").wait_for(state="hidden", timeout=5_000)
    page.locator("#chat .bot-row").last.locator("a.askdoc-cite").first.click()
    page.locator("#ev-2-1 mark").wait_for(state="visible", timeout=10_000)
    assert "Baku" in page.locator("#ev-2-1 mark").inner_text() and page.locator("#ev-1").is_hidden()
    if page.size == "phone":
        page.locator("#side-close").click()  # the evidence sheet covers the input until closed
    for q in ("Who is the chairman of NAM?", "What does NAM stand for?", "When was NAM established?"):
        took.append(_ask(page, q))
    ARTIFACTS.mkdir(exist_ok=True)
    timing = {"ask_to_answer_s": [round(t, 3) for t in took], "median_s": round(statistics.median(took), 3)}
    (ARTIFACTS / f"ui-timing-{page.size}.json").write_text(json.dumps(timing))
    assert statistics.median(took) < 2.0, timing  # generous: the 0.5 s figure is recorded, not a flaky assert
    if page.size == "desktop":
        page.locator("#chat .bot-row").first.locator("a.askdoc-cite").first.click()
        page.locator("#ev-1-1 mark").wait_for(state="visible")
        _screenshot(page, "desktop-citation.png")


def test_exact_answer_is_bold_and_copy_gives_markdown(desktop):
    """Items 2 and 3."""
    _ask(desktop, "When was NAM established?")
    answer = _last_answer(desktop)
    assert answer.locator("blockquote b").inner_text() == "1961"
    assert answer.locator("blockquote a.askdoc-cite").count() == answer.locator(".askdoc-cites a").count() >= 1
    answer.locator("button.askdoc-copy").click()
    answer.get_by_text("Copied").wait_for(timeout=5_000)
    copied = desktop.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("> “Established in **1961**, NAM") and "<" not in copied
    assert re.search(r"\n\[1\] \*Azerbaijan Leads Non-Aligned Movement\* \(.*azerbaijan-leads-nam\.txt\), line", copied)


def test_not_found_is_one_line_without_confidence(page):
    """Items 6 and 7."""
    _ask(page, "What is the capital of France?")
    reply = _last_answer(page)
    assert reply.get_by_text("The documents don't say.").is_visible()
    assert reply.locator(".askdoc-conf").count() == 0
    closest = reply.locator("details.askdoc-closest")
    assert closest.count() == 1 and not closest.locator("li").first.is_visible()
    assert reply.bounding_box()["height"] < 90  # one line, plus the folded passages' summary
    _ask(page, "When was NAM established?")
    conf = _last_answer(page).locator(".askdoc-conf")
    assert conf.count() == 1 and re.fullmatch(r"(high|medium|low) confidence", conf.inner_text().strip())
    assert "score" not in page.locator("#sources").inner_text()


def test_layout_fits_the_window_and_shows_what_is_loaded(page):
    """Items 8 and 9: one scrollbar, no overlapping label, no duplicate clear, orientation and examples."""
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 2")
    assert page.locator("#chat label").count() == 0 and page.get_by_text("Clear chat").count() == 0
    header = page.locator("#header").inner_text()
    assert "1 document: Azerbaijan Leads Non-Aligned Movement, by Muhammad Asif Noor" in " ".join(header.split())
    example = page.locator("#examples button").first
    box = example.bounding_box()
    assert box and box["y"] + box["height"] <= SIZES[page.size]["height"]  # visible without scrolling
    assert "about Azerbaijan Leads Non-Aligned Movement" in page.locator("#examples-label").inner_text()
    example.click()
    page.locator("#chat .bot-row").first.get_by_text("Baku").first.wait_for(timeout=60_000)
    assert not MISSING_GLYPHS.search(page.locator("body").inner_text())
    # The chatbot's own trash icon clears the chat and its sources.
    page.locator("#chat button[aria-label='Clear']").click()
    page.wait_for_function("!document.querySelector('#chat .bot-row')", timeout=10_000)
    page.wait_for_function("document.querySelector('#sources').innerText.includes('Ask a question')", timeout=10_000)
    if page.size == "phone":
        _ask(page, "When was NAM established?")
        _screenshot(page, "phone-answer.png")


def test_question_shows_at_once_and_ask_waits(desktop):
    """Item 8: the question appears while the answer is on its way, and Ask is disabled meanwhile."""
    held = []
    desktop.route("**/gradio_api/queue/join*", lambda route: held.append(route))
    desktop.locator("#question textarea").fill("Who is the chairman of NAM?")
    desktop.locator("#ask").click()
    desktop.locator("#chat .user-row").get_by_text("Who is the chairman of NAM?").wait_for(timeout=10_000)
    assert desktop.locator("#ask").is_disabled() and desktop.locator("#chat .bot-row").count() == 0
    for _ in range(100):
        if held:
            break
        desktop.wait_for_timeout(50)
    held[0].continue_()
    desktop.unroute("**/gradio_api/queue/join*")
    _last_answer(desktop).get_by_text("Ilham Aliyev").first.wait_for(timeout=60_000)
    desktop.wait_for_function("!document.querySelector('#ask').disabled", timeout=10_000)


def test_question_markup_is_shown_as_text(desktop):
    attack = "<img src=x onerror=alert(1)>"
    _ask(desktop, attack)
    desktop.locator("#chat").get_by_text(attack).first.wait_for(timeout=60_000)
    assert desktop.locator("#chat img[src='x']").count() == 0
    desktop.wait_for_timeout(500)
    assert desktop.dialogs == []


def test_upload_keeps_the_scope_and_documents_read_as_documents(desktop, tmp_path):
    """Items 4 and 5: upload, ask, read it without markup, open it whole, then remove it."""
    doc = tmp_path / "Harbour Report.md"
    doc.write_text(
        "# Harbour Report\n\n## Opening\n\nThe new harbour of **Port Elin** opened in May 2019.\n\n"
        "## Capacity\n\nIt can berth twelve container ships. " + "Cranes work day and night. " * 30 + "\n",
        encoding="utf-8",
    )
    desktop.locator("#upload input[type=file]").set_input_files(str(doc))
    desktop.locator("#upload-status").get_by_text("Indexed").wait_for(timeout=60_000)
    assert "harbour-report" in desktop.locator("#upload-status").inner_text()
    assert desktop.locator("#doc input").input_value() == "Search all documents"  # the scope did not narrow
    assert "2 documents" in desktop.locator("#header").inner_text()
    _screenshot(desktop, "desktop-upload.png")
    desktop.locator("#examples button").get_by_text("When was NAM established?").click()  # still about the article
    _last_answer(desktop).get_by_text("1961").first.wait_for(timeout=60_000)
    _ask(desktop, "When did the harbour of Port Elin open?")
    answer = _last_answer(desktop)
    assert "Port Elin opened in May 2019" in answer.inner_text() and "**" not in answer.inner_text()
    answer.locator("a.askdoc-cite").first.click()
    passage = desktop.locator("#sources .askdoc-evidence:not([hidden]) details[open] .passage")
    passage.wait_for(timeout=10_000)
    text = passage.inner_text()
    assert "#" not in text and "**" not in text and "Harbour Report" in text
    assert re.search(r"(\w\.|…)\s*Open the whole document here$", text.strip()), text[-80:]  # ends at a word
    desktop.locator("#sources .askdoc-evidence:not([hidden]) a.askdoc-open").first.click()
    mark = desktop.locator("#askdoc-doc-mark")
    mark.wait_for(state="visible", timeout=10_000)
    assert "May 2019" in mark.inner_text() and "## " not in desktop.locator("#document").inner_text()
    # Remove it from the documents list: the article stays and still answers.
    desktop.locator("#doclist button.askdoc-remove[data-doc='harbour-report']").click()
    desktop.locator("#upload-status").get_by_text("Removed").wait_for(timeout=30_000)
    assert desktop.dialogs and "Harbour Report" in desktop.dialogs[-1]
    desktop.wait_for_function("!document.querySelector('#doclist').innerText.includes('harbour-report')")
    assert "1 document:" in desktop.locator("#header").inner_text()
    _ask(desktop, "When was NAM established?")
    assert "1961" in _last_answer(desktop).inner_text()


def test_oversized_upload_is_refused(desktop, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Filler sentence for size. " * 12_000, encoding="utf-8")  # ~312 kB > 200 kB limit
    desktop.locator("#upload input[type=file]").set_input_files(str(big))
    desktop.get_by_text("exceed the maximum allowed size").first.wait_for(timeout=30_000)
    # Nothing was lost: the indexed article still answers.
    _ask(desktop, "When was NAM established?")
    assert "Established in 1961" in _last_answer(desktop).inner_text()


def test_api_endpoint_with_gradio_client(server):
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    data = client.predict("When was NAM established?", api_name="/answer")
    assert data["found"] is True and "1961" in data["text"]
    c = data["citations"][0]
    assert {"doc_id", "title", "source", "start", "end", "quote", "score"} <= c.keys()
    assert c["quote"] in data["text"] and c["end"] - c["start"] == len(c["quote"])
    off = client.predict("What is the capital of France?", api_name="/answer")
    assert off["found"] is False and off["text"] == "" and off["passages"]
    # A follow-up with the conversation so far (issue 24), as the README shows it.
    follow = client.predict("When was it established?", 0, "", ["What is NAM?"], api_name="/answer")
    assert follow["resolved_question"] == "When was NAM established?" and "1961" in follow["text"]


def test_login_from_the_environment(tmp_path):
    from gradio_client import Client

    with start_app(tmp_path, ASKDOC_AUTH="reader:s3cret") as running:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{running['url']}/config", timeout=10)
        assert refused.value.code in (401, 403)
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises plain ValueError/HTTP errors)
            Client(running["url"], verbose=False).predict("When was NAM established?", api_name="/answer")
        client = Client(running["url"], auth=("reader", "s3cret"), verbose=False)
        assert "1961" in client.predict("When was NAM established?", api_name="/answer")["text"]
        # Guessing: 5 wrong passwords are checked, then this address waits (issue 23: 50 in 0.5 s).
        codes = []
        for _ in range(7):
            form = urllib.parse.urlencode({"username": "reader", "password": "guess"}).encode()
            try:
                urllib.request.urlopen(urllib.request.Request(f"{running['url']}/login", data=form), timeout=10)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
        assert codes == [400] * 5 + [429, 429], codes


def test_a_follow_up_says_how_it_was_read_exports_and_survives_a_reload(desktop):
    """Issue 24: the browser sends its own history; "Reading this as"; Export; a reload keeps the chat."""
    _ask(desktop, "What is the Non-Aligned Movement?")
    assert _last_answer(desktop).locator(".askdoc-reading").count() == 0  # read as typed
    _ask(desktop, "When was it established?")
    reply = _last_answer(desktop)
    reading = reply.locator(".askdoc-reading")
    assert reading.inner_text().strip() == "Reading this as: When was the Non-Aligned Movement established?"
    quote = reply.locator("blockquote")
    assert "1961" in quote.inner_text() and reading.bounding_box()["y"] < quote.bounding_box()["y"]  # small, above
    with desktop.expect_download() as got:
        desktop.locator("#export").click()
    exported = open(got.value.path(), encoding="utf-8").read()
    assert "**You:** When was it established?" in exported
    assert "*Reading this as: When was the Non-Aligned Movement established?*" in exported
    assert "Established in **1961**" in exported and "azerbaijan-leads-nam.txt), line 9" in exported
    # A reload (or a dropped connection) brings the chat back from the browser's storage.
    desktop.reload()
    desktop.locator("#header .askdoc-loaded").wait_for(timeout=60_000)
    desktop.locator("#chat .bot-row").nth(1).wait_for(timeout=30_000)
    assert desktop.locator("#chat .user-row").count() == 2
    assert "Reading this as" in _last_answer(desktop).inner_text()
    _last_answer(desktop).locator("a.askdoc-cite").first.click()  # its sources came back too
    desktop.locator("#ev-2-1 mark").wait_for(state="visible", timeout=10_000)
    # ... and so did the conversation a follow-up is read against.
    _ask(desktop, "How many member states does it have?")
    assert "Reading this as: How many member states does" in _last_answer(desktop).inner_text()
    assert "120 member states" in _last_answer(desktop).inner_text()
    # Clearing the chat clears that conversation: nothing comes back, and "Why?" leans on nothing.
    desktop.locator("#chat button[aria-label='Clear']").click()
    desktop.wait_for_function("!document.querySelector('#chat .bot-row')", timeout=10_000)
    desktop.wait_for_function("document.querySelector('#sources').innerText.includes('Ask a question')", timeout=10_000)
    desktop.reload()
    desktop.locator("#header .askdoc-loaded").wait_for(timeout=60_000)
    desktop.wait_for_timeout(1500)
    assert desktop.locator("#chat .bot-row").count() == 0
    _ask(desktop, "Why?")
    assert "The documents don't say." in _last_answer(desktop).inner_text()
    assert _last_answer(desktop).locator(".askdoc-reading").count() == 0
