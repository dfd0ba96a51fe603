"""Old layout: an index written before sentence rows kept one HNSW row per sentence, in
``<prefix>-sentences``; `convert` moves those vectors into sentence rows (see `store`)
without embedding anything again."""

from __future__ import annotations

import logging

import numpy as np

from .records import Span
from .store import Store, _names, _sentence_rows

log = logging.getLogger("askdoc")


def convert(store: Store) -> bool:
    """Turn an index's per-sentence HNSW rows into sentence rows, document by document,
    then drop them. Writers only; returns whether it changed the store.

    Idempotent (upserts), so a conversion cut short is finished by the next one.
    """
    with store.errors():
        if store._old not in _names(store._client):  # another writer converted it meanwhile
            store._old = ""
        if not store._old:
            return False
        old = store._client.get_collection(store._old, embedding_function=None)
        for doc_id, gen in store.document_gens().items():
            found: dict[int, tuple[tuple[Span, int], np.ndarray]] = {}
            for got in store._pages(old, ["metadatas", "embeddings"], {"$and": [{"doc_id": doc_id}, {"gen": gen}]}):
                for key, m, e in zip(got["ids"], got["metadatas"], got["embeddings"]):
                    found[_old_sentence_number(key)] = ((Span(m["start"], m["end"]), m["chunk"]), np.asarray(e))
            if found and sorted(found) == list(range(len(found))):
                rows = [found[n] for n in range(len(found))]
                ids, metas = _sentence_rows(doc_id, gen, [s for s, _ in rows], np.array([v for _, v in rows]))
                store._add(store.sentences, ids, None, metas, upsert=True)
            elif found:  # rows missing: the old store was damaged, and no quote can be trusted
                log.warning("document %r lacks sentences in the old index layout: it will not be quoted "
                            "until it is indexed again (`askdoc index --rebuild`)", doc_id)  # fmt: skip
        store._client.delete_collection(store._old)
    store._old = ""
    return True


def _old_sentence_number(key: str) -> int:
    """The sentence number in an id of the old layout, ``doc_id::gen::s<number>``."""
    return int(key.rpartition("::s")[2])
