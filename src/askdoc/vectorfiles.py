"""Vector files: whether the HNSW files of an embedded Chroma store hold together.

Chroma persists a collection's vector index once it passes its sync threshold (see
`store.HNSW_WRITES`): ``header.bin``, ``data_level0.bin``, ``length.bin``, ``link_lists.bin`` and the id
map ``index_metadata.pickle``, in a folder per segment. Below that nothing is persisted
and the vectors are rebuilt from Chroma's log. A deleted file or a corrupt id map makes
Chroma fail every query with an internal error; a *truncated* data file is worse, since
hnswlib reads past its end and the process can die of a segmentation fault. So the sizes
are checked against the header before Chroma loads anything: a few small reads.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

#: hnswlib's header as Chroma writes it: a format version, then offsetLevel0, max_elements,
#: cur_element_count, size_data_per_element, label_offset, offsetData, maxlevel, enterpoint_node,
#: maxM, maxM0, M, mult, ef_construction.
_HEADER = struct.Struct("<i6QiI3QdQ")
_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")
#: A writer persisting the files meanwhile can show sizes that do not match: look again every
#: `_PAUSE` seconds, for `_PATIENCE` seconds, or `_WRITING` when a file changed in the last
#: `_RECENT` seconds (a 10^5-chunk index writes ~170 MB of them).
_PAUSE, _PATIENCE, _WRITING, _RECENT = 0.2, 0.4, 5.0, 10.0


def damage(folder: Path) -> str | None:
    """What is wrong with the persisted vector files under ``folder`` (None: nothing)."""
    found = _look(folder)
    if found is None:
        return None
    recent = max((p.stat().st_mtime for p in folder.glob("*/*") if p.is_file()), default=0.0)
    deadline = time.monotonic() + (_WRITING if time.time() - recent < _RECENT else _PATIENCE)
    while found is not None and time.monotonic() < deadline:
        time.sleep(_PAUSE)
        found = _look(folder)
    return found


def _look(folder: Path) -> str | None:
    for pickle in sorted(folder.glob("*/index_metadata.pickle")):
        seg = pickle.parent
        missing = [f for f in _FILES if not (seg / f).is_file()]
        if missing:
            return f"{seg.name}/{missing[0]} is missing"
        head = (seg / "header.bin").read_bytes()
        if len(head) < _HEADER.size:
            return f"{seg.name}/header.bin is cut short"
        fields = _HEADER.unpack_from(head)
        count, size = fields[3], fields[4]
        # Chroma may write a file at its capacity (more than the rows in it): only a file
        # shorter than the rows its header counts is cut short.
        for name, want in (("data_level0.bin", count * size), ("length.bin", 4 * count)):
            if (seg / name).stat().st_size < want:
                return (f"{seg.name}/{name} is {(seg / name).stat().st_size:,} bytes, less than the {want:,} "
                        "its header says")  # fmt: skip
    return None
