"""Retrieve: hybrid search, dense (Chroma) fused with BM25 by reciprocal rank, and
with the candidates of both ranked by their best sentence's vector.

The BM25 index (`Lexical`) is loaded once per process from its snapshot beside
the store, topped up from the store with the documents the snapshot lacks, and
then kept up to date as documents come and go, never rebuilt per question or
per added document: adding one document to 10^5 chunks costs that document's
terms. (bm25s, used before, can only index a corpus whole.)
"""

from __future__ import annotations

import atexit
import bisect
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .chunkrows import ChunkRows
from .lexical import Lexical, read_snapshot, terms, text_key, write_snapshot
from .records import Passage, Span
from .store import Store, StoredChunk, chunk_key

#: What the retriever reads documents through (`Index._views`): each one's (title, source), and its text.
Views = tuple[Mapping[str, tuple[str, "str | None"]], Mapping[str, str]]
#: Reciprocal-rank-fusion constant (Cormack et al.'s 60).
DEFAULT_RRF_K = 60
#: How many candidates each retriever contributes before fusion, per wanted passage.
CANDIDATES_PER_PASSAGE = 4
#: The sentence ranking re-ranks this many times more of the other two rankings' candidates
#: (at 10^5 chunks, article questions: 1x hit@1 0.753 / R@5 0.849, 2x 0.794 / 0.904,
#: 4x 0.808 / 0.918, for 60.7, 60.6 and 62.9 ms a warm answer).
SENTENCE_POOL = 4
#: With copies of one text crowding a ranking, it asks for up to this many times more.
MAX_WIDEN = 4

#: A process that fetched at least this many rows from the store (and a quarter of all)
#: saves the lexical snapshot, so that the next process need not.
SNAPSHOT_MIN_ROWS = 1000
#: Dropped rows stay in place until there are this many (and more than live ones): then
#: the live rows are renumbered.
RENUMBER_MIN_DEAD = 1000
#: Retrievers holding rows their snapshot lacks: a process saves them as it exits, so that
#: a bulk `askdoc index` leaves a snapshot that the next process opens whole.
_UNSAVED: weakref.WeakSet[Retriever] = weakref.WeakSet()


@atexit.register
def _save_unsaved() -> None:
    for retriever in list(_UNSAVED):
        retriever.save()


class Retriever:
    """BM25 over every current chunk, plus dense search in the store, fused.

    ``gens`` maps each document to its current generation (see `store`): rows
    of any other generation are leftovers of an interrupted write and ignored.
    Built once per process from the store; `update` keeps it current as this
    process adds and removes documents.
    """

    def __init__(
        self,
        store: Store,
        gens: dict[str, str] | None,
        snapshot: Path | None = None,
        origin: str = "",
    ):
        """``gens``: each document's current generation (None: the snapshot's, or failing
        one, the store's; `catch_up` then brings it current); ``snapshot``: where the
        lexical index is saved (None: not at all); ``origin``: which store."""
        self.store = store
        self._snapshot, self._origin = snapshot, origin
        # Held while the in-memory rows change or are read; Chroma is queried outside it.
        self._guard = threading.Lock()
        self.gens = dict(gens) if gens is not None else {}
        saved = self._load(gens is None) if snapshot else None
        if saved is None:
            if gens is None:
                self.gens = store.document_gens()
            rows = [r for r in store.all_chunks() if self.current(r[2])]
            self._reset()
            self._append(rows)
        else:
            # Only the documents written since the snapshot come from the store.
            missing = [d for d in self.gens if saved.get(d) != self.gens[d]]
            rows = [r for r in store.all_chunks(missing) if self.current(r[2])] if missing else []
            self._append(rows)
        self._unsaved = len(rows)
        self._save_if_due()

    def _load(self, adopt: bool) -> dict[str, str] | None:
        """Rows from the snapshot, where its documents' generations are current (with
        ``adopt``, all of them, at the snapshot's generations); returns the generations
        it held (None when there is no usable snapshot)."""
        got = read_snapshot(self._snapshot)
        if got is None or got[0].get("origin") != self._origin:
            return None
        header, arrays = got
        saved = header["gens"]
        if adopt:
            self.gens = dict(saved)
        gens, names = self.gens, header["rows"]["names"]
        current = np.asarray([n in gens and saved.get(n) == gens[n] for n in names] or [False], dtype=bool)
        matrix, keys = arrays.pop("rows"), arrays.pop("keys")
        keep = current[matrix[:, 0]] if len(matrix) else np.zeros(0, dtype=bool)
        lexical = Lexical.from_arrays(header["words"], **arrays, keep=keep)
        self._reset(lexical, ChunkRows.load(header["rows"], matrix, keys, gens, keep))
        return {d: g for d, g in saved.items() if d in self.rows.doc_rows}

    def catch_up(self, gens: dict[str, str]) -> None:
        """Bring the rows to ``gens``, fetching only the documents whose generation differs."""
        changed = [d for d, g in gens.items() if self.gens.get(d) != g]
        self.update(gens, self.store.all_chunks(changed) if changed else [])

    def _save_if_due(self, force: bool = False) -> None:
        """Save the snapshot once a quarter of the rows (and `SNAPSHOT_MIN_ROWS`) are not in it,
        or, with ``force``, any. It is a cache: a folder that cannot be written goes without."""
        if self._snapshot is None or not self._unsaved:
            return
        _UNSAVED.add(self)  # saved at exit at the latest
        if not force and self._unsaved < max(SNAPSHOT_MIN_ROWS, self.lexical.n // 4):
            return
        live = sorted(self.rows.row.values())
        head, matrix, keys = self.rows.export(live)
        header = {"origin": self._origin, "gens": {d: self.gens[d] for d in self.rows.doc_rows}, "rows": head}
        try:
            write_snapshot(self._snapshot, header, self.lexical, live, matrix, keys)
        except OSError:
            return
        self._unsaved = 0
        _UNSAVED.discard(self)

    def save(self) -> None:
        """Save the snapshot now, if it lacks any row."""
        with self._guard:
            self._save_if_due(force=True)

    def _reset(self, lexical: Lexical | None = None, table: ChunkRows | None = None) -> None:
        """Start over, empty or from ``lexical`` and ``table`` (holding the same rows)."""
        # Each chunk's text is its document's (`Index._views`), from its offsets: the rows
        # keep only its `text_key`, which tells copies of one text apart (10^5 texts were 90 MB).
        self.rows = table if table is not None else ChunkRows()
        # Per document, built when first needed: its chunk rows in order and where each ends
        # (in sentences), to find the first chunk holding a sentence.
        self._chunk_ends: dict[str, tuple[list[int], list[int]]] = {}
        self.lexical = lexical or Lexical()

    def _append(self, rows: Sequence[StoredChunk]) -> None:
        """Add ``rows`` to the lexical index and the table."""
        self.lexical.add([text for _, text, _ in rows])
        for cid, text, meta in rows:
            self.rows.add(cid, text_key(text), meta)

    def update(self, gens: dict[str, str], rows: Sequence[StoredChunk]) -> None:
        """Documents were written (``rows``: their new chunks) or removed (absent from ``gens``)."""
        with self._guard:
            self._update(gens, rows)

    def _update(self, gens: dict[str, str], rows: Sequence[StoredChunk]) -> None:
        gone = [d for d in self.rows.doc_rows if gens.get(d) != self.gens.get(d)]
        self.gens = dict(gens)
        for doc_id in gone:
            self._chunk_ends.pop(doc_id, None)
            self.lexical.drop(self.rows.drop(doc_id))
        fresh = [r for r in rows if self.current(r[2])]
        self._append(fresh)
        self._unsaved += len(fresh)
        if self.lexical.dead() > max(RENUMBER_MIN_DEAD, self.lexical.n):
            # Mostly dead rows: renumber the live ones (rare, so amortised cheap; no re-tokenizing).
            live = sorted(self.rows.row.values())
            words, ptr, ids, counts = self.lexical.export(live)
            table = ChunkRows.load(*self.rows.export(live), self.gens)
            self._reset(Lexical.from_arrays(words, ptr, ids, counts), table)
        self._save_if_due()

    @property
    def idf(self) -> Callable[[str], float]:
        return self.lexical.idf

    def current(self, meta: dict) -> bool:
        return self.gens.get(meta["doc_id"]) == meta.get("gen", "")

    def sentence_range(self, chunk_id: str) -> range:
        """The sentence numbers that begin in a current chunk (none for another
        generation's or an unknown id)."""
        row = self.rows.row.get(chunk_id)
        return range(0) if row is None else self.rows.sentence_range(row)

    def oov(self, question: str) -> float:
        """The idf-weighted share of the question's terms found in no chunk at all."""
        q = set(terms(question))
        idf = self.lexical.idf
        total = sum(idf(t) for t in q)
        return sum(idf(t) for t in q if t not in self.lexical.df) / total if total else 1.0

    def _owner(self, doc_id: str, number: int) -> str | None:
        """The first current chunk holding a document's sentence ``number`` (whose sentence row holds it)."""
        table = self.rows
        if doc_id not in table.doc_rows:
            return None
        if doc_id not in self._chunk_ends:
            rows = sorted(table.doc_rows[doc_id], key=table.index)
            self._chunk_ends[doc_id] = ([table.sentence_range(r).stop for r in rows], rows)
        ends, rows = self._chunk_ends[doc_id]
        at = bisect.bisect_right(ends, number)
        return table.ids[rows[at]] if at < len(rows) and number >= 0 else None

    def sentences(self, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[Span, np.ndarray]]:
        """The span and unit vector of each (doc_id, sentence number) wanted that a current
        document has."""
        with self._guard:
            owners = {w: self._owner(*w) for w in wanted}
        rows = self.store.get_sentences([c for c in owners.values() if c])
        out = {}
        for (doc_id, number), cid in owners.items():
            got = rows[cid].get(number) if cid in rows else None
            if got is not None:
                out[doc_id, number] = got
        return out

    def _distinct(self, cids: Sequence[str], n: int, doc_ids: Sequence[str] | None = None) -> list[str]:
        """The first ``n`` current chunks of ``cids`` with a text not seen before in the list.

        Copies of one text are one candidate, and (unless the search is
        limited to some documents) always the same one, so that every
        ranking votes for the same chunk.
        """
        out: list[str] = []
        seen: set[str] = set()
        for cid in cids:
            row = self.rows.row.get(cid)
            if row is None:
                continue
            key = self.rows.keys[row]
            if key in seen:
                continue
            seen.add(key)
            if not doc_ids:
                cid = self.rows.ids[self.rows.canonical.setdefault(key, row)]
            out.append(cid)
            if len(out) == n:
                break
        return out

    def bm25_ranking(self, question: str, n: int, doc_ids: Sequence[str] | None = None) -> list[int]:
        q = [t for t in terms(question) if t in self.lexical.df]
        if not q or not self.lexical.n:
            return []
        rows = None
        if doc_ids:
            rows = np.asarray([r for d in doc_ids for r in self.rows.doc_rows.get(d, ())], dtype=np.int64)
        scores = self.lexical.scores(q, rows)
        hits = np.flatnonzero(scores)  # usually a small share of the rows
        if len(hits) > n:
            hits = hits[np.argpartition(-scores[hits], n - 1)[:n]]
        return [int(i) for i in hits[np.argsort(-scores[hits], kind="stable")]]

    def search(
        self,
        question: str,
        qvec: np.ndarray,
        k: int,
        views: Views,
        doc_ids: Sequence[str] | None = None,
        role: str = "",
    ) -> list[Passage]:
        """Top ``k`` chunks by RRF of three rankings: chunk vectors, BM25, and each of
        those chunks' best sentence vector.

        A sentence vector finds a chunk through one precise sentence that the
        chunk's averaged vector dilutes. With ``role`` ("title" or "byline"),
        the chunks holding one come first.
        """
        n = max(k * CANDIDATES_PER_PASSAGE, 20)
        wide = n * SENTENCE_POOL
        dense = self._nearest(qvec, wide, doc_ids)
        with self._guard:
            dense = self._distinct(dense, wide, doc_ids)
            lexical = self._distinct(
                [self.rows.ids[r] for r in self.bm25_ranking(question, wide * MAX_WIDEN, doc_ids)], wide, doc_ids
            )
        by_sentence = self._by_sentence(qvec, list(dict.fromkeys(dense + lexical)))[:wide]
        with self._guard:
            return self._fuse([dense[:n], lexical[:n], by_sentence], k, views, doc_ids, role)

    def _nearest(self, qvec: np.ndarray, n: int, doc_ids) -> list[str]:
        """The store's ids for about ``n`` distinct chunks nearest to ``qvec``.

        When copies of one text crowd the hits (fewer than n/2 distinct
        chunks), ask once more for `MAX_WIDEN` times as many, so that other
        chunks still get a rank.
        """
        want = n
        gens: list[str] = []
        if doc_ids:
            with self._guard:
                gens = sorted({self.gens[d] for d in doc_ids if d in self.gens})
            if not gens:
                return []  # removed this instant
        while True:
            got = self.store.query_chunks(qvec, want, doc_ids, gens)
            if len(got) < want or want >= n * MAX_WIDEN:
                return got
            with self._guard:
                distinct = {self.rows.keys[r] for r in map(self.rows.row.get, got) if r is not None}
            if len(distinct) >= n // 2:
                return got
            want *= MAX_WIDEN

    def _by_sentence(self, qvec: np.ndarray, cids: Sequence[str]) -> list[str]:
        """``cids`` ranked by the cosine of their best sentence (the vectors of the few
        candidate chunks' sentences, from the store: no index of all sentences needed)."""
        with self._guard:
            held = {}
            for cid in cids:
                row = self.rows.row.get(cid)
                if row is None:  # removed this instant
                    continue
                held[cid] = [(self.rows.doc_id(row), m) for m in self.rows.sentence_range(row)]
        got = self.sentences({w for ws in held.values() for w in ws})
        best = {cid: max((float(got[w][1] @ qvec) for w in ws if w in got), default=-1.0) for cid, ws in held.items()}
        return sorted(best, key=lambda cid: -best[cid])

    def _fuse(self, rankings: list[list[str]], k, views, doc_ids, role) -> list[Passage]:
        fused: dict[str, float] = {}
        for ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (DEFAULT_RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
        if role:
            # The role chunks of the documents the question found, in the order found;
            # failing those, of the documents that have one.
            by_doc = self.rows.role_rows.get(role, {})
            found = [d for d in dict.fromkeys(self.rows.doc_id(self.rows.row[cid]) for cid, _ in best) if d in by_doc]
            if not found:
                found = [d for d in by_doc if not doc_ids or d in doc_ids][:k]
            firsts = self._distinct([self.rows.ids[r] for d in found for r in by_doc[d]], k, doc_ids)
            top = 1.0 + max(fused.values(), default=0.0)
            skip = set(firsts)
            best = [(cid, top) for cid in firsts] + [kv for kv in best if kv[0] not in skip]
        best = best[:k]
        # Scale so that a chunk ranked first by all three rankings scores 1.
        scale = len(rankings) / (DEFAULT_RRF_K + 1)
        return [p for cid, score in best if (p := self._passage(cid, round(min(1.0, score / scale), 6), views))]

    def leads(self, found: Sequence[Passage], views: Views) -> list[Passage]:
        """The lead chunk (title, byline, first paragraph) of each document in ``found``
        that ``found`` lacks, scored as the weakest passage found."""
        have = {p.chunk_id for p in found}
        floor = min((p.score for p in found), default=0.0)
        with self._guard:
            keys = (chunk_key(d, self.gens.get(d, ""), 0) for d in dict.fromkeys(p.doc_id for p in found))
            return [p for key in keys if key not in have and (p := self._passage(key, floor, views))]

    def chunks(self, chunk_ids: Sequence[str], found: Sequence[Passage], views: Views) -> list[Passage]:
        """The current chunks of ``chunk_ids`` that ``found`` lacks, scored as the weakest
        passage found (an id from before a document changed is no longer current: left out)."""
        have = {p.chunk_id for p in found}
        floor = min((p.score for p in found), default=0.0)
        with self._guard:
            return [
                p for key in dict.fromkeys(chunk_ids) if key not in have and (p := self._passage(key, floor, views))
            ]

    def _passage(self, chunk_id: str, score: float, views: Views) -> Passage | None:
        """A current chunk as a `Passage` with the given score (None for an unknown id, or
        a document the views lack: one removed this instant)."""
        row = self.rows.row.get(chunk_id)
        titles, texts = views
        doc_id = self.rows.doc_id(row) if row is not None else None
        if doc_id not in texts:
            return None
        start, end = self.rows.offsets(row)
        title, source = titles.get(doc_id, (doc_id, None))
        return Passage(
            doc_id=doc_id,
            title=title,
            source=source,
            start=start,
            end=end,
            text=texts[doc_id][start:end],
            score=score,
            section=self.rows.section(row),
            chunk_id=chunk_id,
        )
