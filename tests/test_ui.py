"""The browser chat in real headless Chromium (Playwright), and its API through gradio_client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from .conftest import ROOT, start_app

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


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


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(server["url"])
    yield page
    context.close()


def _ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def test_answer_with_quote_citation_and_highlight(page, server):
    _ask(page, "Where was the summit held?")
    chat = page.locator("#chat")
    chat.get_by_text("Baku City").first.wait_for(timeout=60_000)
    first_answer_s = time.monotonic() - server["started"]
    assert chat.get_by_text("[1]").first.is_visible()
    assert chat.get_by_text("Azerbaijan Leads Non-Aligned Movement — line").first.is_visible()
    assert chat.get_by_text("confidence").first.is_visible()
    # Opening the citation shows the passage with the answering sentence highlighted.
    mark = page.locator("#sources mark").first
    assert not mark.is_visible()
    page.locator("#sources summary").first.click()
    mark.wait_for(state="visible", timeout=10_000)
    assert "summit-level meeting" in mark.inner_text() and "Baku City" in mark.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-answered.png"), full_page=True)
    (ARTIFACTS / "ui-timing.json").write_text(json.dumps({"launch_to_first_answer_s": round(first_answer_s, 2)}))


def test_not_in_document_says_so(page):
    _ask(page, "What is the capital of France?")
    page.locator("#chat").get_by_text("The documents don't say.").wait_for(timeout=60_000)
    assert page.locator("#chat").get_by_text("Closest passages").first.is_visible()
    assert page.locator("#sources details").count() >= 1


def test_history_stays_and_clear_starts_over(page):
    _ask(page, "When was NAM established?")
    page.locator("#chat").get_by_text("Established in 1961").first.wait_for(timeout=60_000)
    _ask(page, "Who is the chairman of NAM?")
    page.locator("#chat").get_by_text("Ilham Aliyev").first.wait_for(timeout=60_000)
    assert page.locator("#chat").get_by_text("When was NAM established?").first.is_visible()
    page.locator("#clear").click()
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('1961')", timeout=10_000)


def test_question_markup_is_shown_as_text(page):
    attack = "<img src=x onerror=alert(1)>"
    _ask(page, attack)
    page.locator("#chat").get_by_text(attack).first.wait_for(timeout=60_000)
    assert page.locator("#chat img[src='x']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_upload_a_document_and_ask_about_it(page, tmp_path):
    doc = tmp_path / "Harbour Report.md"
    doc.write_text(
        "# Harbour Report\n\nThe new harbour of Port Elin opened in May 2019.\n\n"
        "It can berth twelve container ships.\n",
        encoding="utf-8",
    )
    page.get_by_text("Documents", exact=True).click()
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    page.locator("#upload-status").get_by_text("Indexed").wait_for(timeout=60_000)
    assert "harbour-report" in page.locator("#upload-status").inner_text()
    _ask(page, "How many container ships can the harbour of Port Elin berth?")
    page.locator("#chat").get_by_text("twelve container ships").first.wait_for(timeout=60_000)
    assert page.locator("#chat").get_by_text("Harbour Report — line").first.is_visible()


def test_oversized_upload_is_refused(page, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Filler sentence for size. " * 12_000, encoding="utf-8")  # ~312 kB > 200 kB limit
    page.get_by_text("Documents", exact=True).click()
    page.locator("#upload input[type=file]").set_input_files(str(big))
    page.get_by_text("exceed the maximum allowed size").first.wait_for(timeout=30_000)
    # Nothing was lost: the indexed article still answers.
    _ask(page, "When was NAM established?")
    page.locator("#chat").get_by_text("Established in 1961").first.wait_for(timeout=60_000)


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
