"""Index: the public entry point tying ingest, chunk, embed, store, retrieve and answer."""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from . import answering as answer_stage
from . import prepare, scorer
from .config import Settings
from .cues import asked_role, check_question
from .embed import Embedder
from .errors import (
    ConfigError,
    DocumentError,
    IndexDamaged,
    QuestionError,
    UnknownDocument,
    VectorsBehind,
)
from .folder import StoreHandle
from .ingest import make_document, read_file
from .names import Aliases
from .read import Reader
from .records import Answer, Document, IndexResult
from .resolve import History, previous_quote, resolve, speaks_to
from .store import Store, StoredDocument
from .writes import Progress, Writes

#: Attempts at a question whose vector search meets rows its client lacks (see `retrieve`).
REREAD = 3
#: The most passages a question may ask for (Chroma overflows on a huge ``n_results``).
MAX_K = 1000

_LOADING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="askdoc-open")


class Index(Writes):
    """A set of documents, indexed in Chroma, that can answer questions.

    ``Index(path)`` keeps an embedded store in ``path``; with ``chroma_url``
    (or, when no path is given, ``ASKDOC_CHROMA_URL``) it uses a Chroma server.
    ``name`` keeps several indexes apart in one folder or server.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        chroma_url: str | None = None,
        name: str = "askdoc",
        settings: Settings | None = None,
        **overrides: object,
    ):
        base = settings or Settings.from_env()
        if chroma_url is None and path is not None:
            chroma_url = ""  # an explicit folder means the embedded store, whatever ASKDOC_CHROMA_URL says
        self.settings = base.with_(
            index_dir=Path(path) if path is not None else None, chroma_url=chroma_url, **overrides
        )
        s = self.settings
        if not s.chroma_url and s.index_dir.is_file():
            raise ConfigError(f"{s.index_dir} is a file, not an index folder")
        self.embedder = Embedder(s.model, s.device, s.batch_size, s.precision)
        # Loaded on the first question, once per process (see `askdoc.read`).
        self.reader = None if s.reader == "off" else Reader(s.reader or None, s.device)
        self.embedded = not self.settings.chroma_url
        self._name = name
        self._folder = StoreHandle(self.settings, name)
        self._lock = threading.RLock()
        self._retriever = None
        self._docs: dict[str, StoredDocument] | None = None
        # The names the documents define, and the documents they were read from: built by the
        # first question after a change, so that adding 10^4 documents builds it once.
        self._aliases: tuple[dict | None, Aliases] = (None, Aliases())
        self._seen: str | None = None  # the stamp that the cached documents and retriever reflect
        self._touched = False  # the write under way has changed the store
        if self.store.needs_conversion and not self._folder.is_copy:
            # An index written before sentence rows (see `store`): converted once, as a write.
            with self._writing():
                self._touched = self.store.convert()

    # -- documents -----------------------------------------------------------
    def fingerprint(self, doc: Document) -> str:
        """Identifies the document text, the model and the chunker settings."""
        return prepare.fingerprint(doc, self.settings, self.embedder)

    def add_text(self, text: str, doc_id: str, title: str = "", source: str | None = None) -> IndexResult:
        """Index a string. Re-adding unchanged text does nothing."""
        return self.add_documents([_text_document(text, doc_id, title, source)], given_ids=True)[0]

    def add_texts(
        self, texts: Mapping[str, str], titles: Mapping[str, str] | None = None, progress: Progress | None = None
    ) -> list[IndexResult]:
        """Index many strings at once (``{doc_id: text}``): their sentences are embedded in
        shared batches and stored in one write, so 2,000 paragraphs cost little more than
        embedding them. ``progress`` hears (sentences embedded, sentences to embed)."""
        docs = [_text_document(text, doc_id, (titles or {}).get(doc_id, "")) for doc_id, text in texts.items()]
        return self.add_documents(docs, given_ids=True, progress=progress)

    def add_file(self, path: str | Path, doc_id: str | None = None) -> str:
        """Index a .txt, .md, .html or .pdf file; returns its doc_id."""
        return self.add_file_result(path, doc_id).doc_id

    def add_file_result(
        self, path: str | Path, doc_id: str | None = None, progress: Progress | None = None
    ) -> IndexResult:
        """Like `add_file`, but says whether the document was added, updated or unchanged
        (and under which id: see `add_documents`)."""
        doc = read_file(path, doc_id=doc_id, max_bytes=self.settings.max_document_bytes)
        return self.add_documents([doc], given_ids=doc_id is not None, progress=progress)[0]

    @property
    def store(self) -> Store:
        return self._folder.store

    # -- what other writers did ----------------------------------------------
    def _sync(self) -> None:
        """Catch up with what other writers committed since this object last looked.

        Per question this is one read of the stamp; when it changed, the changed
        documents are fetched and the retriever is updated in place.
        """
        if self._folder.read_stamp() == self._seen:
            return
        with self._lock:
            stamp = self._folder.read_stamp()
            if stamp == self._seen:
                return
            if self.embedded and self._folder.catch_up(stamp) and self._retriever is not None:
                self._retriever.store = self.store
            self._refresh()
            self._seen = stamp

    def _refresh(self) -> None:
        """Bring the cached documents and retriever up to the store's state, fetching
        only the documents whose generation changed."""
        if self._docs is None:
            return  # nothing cached: read whole when first needed
        gens = self.store.document_gens()
        changed = [i for i, g in gens.items() if i not in self._docs or self._docs[i].gen != g]
        gone: dict[str, StoredDocument | None] = {i: None for i in self._docs if i not in gens}
        if not changed and not gone:
            return
        fetched = {d.document.doc_id: d for d in self.store.get_documents(changed)}
        chunks = self.store.all_chunks(list(fetched)) if self._retriever is not None else []
        self._changed({**gone, **{i: fetched.get(i) for i in changed}}, chunks)

    def flush(self) -> None:
        """Save the lexical snapshot now if it lacks rows this process holds (a process does
        it as it exits): the next process to open the index then reads no chunk."""
        if self._retriever is not None:
            self._retriever.save()

    def documents(self) -> list[Document]:
        """The indexed documents, by doc_id."""
        return [d.document for d in self._stored().values()]

    def document(self, doc_id: str) -> Document:
        d = self._stored().get(doc_id)
        if d is None:
            raise UnknownDocument(f"no document {doc_id!r} in the index")
        return d.document

    def _stored(self) -> dict[str, StoredDocument]:
        self._sync()
        with self._lock:
            if self._docs is None:
                self._set_docs({d.document.doc_id: d for d in self.store.list_documents()})
            return self._docs

    def _changed(self, docs: dict[str, StoredDocument | None], chunks: list) -> None:
        """This process wrote ``docs`` (None: removed) and ``chunks``: update what is
        cached in place, never reloading the whole collection. Readers in other
        threads keep the mapping they hold (a new one is swapped in)."""
        if self._docs is None:
            return
        new = dict(self._docs)
        for doc_id, stored in docs.items():
            if stored is None:
                new.pop(doc_id, None)
            else:
                new[doc_id] = stored
        self._set_docs(new)
        if self._retriever is not None:
            self._retriever.update({i: d.gen for i, d in new.items()}, chunks)

    def _set_docs(self, docs: dict[str, StoredDocument]) -> None:
        # Built once per change, not per question; one assignment, so a reader sees one version.
        self._views = (
            {i: (d.document.title, d.document.source) for i, d in docs.items()},
            {i: d.document.text for i, d in docs.items()},
        )
        self._docs = docs

    def _get_retriever(self):
        from .retrieve import Retriever

        with self._lock:
            if self._retriever is None:
                # The lexical index's snapshot sits beside the embedded store (see `lexical`).
                snapshot = self.settings.index_dir / f"askdoc-lexical-{self._name}.npz" if self.embedded else None
                building = None
                if self._docs is None:
                    # The documents' texts and the lexical index load side by side (each took
                    # about half a second of a 10^5-chunk index's opening), the index at its
                    # snapshot's generations: the documents' own then say what it lacks.
                    self._sync()
                    building = _LOADING.submit(Retriever, self.store, None, snapshot, self._name)
                gens = {i: d.gen for i, d in self._stored().items()}
                if building is None:
                    retriever = Retriever(self.store, gens, snapshot, self._name)
                else:
                    retriever = building.result()
                    if retriever.gens != gens:  # written since the snapshot
                        retriever.catch_up(gens)
                self._retriever = retriever
                # What is loaded by now (the documents, 10^5 chunk rows, the libraries) lives as
                # long as the process: the collector's full passes need not walk it. Without this,
                # the first one landed in an answer at 10^5 chunks: 250 ms instead of 55.
                gc.freeze()
            return self._retriever

    # -- questions -----------------------------------------------------------
    def answer(
        self, question: str, k: int | None = None, doc_ids: list[str] | None = None, history: History = ()
    ) -> Answer:
        """Answer from the indexed documents, quoting them; see `askdoc.answer` (and its ``history``)."""
        if not doc_ids and not self._stored():
            # Nothing to search: a reply that says so (`Answer.reason`), not "the documents don't say".
            return answer_stage.no_documents(check_question(question))
        r = self.retrieve(question, k, doc_ids, history)
        answer = answer_stage.select(r, self.settings.min_confidence, self.reader)
        if r.resolved == r.asked:
            return answer
        # (A question for the byline or the title is answered by a line that shares no word with it.)
        if r.rule == "pronoun" and answer.found and not asked_role(r.question) and not speaks_to(r.asked, answer.text):
            # The antecedent alone drew this sentence, which says nothing of what was typed:
            # the reading is doubtful, and the question is answered as typed instead.
            typed = self.answer(r.asked, k, doc_ids)
            said = {(c.doc_id, c.start, c.end) for c in typed.citations}
            if typed.found and said <= set(r.near) and not speaks_to(r.asked, typed.text):
                # As typed, it draws only the previous answer's quote again, which does not
                # speak to it either: a stale answer, not one.
                return replace(
                    typed, found=False, text="", citations=[], exact="",
                    reason="no sentence but the previous answer's speaks to the question",
                )  # fmt: skip
            return typed
        return replace(answer, resolved_question=r.resolved)

    def retrieve(
        self, question: str, k: int | None = None, doc_ids: list[str] | None = None, history: History = ()
    ) -> scorer.Retrieval:
        """Passages and candidate sentences for a question (the answer stage's input), a
        follow-up read against ``history`` first (see `askdoc.resolve`)."""
        for attempt in range(REREAD):
            try:
                return self._retrieve(question, k, doc_ids, history)
            except VectorsBehind:
                # Another process wrote rows that this client's vector index lacks, and has not
                # said so yet (it is still writing): read the folder afresh and ask again, so the
                # question sees the version before that write or after it, never an error.
                if attempt == REREAD - 1:
                    if not self.embedded:
                        raise
                    # Read afresh each time and still missing: the vector files lost them.
                    raise IndexDamaged(
                        f"the index at {self.settings.index_dir} is damaged (its vector files lack rows that its "
                        "database holds); run `askdoc index --rebuild` to rebuild it from its documents"
                    ) from None
                with self._lock:
                    self._folder.reopen()
                    if self._retriever is not None:
                        self._retriever.store = self.store
                    self._seen = None  # and catch up with what was committed meanwhile
        raise AssertionError("unreachable")

    def _retrieve(self, question: str, k: int | None, doc_ids: list[str] | None, history: History) -> scorer.Retrieval:
        question = check_question(question)
        asked = question
        if isinstance(history, str):
            raise QuestionError("history must be a list of earlier questions or (question, Answer) pairs, not a string")
        # Follow-ups first, then names: a pronoun's antecedent may itself be an abbreviation.
        resolution = resolve(question, history or ())
        question = resolved = resolution.question
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K):
            raise QuestionError(f"k must be a whole number from 1 to {MAX_K:,}, not {k!r}")
        k = k or self.settings.top_k
        if isinstance(doc_ids, str):
            doc_ids = [doc_ids]  # one id, not a list of its characters
        if doc_ids is not None and not (
            isinstance(doc_ids, (list, tuple, set, frozenset)) and all(isinstance(d, str) for d in doc_ids)
        ):
            raise QuestionError(f"doc_ids must be a document id or a list of them, not {doc_ids!r}")
        docs = self._stored()
        for d in doc_ids or ():
            if d not in docs:
                raise UnknownDocument(f"no document {d!r} in the index")
        retriever = self._get_retriever()
        views = self._views
        # Names the documents define ("Non-Aligned Movement (NAM)") are read in their usual form.
        read_from, aliases = self._aliases
        if read_from is not docs:
            aliases = Aliases(a for d in docs.values() for a in d.document.aliases)
            self._aliases = (docs, aliases)
        question = aliases.read(question)
        titles, texts = views
        qvec = self.embedder.encode_one(question)
        # (A document removed by another thread this instant is left out: it is not in the views.)
        found = retriever.search(question, qvec, k, views, doc_ids, asked_role(question))
        # Each document's lead carries what the whole document is about, which a
        # question rarely repeats word for word.
        passages = found + retriever.leads(found, views)
        # In a conversation the previous answer's passage is read too, and its paragraph favoured
        # (`answering.NEAR_BONUS`): a follow-up's answer is often the sentence beside the last
        # quote, worded too briefly to be found alone ("How did NAM respond?").
        near, near_chunks = previous_quote(history or ())
        if near_chunks:
            passages += retriever.chunks(near_chunks, passages, views)
        candidates = scorer.candidates(passages, len(found), retriever, texts, titles)
        return scorer.Retrieval(
            question, qvec, passages, candidates, texts, titles, retriever.idf, retriever.oov(question),
            len(found), asked, resolved, resolution.rule, near,
        )  # fmt: skip


def _text_document(text: object, doc_id: str, title: object, source: str | None = None) -> Document:
    """A string given to `Index.add_text` or `add_texts` as a `Document`; anything but text is refused."""
    if not isinstance(text, str):
        raise DocumentError(f"{doc_id}: the text must be a str, not {type(text).__name__}")
    if title is not None and not isinstance(title, str):
        raise DocumentError(f"{doc_id}: the title must be a str, not {type(title).__name__}")
    return make_document(text, doc_id=doc_id, title=title or "", source=source)
