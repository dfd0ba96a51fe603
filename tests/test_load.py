"""Concurrent users on loopback: no errors, the same answers as one user gets, an upload mid-load."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

# Enough to overlap every stage of an answer (checked: answers interleave), few enough for
# two cores; the bench measures throughput and latency at larger counts.
CLIENTS = 16
PER_CLIENT = 5
QUESTIONS = [
    "Where was the summit held?",
    "What does NAM stand for?",
    "Who is the chairman of NAM?",
    "When was NAM established?",
    "How many member states does NAM have?",
    "Who wrote the article?",
    "What is the capital of France?",
    "Why did Baku establish the NAM Parliamentary Network?",
    "What did President Aliyev oppose?",
    "When was the NAM Youth Organization established?",
]


def _ask(client, question: str, n: int, errors: list[str], lock: threading.Lock) -> dict | None:
    """One question through the API; a failure is recorded as a finding (None returned)."""
    try:
        return client.predict(question, api_name="/answer")
    except Exception as exc:  # any failure is a finding
        with lock:
            errors.append(f"client {n}: {type(exc).__name__}: {exc}")
        return None


def _key(answer: dict) -> tuple:
    # Scores may move a little once the upload joins the corpus; what is quoted may not.
    return answer["found"], answer["text"], [(c["doc_id"], c["start"], c["end"]) for c in answer["citations"]]


@pytest.fixture()
def app(chat_server):
    return chat_server


def test_16_clients_times_5_questions(app, tmp_path):
    from gradio_client import Client, handle_file

    single = Client(app["url"], verbose=False)
    expected = {q: single.predict(q, api_name="/answer") for q in QUESTIONS}
    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 300  # the test stops by itself

    def user(n: int) -> None:
        client = Client(app["url"], verbose=False)
        for i in range(PER_CLIENT):
            if time.monotonic() > deadline:
                with lock:
                    errors.append(f"client {n}: out of time")
                return
            q = QUESTIONS[(n + i) % len(QUESTIONS)]
            started = time.perf_counter()
            got = _ask(client, q, n, errors, lock)
            if got is None:
                continue
            with lock:
                latencies.append(time.perf_counter() - started)
                want = expected[q]
                if _key(got) != _key(want):
                    errors.append(f"client {n}: {q!r} answered differently under load")

    doc = tmp_path / "ferry.md"
    doc.write_text("# Ferry Notes\n\nThe night ferry to Elin leaves at 23:40 from pier four.\n", encoding="utf-8")
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(user, n) for n in range(CLIENTS)]
        time.sleep(1.0)
        status, _ = single.predict(handle_file(str(doc)), api_name="/upload")  # an upload during the load
        for f in futures:
            f.result(timeout=320)
    assert "Indexed" in status
    assert errors == []
    assert len(latencies) == CLIENTS * PER_CLIENT
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"\nload: {len(latencies)} answers, p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    after = single.predict("When does the night ferry to Elin leave?", api_name="/answer")
    assert "23:40" in after["text"]


TIDE = {
    "A": "Tide Tables\n\nHigh tide at Marrow Point comes at 06:15 on weekdays.\n",
    "B": "Tide Tables\n\nHigh tide at Marrow Point comes at 07:45 on weekdays, after the new breakwater.\n",
}
WRITER = """
import os, sys, time
from askdoc import Index
idx = Index(sys.argv[1])
cycles = 0
while not os.path.exists(sys.argv[4]) and cycles < 60:  # until the clients are done (bounded)
    for version in ("A", "B"):
        idx.add_text(sys.argv[2 if version == "A" else 3], doc_id="tide", title="Tide Tables")
        time.sleep(0.3)
    idx.remove("tide")
    time.sleep(0.3)
    cycles += 1
print(f"writer done: {cycles} cycles")
"""


def test_clients_see_only_committed_states_while_a_writer_works(app, tmp_path):
    """16 clients ask 5 questions each while another process re-indexes and removes a
    document throughout: every answer comes from a committed state (old text, new text, or gone)."""
    import os
    import subprocess
    import sys

    from gradio_client import Client

    from .conftest import ROOT

    single = Client(app["url"], verbose=False)
    article_q = QUESTIONS[:5]
    expected = {q: _key(single.predict(q, api_name="/answer")) for q in article_q}
    index_dir = app["index_dir"]
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(index_dir), TIDE["A"], TIDE["B"], str(stop)],
        cwd=ROOT, env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    errors: list[str] = []
    answered: list[int] = []
    seen: set[str] = set()
    lock = threading.Lock()
    deadline = time.monotonic() + 240

    def user(n: int) -> None:
        client = Client(app["url"], verbose=False)
        for i in range(1, PER_CLIENT + 1):
            if time.monotonic() > deadline:
                with lock:
                    errors.append(f"client {n}: out of time")
                return
            q = "When is high tide at Marrow Point?" if i % 2 else article_q[(n + i) % len(article_q)]
            got = _ask(client, q, n, errors, lock)
            if got is None:
                continue
            with lock:
                answered.append(n)
                if got.get("error"):
                    errors.append(f"client {n}: {got['error']}")
                elif q in expected and _key(got) != expected[q]:
                    errors.append(f"client {n}: {q!r} answered differently while the writer worked")
                elif q not in expected and got["found"] and "Marrow" in got["text"]:
                    state = next((v for v, t in TIDE.items() if got["text"] in t), None)
                    if state is None:
                        errors.append(f"client {n}: a quote from no committed version: {got['text']!r}")
                    seen.add(state or "?")

    # The writer is at work before the first question: its document has been seen once.
    ready = time.monotonic() + 120
    while not single.predict("When is high tide at Marrow Point?", api_name="/answer")["found"]:
        assert time.monotonic() < ready and writer.poll() is None, "the writer's document never appeared"
        time.sleep(0.2)
    with ThreadPoolExecutor(CLIENTS) as pool:
        for f in [pool.submit(user, n) for n in range(CLIENTS)]:
            f.result(timeout=260)
    writing = writer.poll() is None  # still at work when the last answer came
    stop.touch()
    out, err = writer.communicate(timeout=240)
    assert writer.returncode == 0 and "writer done" in out, err
    assert writing and errors == []
    assert len(answered) == CLIENTS * PER_CLIENT
    assert seen, "no client ever saw the writer's document"
    print(f"\nwriter load: {len(answered)} answers, 0 errors, versions seen {sorted(seen)}, {out.strip()}")
