"""Lexical search: terms, and a BM25 index that grows, shrinks and is saved to disk.

Rows come from two places. Rows loaded from a saved snapshot live in numpy
arrays (by row and by term), so a 10^5-chunk index opens without tokenizing a
word; rows added since live in Python dicts. Both score alike. A snapshot is a
cache, never the truth: `Retriever` checks every document's generation in it
against the store before using any of its rows.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

#: Bump when `terms` or the snapshot layout changes: older snapshots are then ignored.
SNAPSHOT_VERSION = 5

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
_STEMS: dict[str, str] = {}


def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'members'/'member', 'hosted'/'hosts'."""
    got = _STEMS.get(word)
    if got is not None:
        return got
    got = word
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            got = word[: len(word) - len(suffix)] + keep
            break
    if len(_STEMS) < 500_000:  # a vocabulary, not a leak: words repeat
        _STEMS[word] = got
    return got


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@lru_cache(maxsize=1 << 16)
def text_terms(text: str) -> tuple[str, ...]:
    """`terms` of a document's sentence, remembered: the same sentences come back
    question after question."""
    return tuple(terms(text))


class Lexical:
    """BM25 over rows that can be appended and dropped (Lucene's variant, as bm25s scores it).

    A dropped row stays in place but scores nothing; `Retriever` renumbers the
    live rows once half are dead (`export` then `from_arrays`, no re-tokenizing).
    """

    K1, B = 1.5, 0.75

    def __init__(self) -> None:
        self.df: dict[str, int] = {}  # live rows holding each term
        self.n = 0  # live rows
        self._total = 0  # live rows' summed lengths
        self._length: list[int] = []
        self._lengths: np.ndarray | None = None
        self._alive = np.zeros(0, dtype=bool)
        # Loaded rows 0.._base-1: term ids and counts by row (CSR) and rows and counts by term (CSC).
        self._base = 0
        self._words: list[str] = []
        self._vocab: dict[str, int] = {}
        self._row_ptr = np.zeros(1, np.int64)
        self._row_terms = np.zeros(0, np.int32)
        self._row_tf = np.zeros(0, np.float32)
        self._term_ptr = np.zeros(1, np.int64)
        self._term_rows = np.zeros(0, np.int64)
        self._term_tf = np.zeros(0, np.float32)
        # Rows added since: postings per term, and each row's counts (None once dropped).
        self._post: dict[str, list[tuple[int, int]]] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # postings as arrays, built lazily
        self._terms: list[dict[str, int] | None] = []

    @classmethod
    def from_arrays(
        cls, words: Sequence[str], row_ptr: np.ndarray, term_ids: np.ndarray, counts: np.ndarray,
        keep: np.ndarray | None = None, by_term: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Lexical:  # fmt: skip
        """Rows given by term id and count (CSR: row i's entries are ``row_ptr[i]:row_ptr[i+1]``);
        with ``keep`` (a mask over the rows), only those rows, renumbered in order. ``by_term``,
        the same entries sorted by term (as `by_term` gives them), saves that sort."""
        sizes = np.diff(row_ptr)
        if keep is not None and keep.all():
            keep = None  # the usual case, a snapshot wholly current: no copies (5 passes over 10^7 entries)
        if keep is not None:
            entries = np.repeat(keep, sizes)
            term_ids, counts, sizes = term_ids[entries], counts[entries], sizes[keep]
            row_ptr = np.concatenate([[0], np.cumsum(sizes)])
            if by_term is not None:
                rows, tfs = by_term
                alive = keep[rows]
                by_term = (np.cumsum(keep) - 1)[rows[alive]], tfs[alive]
        rows, tfs = by_term if by_term is not None else cls.by_term(row_ptr, term_ids, counts)
        lex = cls()
        n = len(sizes)
        per_term = np.bincount(term_ids, minlength=len(words))
        lengths = np.bincount(np.repeat(np.arange(n), sizes), weights=counts, minlength=n).astype(np.int64)
        lex._words, lex._vocab = list(words), {w: i for i, w in enumerate(words)}
        lex._row_ptr, lex._row_terms = row_ptr.astype(np.int64, copy=False), term_ids
        lex._row_tf = counts.astype(np.float32, copy=False)
        lex._term_ptr = np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64)
        lex._term_rows, lex._term_tf = rows.astype(np.int32, copy=False), tfs.astype(np.float32, copy=False)
        lex.df = {w: int(c) for w, c in zip(words, per_term.tolist()) if c}
        lex._base = lex.n = n
        lex._length = lengths.tolist()
        lex._total = int(lengths.sum())
        lex._alive = np.ones(n, dtype=bool)
        return lex

    @staticmethod
    def by_term(row_ptr: np.ndarray, term_ids: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The CSR entries sorted by term (rows ascending within a term): ``(rows, counts)``."""
        order = np.argsort(term_ids, kind="stable")
        return np.repeat(np.arange(len(row_ptr) - 1, dtype=np.int32), np.diff(row_ptr))[order], counts[order]

    def export(self, rows: Sequence[int]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """``rows`` (ascending) as `from_arrays` takes them, numbered 0.. in that order.
        Loaded rows go as arrays; only rows added since are walked in Python."""
        rows = np.asarray(rows, dtype=np.int64)
        base, tail = rows[rows < self._base], rows[rows >= self._base]
        keep = np.zeros(self._base, dtype=bool)
        keep[base] = True
        entries = np.repeat(keep, np.diff(self._row_ptr))
        words, vocab = list(self._words), dict(self._vocab)
        sizes, ids, tfs = [np.diff(self._row_ptr)[base]], [self._row_terms[entries]], [self._row_tf[entries]]
        for row in tail.tolist():
            counts = self._terms[row - self._base] or {}
            for word in counts:
                if word not in vocab:
                    vocab[word] = len(words)
                    words.append(word)
            sizes.append(np.asarray([len(counts)]))
            ids.append(np.fromiter((vocab[w] for w in counts), np.int32, len(counts)))
            tfs.append(np.fromiter(counts.values(), np.float32, len(counts)))
        ptr = np.concatenate([[0], np.cumsum(np.concatenate(sizes))]).astype(np.int64)
        return words, ptr, np.concatenate(ids).astype(np.int32), np.concatenate(tfs).astype(np.int32)

    @property
    def rows(self) -> int:
        return self._base + len(self._terms)

    def add(self, texts: Sequence[str]) -> None:
        """Append rows, numbered on from the last one."""
        for text in texts:
            counts: dict[str, int] = {}
            for t in terms(text):
                counts[t] = counts.get(t, 0) + 1
            row = self.rows
            for t, c in counts.items():
                self._post.setdefault(t, []).append((row, c))
                self.df[t] = self.df.get(t, 0) + 1
                self._arrays.pop(t, None)
            self._terms.append(counts)
            length = sum(counts.values())
            self._length.append(length)
            self.n += 1
            self._total += length
        self._alive = np.concatenate([self._alive, np.ones(len(texts), dtype=bool)])

    def _row_words(self, row: int) -> list[str]:
        if row < self._base:
            a, b = self._row_ptr[row], self._row_ptr[row + 1]
            return [self._words[t] for t in self._row_terms[a:b].tolist()]
        return list(self._terms[row - self._base] or ())

    def drop(self, rows: Sequence[int]) -> None:
        for row in rows:
            if not self._alive[row]:
                continue
            for t in self._row_words(row):
                self.df[t] -= 1
                if not self.df[t]:
                    del self.df[t]
            if row >= self._base:
                self._terms[row - self._base] = None
            self._alive[row] = False
            self.n -= 1
            self._total -= self._length[row]

    def dead(self) -> int:
        return self.rows - self.n

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; unseen terms score highest (answer features)."""
        return math.log(1.0 + (max(1, self.n) + 1) / (self.df.get(term, 0) + 0.5))

    def _postings(self, term: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(rows, counts) of ``term``: from the loaded arrays and from the rows added since."""
        out = []
        tid = self._vocab.get(term)
        if tid is not None:
            a, b = self._term_ptr[tid], self._term_ptr[tid + 1]
            out.append((self._term_rows[a:b], self._term_tf[a:b]))
        if term in self._post:
            if term not in self._arrays:
                pairs = np.asarray(self._post[term], dtype=np.int64)
                self._arrays[term] = (pairs[:, 0], pairs[:, 1].astype(np.float32))
            out.append(self._arrays[term])
        return out

    def scores(self, query: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every row (dead ones 0); with ``rows``, only those rows can score."""
        out = np.zeros(self.rows, dtype=np.float32)
        if not self.n:
            return out
        avgdl = self._total / self.n
        if self._lengths is None or len(self._lengths) != len(self._length):
            self._lengths = np.asarray(self._length, dtype=np.float32)
        lengths = self._lengths
        for t in set(query):
            df = self.df.get(t)
            if not df:
                continue
            idf = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
            for where, tf in self._postings(t):
                norm = tf + self.K1 * (1 - self.B + self.B * lengths[where] / avgdl)
                out[where] += idf * tf / norm  # a term lists each row once, so no np.add.at
        if self.n < self.rows:  # some rows were dropped
            out *= self._alive
        if rows is not None:
            keep = np.zeros_like(out)
            keep[rows] = 1.0
            out *= keep
        return out


def text_key(text: str) -> int:
    """A text's 64-bit digest, the same in every process (unlike `hash`), to tell copies apart."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def write_snapshot(
    path: Path, header: dict, lexical: Lexical, rows: Sequence[int], matrix: np.ndarray, keys: np.ndarray
) -> None:
    """Save ``rows`` of ``lexical`` with a JSON ``header``, the rows' integer ``matrix`` (see
    `chunkrows`) and their text keys, atomically (a reader sees the old or the new file)."""
    words, ptr, ids, tfs = lexical.export(rows)
    term_rows, term_counts = Lexical.by_term(ptr, ids, tfs)  # the loader's sort, done here
    head = json.dumps({**header, "version": SNAPSHOT_VERSION, "words": words}).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, header=np.frombuffer(head, dtype=np.uint8), row_ptr=ptr, term_ids=ids, counts=tfs,
                     term_rows=term_rows, term_counts=term_counts, rows=matrix.astype(np.int32),
                     keys=keys.astype(np.int64))  # fmt: skip
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind


def read_snapshot(path: Path) -> tuple[dict, dict[str, np.ndarray]] | None:
    """A snapshot's header and its `from_arrays` arrays plus ``rows`` and ``keys`` (each row's
    columns and `text_key`), or None when missing, unreadable or of another version."""
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(z["header"].tobytes())
            if header.get("version") != SNAPSHOT_VERSION:
                return None
            arrays = {k: z[k] for k in ("row_ptr", "term_ids", "counts", "rows", "keys")}
            return header, {**arrays, "by_term": (z["term_rows"], z["term_counts"])}
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None
