"""What the browser chat does on the server, apart from its layout (`ui`): answer with
the conversation so far, index uploads, remove documents, record votes, and answer the
HTTP API. Each method takes and returns the plain values Gradio passes, and calls the
library (`Index.answer`, `add_documents`, `remove`); what it shows is built by `chatview`.
"""

from __future__ import annotations

import dataclasses
import errno
import html
import json
import os
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from . import chatview
from .config import DEFAULT_ARTICLE
from .cues import MAX_QUESTION_CHARS, check_question
from .errors import AskdocError, QuestionError, StoreError, UnknownDocument
from .ingest import read_file, slugify

ALL_DOCUMENTS = "Search all documents"
#: Example questions, offered while the document they are about is indexed.
EXAMPLES_DOC = slugify(DEFAULT_ARTICLE.stem)
EXAMPLES = [
    "Where was the summit held?",
    "When was NAM established?",
    "Who is the chairman of NAM?",
    "What does NAM stand for?",
]
NO_SOURCES = "<p class='askdoc-muted'>Ask a question; its cited passages show here.</p>"
NO_DOCUMENT = "<p class='askdoc-muted'>“Open the whole document here” under a source shows it here.</p>"
ASSETS = Path(__file__).resolve().parent / "data"
#: Turns of the conversation a follow-up is read against (resolution reads the last few).
MAX_TURNS = 8
#: Chat messages kept in the browser's storage across reloads (the oldest go first).
MAX_SAVED_MESSAGES = 200
#: What the browser keeps (localStorage, through gr.BrowserState): the chat as shown, each
#: answer's evidence, and the turns a follow-up is read against.
EMPTY_CONVERSATION: dict = {"chat": [], "evidence": [], "turns": []}
#: Sessions whose state (the question being answered, the latest answers' passages) the
#: server keeps, the least recently used forgotten first (Gradio's default is 10,000), and
#: the answers per session whose passages it keeps: together they bound its memory.
MAX_SESSIONS = 1000
MAX_EVIDENCE = 50
#: Beside the index, each uploaded file under its own name: its identity (see `keep_upload`).
UPLOADS = "uploads"


def sources_html(evidence: list[str]) -> str:
    """Every answer's evidence, the latest shown; the others wait for their citation clicks."""
    if not evidence:
        return NO_SOURCES
    return "".join(s.replace("<section ", "<section hidden ", 1) for s in evidence[:-1]) + evidence[-1]


class ChatApp:
    """State and handlers behind the page; one shared `Index`."""

    def __init__(self, index=None):
        from .library import default_index

        self.index = index or default_index()
        # Uploads larger than this are refused (Gradio enforces it in the browser too).
        self.max_upload_bytes = self.index.settings.max_upload_bytes

    def doc(self, doc_id: str):
        return self.index.document(doc_id)

    def choices(self) -> list[tuple[str, str]]:
        docs = self.index.documents()
        return [(ALL_DOCUMENTS, "")] + [(f"Search only {d.title} ({d.doc_id})", d.doc_id) for d in docs]

    def has_examples(self) -> bool:
        return any(d.doc_id == EXAMPLES_DOC for d in self.index.documents())

    def examples_label(self) -> str:
        """The examples' heading, a button that folds them out again once the first question
        folded them away (chat.js; on a phone they took a third of the screen)."""
        if not self.has_examples():
            return ""
        title = html.escape(self.doc(EXAMPLES_DOC).title)
        return (
            "<p class='askdoc-muted'><button type='button' id='examples-toggle' aria-controls='examples' "
            f"aria-expanded='true'>Examples</button> about <i>{title}</i> (all documents):</p>"
        )

    def pose(self, question: str, history: list) -> list | None:
        """``history`` with the question shown as the last bubble (cut at the question limit);
        None for an empty question."""
        if not (question or "").strip():
            return None
        shown = question if len(question) <= MAX_QUESTION_CHARS else question[:MAX_QUESTION_CHARS] + "…"
        return [*(history or []), {"role": "user", "content": chatview.inert(shown)}]

    def screen(self, question: str) -> tuple[str, dict | None]:
        """The question as the session may keep it until it is answered (normalised, at most
        2,000 characters), or else "" and the reply that refuses it."""
        try:
            return check_question(question), None
        except QuestionError as exc:
            return "", {"role": "assistant", "content": _refusal(exc)}

    def ask(self, question: str, history: list, doc: str, k: float, show_all: bool, evidence: list | None = None):
        """One question: returns (history, sources HTML, evidence). An empty question changes nothing."""
        evidence = list(evidence or [])
        shown = self.pose(question, history)
        if shown is None:
            return list(history or []), sources_html(evidence), evidence
        return self.respond(question, shown, doc, k, show_all, evidence)

    def respond(
        self, question: str, history: list, doc: str, k: float, show_all: bool, evidence: list, turns: list = ()
    ):
        """Answer ``question``, already shown as the last bubble of ``history``; a follow-up is
        read against ``turns``, the conversation so far (see `turn`)."""
        return self.converse(question, history, doc, k, show_all, evidence, turns)[:3]

    def answer(self, question: str, doc: str, k: float, turns: list):
        """The chat's answer to ``question``: in document ``doc`` ("" for all), after ``turns``."""
        return self.index.answer(question, k=int(k), doc_ids=[doc] if doc else None, history=as_history(turns))

    def converse(
        self, question: str, history: list, doc: str, k: float, show_all: bool, evidence: list, turns: list = (),
        early: Future | None = None,
    ):  # fmt: skip
        """`respond`, and the conversation with this turn added (unchanged when it failed);
        ``early``: this very answer, begun already (see `EarlyAnswers`)."""
        history, evidence, turns = list(history or []), list(evidence or []), list(turns or [])
        n = len(evidence) + 1
        try:
            ans = early.result() if early is not None else self.answer(question, doc, k, turns)
            scope = self.doc(doc).title if doc else ""
            reply = chatview.reply_html(n, ans, self.doc, scope)
            evidence.append(chatview.evidence_html(n, ans, self.doc, show_all))
            turns = [*turns, turn(question, ans)][-MAX_TURNS:]
        except AskdocError as exc:
            reply = _refusal(exc)
        history.append({"role": "assistant", "content": reply})
        if len(evidence) > MAX_EVIDENCE:
            # The session keeps the passages of its latest answers only; older citations open nothing.
            evidence[-MAX_EVIDENCE - 1] = ""
        return history, sources_html(evidence), evidence, turns

    def upload(self, path: str | None, progress=None) -> tuple[str, list[tuple[str, str]]]:
        """Index an uploaded file; returns (status message, document choices)."""
        if not path:
            return "No file chosen.", self.choices()
        p = Path(path)
        name = os.path.basename(p.name)  # never a path from the browser
        try:
            size = p.stat().st_size
        except OSError:
            return f"**Not indexed:** {chatview.inert(name)} could not be read.", self.choices()
        if size > self.max_upload_bytes:
            msg = f"**Not indexed:** {chatview.inert(name)} is {size:,} bytes; the limit is {self.max_upload_bytes:,}."
            return msg, self.choices()
        if progress is not None:
            progress(0.2, desc=f"Indexing {name} (reading, chunking, embedding)")

        def embedded(done: int, total: int) -> None:
            progress(0.2 + 0.75 * done / total, desc=f"Embedding {name}: {total - done:,} of {total:,} sentences left")

        try:
            # Read (and refused, if need be) before it takes the place of an earlier upload.
            doc = read_file(p, max_bytes=self.index.settings.max_document_bytes)
            kept = keep_upload(self.index.settings.index_dir, p, name)
            doc = dataclasses.replace(doc, doc_id=slugify(Path(name).stem), source=str(kept))
            res = self.index.add_documents([doc], progress=embedded if progress is not None else None)[0]
        except AskdocError as exc:
            return f"**Not indexed:** {chatview.inert(str(exc).replace(str(p), name))}", self.choices()
        if progress is not None:
            progress(1.0, desc="Done")
        verb = {"added": "Indexed", "updated": "Re-indexed", "unchanged": "Already indexed"}[res.status]
        skipped = f"; {res.furniture_chars:,} chars of page furniture at its end skipped" if res.furniture_chars else ""
        parts = f"{res.chunks} passage{'s' if res.chunks != 1 else ''}"
        said = f"{verb} **{chatview.inert(res.title)}** ({parts}) as `{res.doc_id}`{skipped}."
        return said, self.choices()

    def uploads(self, paths: list[str] | None, poll: float = 0.25) -> Iterator[str]:
        """Index several uploaded files, one after another, yielding the Documents panel's
        status, a line per file (waiting, its progress, then what became of it), as it goes."""
        paths = [p for p in (paths or []) if p]
        if not paths:
            yield status_html([("", "No file chosen.", None)])
            return
        names = [os.path.basename(Path(p).name) for p in paths]
        lines: list[tuple[str, str, float | None]] = [(n, f"{chatview.inert(n)}: waiting", None) for n in names]
        for i, path in enumerate(paths):
            box: dict = {}

            def step(frac: float, desc: str = "", i: int = i) -> None:
                lines[i] = (names[i], desc, frac)

            def work(path: str = path, box: dict = box) -> None:
                box["said"] = self.upload(path, step)[0]

            lines[i] = (names[i], "reading", 0.0)
            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            while worker.is_alive():
                yield status_html(lines)
                worker.join(poll)
            lines[i] = (names[i], box.get("said", "**Not indexed:** an internal error"), None)
        yield status_html(lines)

    def vote(self, payload: str) -> str:
        """Record a vote on an answer (see `askdoc.feedback`); returns what to announce."""
        from . import feedback

        try:
            sent = json.loads(payload or "")
            case = feedback.case_from(sent.get("vote"), sent.get("case"))
            feedback.record(self.index.settings.index_dir, case)
        except (ValueError, AttributeError):
            return "The vote could not be read."
        except QuestionError as exc:
            return f"The vote was not recorded: {exc}."
        except OSError as exc:
            return f"The vote could not be saved ({exc.strerror or exc})."
        if case.vote == "down":
            return "Thank you: saved as a case to check (askdoc feedback export)."
        return "Thank you for the feedback."

    def remove(self, doc_id: str) -> str:
        """Remove one document; returns the status message."""
        try:
            title, source = self.doc(doc_id).title, self.doc(doc_id).source
            self.index.remove(doc_id)
            uploads = self.index.settings.index_dir / UPLOADS
            if source and Path(source).parent == uploads:
                Path(source).unlink(missing_ok=True)  # the upload's own copy; a CLI file stays
        except UnknownDocument:
            return f"**Not removed:** no document `{chatview.inert(doc_id)}` in the index (already removed?)."
        except AskdocError as exc:
            return f"**Not removed:** {chatview.inert(str(exc))}"
        return f"Removed **{chatview.inert(title)}** (`{chatview.inert(doc_id)}`)."

    def open_document(self, target: str) -> str:
        """The document view for ``"doc_id:start:end"`` (from an evidence link)."""
        doc_id, _, span = (target or "").rpartition(":")
        doc_id, _, start = doc_id.rpartition(":")
        try:
            return chatview.document_html(self.doc(doc_id), int(start), int(span))
        except (AskdocError, ValueError):
            return "<p class='askdoc-error'>That document is no longer in the index.</p>"

    def warm(self) -> None:
        """Load the models before the first question, so that it is as quick as the rest."""
        try:
            self.index.answer("What is this document about?")
        except AskdocError:
            pass  # an empty index, say: the first real question will say so

    def api_answer(self, question: str, k: int = 0, doc_id: str = "", history: list | None = None) -> dict:
        """The JSON API: the contract's fields (text, found, confidence, citations, passages), and
        ``resolved_question``. ``history``: the conversation so far, oldest first, as questions or
        ``{"question": ..., "answer": <an earlier reply>}`` (see `askdoc.resolve`)."""
        # k as JSON gave it: 0 or null is the default; anything but a whole number is refused.
        k = None if k is None or (type(k) is int and k == 0) else k
        try:
            ans = self.index.answer(question, k=k, doc_ids=[doc_id] if doc_id else None, history=as_history(history))
        except AskdocError as exc:
            return {"error": str(exc), "found": False, "text": "", "exact": "", "confidence": 0.0, "citations": [],
                    "passages": []}  # fmt: skip
        return ans.to_dict()


class EarlyAnswers:
    """Answers begun as soon as a question is shown (`pose`, outside the queue), for the queued
    step that answers it (`respond`) to pick up a moment later: the page's round trip between the
    two (0.1-0.15 s on a busy 2-core machine) no longer comes before the reader's time.

    At most ``workers`` run at once (beyond that a question waits for its queued step, as
    before), and the ``keep`` latest are kept for their steps; one never picked up is dropped.
    """

    def __init__(self, workers: int = 4, keep: int = 64):
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="askdoc-early")
        self._slots = threading.BoundedSemaphore(workers)
        self._begun: OrderedDict[tuple, Future] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def begin(self, key: tuple, work: Callable[[], object]) -> None:
        if not self._slots.acquire(blocking=False):
            return
        future = self._pool.submit(work)
        future.add_done_callback(lambda _: self._slots.release())
        with self._lock:
            self._begun[key] = future
            while len(self._begun) > self._keep:
                self._begun.popitem(last=False)

    def take(self, key: tuple) -> Future | None:
        with self._lock:
            return self._begun.pop(key, None)


def early_key(session: str, question: str, doc: str, k: float, turns: list) -> tuple:
    """What an answer depends on, besides the index: begun and picked up under the same key."""
    return session, question, doc or "", int(k), json.dumps(turns, sort_keys=True, default=str)


def turn(question: str, ans) -> dict:
    """One turn as the browser keeps it: what resolving a later follow-up needs, no more."""
    said = {"found": ans.found, "text": ans.text, "exact": ans.exact, "resolved_question": ans.resolved_question}
    # Where the quote lies, so that a follow-up favours its paragraph (`resolve.previous_quote`).
    said["citations"] = [{"doc_id": c.doc_id, "start": c.start, "end": c.end} for c in ans.citations]
    said["passages"] = [{"chunk_id": p.chunk_id} for p in ans.passages[:1]]
    return {"question": question, "answer": said}


def as_history(history: object) -> list:
    """A conversation sent over the API, as `Index.answer` takes it; anything else is an error."""
    if history is None:
        return []
    if not isinstance(history, list) or not all(isinstance(t, (str, dict, list)) for t in history):
        raise QuestionError("history must be a list of earlier questions or {question, answer} objects")
    return history


def status_html(lines: list[tuple[str, str, float | None]]) -> str:
    """The upload status, a line per file: its progress bar while it is indexed, then what the
    upload said (its Markdown's bold and code as HTML)."""
    items = []
    for name, said, frac in lines:
        if frac is None:
            text = re.sub(r"`([^`]+)`", r"<code>\1</code>", re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", said))
            items.append(f"<li>{text}</li>")
        else:
            label = html.escape(said if name in said else f"{name}: {said}")
            items.append(
                f"<li>{label} <progress max='100' value='{round(frac * 100)}' aria-label='{label}'></progress></li>"
            )
    return f"<ul class='askdoc-uploads'>{''.join(items)}</ul>"


def _refusal(exc: AskdocError) -> str:
    return f"<p class='askdoc-error'><b>Could not answer:</b> {chatview.inert(str(exc))}</p>"


def keep_upload(index_dir: Path, path: Path, name: str) -> Path:
    """Keep an uploaded file as ``<index>/uploads/<name>`` and return that path.

    Gradio hands each upload over at a new temporary path, so the path says nothing about
    which file it is. Its name does: the chat's uploads are one folder, where a file of the
    same name is the same file (re-uploading ``notes.md`` updates it) and any other is another
    (``notes.txt``, or ``notes.md`` indexed from disk, gets ``notes-2``). Kept there, the
    document's source survives the temporary file, so ``askdoc index --rebuild`` restores it.
    """
    from .folder import read_only

    if name.strip(". ") == "":
        name = "upload" + name  # "." or "..": never a path
    target = index_dir / UPLOADS / name
    tmp = target.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)  # whole or not at all, also for two sessions uploading one name
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise read_only(index_dir, exc) from None
        raise StoreError(f"the upload could not be kept in {target.parent} ({exc.strerror or exc})") from None
    return target.resolve()
