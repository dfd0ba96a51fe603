"""The browser chat in real headless Chromium (Playwright), at desktop and phone sizes,
and its API through gradio_client. Screenshots go to tests/artifacts (copied to docs/).

One server (behind a login, which a test checks) and one browser serve the whole module:
each test opens a context already logged in, and packs several checks into one page."""

from __future__ import annotations

import contextlib
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
AUTH = ("reader", "s3cret")
#: WCAG 2.5.5: a touch target of at least 44 by 44 CSS pixels.
TOUCH_PX = 44
#: Everything a finger may need on the chat page, in the chat, the sheet and the popover.
TOUCH_TARGETS = (
    "a.askdoc-cite, .askdoc-copy, .askdoc-vote, .askdoc-conf summary, .askdoc-closest summary, .askdoc-remove, "
    "#side-close, #theme-toggle, #examples button, #examples-toggle, #ask, #chat button[aria-label='Clear'], "
    "#docs-link, #export, a.askdoc-open, #sources summary, .askdoc-pop-open, #question textarea"
)
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
    # Behind a login: test_login_from_the_environment checks it here, instead of starting a
    # second server (40 s of model loading on 2 cores).
    with start_app(tmp_path_factory.mktemp("ui"), ASKDOC_AUTH=":".join(AUTH)) as running:
        yield running


@pytest.fixture(scope="module")
def login(browser, server):
    """The cookies of one login, which every page of the module reuses."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(server["url"])
    page.get_by_label("username").fill(AUTH[0])
    page.get_by_label("password").fill(AUTH[1])
    page.get_by_role("button", name="Login").click()
    page.locator("#header .askdoc-loaded").wait_for(timeout=60_000)
    state = context.storage_state()
    context.close()
    return {"cookies": state["cookies"], "origins": []}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = _chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, server, login, size: str, scheme: str = "light"):
    context = browser.new_context(
        viewport=SIZES[size], permissions=["clipboard-read", "clipboard-write"], storage_state=login,
        color_scheme=scheme, has_touch=size == "phone",
    )  # fmt: skip
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.accept()))
    page.goto(server["url"])
    page.locator("#header .askdoc-loaded").wait_for(timeout=60_000)
    _settle(page)
    return context, page


# True once nothing on the page has been dimmed as pending (Gradio's 20% opacity while an event
# is on its way to it) for half a second: the page's load events are in, colours are final.
SETTLED_JS = """() => {
  const now = performance.now();
  if (window.askdocBusy === undefined || document.querySelector('.pending')) { window.askdocBusy = now; return false; }
  return now - window.askdocBusy > 500;
}"""


def _settle(page) -> None:
    page.evaluate("window.askdocBusy = undefined")
    page.wait_for_function(SETTLED_JS, timeout=30_000, polling=50)


@pytest.fixture(scope="module")
def pages(browser, server, login):
    """One page per size for the whole module, opened on first use: a page load costs seconds
    on 2 cores. Tests that need an empty chat clear it (`_clear`)."""
    opened: dict = {}

    def get(size: str):
        if size not in opened:
            opened[size] = _open(browser, server, login, size)
            opened[size][1].size = size
        return opened[size][1]

    yield get
    for context, _ in opened.values():
        context.close()


@pytest.fixture(params=list(SIZES))
def page(request, pages):
    return pages(request.param)


@pytest.fixture()
def desktop(pages):
    return pages("desktop")


def _clear(page) -> None:
    """An empty chat (and Sources), as the chatbot's own bin leaves it."""
    if page.locator("#chat .bot-row, #chat .user-row").count():
        page.locator("#chat button[aria-label='Clear']").click()
        page.wait_for_function("!document.querySelector('#chat .bot-row, #chat .user-row')", timeout=10_000)
        page.wait_for_function("document.querySelector('#sources').innerText.includes('Ask a question')")


# Times one question in the page's own clock: from the click (its event's time stamp) to the
# animation frame that paints the new answer (a new bot row in the chat), in seconds. The time
# Playwright takes to deliver the click and to notice the answer is the test's, not the reader's
# (0.1 to 0.4 s more on a busy 2-core machine): `_ask` records it beside.
WATCH_JS = """() => {
  const chat = document.querySelector('#chat'), n = chat.querySelectorAll('.bot-row').length, t = {};
  window.askdocTiming = t;
  const ask = document.querySelector('#ask');
  ask.addEventListener('click', (e) => { t.click = e.timeStamp; }, {capture: true, once: true});
  const seen = new MutationObserver(() => {
    if (chat.querySelectorAll('.bot-row').length <= n) return;
    seen.disconnect();
    requestAnimationFrame(() => { t.shown = performance.now(); });
  });
  seen.observe(chat, {childList: true, subtree: true});
}"""


def _ask(page, question: str, timing: dict | None = None) -> float:
    """Ask and wait for the answer; returns the seconds from the click to the answer shown (in
    the page's clock; ``timing`` gets the page's and the driver's figures appended)."""
    page.locator("#question textarea").fill(question)
    page.evaluate(WATCH_JS)
    started = time.monotonic()
    page.locator("#ask").click()
    page.wait_for_function("window.askdocTiming.shown !== undefined", timeout=60_000, polling=20)
    driver = time.monotonic() - started
    shown = page.evaluate("(window.askdocTiming.shown - window.askdocTiming.click) / 1000")
    if timing is not None:
        timing.setdefault("page", []).append(round(shown, 3))
        timing.setdefault("driver", []).append(round(driver, 3))
    return shown


def _last_answer(page):
    return page.locator("#chat .bot-row").last


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


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


def test_citations_open_their_own_evidence(page, server):
    """Item 1 (and the 0.5 s bar): every answer keeps its sources; [n] opens them, marked."""
    _clear(page)
    took: dict = {}
    _ask(page, "When was NAM established?", took)
    _ask(page, "Where was the summit held?", took)
    assert "Baku" in _last_answer(page).inner_text()
    page.locator("#question textarea").fill("   ")
    page.locator("#ask").click()  # an empty question neither adds a bubble nor wipes the sources
    page.wait_for_timeout(500)
    assert page.locator("#chat .bot-row").count() == 2 and page.locator("#chat .user-row").count() == 2
    # The first answer's [1], after a later question: its own passage opens, the sentence marked.
    cite = page.locator("#chat .bot-row").first.locator("a.askdoc-cite").first
    cite.click()
    mark = page.locator("#ev-1-1 mark")
    # On a touch screen a tap may preview first (by design): its button, or a second tap, opens.
    from playwright.sync_api import TimeoutError as NotYet

    with contextlib.suppress(NotYet):
        page.locator("#ev-1-1 mark:visible, #askdoc-popover .askdoc-pop-open:visible").first.wait_for(timeout=5_000)
    if not mark.is_visible():
        opener = page.locator("#askdoc-popover .askdoc-pop-open")
        opener.click() if opener.is_visible() else cite.click()
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
    asked = ("Who is the chairman of NAM?", "What does NAM stand for?", "When was NAM established?",
             "Where was the summit held?", "Who is the chairman of NAM?", "What does NAM stand for?")  # fmt: skip
    for q in asked:
        _ask(page, q, took)
    ARTIFACTS.mkdir(exist_ok=True)
    timing = {
        "ask_to_answer_s": took["page"], "median_s": round(statistics.median(took["page"]), 3),
        # The same asks from the test's side (Playwright's click and polling included).
        "driver_s": took["driver"], "driver_median_s": round(statistics.median(took["driver"]), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
    }  # fmt: skip
    (ARTIFACTS / f"ui-timing-{page.size}.json").write_text(json.dumps(timing))
    # Generous: the 0.5 s figure is recorded, not a flaky assert (the machine is shared).
    assert timing["median_s"] < 2.0 and timing["driver_median_s"] < 3.0, timing
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
    # The title and the document's id: no path of the server's (install folder, temporary upload).
    assert "\n[1] *Azerbaijan Leads Non-Aligned Movement* (`azerbaijan-leads-nam`), line 9, chars" in copied
    assert "/" not in copied and "\\" not in copied and ".txt" not in copied


def test_not_found_is_one_line_without_confidence(page):
    """Items 6 and 7."""
    _ask(page, "What is the capital of France?")
    reply = _last_answer(page)
    assert reply.get_by_text("The documents don't say.").is_visible()
    assert reply.locator(".askdoc-conf").count() == 0
    closest = reply.locator("details.askdoc-closest")
    assert closest.count() == 1 and not closest.locator("li").first.is_visible()
    # One line (its votes beside it), plus the folded passages' summary; a phone's 44 px targets are taller.
    assert reply.bounding_box()["height"] < (90 if page.size == "desktop" else 150)
    _ask(page, "When was NAM established?")
    conf = _last_answer(page).locator(".askdoc-conf")
    assert conf.count() == 1 and re.fullmatch(r"(high|medium|low) confidence", conf.inner_text().strip())
    assert "score" not in page.locator("#sources").inner_text()
    # Not a question, or not in English: the reply says what to do, not "the documents don't say".
    french = "Quand le Mouvement des non-alignés a-t-il été fondé ?"
    for asked, said in (("?", "Please ask a question in words"), ("🙂", "Please ask a question in words"),
                        (french, "askdoc reads questions in English")):  # fmt: skip
        _ask(page, asked)
        reply = _last_answer(page).inner_text()
        assert said in reply and "The documents don't say" not in reply, reply


def test_question_shows_at_once_and_ask_waits(desktop):
    """Item 8: the question appears while the answer is on its way, and Ask is disabled meanwhile."""
    held, answers = [], desktop.locator("#chat .bot-row").count()
    desktop.route("**/gradio_api/queue/join*", lambda route: held.append(route))
    desktop.locator("#question textarea").fill("Who is the chairman of NAM?")
    desktop.locator("#ask").click()
    desktop.locator("#chat .user-row").last.get_by_text("Who is the chairman of NAM?").wait_for(timeout=10_000)
    assert desktop.locator("#ask").is_disabled() and desktop.locator("#chat .bot-row").count() == answers
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


def _pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF, a page per list of lines, with a text layer (Helvetica)."""
    n, font = len(pages), 3 + 2 * len(pages)
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(n))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n)]
    for i, lines in enumerate(pages):
        ops = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
                    b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + 2 * i, font))  # fmt: skip
        objs.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(ops), ops.encode()))
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for k, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (k, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_upload_keeps_the_scope_and_documents_read_as_documents(desktop, server, tmp_path):
    """Items 4 and 5 of issue 23, and of issue 25: two files at once with per-file progress in the
    Documents panel, the drop zone kept; a PDF cited by page; a vote written as an eval case."""
    doc = tmp_path / "Harbour Report.md"
    doc.write_text(
        "# Harbour Report\n\n## Opening\n\nThe new harbour of **Port Elin** opened in May 2019.\n\n"
        "## Capacity\n\n- It can berth twelve container ships.\n- Cranes work day and night.\n\n"
        + "".join(f"Berth {i} takes the ferries from the outer islands. " for i in range(120))
        + "\n",
        encoding="utf-8",
    )
    pdf = tmp_path / "lighthouse.pdf"
    pdf.write_bytes(_pdf([
        ["Lighthouse Notes", "The Kestrel Point lighthouse stands on the north cape.", "Its lamp was lit in 1874."],
        ["Keepers", "The last keeper, Tomas Reyes, left the lighthouse in 1961.", "The light was automated in 1962."],
    ]))  # fmt: skip
    desktop.locator("#upload input[type=file]").set_input_files([str(doc), str(pdf)])
    seen, status = [], desktop.locator("#upload-status")
    for _ in range(600):  # each file's line as it goes, polled every 0.1 s
        seen.append(status.evaluate("s => [s.innerText, s.querySelectorAll('progress').length]"))
        if seen[-1][0].count("Indexed") == 2:
            break
        desktop.wait_for_timeout(100)
    final = seen[-1][0]
    assert "Indexed Harbour Report (" in final and "as harbour-report" in final and "as lighthouse" in final
    assert any(bars == 1 and "waiting" in text for text, bars in seen), seen  # one at a time, the other waiting
    assert any("sentences left" in text for text, _ in seen), seen
    assert "chunks" not in final and "(1 passage)" in final
    # The drop zone is back, empty: no file chip (a failed file would otherwise stay in it).
    desktop.locator("#upload").get_by_text("Drop File Here").wait_for(timeout=10_000)
    assert desktop.locator("#upload input[type=file]").count() == 1
    assert desktop.locator("#doc input").input_value() == "Search all documents"  # the scope did not narrow
    assert "3 documents" in desktop.locator("#header").inner_text()
    _screenshot(desktop, "desktop-upload.png")
    if desktop.locator("#examples").is_hidden():
        desktop.locator("#examples-toggle").click()  # folded away after the first question: unfold
    desktop.locator("#examples button").get_by_text("When was NAM established?").click()  # still about the article
    _last_answer(desktop).get_by_text("1961").first.wait_for(timeout=60_000)
    # A PDF is cited by page, in the reply, in Sources and in the document view.
    _ask(desktop, "When did Tomas Reyes leave the lighthouse?")
    answer = _last_answer(desktop)
    assert "Tomas Reyes, left the lighthouse in 1961" in answer.inner_text()
    assert re.search(r"\[1\] Lighthouse Notes — p\. 2, chars \d+–\d+", answer.inner_text()), answer.inner_text()
    answer.locator("a.askdoc-cite").first.click()
    summary = desktop.locator("#sources .askdoc-evidence:not([hidden]) details[open] summary")
    assert "p. 2" in summary.inner_text()
    desktop.locator("#sources .askdoc-evidence:not([hidden]) a.askdoc-open").first.click()
    desktop.locator("#askdoc-doc-mark").wait_for(state="visible", timeout=10_000)
    assert "(lighthouse, p. 2, chars" in desktop.locator("#document").inner_text()
    # "Not helpful" writes the question, the answer and its citations as an eval case, gold empty.
    answer.get_by_role("button", name="Not helpful").click()
    desktop.wait_for_function("document.querySelector('#askdoc-notice').innerText.includes('Thank you')")
    assert answer.get_by_role("button", name="Not helpful").get_attribute("aria-pressed") == "true"
    case = json.loads((server["index_dir"] / "feedback.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert case["question"] == "When did Tomas Reyes leave the lighthouse?" and case["vote"] == "down"
    assert {case["answer"], case["start"], case["end"], case["answerable"]} == {"", None, True}
    assert case["doc_id"] == "lighthouse" and case["askdoc"]["citations"][0]["quote"].startswith("The last keeper")
    assert {"id", "question", "kind", "answerable", "answer", "start", "end"} <= case.keys()  # eval/article.jsonl's
    _ask(desktop, "When did the harbour of Port Elin open?")
    answer = _last_answer(desktop)
    assert "Port Elin opened in May 2019" in answer.inner_text() and "**" not in answer.inner_text()
    answer.locator("a.askdoc-cite").first.click()
    passage = desktop.locator("#sources .askdoc-evidence:not([hidden]) details[open] .passage")
    passage.wait_for(timeout=10_000)
    text = passage.inner_text()
    assert "#" not in text and "**" not in text and "Harbour Report" in text
    assert "- It can berth" not in text and "It can berth twelve" in text  # list markers are markup too
    assert re.search(r"(\w\.|…)\s*Open the whole document here$", text.strip()), text[-80:]  # ends at a word
    desktop.locator("#sources .askdoc-evidence:not([hidden]) a.askdoc-open").first.click()
    mark = desktop.locator("#askdoc-doc-mark")
    mark.get_by_text("May 2019").wait_for(timeout=10_000)  # (the PDF's mark showed there before)
    assert "## " not in desktop.locator("#document").inner_text()
    # Remove them from the documents list: the article stays and still answers.
    for doc_id in ("harbour-report", "lighthouse"):
        desktop.locator(f"#doclist button.askdoc-remove[data-doc='{doc_id}']").click()
        desktop.wait_for_function(f"!document.querySelector('#doclist').innerText.includes('{doc_id}')")
    assert "Removed" in desktop.locator("#upload-status").inner_text()
    assert any("Harbour Report" in d for d in desktop.dialogs)
    assert "1 document:" in desktop.locator("#header").inner_text()
    _ask(desktop, "When was NAM established?")
    assert "1961" in _last_answer(desktop).inner_text()


def test_oversized_upload_is_refused(desktop, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Filler sentence for size. " * 12_000, encoding="utf-8")  # ~312 kB > 200 kB limit
    desktop.locator("#upload input[type=file]").set_input_files(str(big))
    desktop.get_by_text("exceed the maximum allowed size").first.wait_for(timeout=30_000)
    for close in desktop.locator(".toast-close").all():  # the page goes on to later tests
        close.click()
    # Nothing was lost: the indexed article still answers.
    _ask(desktop, "When was NAM established?")
    assert "Established in 1961" in _last_answer(desktop).inner_text()


def test_api_endpoint_with_gradio_client(server):
    from gradio_client import Client

    client = Client(server["url"], auth=AUTH, verbose=False)
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


def test_login_from_the_environment(server):
    """The module's server runs with ASKDOC_AUTH=reader:s3cret: nothing without the login."""
    from gradio_client import Client

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server['url']}/config", timeout=10)
    assert refused.value.code in (401, 403)
    with pytest.raises(Exception):  # noqa: B017 (gradio_client raises plain ValueError/HTTP errors)
        Client(server["url"], verbose=False).predict("When was NAM established?", api_name="/answer")
    client = Client(server["url"], auth=AUTH, verbose=False)
    assert "1961" in client.predict("When was NAM established?", api_name="/answer")["text"]
    # Guessing: 5 wrong passwords are checked, then this address waits (issue 23: 50 in 0.5 s).
    codes = []
    for _ in range(7):
        form = urllib.parse.urlencode({"username": "reader", "password": "guess"}).encode()
        try:
            urllib.request.urlopen(urllib.request.Request(f"{server['url']}/login", data=form), timeout=10)
        except urllib.error.HTTPError as exc:
            codes.append(exc.code)
    assert codes == [400] * 5 + [429, 429], codes
    time.sleep(1.5)  # the first wait is 1 s; then the right password clears the count (later tests log in)
    again = Client(server["url"], auth=AUTH, verbose=False)
    assert "1961" in again.predict("When was NAM established?", api_name="/answer")["text"]


def test_a_follow_up_says_how_it_was_read_exports_and_survives_a_reload(desktop):
    """Issue 24: the browser sends its own history; "Reading this as"; Export; a reload keeps the chat."""
    _clear(desktop)
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
    assert "Established in **1961**" in exported and "(`azerbaijan-leads-nam`), line 9" in exported
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
    # The bin clears the chat, its sources and the document view; "Undo clear" brings them back.
    desktop.locator("#chat button[aria-label='Clear']").click()
    desktop.wait_for_function("!document.querySelector('#chat .bot-row')", timeout=10_000)
    desktop.locator("#undo-clear").click()
    desktop.locator("#chat .bot-row").nth(2).wait_for(timeout=10_000)
    assert desktop.locator("#undo-clear").is_hidden()
    # Clearing the chat clears that conversation: nothing comes back, and "Why?" leans on nothing.
    desktop.locator("#chat button[aria-label='Clear']").click()
    desktop.wait_for_function("!document.querySelector('#chat .bot-row')", timeout=10_000)
    assert "Open the whole document" in desktop.locator("#document").inner_text()  # the view was reset
    desktop.wait_for_function("document.querySelector('#sources').innerText.includes('Ask a question')", timeout=10_000)
    desktop.reload()
    desktop.locator("#header .askdoc-loaded").wait_for(timeout=60_000)
    desktop.wait_for_timeout(1500)
    assert desktop.locator("#chat .bot-row").count() == 0
    _ask(desktop, "Why?")  # alone, only function words: a request for a question that names something
    assert "Please ask a question that names what to look for" in _last_answer(desktop).inner_text()
    assert _last_answer(desktop).locator(".askdoc-reading").count() == 0


# The chat scrolled to its latest answer (its scrolling element is Gradio's).
SCROLL_CHAT_DOWN = """() => document.querySelectorAll('#chat *').forEach((e) => {
  if (e.scrollHeight > e.clientHeight + 4 && getComputedStyle(e).overflowY !== 'visible') e.scrollTop = e.scrollHeight;
})"""
#: What the page's live region last announced.
LIVE = "(document.querySelector('#askdoc-live')?.textContent || '')"
#: axe-core's rule sets: WCAG 2.0-2.2 A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# The WCAG contrast ratio of an element's text (or, with a pseudo-element, of its placeholder)
# against the first opaque background behind it, from computed styles.
CONTRAST_JS = """([sel, pseudo]) => {
  const el = document.querySelector(sel);
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  const fg = rgb(getComputedStyle(el, pseudo || null).color);
  let bg = null;
  for (let e = el; e && !bg; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.95)) bg = c.slice(0, 3);
  }
  bg = bg || (document.body.classList.contains('dark') ? [11, 15, 25] : [255, 255, 255]);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100;
}"""


def _audit(page, where: str) -> None:
    """axe-core over the whole page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    _settle(page)
    options = {"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": AXE_TAGS}}
    found = Axe().run(page, options=options).response["violations"]
    bad = [
        (v["id"], [(n["target"], (n.get("failureSummary") or "")[-160:]) for n in v["nodes"][:3]])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{where}: {bad}"


def _small_targets(page) -> list:
    """Visible touch targets under 44 by 44 px: (what, width, height)."""
    return page.evaluate(
        """([sel, px]) => [...document.querySelectorAll(sel)].filter((e) => e.getClientRects().length
             && getComputedStyle(e).visibility !== 'hidden').map((e) => [e.className || e.id || e.tagName,
             e.innerText.slice(0, 20), Math.round(e.getBoundingClientRect().width),
             Math.round(e.getBoundingClientRect().height)]).filter((t) => t[2] < px || t[3] < px)""",
        [TOUCH_TARGETS, TOUCH_PX],
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_accessible_in_both_themes_at_both_sizes(browser, server, login, scheme):
    """Issue 25, items 1-3: axe-core finds nothing serious at either size in either theme, on the
    first page, after an answer, with Sources open (a phone's sheet); the marked answer and the
    placeholder have AA contrast; real names, a live region, the keys; 44 px targets on a phone."""
    contrast = {}
    for size in SIZES:
        context, page = _open(browser, server, login, size, scheme)
        try:
            assert page.evaluate("document.body.classList.contains('dark')") == (scheme == "dark")
            _audit(page, f"{size}, {scheme}, first page")
            box = page.get_by_role("textbox", name="Your question")
            assert box.count() == 1
            contrast[f"placeholder {size}"] = page.evaluate(CONTRAST_JS, ["#question textarea", "::placeholder"])
            page.locator("#header h1").click()
            page.keyboard.press("/")  # "/" goes to the question box
            assert page.evaluate("document.activeElement === document.querySelector('#question textarea')")
            _ask(page, "When was NAM established?")
            answer = _last_answer(page)
            named = answer.locator("[aria-label^='Answer: ']")
            assert named.count() == 1 and "<" not in named.get_attribute("aria-label")
            assert "1961" in named.get_attribute("aria-label")
            page.wait_for_function(f"{LIVE}.includes('1961')")
            remove = "button.askdoc-remove[aria-label='Remove Azerbaijan Leads Non-Aligned Movement']"
            assert page.locator(remove).count() == 1  # named by its document, not just "Remove"
            _audit(page, f"{size}, {scheme}, after an answer")
            # The confidence explanation opens from the keyboard (and a tap), not only on hover.
            answer.locator(".askdoc-conf summary").focus()
            page.keyboard.press("Enter")
            assert "%" in answer.locator(".askdoc-why").inner_text() and answer.locator(".askdoc-why").is_visible()
            cite = answer.locator("blockquote a.askdoc-cite").first
            if size == "desktop":
                cite.hover()  # a citation previews its sentence before anything opens
                pop = page.locator("#askdoc-popover")
                pop.wait_for(state="visible", timeout=5_000)
                assert "Established in 1961" in pop.inner_text() and "line 9" in pop.inner_text()
                if scheme == "light":
                    _screenshot(page, "desktop-preview.png")
                cite.click()
            else:
                assert _small_targets(page) == []
                cite.tap()  # a tap previews; the popover's button opens the sheet
                page.locator("#askdoc-popover .askdoc-pop-open").tap()
            page.locator("#ev-1-1 mark").wait_for(state="visible", timeout=10_000)
            page.wait_for_function(f"{LIVE}.includes('Source opened')")
            contrast[f"marked answer {size}"] = page.evaluate(CONTRAST_JS, ["#ev-1-1 mark b", ""])
            contrast[f"marked sentence {size}"] = page.evaluate(CONTRAST_JS, ["#ev-1-1 mark", ""])
            _audit(page, f"{size}, {scheme}, Sources open")
            if size == "phone":
                assert _small_targets(page) == []
                # The sheet opens at its heading, and its Close covers neither its title nor its text.
                close = page.locator("#side-close").bounding_box()
                title = page.locator("#side-title").bounding_box()
                assert title["x"] + title["width"] <= close["x"] and title["y"] >= 0
                assert page.evaluate("document.getElementById('side').scrollTop") == 0
                if scheme == "dark":
                    _screenshot(page, "phone-dark-sheet.png")
                page.keyboard.press("Escape")  # Esc closes the sheet
                page.locator("#side").wait_for(state="hidden", timeout=5_000)
                if scheme == "light":  # the phone after three questions: the examples fold away
                    _ask(page, "Who is the chairman of NAM?")
                    _ask(page, "What does NAM stand for?")
                    assert page.locator("#examples").is_hidden() and page.locator("#examples-toggle").is_visible()
                    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 2")  # still fits
                    assert page.locator("#chat").bounding_box()["height"] >= 420  # the examples' room is the chat's
                    page.evaluate(SCROLL_CHAT_DOWN)
                    _screenshot(page, "phone-three-questions.png")
            elif scheme == "dark":
                _screenshot(page, "desktop-dark.png")
        finally:
            context.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"contrast-{scheme}.json").write_text(json.dumps(contrast, indent=1))
    assert min(contrast.values()) >= 4.5, contrast


def test_an_empty_index_says_so_and_offers_to_add_one(desktop):
    """Issue 25, item 7. Last in the module: it empties the shared index, then adds the article back."""
    from .conftest import ARTICLE

    while desktop.locator("#doclist button.askdoc-remove").count():
        gone = desktop.locator("#doclist button.askdoc-remove").first.get_attribute("data-doc")
        desktop.locator("#doclist button.askdoc-remove").first.click()
        desktop.wait_for_function(f"!document.querySelector(\"#doclist button[data-doc='{gone}']\")")
    desktop.locator("#header").get_by_text("No documents yet").wait_for(timeout=30_000)
    _ask(desktop, "When was NAM established?")
    reply = _last_answer(desktop)
    assert "There are no documents yet." in reply.inner_text() and "The documents don't say" not in reply.inner_text()
    reply.get_by_role("link", name="Add a document").click()
    desktop.wait_for_function("document.activeElement && document.activeElement.closest('#upload')")
    desktop.locator("#upload input[type=file]").set_input_files(str(ARTICLE))
    desktop.locator("#header").get_by_text("1 document:").wait_for(timeout=60_000)
    _ask(desktop, "When was NAM established?")
    assert "1961" in _last_answer(desktop).inner_text()
