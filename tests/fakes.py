"""A stand-in for the embedding model, for tests where what matters is the store, not the ranking."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from askdoc.embed import Embedder

_WORD = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder(Embedder):
    """Each word a fixed random vector (seeded by its CRC), a text the sum of its words':
    no torch, no model, microseconds a sentence. Texts sharing words still come out near."""

    identity = "fake-embedder"
    max_tokens = 256
    dimension = 32

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) for t in texts]

    def encode_pooled(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        sums = np.array([sum((_word(w) for w in _WORD.findall(t.lower())), np.zeros(self.dimension)) for t in texts],
                        dtype=np.float32).reshape(len(texts), self.dimension)  # fmt: skip
        vecs = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
        if progress is not None:
            progress(len(texts), len(texts))
        return vecs, sums


def _word(word: str) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(word.encode("utf-8"))).standard_normal(FakeEmbedder.dimension)


def use_fake_embedder() -> None:
    """Every `Index` made after this (in this process) embeds with `FakeEmbedder`."""
    import askdoc.index

    askdoc.index.Embedder = FakeEmbedder
