"""askdoc's exceptions: one tree, so callers can catch broadly or narrowly.

    AskdocError
    ├── ConfigError            a setting has an unusable value
    ├── QuestionError          empty, blank or otherwise unusable question
    ├── DocumentError          a document cannot be read or holds no text
    │   ├── DocumentNotFound   the path does not exist or is not a file
    │   ├── UnsupportedDocument unknown extension or binary content
    │   ├── DocumentEncodingError not valid UTF-8
    │   └── EmptyDocument      no text to index
    ├── UnknownDocument        a doc_id that is not in the index
    ├── DataSetError           a question set or training file cannot be read
    └── StoreError             the vector store failed
        ├── StoreUnavailable   a Chroma server cannot be reached
        ├── IndexDamaged       the embedded index's files are corrupt
        ├── IndexReadOnly      a change asked of an index folder askdoc may not write
        └── VectorsBehind      a vector index lags behind its rows (retried, rarely seen)

"No answer in the documents" is *not* an error: it is an `Answer` with
``found=False``.
"""

from __future__ import annotations


class AskdocError(Exception):
    """Base class of every error askdoc raises on purpose."""

    #: The CLI's exit status for this kind of error.
    exit_code = 1


class ConfigError(AskdocError):
    """A setting (environment variable or option) has an unusable value."""

    exit_code = 2


class QuestionError(AskdocError):
    """The question cannot be answered as asked (empty, blank, ...)."""

    exit_code = 2


class DocumentError(AskdocError):
    """A document cannot be indexed."""

    exit_code = 3


class DocumentNotFound(DocumentError):
    """The path does not exist, is not a file, or cannot be read."""


class UnsupportedDocument(DocumentError):
    """An unknown extension, or content that is binary."""


class DocumentEncodingError(DocumentError):
    """The document is not valid UTF-8."""


class EmptyDocument(DocumentError):
    """The document holds no text."""


class DataSetError(AskdocError):
    """A question set (`askdoc eval`) or a training file (`askdoc train-reader`) cannot be read."""

    exit_code = 2


class UnknownDocument(AskdocError):
    """A document id that is not in the index."""

    exit_code = 3


class StoreError(AskdocError):
    """The vector store failed."""

    exit_code = 4


class StoreUnavailable(StoreError):
    """A Chroma server cannot be reached."""


class IndexDamaged(StoreError):
    """The embedded index's files are corrupt; ``askdoc index --rebuild`` recovers."""


class IndexReadOnly(StoreError):
    """A change was asked of an embedded index whose folder cannot be written (a
    read-only volume, another user's index); questions still work."""


class VectorsBehind(StoreError):
    """A filtered vector search found rows that the client's vector index does not hold yet:
    another process wrote them after this one loaded it (Chroma's "Error finding id").
    `Index` reopens the store and asks again, so callers see it only if that keeps failing."""
