"""askdoc: answers questions about documents by quoting them, with citations.

    >>> import askdoc
    >>> ans = askdoc.answer("When was NAM established?")
    >>> ans.found, ans.text, ans.citations[0].start

Heavy libraries (torch, chromadb) load on first use, not on import.
"""

from __future__ import annotations

import os

# Torch's OpenMP threads spin between operations by default. Beside other busy processes (a
# second test worker, an indexing job, the chat server's own requests) each operation then
# waits for a spinning thread to get a core back: one question's embedding took 0.8 s instead
# of 0.05 s on 2 loaded cores, and a 60-paragraph batch was no faster. Sleeping threads cost
# nothing measurable on a quiet machine. OpenMP reads this once, when torch loads, so it is set
# here, before any askdoc module can import torch; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import (  # noqa: E402
    AskdocError,
    ConfigError,
    DocumentEncodingError,
    DocumentError,
    DocumentNotFound,
    EmptyDocument,
    IndexDamaged,
    QuestionError,
    StoreError,
    StoreUnavailable,
    UnknownDocument,
    UnsupportedDocument,
)
from .records import Answer, Chunk, Citation, Document, IndexResult, Passage

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AskdocError",
    "Chunk",
    "Citation",
    "ConfigError",
    "Document",
    "DocumentEncodingError",
    "DocumentError",
    "DocumentNotFound",
    "EmptyDocument",
    "Index",
    "IndexDamaged",
    "IndexResult",
    "Passage",
    "QuestionError",
    "StoreError",
    "StoreUnavailable",
    "UnknownDocument",
    "UnsupportedDocument",
    "answer",
    "default_index",
]


def __getattr__(name: str):
    # Index pulls in numpy and friends; keep `import askdoc` (and the CLI's --help) light.
    if name == "Index":
        from .index import Index

        return Index
    if name in ("answer", "default_index"):
        from . import library

        return getattr(library, name)
    raise AttributeError(f"module 'askdoc' has no attribute {name!r}")
