"""Store: Chroma collections for documents, chunks and sentences.

One index is three collections sharing a prefix:

- ``<prefix>-docs``: one row per document, its full text and its fingerprint
  (a 1-d placeholder vector, since Chroma rows need one);
- ``<prefix>-chunks``: chunk vectors for dense retrieval, text for BM25;
- ``<prefix>-sentence-rows``: the spans and vectors of the sentences each chunk
  holds first (one row per chunk, under the chunk's id), fetched to score answers.

Sentence vectors sit in metadata (`sentencerows`), not in an HNSW index: nothing
searches them all (retrieval ranks a candidate chunk by its own sentences), and an
HNSW index of 4 sentences a chunk was half the memory of a 10^5-chunk index. (Not
in the row's document either: Chroma puts documents in a full-text index, which
made writing 12 times slower.) An index written before this had
``<prefix>-sentences``, one HNSW row per sentence; `Store.convert` turns it into
sentence rows.

Every write of a document goes to a new *generation*: its chunk and sentence
rows are added first, then the document row is switched to the new
generation, then older generations are deleted. Readers only trust rows of
the generation their document row names, so a write killed half-way leaves
the previous version answering, and its orphans are swept by the next write.

Embeddings are always passed in: Chroma's default embedding function would
download a model.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .chromaerrors import chroma_errors
from .names import find_aliases
from .records import Alias, Document
from .sentencerows import SentenceRow, pack_sentences, unpack_sentences

if TYPE_CHECKING:
    from .prepare import DocumentRows


@dataclass(frozen=True)
class StoredDocument:
    """A document as the store knows it."""

    document: Document
    fingerprint: str
    chunks: int
    sentences: int
    gen: str = ""


log = logging.getLogger("askdoc")

#: Rows per get() when reading a whole collection.
PAGE = 5_000
#: Documents per get() when reading their texts: a page of 5,000 articles is 170 MB
#: held at once, and the heap keeps the high-water mark.
TEXT_PAGE = 100
#: Sentences kept in memory after a fetch (about 0.8 kB each).
SENTENCE_CACHE = 50_000

#: Chroma's HNSW write settings for every collection. A collection works through the rows
#: written since its vector index was last saved on every later write, and saves every
#: `sync_threshold` rows (1,000 by default), so each write cost more than the one before:
#: Chroma's share of an `add_text` at the 1,000th document was 3x that at the 10th (CPU
#: time). Saved every 50 rows, it stays flat; a 30,000-row bulk write costs 10% more.
HNSW_WRITES = {"batch_size": 50, "sync_threshold": 50}

#: A chunk row as stored: id, text, metadata.
StoredChunk = tuple[str, str, dict]
#: Key of the stamp writers leave in the documents collection's metadata (see `Store.read_stamp`).
STAMP_KEY = "askdoc-stamp"


class Store:
    """The three collections of one index."""

    def __init__(self, client, prefix: str = "askdoc", url: str = "", folder: object = None):
        self.url, self.folder = url, folder
        self._client = client
        with chroma_errors(url, folder):
            hnsw = {"hnsw": dict(HNSW_WRITES)}
            self.docs = client.get_or_create_collection(f"{prefix}-docs", embedding_function=None, configuration=hnsw)
            self.chunks = client.get_or_create_collection(
                f"{prefix}-chunks", embedding_function=None, configuration={"hnsw": {"space": "cosine", **HNSW_WRITES}}
            )
            self.sentences = client.get_or_create_collection(
                f"{prefix}-sentence-rows", embedding_function=None, configuration=hnsw
            )
            for collection in (self.docs, self.chunks, self.sentences):
                _save_often(collection)
            self._max_batch = client.get_max_batch_size()
            self._old = f"{prefix}-sentences" if f"{prefix}-sentences" in _names(client) else ""
        self._cache: dict[str, SentenceRow] = {}
        self._cached = 0  # sentences in the cache
        self._cache_lock = threading.Lock()

    @staticmethod
    def exists(client, prefix: str = "askdoc") -> bool:
        """Whether the client holds the collections of the index ``prefix`` (sentences old or new)."""
        with chroma_errors(""):
            names = _names(client)
        return {f"{prefix}-docs", f"{prefix}-chunks"} <= names and bool(
            {f"{prefix}-sentence-rows", f"{prefix}-sentences"} & names
        )

    @property
    def needs_conversion(self) -> bool:
        """Whether the sentences are still in the layout of before sentence rows (see `convert`)."""
        return bool(self._old)

    def convert(self) -> bool:
        """Turn an index's per-sentence HNSW rows into sentence rows (see `oldlayout`).
        Writers only; returns whether it changed the store."""
        from .oldlayout import convert

        return convert(self)

    def errors(self):
        return chroma_errors(self.url, self.folder)

    # -- documents -----------------------------------------------------------
    def get_document(self, doc_id: str) -> StoredDocument | None:
        with self.errors():
            got = self.docs.get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return _stored(doc_id, got["documents"][0], got["metadatas"][0])

    def get_documents(self, doc_ids: Sequence[str]) -> list[StoredDocument]:
        """The stored ones of ``doc_ids``."""
        out = []
        for part in _parts(doc_ids, TEXT_PAGE):
            with self.errors():
                got = self.docs.get(ids=part, include=["documents", "metadatas"])
            out += [_stored(d, t, m) for d, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
        return out

    def document_gens(self) -> dict[str, str]:
        """Every document's current generation, without its text: what changed since a
        reader last looked costs this, and then only the changed documents."""
        pages = self._pages(self.docs, ["metadatas"])
        return {i: m.get("gen", "") for got in pages for i, m in zip(got["ids"], got["metadatas"])}

    def read_stamp(self) -> str:
        """What the last writer left in the documents collection's metadata (for a
        Chroma server, where there is no shared folder to leave a file in)."""
        with self.errors():
            meta = self._client.get_collection(self.docs.name, embedding_function=None).metadata
        return str((meta or {}).get(STAMP_KEY, ""))

    def write_stamp(self, stamp: str) -> None:
        with self.errors():
            self.docs.modify(metadata={STAMP_KEY: stamp})

    def source_of(self, doc_id: str) -> str | None:
        """The source of the document stored under ``doc_id`` ("" for none), or None when there is none."""
        with self.errors():
            got = self.docs.get(ids=[doc_id], include=["metadatas"])
        return (got["metadatas"][0].get("source") or "") if got["ids"] else None

    def ids_by_source(self, sources: Sequence[str]) -> dict[str, list[str]]:
        """The doc_ids stored from each of ``sources`` that has any (more than one when a file
        was also indexed under an id of the user's choice), in order."""
        with self.errors():
            got = self.docs.get(where={"source": {"$in": list(sources)}}, include=["metadatas"])
        out: dict[str, list[str]] = {}
        for doc_id, meta in sorted(zip(got["ids"], got["metadatas"])):
            out.setdefault(meta["source"], []).append(doc_id)
        return out

    def list_documents(self) -> list[StoredDocument]:
        docs = {
            i: _stored(i, t, m)
            for got in self._pages(self.docs, ["documents", "metadatas"], size=TEXT_PAGE)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return sorted(docs.values(), key=lambda d: d.document.doc_id)

    def put_documents(self, rows: Sequence[DocumentRows], sweep: bool = True) -> tuple[str, list[StoredChunk]]:
        """Replace everything stored for each document with the given rows, atomically for readers.

        All documents share one new generation, so a bulk write costs one
        write per collection, not one per document. Returns the generation
        and the chunk rows written (for the lexical index). Without ``sweep``
        the older generations stay until `sweep` (or `switch_back`).
        """
        gen = uuid.uuid4().hex[:12]
        ids = [r.doc.doc_id for r in rows]
        with self.errors():
            for part in _parts(ids, PAGE):
                old = self.docs.get(ids=part, include=["metadatas"])
                for doc_id, meta in zip(old["ids"], old["metadatas"]):
                    if not meta.get("gen"):
                        self.delete_document(doc_id)  # written before generations existed
            chunk_ids = [chunk_key(r.doc.doc_id, gen, c.index) for r in rows for c in r.chunks]
            chunk_texts = [c.text for r in rows for c in r.chunks]
            chunk_metas = [
                {
                    "doc_id": c.doc_id,
                    "index": c.index,
                    "start": c.start,
                    "end": c.end,
                    "section": c.section,
                    "first_sentence": c.first_sentence,
                    "n_sentences": len(c.sentences),
                    "roles": role,
                    "gen": gen,
                }
                for r in rows
                for c, role in zip(r.chunks, r.roles)
            ]
            self._add(self.chunks, chunk_ids, chunk_texts, chunk_metas, np.concatenate([r.chunk_vecs for r in rows]))
            sentence_rows = [_sentence_rows(r.doc.doc_id, gen, r.sentences, r.sentence_vecs) for r in rows]
            self._add(self.sentences, [i for ids, _ in sentence_rows for i in ids], None,
                      [m for _, metas in sentence_rows for m in metas])  # fmt: skip
            # The switch: from here on readers use the new generation (each document's at once;
            # more documents than the client takes in one write switch a batch at a time).
            metas = [_document_meta(r.doc, r.fingerprint, len(r.chunks), len(r.sentences), gen) for r in rows]
            self._add(self.docs, ids, [r.doc.text for r in rows], metas, upsert=True)
        if sweep:
            self.sweep(ids, gen)
        return gen, list(zip(chunk_ids, chunk_texts, chunk_metas))

    def sweep(self, doc_ids: Sequence[str], gen: str) -> None:
        """Delete the documents' rows of generations older than ``gen``, and the orphans of a
        write killed before its switch."""
        with self.errors():
            for part in _parts(doc_ids, PAGE):  # (a filter of 10^5 ids overflows SQLite's variables)
                stale = {"$and": [_doc_filter(part), {"gen": {"$ne": gen}}]}
                self.chunks.delete(where=stale)
                self.sentences.delete(where=stale)

    def switch_back(self, previous: Sequence[StoredDocument], added: Sequence[str], gen: str) -> None:
        """Undo an unswept `put_documents` of generation ``gen``: the ``previous`` versions
        answer again, the ``added`` documents are gone, and ``gen``'s rows are deleted."""
        with self.errors():
            ids = [p.document.doc_id for p in previous]
            if previous:
                metas = [_document_meta(p.document, p.fingerprint, p.chunks, p.sentences, p.gen) for p in previous]
                self._add(self.docs, ids, [p.document.text for p in previous], metas, upsert=True)
            for part in _parts(added, PAGE):
                self.docs.delete(ids=part)
            for part in _parts([*ids, *added], PAGE):
                self.chunks.delete(where={"$and": [_doc_filter(part), {"gen": gen}]})
                self.sentences.delete(where={"$and": [_doc_filter(part), {"gen": gen}]})

    def delete_document(self, doc_id: str) -> None:
        with self.errors():
            self.docs.delete(ids=[doc_id])  # first, so readers stop at once
            self.chunks.delete(where={"doc_id": doc_id})
            self.sentences.delete(where={"doc_id": doc_id})

    def _add(self, collection, ids, documents, metadatas, embeddings=None, upsert: bool = False) -> None:
        """Add (or upsert) rows in batches the client accepts; rows without ``embeddings``
        get a 1-d placeholder, since Chroma rows need one."""
        step = max(1, self._max_batch)
        write = collection.upsert if upsert else collection.add
        for i in range(0, len(ids), step):
            part = slice(i, i + step)
            write(
                ids=ids[part],
                embeddings=embeddings[part] if embeddings is not None else [[1.0]] * len(ids[part]),
                documents=documents[part] if documents is not None else None,
                metadatas=metadatas[part],
            )

    # -- search --------------------------------------------------------------
    def all_chunks(self, doc_ids: Sequence[str] | None = None) -> list[StoredChunk]:
        """Every chunk's id, text and metadata (for the lexical index); with ``doc_ids``, theirs."""
        if doc_ids is not None and not doc_ids:
            return []
        rows = {}
        for got in self._pages(self.chunks, ["documents", "metadatas"], _doc_filter(doc_ids)):
            rows.update((i, (i, t, m)) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"]))
        return list(rows.values())

    def _pages(self, collection, include: list[str], where: dict | None = None, size: int = PAGE) -> Iterator[dict]:
        """A whole collection, ``size`` rows at a time: one get() of 10^5 rows overflows
        SQLite's limit on query variables."""
        offset = 0
        while True:
            with self.errors():
                got = collection.get(where=where, include=include, limit=size, offset=offset)
            yield got
            if len(got["ids"]) < size:
                return
            offset += size

    def query_chunks(
        self, vec: np.ndarray, n: int, doc_ids: Sequence[str] | None = None, gens: Sequence[str] = ()
    ) -> list[str]:
        """Ids of the chunks nearest to ``vec``, best first; with ``doc_ids``, theirs, of
        the generations ``gens`` (those the caller reads them at).

        A filtered search takes its candidates from the rows (SQLite) and looks each up in
        the vector index, which an embedded client loads when it opens and never updates with
        another process's writes: rows written since, by a writer still at work, are missing
        there, and Chroma fails the whole query ("Error finding id"). The caller's generations
        are ones its client was opened after, so a writer's new rows are never asked for.
        """
        where = _doc_filter(doc_ids)
        if where is not None and gens:
            where = {"$and": [where, {"gen": gens[0]} if len(gens) == 1 else {"gen": {"$in": list(gens)}}]}
        # Chroma returns what it has when asked for more (an empty list when empty),
        # so no count() first: that round trip cost as much as the query.
        with self.errors():
            got = self.chunks.query(query_embeddings=[vec.tolist()], n_results=n, where=where, include=[])
        return got["ids"][0]

    def get_sentences(self, chunk_ids: Sequence[str]) -> dict[str, SentenceRow]:
        """The sentence rows of these chunks (by chunk id); chunks holding no sentence
        first, and ids not stored, are left out.

        Rows never change under an id (a new version is a new generation), so
        the rows holding the last `SENTENCE_CACHE` sentences fetched are kept:
        the sentences of the documents being asked about come back question
        after question.
        """
        with self._cache_lock:
            out = {i: self._cache[i] for i in chunk_ids if i in self._cache}
        missing = list(dict.fromkeys(i for i in chunk_ids if i not in out))
        if missing:
            with self.errors():
                got = self.sentences.get(ids=missing, include=["metadatas"])
            fetched = {i: unpack_sentences(m) for i, m in zip(got["ids"], got["metadatas"])}
            out.update(fetched)
            with self._cache_lock:
                for i, row in fetched.items():
                    if i not in self._cache:
                        self._cache[i] = row
                        self._cached += len(row.spans)
                while self._cached > SENTENCE_CACHE and len(self._cache) > len(fetched):
                    self._cached -= len(self._cache.pop(next(iter(self._cache))).spans)
        return out


def _save_often(collection) -> None:
    """Give a collection made before `HNSW_WRITES` those settings (once: it keeps them)."""
    have = ((collection.configuration_json or {}).get("hnsw") or {}).get("sync_threshold")
    if have is not None and have != HNSW_WRITES["sync_threshold"]:
        collection.modify(configuration={"hnsw": dict(HNSW_WRITES)})


def _names(client) -> set[str]:
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def _sentence_rows(doc_id: str, gen: str, sentences, vecs: np.ndarray) -> tuple[list[str], list[dict]]:
    """Ids and metadata of a document's sentence rows (see `sentencerows`)."""
    rows = pack_sentences(doc_id, gen, sentences, vecs)
    return [chunk_key(doc_id, gen, c) for c, _ in rows], [m for _, m in rows]


def chunk_key(doc_id: str, gen: str, index: int) -> str:
    return f"{doc_id}::{gen}::{index}"


def _parts(items: Sequence, size: int) -> list[list]:
    """``items`` in lists of at most ``size``."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _doc_filter(doc_ids: Sequence[str] | None) -> dict | None:
    if not doc_ids:
        return None
    if len(doc_ids) == 1:
        return {"doc_id": doc_ids[0]}
    return {"doc_id": {"$in": list(doc_ids)}}


def _document_meta(doc: Document, fingerprint: str, chunks: int, sentences: int, gen: str) -> dict:
    return {
        "title": doc.title,
        "source": doc.source or "",
        "author": doc.author,
        "body_start": doc.body_start,
        "body_end": doc.body_end,
        "aliases": json.dumps([[a.short, a.long, a.usual] for a in doc.aliases]),
        "fingerprint": fingerprint,
        "chunks": chunks,
        "sentences": sentences,
        "gen": gen,
    }


def _stored(doc_id: str, text: str, meta: dict) -> StoredDocument:
    start, end = int(meta.get("body_start", 0)), int(meta.get("body_end", len(text)))
    if "aliases" in meta:
        aliases = tuple(Alias(*a) for a in json.loads(meta["aliases"]))
    else:  # stored by an askdoc before names
        aliases = find_aliases(text[start:end])
    doc = Document(
        doc_id=doc_id,
        text=text,
        title=meta.get("title", doc_id),
        source=meta.get("source") or None,
        author=meta.get("author", ""),
        body_start=start,
        body_end=end,
        aliases=aliases,
    )
    return StoredDocument(
        doc, meta.get("fingerprint", ""), int(meta.get("chunks", 0)), int(meta.get("sentences", 0)), meta.get("gen", "")
    )
