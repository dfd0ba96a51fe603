"""The retriever's chunk rows: each chunk's id, text key, document and offsets, in columns.

At 10^5 chunks, one metadata dict per chunk took about 70 MB and most of the time
a new process spent opening the lexical snapshot (parsing 10^5 JSON records, then
walking them). As columns they are a few MB of arrays, saved in the snapshot as
one integer matrix and loaded without a Python loop over the rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence

import numpy as np

from .store import chunk_key

#: The integer columns, in the snapshot matrix's order: the document and section are
#: codes into `ChunkRows.names` and `ChunkRows.sections`.
COLUMNS = ("doc", "index", "start", "end", "first_sentence", "n_sentences", "section")
_DOC, _INDEX, _START, _END, _FIRST, _COUNT, _SECTION = range(len(COLUMNS))


class ChunkRows:
    """Rows in the order added; a dropped document's rows stay in place (as the lexical
    index's do) but leave every lookup: `row`, `doc_rows`, `role_rows`, `canonical`."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.keys = array("q")  # each row's `lexical.text_key`: copies of one text share it
        self._cols = [array("i") for _ in COLUMNS]
        self.names: list[str] = []  # document code -> doc_id
        self._code: dict[str, int] = {}
        self.sections: list[str] = []
        self._section: dict[str, int] = {}
        self.roles: dict[int, str] = {}  # row -> its roles ("title", "byline"), for the few that have any
        self.row: dict[str, int] = {}  # a live chunk's id -> its row
        self.doc_rows: dict[str, list[int]] = {}
        self.role_rows: dict[str, dict[str, list[int]]] = {}  # role -> doc_id -> rows
        # Copies of one text (a file indexed twice) stand as one chunk, so they cannot fill every rank.
        self.canonical: dict[int, int] = {}  # text key -> the live row standing for all its copies

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, chunk_id: str, key: int, meta: Mapping) -> None:
        """Append a chunk from its store metadata."""
        row, doc_id = len(self.ids), meta["doc_id"]
        values = (
            _code(doc_id, self.names, self._code), meta["index"], meta["start"], meta["end"],
            meta["first_sentence"], meta["n_sentences"], _code(meta.get("section") or "", self.sections, self._section),
        )  # fmt: skip
        for col, value in zip(self._cols, values):
            col.append(int(value))
        self.ids.append(chunk_id)
        self.keys.append(key)
        self.row[chunk_id] = row
        self.doc_rows.setdefault(doc_id, []).append(row)
        self.canonical.setdefault(key, row)
        if roles := str(meta.get("roles") or ""):
            self.roles[row] = roles
            for role in roles.split():
                self.role_rows.setdefault(role, {}).setdefault(doc_id, []).append(row)

    def drop(self, doc_id: str) -> list[int]:
        """Take a document's rows out of every lookup; returns them."""
        rows = self.doc_rows.pop(doc_id, [])
        for row in rows:
            del self.row[self.ids[row]]
            if self.canonical.get(self.keys[row]) == row:
                del self.canonical[self.keys[row]]
            self.roles.pop(row, None)
        for by_doc in self.role_rows.values():
            by_doc.pop(doc_id, None)
        return rows

    # -- one row -----------------------------------------------------------
    def doc_id(self, row: int) -> str:
        return self.names[self._cols[_DOC][row]]

    def index(self, row: int) -> int:
        return self._cols[_INDEX][row]

    def offsets(self, row: int) -> tuple[int, int]:
        return self._cols[_START][row], self._cols[_END][row]

    def sentence_range(self, row: int) -> range:
        """The document's sentence numbers that begin in this chunk."""
        first = self._cols[_FIRST][row]
        return range(first, first + self._cols[_COUNT][row])

    def section(self, row: int) -> str:
        return self.sections[self._cols[_SECTION][row]]

    # -- as arrays (the snapshot, renumbering) -------------------------------
    def export(self, rows: Sequence[int]) -> tuple[dict, np.ndarray, np.ndarray]:
        """``rows`` as `load` takes them, numbered 0.. in that order: a JSON-able header,
        the column matrix and the text keys."""
        at = np.asarray(rows, dtype=np.int64)
        matrix = np.stack([np.frombuffer(col, dtype=np.int32)[at] for col in self._cols], axis=1)
        keys = np.frombuffer(self.keys, dtype=np.int64)[at]
        renumbered = {new: self.roles[old] for new, old in enumerate(at.tolist()) if old in self.roles}
        return {"names": self.names, "sections": self.sections, "roles": renumbered}, matrix, keys

    @classmethod
    def load(
        cls, head: dict, matrix: np.ndarray, keys: np.ndarray, gens: Mapping[str, str], keep: np.ndarray | None = None
    ) -> ChunkRows:
        """Rows from `export`'s arrays, each document at its generation in ``gens``; with
        ``keep`` (a mask over the rows), only those rows, renumbered in order."""
        if keep is not None and not keep.all():
            position = np.cumsum(keep) - 1
            roles = {str(position[int(r)]): v for r, v in head["roles"].items() if keep[int(r)]}
            head, matrix, keys = {**head, "roles": roles}, matrix[keep], keys[keep]
        out = cls()
        matrix = np.ascontiguousarray(matrix, dtype=np.int32)
        out.names, out.sections = list(head["names"]), list(head["sections"])
        out._code = {name: i for i, name in enumerate(out.names)}
        out._section = {name: i for i, name in enumerate(out.sections)}
        for j, col in enumerate(out._cols):
            col.frombytes(np.ascontiguousarray(matrix[:, j]).tobytes())
        out.keys.frombytes(np.ascontiguousarray(keys, dtype=np.int64).tobytes())
        docs, n = matrix[:, _DOC], len(matrix)
        doc_ids = [(name, gens.get(name, "")) for name in out.names]
        out.ids = [chunk_key(*doc_ids[d], i) for d, i in zip(docs.tolist(), matrix[:, _INDEX].tolist())]
        out.row = dict(zip(out.ids, range(n)))
        order = np.argsort(docs, kind="stable")
        bounds = np.cumsum(np.bincount(docs, minlength=len(out.names)))
        for code, rows in enumerate(np.split(order, bounds[:-1])):
            if len(rows):
                out.doc_rows[out.names[code]] = rows.tolist()
        key_list = out.keys.tolist()
        out.canonical = dict(zip(reversed(key_list), range(n - 1, -1, -1)))  # the first row of each text wins
        for row, roles in head["roles"].items():
            row = int(row)  # JSON keys are strings
            out.roles[row] = roles
            for role in roles.split():
                out.role_rows.setdefault(role, {}).setdefault(out.doc_id(row), []).append(row)
        return out


def _code(value: str, values: list[str], codes: dict[str, int]) -> int:
    got = codes.get(value)
    if got is None:
        got = codes[value] = len(values)
        values.append(value)
    return got
