"""Chroma errors: how Chroma's and the network's exceptions become askdoc's (see `errors`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ConfigError, IndexDamaged, StoreError, StoreUnavailable, VectorsBehind

#: What Chroma says when an embedded store's vector files (HNSW ``*.bin`` and its id map,
#: ``index_metadata.pickle``, written once a collection passes 1,000 rows) are gone or corrupt.
HNSW_DAMAGE = ("Error loading hnsw index", "pickle file", "hnsw segment reader")


@contextmanager
def chroma_errors(url: str, folder: object = None) -> Iterator[None]:
    """Turn Chroma's and the network's exceptions into askdoc's (``folder``: the embedded store's)."""
    try:
        yield
    except (StoreError, ConfigError):
        raise
    except (ConnectionError, TimeoutError, OSError) as exc:
        where = f"Chroma server at {url}" if url else "the index"
        raise StoreUnavailable(f"{where} failed: {exc}") from None
    except Exception as exc:  # chromadb raises many unrelated types
        name = type(exc).__name__
        if "Error finding id" in str(exc):
            raise VectorsBehind(f"the vector index lags behind the store's rows ({name}): {exc}") from None
        if not url and any(m in str(exc) for m in HNSW_DAMAGE):
            # Every question would fail the same way: say what recovers, as for a damaged database.
            raise IndexDamaged(
                f"the index{f' at {folder}' if folder else ''} is damaged (its vector files cannot be read: "
                f"{_damage(str(exc))}); run `askdoc index --rebuild` to rebuild it from its documents"
            ) from None
        if url and ("Connect" in name or "Timeout" in name or "Transport" in name):
            raise StoreUnavailable(f"Chroma server at {url} is unreachable: {exc}") from None
        raise StoreError(f"vector store error ({name}): {exc}") from None


def _damage(message: str) -> str:
    """What Chroma's chain of messages says is damaged, in a few words."""
    if "pickle" in message:
        return "the id map, index_metadata.pickle, is corrupt"
    return "HNSW files are missing or cut short"
