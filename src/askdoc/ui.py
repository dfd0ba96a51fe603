"""The browser chat (Gradio). It only calls the library: `Index.answer`, `Index.add_file`.

Everything shown is escaped: questions and document text appear as text,
never as markup.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from .errors import AskdocError, ConfigError
from .records import Answer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
ALL_DOCUMENTS = "All documents"
EXAMPLES = [
    "Where was the summit held?",
    "What does NAM stand for?",
    "Who is the chairman of NAM?",
    "When was NAM established?",
    "Who wrote the article?",
]
CSS = """
#sources mark { background: #ffe58a; padding: 0 2px; }
#sources details { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 6px 10px; margin: 6px 0; }
#sources summary { cursor: pointer; font-weight: 600; }
#sources .passage { white-space: pre-wrap; line-height: 1.5; margin-top: 6px; }
.askdoc-conf { font-size: 0.9em; opacity: 0.85; }
"""


def _esc(text: str) -> str:
    """Escape for HTML and neutralise Markdown, so text shows exactly as written."""
    out = html.escape(text, quote=True)
    for ch in "\\`*_[]#|~":
        out = out.replace(ch, f"&#{ord(ch)};")
    return out


def _html(text: str) -> str:
    """Escape for an HTML panel (no Markdown there)."""
    return html.escape(text, quote=True)


def _position(text: str, start: int, end: int) -> str:
    return f"line {text.count(chr(10), 0, start) + 1}, chars {start}–{end}"


def confidence_label(confidence: float) -> str:
    # The scale is the abstention model's: answers start at the 0.1 threshold.
    level = "high" if confidence >= 0.4 else "medium" if confidence >= 0.2 else "low"
    filled = round(confidence * 5)
    return f"{'●' * filled}{'○' * (5 - filled)} {level} ({confidence:.2f})"


def format_reply(ans: Answer, doc_text) -> str:
    """The chat message: the quote and numbered citations, or a clear 'not in the documents'."""
    if ans.found:
        a, b = _exact_range(ans)
        quote = (_esc(ans.text[:a]) + f"<b>{_esc(ans.text[a:b])}</b>" + _esc(ans.text[b:]) if b > a
                 else _esc(ans.text)).replace("\n", " ")  # fmt: skip
        cites = "<br>".join(
            f"<b>[{n}]</b> {_esc(c.title)} — {_position(doc_text(c.doc_id), c.start, c.end)}"
            for n, c in enumerate(ans.citations, 1)
        )
        return (
            f"<blockquote>“{quote}”</blockquote>{cites}"
            f"<div class='askdoc-conf'>confidence {confidence_label(ans.confidence)}</div>"
        )
    closest = "<br>".join(
        f"<b>[{n}]</b> {_esc(p.title)} — {_position(doc_text(p.doc_id), p.start, p.end)}: {_esc(_snippet(p.text))}"
        for n, p in enumerate(ans.passages[:3], 1)
    )
    return (
        "<b>The documents don't say.</b> No sentence answers this question well enough to quote."
        f"<br>Closest passages:<br>{closest}"
        f"<div class='askdoc-conf'>confidence {confidence_label(ans.confidence)}</div>"
    )


def _exact_range(ans: Answer) -> tuple[int, int]:
    """Where the reader's exact answer lies inside ``ans.text`` ((0, 0) when it found none)."""
    cited = next((c for c in ans.citations if c.answer_start is not None), None)
    if cited is None or not ans.citations:
        return 0, 0
    base = ans.citations[0].start
    return cited.answer_start - base, cited.answer_end - base


def _snippet(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_sources(ans: Answer, doc_text, show_all: bool = False) -> str:
    """Each cited passage with the answering sentence highlighted; or the retrieved passages."""
    blocks = []
    if ans.found:
        for n, c in enumerate(ans.citations, 1):
            text = doc_text(c.doc_id)
            passage = next((p for p in ans.passages if p.doc_id == c.doc_id and p.start <= c.start < p.end), None)
            start, end = _context(text, c.start, c.end, passage)
            quote = _html(c.quote)
            if c.answer_start is not None:
                a, b = c.answer_start - c.start, c.answer_end - c.start
                quote = _html(c.quote[:a]) + f"<b>{_html(c.quote[a:b])}</b>" + _html(c.quote[b:])
            body = _html(text[start : c.start]) + f"<mark>{quote}</mark>" + _html(text[c.end : end])
            blocks.append(_details(f"cite-{n}", f"[{n}] {c.title} — {_position(text, c.start, c.end)}", body, False))
    if show_all or not ans.found:
        for n, p in enumerate(ans.passages, 1):
            label = f"Passage {n} (score {p.score:.2f}) — {p.title}, {_position(doc_text(p.doc_id), p.start, p.end)}"
            blocks.append(_details(f"passage-{n}", label, _html(p.text), False))
    if not blocks:
        return "<p>No passages.</p>"
    return "\n".join(blocks)


def _context(text: str, start: int, end: int, passage) -> tuple[int, int]:
    """The passage around a quote (or ~300 characters either side)."""
    lo, hi = (passage.start, passage.end) if passage else (start, end)
    lo, hi = min(lo, max(0, start - 300)), max(hi, min(len(text), end + 300))
    return lo, hi


def _details(anchor: str, summary: str, body: str, open_: bool) -> str:
    return (
        f"<details id='{anchor}'{' open' if open_ else ''}><summary>{_html(summary)}</summary>"
        f"<div class='passage'>{body}</div></details>"
    )


class ChatApp:
    """State and handlers behind the page; one shared `Index`."""

    def __init__(self, index=None):
        from .library import default_index

        self.index = index or default_index()
        # Uploads larger than this are refused (Gradio enforces it in the browser too).
        self.max_upload_bytes = self.index.settings.max_upload_bytes

    def doc_text(self, doc_id: str) -> str:
        return self.index.document(doc_id).text

    def choices(self) -> list[tuple[str, str]]:
        return [(ALL_DOCUMENTS, "")] + [(f"{d.title} ({d.doc_id})", d.doc_id) for d in self.index.documents()]

    def ask(self, question: str, history: list, doc: str, k: float, show_all: bool):
        """Chat handler: returns (history, sources HTML, cleared textbox)."""
        history = list(history or [])
        shown = _esc(question or "")
        try:
            ans = self.index.answer(question, k=int(k), doc_ids=[doc] if doc else None)
        except AskdocError as exc:
            history += [{"role": "user", "content": shown}, {"role": "assistant", "content": f"⚠️ {_esc(str(exc))}"}]
            return history, "<p>No passages.</p>", ""
        history += [
            {"role": "user", "content": shown},
            {"role": "assistant", "content": format_reply(ans, self.doc_text)},
        ]
        return history, format_sources(ans, self.doc_text, show_all), ""

    def upload(self, path: str | None, progress=None):
        """Index an uploaded file; returns (status message, document choices)."""
        import gradio as gr

        if not path:
            return "No file chosen.", gr.update(choices=self.choices())
        p = Path(path)
        name = os.path.basename(p.name)  # never a path from the browser
        try:
            size = p.stat().st_size
        except OSError:
            return f"⚠️ {_esc(name)}: the upload could not be read.", gr.update(choices=self.choices())
        if size > self.max_upload_bytes:
            msg = f"⚠️ {_esc(name)} is {size:,} bytes; the limit is {self.max_upload_bytes:,}. Nothing was indexed."
            return msg, gr.update(choices=self.choices())
        from .ingest import slugify

        if progress is not None:
            progress(0.2, desc=f"Indexing {name} (reading, chunking, embedding)")

        def embedded(done: int, total: int) -> None:
            progress(0.2 + 0.75 * done / total, desc=f"Embedding {name}: {total - done:,} of {total:,} sentences left")

        try:
            res = self.index.add_file_result(
                p, doc_id=slugify(Path(name).stem), progress=embedded if progress is not None else None
            )
        except AskdocError as exc:
            return f"⚠️ {_esc(str(exc).replace(str(p), name))}", gr.update(choices=self.choices())
        if progress is not None:
            progress(1.0, desc="Done")
        verb = {"added": "Indexed", "updated": "Re-indexed", "unchanged": "Already indexed"}[res.status]
        msg = f"✅ {verb} **{_esc(res.title)}** ({res.chunks} chunks) as `{res.doc_id}`."
        return msg, gr.update(choices=self.choices(), value=res.doc_id)

    def api_answer(self, question: str, k: int = 0, doc_id: str = "") -> dict:
        """The JSON API: the contract's fields (text, found, confidence, citations, passages)."""
        try:
            ans = self.index.answer(question, k=int(k) or None, doc_ids=[doc_id] if doc_id else None)
        except AskdocError as exc:
            return {"error": str(exc), "found": False, "text": "", "exact": "", "confidence": 0.0, "citations": [],
                    "passages": []}  # fmt: skip
        return ans.to_dict()


def build(app: ChatApp):
    """The Gradio Blocks for ``app``."""
    import gradio as gr

    with gr.Blocks(title="askdoc") as demo:
        gr.Markdown("# askdoc\nAnswers by **quoting** your documents, with citations — or says it can't.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, elem_id="chat", sanitize_html=True)
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question about the documents…", show_label=False, scale=5, elem_id="question"
                    )
                    ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                with gr.Row():
                    doc = gr.Dropdown(app.choices(), value="", label="Search in", elem_id="doc", scale=3)
                    clear = gr.Button("Clear chat", scale=1, elem_id="clear")
                gr.Examples(EXAMPLES, inputs=[question], label="Example questions")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML("<p>Ask a question to see the cited passages.</p>", elem_id="sources")
                with gr.Accordion("Documents", open=False):
                    upload = gr.File(
                        label="Add a document (.txt, .md, .html, .pdf)",
                        file_types=[".txt", ".md", ".markdown", ".html", ".htm", ".pdf"],
                        elem_id="upload",
                    )
                    status = gr.Markdown(elem_id="upload-status")
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 20, value=app.index.settings.top_k, step=1, label="Passages to retrieve (top-k)")
                    show_all = gr.Checkbox(False, label="Show all retrieved passages")

        inputs = [question, chat, doc, k, show_all]
        outputs = [chat, sources, question]
        ask.click(app.ask, inputs, outputs, api_visibility="private")
        question.submit(app.ask, inputs, outputs, api_visibility="private")
        clear.click(lambda: ([], "<p>Ask a question to see the cited passages.</p>"), None, [chat, sources])

        def on_upload(path, progress=gr.Progress()):  # noqa: B008 (Gradio's injection idiom)
            return app.upload(path, progress)

        upload.upload(on_upload, [upload], [status, doc], api_name="upload", api_visibility="undocumented")
        gr.api(app.api_answer, api_name="answer")
    return demo


def address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where to listen: the arguments, else GRADIO_SERVER_NAME/PORT, else 127.0.0.1:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    try:
        return host, int(port or os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT)
    except ValueError:
        raise ConfigError(f"GRADIO_SERVER_PORT={os.environ['GRADIO_SERVER_PORT']!r} is not a port number") from None


def launch(host: str | None = None, port: int | None = None, index=None, block: bool = True):
    """Start the chat on `address` (loopback unless told otherwise)."""
    host, port = address(host, port)
    app = ChatApp(index)
    demo = build(app)
    settings = app.index.settings
    user, _, password = settings.auth.partition(":")
    auth = (user, password) if settings.auth else None
    demo.queue(default_concurrency_limit=4)
    from starlette.middleware import Middleware

    from .bodylimit import MARGIN_BYTES, BodyLimit

    # Gradio would read any request body whole into memory: cap them all near the upload limit.
    body_limit = Middleware(BodyLimit, limit=app.max_upload_bytes + MARGIN_BYTES)
    demo.launch(
        app_kwargs={"middleware": [body_limit]},
        server_name=host,
        server_port=port,
        auth=auth,
        max_file_size=app.max_upload_bytes,
        css=CSS,
        prevent_thread_lock=not block,
        quiet=True,
    )
    return demo
