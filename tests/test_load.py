"""Concurrent users on loopback: no errors, the same answers as one user gets, an upload mid-load."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import start_app

CLIENTS = 32
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


def _key(answer: dict) -> tuple:
    # Scores may move a little once the upload joins the corpus; what is quoted may not.
    return answer["found"], answer["text"], [(c["doc_id"], c["start"], c["end"]) for c in answer["citations"]]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with start_app(tmp_path_factory.mktemp("load")) as running:
        yield running


def test_32_clients_times_10_questions(app, tmp_path):
    from gradio_client import Client, handle_file

    single = Client(app["url"], verbose=False)
    expected = {q: single.predict(q, api_name="/answer") for q in QUESTIONS}
    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 300  # the test stops by itself

    def user(n: int) -> None:
        client = Client(app["url"], verbose=False)
        for i in range(len(QUESTIONS)):
            if time.monotonic() > deadline:
                with lock:
                    errors.append(f"client {n}: out of time")
                return
            q = QUESTIONS[(n + i) % len(QUESTIONS)]
            started = time.perf_counter()
            try:
                got = client.predict(q, api_name="/answer")
            except Exception as exc:  # any failure is a finding
                with lock:
                    errors.append(f"client {n}: {type(exc).__name__}: {exc}")
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
    assert len(latencies) == CLIENTS * len(QUESTIONS)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"\nload: {len(latencies)} answers, p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    after = single.predict("When does the night ferry to Elin leave?", api_name="/answer")
    assert "23:40" in after["text"]
