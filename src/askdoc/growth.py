"""Indexing cost as a collection grows: documents added one by one and in one batch.

A user adds paragraph-sized documents with `Index.add_text` in a loop, or many at once
with `Index.add_documents`. `measure` times both on real text with the real model:
the per-document cost of the 10th and of the Nth ``add_text`` (their ratio says whether
the cost grows with the collection), documents/s and chunks/s each way, the share of
the time spent embedding, and a batch set beside embedding its chunks alone.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: Documents around each measured point whose median is taken (costs vary per document).
WINDOW = 20


class TimedEmbedder:
    """An embedder that adds up the seconds spent embedding."""

    def __init__(self, inner):
        self.inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def encode_pooled(self, texts, progress=None):
        started = time.perf_counter()
        try:
            return self.inner.encode_pooled(texts, progress)
        finally:
            self.seconds += time.perf_counter() - started


def paragraphs(texts: Sequence[str], n: int) -> list[str]:
    """``n`` paragraph-sized texts from ``texts`` (split at blank lines), numbered once the
    paragraphs run out, so that every document is new text to embed."""
    pool = [p.strip() for t in texts for p in t.split("\n\n") if len(p.split()) >= 20]
    if not pool:
        raise ValueError("no paragraph of 20 words or more in the corpus")
    return [pool[i % len(pool)] + ("" if i < len(pool) else f" (copy {i // len(pool)})") for i in range(n)]


def _window(p: int, n: int) -> tuple[int, int]:
    """The positions (0-based, end excluded) of the documents, of ``n``, whose median is the
    ``p``th's cost: ``WINDOW`` of them around it, or the last ones."""
    start = max(0, min(p - 1 - WINDOW // 2, n - WINDOW))
    return start, min(n, start + WINDOW)


def measure(
    folder: Path, texts: Sequence[str], one_by_one: int = 1000, batch: int = 2000,
    say: Callable[[str], None] = print,
) -> dict:  # fmt: skip
    """One by one up to ``one_by_one`` documents, then a fresh index given ``batch`` at once."""
    from .index import Index
    from .ingest import make_document

    docs = paragraphs(texts, max(one_by_one, batch))
    out: dict = {"one_by_one": {}, "batch": {}}
    points = sorted({min(10, one_by_one), min(1000, one_by_one), one_by_one})
    # Embedding dominates a document's cost and grows with its length, so each later
    # window repeats the first window's texts (marked, so they are new to the store):
    # the ratio then compares one collection size with another, not one text with another.
    first = _window(points[0], one_by_one)
    for p in points[1:]:
        for i, j in zip(range(*_window(p, one_by_one)), range(*first), strict=False):
            docs[i] = f"{docs[j]} (again at {p})"
    if one_by_one:
        idx = Index(folder / "one", name="growth")
        idx.embedder = timed = TimedEmbedder(idx.embedder)
        idx.add_text("Warm-up: the model and the store load here.", doc_id="warm")
        idx.remove("warm")
        timed.seconds, costs, chunks = 0.0, [], 0
        started = time.perf_counter()
        for n, text in enumerate(docs[:one_by_one], 1):
            t = time.perf_counter()
            chunks += idx.add_text(text, doc_id=f"p{n}").chunks
            costs.append(time.perf_counter() - t)
            if n % 100 == 0:
                say(f"growth: {n} of {one_by_one} documents one by one")
        took = time.perf_counter() - started
        at = {p: statistics.median(costs[slice(*_window(p, one_by_one))]) for p in points}
        out["one_by_one"] = {
            "documents": one_by_one,
            "ms_per_document": {str(p): round(v * 1000, 1) for p, v in at.items()},
            "last_vs_10th": round(at[points[-1]] / at[points[0]], 3),
            "documents_per_s": round(one_by_one / took, 2),
            "chunks_per_s": round(chunks / took, 2),
            "embedding_share": round(timed.seconds / took, 3),
        }
    if batch:
        idx = Index(folder / "batch", name="growth")
        idx.embedder = timed = TimedEmbedder(idx.embedder)
        made = [make_document(t, doc_id=f"b{n}") for n, t in enumerate(docs[:batch])]
        idx.add_text("Warm-up.", doc_id="warm")
        timed.seconds = 0.0
        say(f"growth: {batch} documents in one batch")
        started = time.perf_counter()
        results = idx.add_documents(made, given_ids=True)
        took = time.perf_counter() - started
        chunks = sum(r.chunks for r in results)
        out["batch"] = {
            "documents": batch,
            "documents_per_s": round(batch / took, 2),
            "chunks_per_s": round(chunks / took, 2),
            "embedding_share": round(timed.seconds / took, 3),
            "vs_embedding_alone": round(took / max(timed.seconds, 1e-9), 3),
        }
    return out
