"""Sentence rows: the spans and unit vectors of the sentences each chunk holds first,
packed into one Chroma metadata row per chunk (spans as text, vectors as float16
bytes in base64), so that no index of every sentence is needed (see `store`)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .records import Span


@dataclass(frozen=True)
class SentenceRow:
    """The sentences a chunk holds first: numbers ``first``, ``first + 1``, ...,
    with their spans (an ``(n, 2)`` array) and unit vectors."""

    first: int
    spans: np.ndarray
    vecs: np.ndarray

    def get(self, number: int) -> tuple[Span, np.ndarray] | None:
        k = number - self.first
        if not 0 <= k < len(self.spans):
            return None
        return Span(int(self.spans[k, 0]), int(self.spans[k, 1])), self.vecs[k]


def pack_sentences(
    doc_id: str, gen: str, sentences: Sequence[tuple[Span, int]], vecs: np.ndarray
) -> list[tuple[int, dict]]:
    """(chunk index, metadata) of a document's sentence rows: one per chunk, holding the
    sentences that chunk holds first (sentences are numbered in order, so each
    chunk's are consecutive)."""
    by_chunk: dict[int, list[int]] = {}
    for n, (_, c) in enumerate(sentences):
        by_chunk.setdefault(c, []).append(n)
    out = []
    for c, numbers in by_chunk.items():
        spans = np.array([(sentences[n][0].start, sentences[n][0].end) for n in numbers], dtype=np.int64)
        vectors = base64.b64encode(vecs[numbers].astype("<f2").tobytes()).decode("ascii")
        meta = {"doc_id": doc_id, "gen": gen, "first": numbers[0], "spans": ",".join(map(str, spans.ravel().tolist())),
                "vectors": vectors}  # fmt: skip
        out.append((c, meta))
    return out


def unpack_sentences(meta: dict) -> SentenceRow:
    """The `SentenceRow` that `pack_sentences` packed into ``meta``."""
    spans = np.array([int(x) for x in meta["spans"].split(",")], dtype=np.int64).reshape(-1, 2)
    vecs = np.frombuffer(base64.b64decode(meta["vectors"]), dtype="<f2").astype(np.float32)
    return SentenceRow(int(meta["first"]), spans, vecs.reshape(len(spans), -1))
