"""Retrieve: hybrid search, dense (Chroma) fused with BM25 (bm25s) by reciprocal rank.

The BM25 index is built once from the stored chunks and rebuilt only when the
collection changes, never per question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from .records import Passage
from .store import Store

#: Reciprocal-rank-fusion constant (Cormack et al.'s 60).
DEFAULT_RRF_K = 60
#: How many candidates each retriever contributes before fusion, per wanted passage.
CANDIDATES_PER_PASSAGE = 4

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t don also""".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'members'/'member', 'hosted'/'hosts'."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: len(word) - len(suffix)] + keep
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


class Idf:
    """Smoothed inverse document frequency over chunks; unseen terms score highest."""

    def __init__(self, df: dict[str, int], n: int):
        self.df = df
        self.n = n

    def __call__(self, term: str) -> float:
        return math.log(1.0 + (self.n + 1) / (self.df.get(term, 0) + 0.5))


class Retriever:
    """BM25 over every current chunk, plus dense search in the store, fused.

    ``gens`` maps each document to its current generation (see `store`): rows
    of any other generation are leftovers of an interrupted write and ignored.
    """

    def __init__(self, store: Store, gens: dict[str, str]):
        import bm25s

        self.store = store
        self.gens = gens
        rows = [r for r in zip(*store.all_chunks()) if self.current(r[2])]
        self.ids, texts, self.metas = (list(col) for col in zip(*rows)) if rows else ([], [], [])
        self._row = {cid: i for i, cid in enumerate(self.ids)}
        self._texts = texts
        corpus = [terms(t) for t in texts]
        self.bm25 = bm25s.BM25()
        if corpus:
            self.bm25.index(corpus, show_progress=False)
        n = max(1, len(corpus))
        df: dict[str, int] = {}
        for toks in corpus:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        self.idf = Idf(df, n)
        # Chunks holding a title or a byline, for questions that ask for one.
        self._role_rows: dict[str, list[int]] = {}
        for row, m in enumerate(self.metas):
            for role in str(m.get("roles", "")).split():
                self._role_rows.setdefault(role, []).append(row)

    def current(self, meta: dict) -> bool:
        return self.gens.get(meta["doc_id"]) == meta.get("gen", "")

    def meta(self, chunk_id: str) -> dict | None:
        """A current chunk's metadata (None for another generation's or an unknown id)."""
        row = self._row.get(chunk_id)
        return None if row is None else self.metas[row]

    def oov(self, question: str) -> float:
        """The idf-weighted share of the question's terms found in no chunk at all."""
        q = set(terms(question))
        total = sum(self.idf(t) for t in q)
        return sum(self.idf(t) for t in q if t not in self.idf.df) / total if total else 1.0

    def bm25_ranking(self, question: str, n: int, doc_ids: Sequence[str] | None = None) -> list[int]:
        q = [t for t in terms(question) if t in self.idf.df]
        if not q or not self.ids:
            return []
        mask = None
        if doc_ids:
            wanted = set(doc_ids)
            mask = np.array([m["doc_id"] in wanted for m in self.metas], dtype=np.float32)
        scores = self.bm25.get_scores(q, weight_mask=mask) if mask is not None else self.bm25.get_scores(q)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return [int(i) for i in top[np.argsort(-scores[top], kind="stable")] if scores[i] > 0]

    def search(
        self,
        question: str,
        qvec: np.ndarray,
        k: int,
        titles: dict[str, tuple[str, str | None]],
        doc_ids: Sequence[str] | None = None,
        role: str = "",
    ) -> list[Passage]:
        """Top ``k`` chunks by RRF of three rankings: chunk vectors, sentence vectors and BM25.

        Sentence vectors find a chunk through one precise sentence that the
        chunk's averaged vector dilutes. With ``role`` ("title" or "byline"),
        the chunks holding one come first.
        """
        n = max(k * CANDIDATES_PER_PASSAGE, 20)
        # Only chunks of each document's current generation count (see `store`).
        rankings = [
            [cid for cid in self.store.query_chunks(qvec, n, doc_ids) if cid in self._row],
            [cid for cid in self.store.query_sentences(qvec, n * 2, doc_ids) if cid in self._row][:n],
            [self.ids[row] for row in self.bm25_ranking(question, n, doc_ids)],
        ]
        fused: dict[str, float] = {}
        for ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (DEFAULT_RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
        if role:
            wanted = set(doc_ids or ())
            firsts = [
                self.ids[r] for r in self._role_rows.get(role, []) if not wanted or self.metas[r]["doc_id"] in wanted
            ]
            top = 1.0 + max(fused.values(), default=0.0)
            best = [(cid, top) for cid in firsts] + [kv for kv in best if kv[0] not in set(firsts)]
        best = best[:k]
        # Scale so that a chunk ranked first by all three rankings scores 1.
        scale = len(rankings) / (DEFAULT_RRF_K + 1)
        passages = []
        for cid, score in best:
            text, meta = self._texts[self._row[cid]], self.metas[self._row[cid]]
            title, source = titles.get(meta["doc_id"], (meta["doc_id"], None))
            passages.append(
                Passage(
                    doc_id=meta["doc_id"],
                    title=title,
                    source=source,
                    start=int(meta["start"]),
                    end=int(meta["end"]),
                    text=text,
                    score=round(min(1.0, score / scale), 6),
                    section=meta.get("section", ""),
                    chunk_id=cid,
                )
            )
        return passages
