"""The chat server's memory stays bounded however big (within the body cap) and however many
the questions: Gradio keeps each session's state, so nothing over-long may reach it."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

REQUESTS = 500
# Each body just under the server's cap (ASKDOC_MAX_UPLOAD_BYTES plus 1 MB): 1.5 MB here,
# not the default 11 MB, so that 500 of them take well under a minute on two cores. Before
# the fix each one stayed in memory whole, in its session's state: 500 of these added about
# 1.5 GB, where the bound below is 200 MB.
QUESTION_CHARS = 1_400_000


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def _post(url: str, body: dict, timeout: float = 60) -> bytes:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def test_500_oversized_questions_leave_memory_where_it_was(chat_server):
    url = chat_server["url"]
    config = json.loads(urllib.request.urlopen(f"{url}/config", timeout=30).read())
    pose = next(d for d in config["dependencies"] if d.get("api_name") == "pose")  # what Ask runs first
    # Models loaded and one answer given: the server as it serves.
    event = json.loads(_post(f"{url}/gradio_api/call/answer", {"data": ["When was NAM established?", 0, "", None]}))
    with urllib.request.urlopen(f"{url}/gradio_api/call/answer/{event['event_id']}", timeout=120) as resp:
        assert b"1961" in resp.read()
    start = _rss_mb(chat_server["pid"])
    question = "a" * QUESTION_CHARS
    one_session = uuid.uuid4().hex[:11]

    def ask(n: int) -> bytes:
        if n % 10 == 9:  # the /answer API, as programs call it
            event = json.loads(_post(f"{url}/gradio_api/call/answer", {"data": [question, 0, "", None]}))
            with urllib.request.urlopen(f"{url}/gradio_api/call/answer/{event['event_id']}", timeout=60) as resp:
                return resp.read()
        # The chat's Ask: a new session each time (each one kept by the server), and some in one session.
        session = one_session if n % 10 == 8 else uuid.uuid4().hex[:11]
        # (question, chat, the cleared chat "Undo clear" would bring back (a State, sent as null),
        # the scope, k, the browser's turns)
        data = [question, [], None, "", 5, []]
        body = {"data": data, "fn_index": pose["id"], "trigger_id": pose["targets"][0][0]}
        return _post(f"{url}/gradio_api/run/predict", {**body, "session_hash": session, "event_data": None})

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(ask, range(REQUESTS)))
    took = time.monotonic() - started
    end = _rss_mb(chat_server["pid"])
    size = QUESTION_CHARS / 1e6
    print(f"\nmemory: {REQUESTS} requests of {size:.1f} MB in {took:.0f} s: RSS {start:.0f} -> {end:.0f} MB")
    assert end - start < 200, (start, end)  # measured: 860 -> 977 MB (before the fix: 860 -> 2,047 MB)
    assert all(b"too long" in r for r in replies)  # each one refused, in the chat and by the API


def test_a_session_keeps_the_passages_of_its_latest_answers_only(article_index, monkeypatch):
    from askdoc import chatapp

    monkeypatch.setattr(chatapp, "MAX_EVIDENCE", 2)
    app = chatapp.ChatApp(article_index)
    history, evidence = [], []
    for q in ("When was NAM established?", "Who is the chairman of NAM?", "Where was the summit held?") * 2:
        history, sources, evidence = app.ask(q, history, "", 5, False, evidence)
    assert len(evidence) == 6 and evidence[:4] == ["", "", "", ""] and all(evidence[4:])
    assert "ev-6-1" in sources and "ev-1-1" not in sources  # numbering goes on; old passages are gone
    # An over-long question never reaches the session's state: refused before it is kept.
    kept, refused = app.screen("x" * 3000)
    assert kept == "" and "too long" in refused["content"]
    assert app.screen("  When  was NAM\u200b established? ") == ("When was NAM established?", None)
    assert len(app.pose("y" * 50_000, [])[-1]["content"]) < 2100  # the bubble is cut too


def test_answers_begun_early_are_bounded():
    """`EarlyAnswers` (the chat begins an answer as its question shows): at most `workers` run at
    once, beyond that nothing is begun, and only the `keep` latest wait to be picked up."""
    import threading

    from askdoc.chatapp import EarlyAnswers

    gate = threading.Event()
    early = EarlyAnswers(workers=2, keep=3)
    for n in range(3):
        early.begin(("s", n), lambda n=n: gate.wait(10) and n)
    assert early.take(("s", 2)) is None  # both workers busy: not begun (its queued step answers it)
    gate.set()
    assert early.take(("s", 0)).result(timeout=10) == 0 and early.take(("s", 0)) is None  # picked up once
    early.take(("s", 1)).result(timeout=10)
    for n in range(5):
        early.begin(("t", n), lambda n=n: n)
        time.sleep(0.05)  # each done before the next (a free worker)
    assert early.take(("t", 0)) is None and early.take(("t", 1)) is None  # dropped: only the 3 latest kept
    assert [early.take(("t", n)).result(timeout=10) for n in (2, 3, 4)] == [2, 3, 4]
