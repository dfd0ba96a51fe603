"""Library: the default index (the bundled article unless the user added documents),
its recovery from damage, and the top-level `askdoc.answer`."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import NamedTuple

from .config import DEFAULT_ARTICLE, Settings
from .errors import AskdocError, IndexDamaged
from .folder import DEFAULT_NAME, forget_client, read_manifest
from .index import Index
from .ingest import read_file, slugify
from .records import Answer, IndexResult
from .resolve import History

log = logging.getLogger("askdoc")

_DEFAULT: Index | None = None
_DEFAULT_LOCK = threading.Lock()


def open_index(settings: Settings | None = None) -> Index:
    """The configured index, holding the default article unless the user added other documents.

    An empty index gets the article; an index that has it re-indexes it when
    the article or the settings changed (its fingerprint no longer matches).
    A damaged index that held nothing but the article is rebuilt on the spot.
    """
    settings = settings or Settings.from_env()
    article_id = slugify(DEFAULT_ARTICLE.stem)
    try:
        idx = Index(settings=settings)
    except IndexDamaged as damaged:
        try:
            listed = set(read_manifest(settings.index_dir))
        except ValueError:
            raise damaged from None  # what it held is unknown: rebuilding is the user's call
        if listed - {article_id}:
            raise  # the user's own documents: rebuilding is their call
        log.warning("the index at %s was damaged; rebuilding it with the default article", settings.index_dir)
        idx = rebuild(settings).index
    docs = idx._stored()
    if not docs or article_id in docs:
        idx.add_file(DEFAULT_ARTICLE, doc_id=article_id)
    return idx


def _read_manifest(index_dir: Path) -> dict:
    try:
        return read_manifest(index_dir)
    except ValueError:
        return {}


class Rebuilt(NamedTuple):
    """What `rebuild` did."""

    index: Index
    results: list[IndexResult]
    #: (doc_id, why) for each document it could not restore.
    lost: list[tuple[str, str]]
    #: Where the old folder went (None when there was none).
    aside: Path | None
    #: Why the manifest could not be read ("" when it could): the old store's own list was used.
    unreadable: str = ""


def rebuild(settings: Settings, paths: list[str | Path] = ()) -> Rebuilt:
    """Start the embedded index afresh, re-adding the documents its manifest lists (and ``paths``).

    The old folder is moved aside (``<dir>.damaged-<time>``), never deleted. A manifest
    that cannot be read is no reason to drop the documents silently: the old store's own
    list is read instead, when it still can be, and what could not be restored is said.
    """
    folder = settings.index_dir
    try:
        listed, unreadable = read_manifest(folder), ""
    except ValueError as exc:
        listed, unreadable = {}, str(exc)
    aside = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    if folder.exists():
        shutil.move(str(folder), str(aside))
    else:
        aside = None
    forget_client(folder)
    if unreadable and aside is not None:
        listed = _listed_by_store(aside)
    idx = Index(settings=settings.with_(chroma_url=""))
    docs, lost = [], []
    for doc_id, entry in listed.items():
        source = entry.get("source")
        if source and not Path(source).is_file() and aside is not None:
            _bring_back(Path(source), folder, aside)
        if not source or not Path(source).is_file():
            lost.append((doc_id, "its source file is gone; add it again"))
            continue
        try:
            docs.append(read_file(source, doc_id=doc_id, max_bytes=settings.max_document_bytes))
        except AskdocError as exc:
            lost.append((doc_id, str(exc)))
    results = idx.add_documents(docs, given_ids=True)  # the ids the manifest lists
    if paths:
        results += idx.add_documents([read_file(p, max_bytes=settings.max_document_bytes) for p in paths])
    return Rebuilt(idx, results, lost, aside, unreadable)


def _listed_by_store(aside: Path) -> dict[str, dict]:
    """The documents (id -> title, source) the old store lists, if it can still be read."""
    from .folder import open_client
    from .store import Store

    try:
        store = Store(open_client(aside, ""), prefix=DEFAULT_NAME)
        return {
            d.document.doc_id: {"title": d.document.title, "source": d.document.source} for d in store.list_documents()
        }
    except Exception:  # a damaged store fails in many ways; the caller says what was lost
        log.debug("the old store at %s could not be read either", aside, exc_info=True)
        return {}
    finally:
        forget_client(aside)


def _bring_back(source: Path, folder: Path, aside: Path) -> None:
    """A source kept inside the index folder (the chat's uploads) moved aside with it: copy it back."""
    try:
        moved = aside / source.relative_to(folder.resolve())
    except ValueError:
        return  # a file of the user's, elsewhere
    if moved.is_file():
        source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(moved, source)


def default_index() -> Index:
    """`open_index` with settings from the environment, built once per process."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = open_index()
        return _DEFAULT


def answer(question: str, k: int | None = None, doc_ids: list[str] | None = None, history: History = ()) -> Answer:
    """Answer ``question`` from the default index by quoting the documents.

    ``history`` is the conversation so far, oldest first: earlier questions, or
    ``(question, Answer)`` pairs; a follow-up ("When was it founded?") is read
    against it (`Answer.resolved_question` says how). Returns an `Answer`; ``found``
    is False (and ``text`` empty) when the documents do not contain an answer.
    """
    return default_index().answer(question, k=k, doc_ids=doc_ids, history=history)
