"""Store: Chroma collections for documents, chunks and sentences.

One index is three collections sharing a prefix:

- ``<prefix>-docs``: one row per document, its full text and its fingerprint
  (a 1-d placeholder vector, since Chroma rows need one);
- ``<prefix>-chunks``: chunk vectors for dense retrieval, text for BM25;
- ``<prefix>-sentences``: sentence vectors, fetched by id to score answers.

Every write of a document goes to a new *generation*: its chunk and sentence
rows are added first, then the document row is switched to the new
generation, then older generations are deleted. Readers only trust rows of
the generation their document row names, so a write killed half-way leaves
the previous version answering, and its orphans are swept by the next write.

Embeddings are always passed in: Chroma's default embedding function would
download a model.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from .errors import ConfigError, StoreError, StoreUnavailable
from .records import Chunk, Document, Span


@dataclass(frozen=True)
class StoredDocument:
    """A document as the store knows it."""

    document: Document
    fingerprint: str
    chunks: int
    sentences: int
    gen: str = ""


#: Rows per get() when reading a whole collection.
PAGE = 5_000
#: Sentence rows kept in memory after a fetch (about 1.6 kB each).
SENTENCE_CACHE = 50_000

#: A chunk row as stored: id, text, metadata.
StoredChunk = tuple[str, str, dict]
#: Key of the stamp writers leave in the documents collection's metadata (see `Store.read_stamp`).
STAMP_KEY = "askdoc-stamp"

#: Per folder, how many Chroma clients this process has opened on it. Chroma shares
#: one client per folder within a process, so the pid and this count name the client
#: that wrote a change (see `client_origin`).
_opened: dict[str, int] = {}
_opened_lock = threading.Lock()


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


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"bad Chroma URL {url!r}: expected http://HOST:PORT")
    ssl = parsed.scheme == "https"
    return parsed.hostname, parsed.port or (443 if ssl else 8000), ssl


def open_client(index_dir: Path, chroma_url: str = "", timeout: float = 5.0):
    """An embedded PersistentClient under ``index_dir``, or an HttpClient for ``chroma_url``."""
    with _chroma_errors(chroma_url):
        import chromadb

        if chroma_url:
            host, port, ssl = parse_chroma_url(chroma_url)
            # Fail fast with a clear message instead of waiting on a dead port.
            try:
                socket.create_connection((host, port), timeout=timeout).close()
            except OSError as exc:
                raise StoreUnavailable(f"Chroma server at {chroma_url} is unreachable: {exc}") from None
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_settings())
        from chromadb.api.client import SharedSystemClient

        index_dir.mkdir(parents=True, exist_ok=True)
        # One spelling of the folder, so that "idx" and "/abs/idx" share Chroma's client.
        key = _folder_key(index_dir)
        with _opened_lock:
            if key not in SharedSystemClient._identifier_to_system:
                _opened[key] = _opened.get(key, 0) + 1
            return chromadb.PersistentClient(path=key, settings=_settings())


def _folder_key(index_dir: Path) -> str:
    return str(Path(index_dir).resolve())


def client_origin(index_dir: Path) -> str:
    """Names the client that this process shares for ``index_dir`` now: ``<pid>.<n>``."""
    return f"{os.getpid()}.{_opened.get(_folder_key(index_dir), 0)}"


def forget_client(index_dir: Path) -> None:
    """Drop Chroma's in-process cache for a folder, so that reopening it starts clean
    (after a damaged store, the cached one stays broken)."""
    from chromadb.api.client import SharedSystemClient

    for key in {str(index_dir), str(Path(index_dir).resolve())}:
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)


@contextmanager
def _chroma_errors(url: str) -> Iterator[None]:
    """Turn Chroma's and the network's exceptions into askdoc's."""
    try:
        yield
    except (StoreError, ConfigError):
        raise
    except (ConnectionError, TimeoutError, OSError) as exc:
        where = f"Chroma server at {url}" if url else "the index"
        raise StoreUnavailable(f"{where} failed: {exc}") from None
    except Exception as exc:  # chromadb raises many unrelated types
        name = type(exc).__name__
        if url and ("Connect" in name or "Timeout" in name or "Transport" in name):
            raise StoreUnavailable(f"Chroma server at {url} is unreachable: {exc}") from None
        raise StoreError(f"vector store error ({name}): {exc}") from None


class Store:
    """The three collections of one index."""

    def __init__(self, client, prefix: str = "askdoc", url: str = ""):
        self.url = url
        self._client = client
        with _chroma_errors(url):
            self.docs = client.get_or_create_collection(f"{prefix}-docs", embedding_function=None)
            self.chunks = client.get_or_create_collection(
                f"{prefix}-chunks", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
            self.sentences = client.get_or_create_collection(
                f"{prefix}-sentences", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
            self._max_batch = client.get_max_batch_size()
        self._cache: dict[str, tuple[Span, np.ndarray]] = {}
        self._cache_lock = threading.Lock()

    @staticmethod
    def exists(client, prefix: str = "askdoc") -> bool:
        """Whether the client holds all three collections of the index ``prefix``."""
        with _chroma_errors(""):
            names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        return {f"{prefix}-docs", f"{prefix}-chunks", f"{prefix}-sentences"} <= names

    def errors(self):
        return _chroma_errors(self.url)

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
        for i in range(0, len(doc_ids), PAGE):
            with self.errors():
                got = self.docs.get(ids=list(doc_ids[i : i + PAGE]), include=["documents", "metadatas"])
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

    def ids_by_source(self, sources: Sequence[str]) -> dict[str, str]:
        """The doc_id stored for each of ``sources`` that has one (the first, should two share it)."""
        with self.errors():
            got = self.docs.get(where={"source": {"$in": list(sources)}}, include=["metadatas"])
        out: dict[str, str] = {}
        for doc_id, meta in sorted(zip(got["ids"], got["metadatas"])):
            out.setdefault(meta["source"], doc_id)
        return out

    def list_documents(self) -> list[StoredDocument]:
        docs = {
            i: _stored(i, t, m)
            for got in self._pages(self.docs, ["documents", "metadatas"])
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return sorted(docs.values(), key=lambda d: d.document.doc_id)

    def put_documents(self, rows: Sequence[DocumentRows]) -> tuple[str, list[StoredChunk]]:
        """Replace everything stored for each document with the given rows, atomically for readers.

        All documents share one new generation, so a bulk write costs one
        write per collection, not one per document. Returns the generation
        and the chunk rows written (for the lexical index).
        """
        gen = uuid.uuid4().hex[:12]
        ids = [r.doc.doc_id for r in rows]
        with self.errors():
            old = self.docs.get(ids=ids, include=["metadatas"])
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
            self._add(
                self.chunks,
                ids=chunk_ids,
                embeddings=np.concatenate([r.chunk_vecs for r in rows]),
                documents=chunk_texts,
                metadatas=chunk_metas,
            )
            self._add(
                self.sentences,
                ids=[sentence_key(r.doc.doc_id, gen, n) for r in rows for n in range(len(r.sentences))],
                embeddings=np.concatenate([r.sentence_vecs for r in rows]),
                documents=None,
                metadatas=[
                    {"doc_id": r.doc.doc_id, "start": s.start, "end": s.end, "chunk": c, "gen": gen}
                    for r in rows
                    for s, c in r.sentences
                ],
            )
            # The switch: from here on readers use the new generation.
            self.docs.upsert(
                ids=ids,
                embeddings=[[1.0]] * len(rows),
                documents=[r.doc.text for r in rows],
                metadatas=[
                    {
                        "title": r.doc.title,
                        "source": r.doc.source or "",
                        "author": r.doc.author,
                        "body_start": r.doc.body_start,
                        "body_end": r.doc.body_end,
                        "fingerprint": r.fingerprint,
                        "chunks": len(r.chunks),
                        "sentences": len(r.sentences),
                        "gen": gen,
                    }
                    for r in rows
                ],
            )
            # Older generations, and the orphans of a write killed before its switch.
            stale = {"$and": [_doc_filter(ids), {"gen": {"$ne": gen}}]}
            self.chunks.delete(where=stale)
            self.sentences.delete(where=stale)
        return gen, list(zip(chunk_ids, chunk_texts, chunk_metas))

    def delete_document(self, doc_id: str) -> None:
        with self.errors():
            self.docs.delete(ids=[doc_id])  # first, so readers stop at once
            self.chunks.delete(where={"doc_id": doc_id})
            self.sentences.delete(where={"doc_id": doc_id})

    def _add(self, collection, ids, embeddings, documents, metadatas) -> None:
        step = max(1, self._max_batch)
        for i in range(0, len(ids), step):
            collection.add(
                ids=ids[i : i + step],
                embeddings=embeddings[i : i + step],
                documents=documents[i : i + step] if documents is not None else None,
                metadatas=metadatas[i : i + step],
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

    def _pages(self, collection, include: list[str], where: dict | None = None) -> Iterator[dict]:
        """A whole collection, `PAGE` rows at a time: one get() of 10^5 rows overflows
        SQLite's limit on query variables."""
        offset = 0
        while True:
            with self.errors():
                got = collection.get(where=where, include=include, limit=PAGE, offset=offset)
            yield got
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def query_chunks(self, vec: np.ndarray, n: int, doc_ids: Sequence[str] | None = None) -> list[str]:
        """Ids of the chunks nearest to ``vec``, best first."""
        # Chroma returns what it has when asked for more (an empty list when empty),
        # so no count() first: that round trip cost as much as the query.
        with self.errors():
            got = self.chunks.query(
                query_embeddings=[vec.tolist()], n_results=n, where=_doc_filter(doc_ids), include=[]
            )
        return got["ids"][0]

    def query_sentences(self, vec: np.ndarray, n: int, doc_ids: Sequence[str] | None = None) -> list[str]:
        """Ids of the sentences nearest to ``vec``, best first (see `parse_sentence_key`).

        Ids only: fetching each hit's metadata cost more than the search itself.
        """
        with self.errors():
            got = self.sentences.query(
                query_embeddings=[vec.tolist()], n_results=n, where=_doc_filter(doc_ids), include=[]
            )
        return got["ids"][0]

    def get_sentences(self, ids: Sequence[str]) -> dict[str, tuple[Span, np.ndarray]]:
        """Sentence spans and vectors by id; the ids not stored are left out.

        Rows never change under an id (a new version is a new generation), so
        the last `SENTENCE_CACHE` rows fetched are kept: the sentences of the
        documents being asked about come back question after question.
        """
        with self._cache_lock:
            out = {i: self._cache[i] for i in ids if i in self._cache}
        missing = [i for i in ids if i not in out]
        if missing:
            with self.errors():
                got = self.sentences.get(ids=missing, include=["metadatas", "embeddings"])
            fetched = {
                i: (Span(m["start"], m["end"]), np.asarray(e, dtype=np.float32))
                for i, m, e in zip(got["ids"], got["metadatas"], got["embeddings"])
            }
            out.update(fetched)
            with self._cache_lock:
                self._cache.update(fetched)
                while len(self._cache) > SENTENCE_CACHE:
                    self._cache.pop(next(iter(self._cache)))
        return out


def chunk_key(doc_id: str, gen: str, index: int) -> str:
    return f"{doc_id}::{gen}::{index}"


def sentence_key(doc_id: str, gen: str, n: int) -> str:
    return f"{doc_id}::{gen}::s{n}"


def parse_sentence_key(key: str) -> tuple[str, str, int]:
    """(doc_id, generation, sentence number) of a `sentence_key`."""
    doc_id, gen, number = key.rsplit("::", 2)
    return doc_id, gen, int(number[1:])


def _doc_filter(doc_ids: Sequence[str] | None) -> dict | None:
    if not doc_ids:
        return None
    if len(doc_ids) == 1:
        return {"doc_id": doc_ids[0]}
    return {"doc_id": {"$in": list(doc_ids)}}


def _stored(doc_id: str, text: str, meta: dict) -> StoredDocument:
    doc = Document(
        doc_id=doc_id,
        text=text,
        title=meta.get("title", doc_id),
        source=meta.get("source") or None,
        author=meta.get("author", ""),
        body_start=int(meta.get("body_start", 0)),
        body_end=int(meta.get("body_end", len(text))),
    )
    return StoredDocument(
        doc, meta.get("fingerprint", ""), int(meta.get("chunks", 0)), int(meta.get("sentences", 0)), meta.get("gen", "")
    )
