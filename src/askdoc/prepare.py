"""Prepare: a document's chunks, sentences and their vectors, ready for the store.

Everything indexing computes before it touches the store, so it runs (and is
benchmarked: ``eval/gpu_check.py``) where there is no store at all. Every
sentence is embedded once; a chunk's vector is pooled from its sentences' (see
`embed`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .chunk import CHUNKER_VERSION, chunk_document
from .config import Settings
from .embed import Embedder
from .ingest import sentence_role
from .records import Chunk, Document, Span

Split = tuple[list[Chunk], list[str], list[tuple[Span, int]]]
#: Changes when the way chunks and sentences become vectors changes (part of the fingerprint).
EMBEDDING_VERSION = "pooled1"


@dataclass(frozen=True)
class DocumentRows:
    """What one document adds to the store: its chunks and sentences with their vectors.

    ``roles`` names the title/byline sentences each chunk holds; each
    sentence comes with the index of the first chunk that holds it.
    """

    doc: Document
    fingerprint: str
    chunks: Sequence[Chunk]
    roles: Sequence[str]
    chunk_vecs: np.ndarray
    sentences: Sequence[tuple[Span, int]]
    sentence_vecs: np.ndarray


def fingerprint(doc: Document, settings: Settings, embedder: Embedder) -> str:
    """Identifies the document text, the model and the chunker settings: a stored document
    with another fingerprint is indexed again."""
    h = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()[:16]
    return (
        f"{h}|{embedder.identity}|{EMBEDDING_VERSION}|chunker{CHUNKER_VERSION}|"
        f"{settings.chunk_tokens}/{settings.chunk_overlap}|{doc.title}|{doc.body_start}-{doc.body_end}"
    )


def split(doc: Document, settings: Settings, embedder: Embedder) -> Split:
    """Chunks, the title/byline roles each chunk holds, and the sentences (numbered in
    order) with the first chunk holding each."""
    chunks = chunk_document(doc, settings.chunk_tokens, settings.chunk_overlap, embedder.max_tokens,
                            embedder.count_tokens)  # fmt: skip
    sentences: dict[int, tuple[Span, int]] = {}
    roles: list[str] = []
    for c in chunks:
        for k, span in enumerate(c.sentences):
            sentences.setdefault(c.first_sentence + k, (span, c.index))
        found = {
            sentence_role(doc.text[sp.start : sp.end], c.first_sentence + k, doc.title)
            for k, sp in enumerate(c.sentences)
        }
        roles.append(" ".join(sorted(found - {"body"})))
    return chunks, roles, [sentences[n] for n in range(len(sentences))]


def document_rows(
    docs: Sequence[tuple[Document, str]],
    settings: Settings,
    embedder: Embedder,
    progress: Callable[[int, int], None] | None = None,
) -> list[DocumentRows]:
    """Chunks, sentences and their vectors for each (document, fingerprint)."""
    if not docs:
        return []
    parts = [(doc, fp, *split(doc, settings, embedder)) for doc, fp in docs]
    texts = [doc.text[s.start : s.end] for doc, _, _, _, sentences in parts for s, _ in sentences]
    vecs, sums = embedder.encode_pooled(texts, progress)
    rows, at = [], 0
    for doc, fp, chunks, roles, sentences in parts:
        own = slice(at, at + len(sentences))
        at += len(sentences)
        chunk_vecs = np.array(
            [sums[own][c.first_sentence : c.first_sentence + len(c.sentences)].sum(0) for c in chunks],
            dtype=np.float32,
        ).reshape(len(chunks), sums.shape[1])
        chunk_vecs /= np.linalg.norm(chunk_vecs, axis=1, keepdims=True)
        rows.append(DocumentRows(doc, fp, chunks, roles, chunk_vecs, sentences, vecs[own]))
    return rows
