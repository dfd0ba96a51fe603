"""The browser chat's page (Gradio): its layout, events and launch. What each event does on
the server is `chatapp.ChatApp`'s; what it shows is built by `chatview`.

Page layout: the chat on the left, fitted to the window; the evidence column on the right
(on a phone, a sheet that slides up when a citation is opened). A small script makes the
citation numbers, Copy, "Open the whole document" and Remove work without a page reload.
"""

from __future__ import annotations

import contextlib
import threading

from . import chatview
from .chatapp import (
    ASSETS,
    EMPTY_CONVERSATION,
    EXAMPLES,
    MAX_SAVED_MESSAGES,
    MAX_SESSIONS,
    NO_DOCUMENT,
    NO_SOURCES,
    ChatApp,
    EarlyAnswers,
    early_key,
    sources_html,
    status_html,
)
from .serving import address

THEME_TOGGLE = (
    "<button id='theme-toggle' type='button' aria-pressed='false' title='Switch between light and dark'>"
    "Dark theme</button>"
)


def _header(app: ChatApp) -> str:
    return (
        "<h1>askdoc</h1><p class='askdoc-muted'>Answers by quoting your documents, or says they don't.</p>"
        + chatview.header_html(app.index.documents(), "<a id='docs-link' href='#documents'>Add or remove</a>")
    )


def build(app: ChatApp):
    """The Gradio Blocks for ``app``."""
    import gradio as gr

    def refresh(selected: str = ""):
        """Everything that lists the documents, after a change (or a page load)."""
        choices = app.choices()
        value = selected if any(v == selected for _, v in choices) else ""
        return (
            gr.Dropdown(choices=choices, value=value),
            _header(app),
            chatview.documents_html(app.index.documents()),
            app.examples_label(),
            gr.Row(visible=app.has_examples()),
        )

    early = EarlyAnswers()

    def pose(question: str, history: list, cleared: dict | None, doc: str, k: float, turns: list, request: gr.Request):
        """Show the question at once, hold Ask until the answer is in, and begin the answer."""
        shown = app.pose(question, history)
        if shown is None:
            return gr.skip(), gr.skip(), "", gr.skip(), gr.skip(), gr.skip()
        # A question ends the chance to undo a clear (in this same call: one request less per
        # question); with no clear to undo, "Undo clear" is hidden already and is left alone.
        gone = (None, gr.Button(visible=False)) if cleared is not None else (gr.skip(), gr.skip())
        # Only a question that may be asked reaches the session's state: Gradio keeps each
        # session's state, and an 11 MB question kept 11 MB per session, never released.
        kept, refused = app.screen(question)
        if refused is not None:
            return [*shown, refused], "", "", gr.Button(interactive=True), *gone
        turns = turns if isinstance(turns, list) else []
        with contextlib.suppress(TypeError, ValueError):  # (a k that is no number: `respond` says so)
            early.begin(early_key(request.session_hash, kept, doc, k, turns), lambda: app.answer(kept, doc, k, turns))
        return shown, "", kept, gr.Button(interactive=False), *gone

    def respond(
        pending: str, history: list, doc: str, k: float, show_all: bool, evidence: list, turns: list,
        request: gr.Request,
    ):  # fmt: skip
        """Answer the question `pose` kept (and began); ``turns``: the browser's own conversation so
        far. The answer shows as soon as it is in; Sources and the browser's copy of the chat follow
        (`follow`: the page took a tenth of a second to render and encrypt them first)."""
        if not pending:
            return gr.skip(), gr.skip(), gr.skip(), None, gr.Button(interactive=True)
        turns = turns if isinstance(turns, list) else []
        begun = None
        with contextlib.suppress(TypeError, ValueError):
            begun = early.take(early_key(request.session_hash, pending, doc, k, turns))
        history, sources, evidence, turns = app.converse(pending, history, doc, k, show_all, evidence, turns, begun)
        keep = history[-MAX_SAVED_MESSAGES:]
        saved = {"chat": keep, "evidence": evidence[-len(keep) :], "turns": turns}
        return history, evidence, turns, (sources, saved), gr.Button(interactive=True)

    # Gradio passes the request to a parameter annotated gr.Request; the annotations here are
    # strings (`from __future__ import annotations`) naming a module it cannot see, so say it.
    pose.__annotations__["request"] = respond.__annotations__["request"] = gr.Request

    def follow(later: tuple | None):
        """Sources and the browser's copy of the chat, after the answer (then forgotten here)."""
        if later is None:
            return gr.skip(), gr.skip(), None
        return *later, None

    def restore(saved: dict):
        """The conversation the browser kept (a reload, or a dropped connection) back on the page:
        (chat, evidence, sources, turns)."""
        saved = saved if isinstance(saved, dict) else EMPTY_CONVERSATION
        chat, evidence = list(saved.get("chat") or []), list(saved.get("evidence") or [])
        turns = saved.get("turns") if isinstance(saved.get("turns"), list) else []
        return chat, evidence, sources_html(evidence), turns

    with gr.Blocks(title="askdoc") as demo:
        evidence, pending, stash, later = gr.State([]), gr.State(""), gr.State(None), gr.State(None)
        # Kept in the browser (localStorage), encrypted with this server's secret.
        saved = gr.BrowserState(EMPTY_CONVERSATION, storage_key="askdoc-conversation")
        # Its turns again, apart: a question sends the browser only these, not the whole chat
        # and its evidence once more (they grew each answer, and each send cost the page time).
        talk = gr.BrowserState([], storage_key="askdoc-turns")
        with gr.Row(equal_height=False, elem_id="layout"):
            with gr.Column(scale=3, elem_id="main"):
                with gr.Row(elem_id="top"):
                    header = gr.HTML(_header(app), elem_id="header")
                    # The page's script flips light and dark, remembered in the browser.
                    gr.HTML(THEME_TOGGLE, elem_id="theme-wrap", container=False)
                    doc = gr.Dropdown(
                        app.choices(), value="", label="Search in", show_label=False, container=False,
                        elem_id="doc", scale=0, min_width=220,
                    )  # fmt: skip
                chat = gr.Chatbot(
                    show_label=False, elem_id="chat", sanitize_html=True, buttons=[], feedback_options=None,
                    placeholder="Ask about the documents: askdoc answers with a quote and where it comes from.",
                )  # fmt: skip
                undo = gr.Button("Undo clear", visible=False, size="sm", elem_id="undo-clear")
                with gr.Row(elem_id="ask-row"):
                    question = gr.Textbox(
                        placeholder="Ask about the documents…", label="Your question", show_label=False, scale=5,
                        elem_id="question",
                    )  # fmt: skip
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
                examples_label = gr.HTML(app.examples_label(), elem_id="examples-label")
                with gr.Row(elem_id="examples", visible=app.has_examples()) as examples:
                    example_buttons = [gr.Button(q, size="sm") for q in EXAMPLES]
            with gr.Column(scale=2, elem_id="side"):
                gr.HTML(
                    "<span id='side-title'>Sources and documents</span>"
                    "<button id='side-close' type='button' aria-label='Close sources'>Close</button>",
                    elem_id="side-close-wrap",
                )
                # Export is the page's own (chat.js): the conversation as Markdown, with quotes and sources.
                gr.HTML(
                    "<button id='export' type='button' title='Save the conversation as Markdown'>Export the chat"
                    "</button>",
                    elem_id="export-wrap",
                )
                gr.Markdown("### Sources")
                sources = gr.HTML(NO_SOURCES, elem_id="sources")
                gr.Markdown("### Document")
                document = gr.HTML(NO_DOCUMENT, elem_id="document")
                gr.Markdown("### Documents", elem_id="documents")
                doclist = gr.HTML(chatview.documents_html(app.index.documents()), elem_id="doclist")
                # Per-file progress and results show here, in the Documents panel, not over the page.
                status = gr.HTML("", elem_id="upload-status")
                upload = gr.File(
                    label="Add documents (.txt, .md, .html, .pdf; several at once)",
                    file_types=[".txt", ".md", ".markdown", ".html", ".htm", ".pdf"],
                    file_count="multiple",
                    elem_id="upload",
                )
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 20, value=app.index.settings.top_k, step=1, label="Passages to retrieve")
                    show_all = gr.Checkbox(False, label="Show all retrieved passages")
        # Reached only from the page's script (chat.js): it sets window.askdocTarget and clicks them.
        target = gr.Textbox(visible="hidden")
        open_doc = gr.Button(visible="hidden", elem_id="open-doc")
        remove_doc = gr.Button(visible="hidden", elem_id="remove-doc")
        vote = gr.Button(visible="hidden", elem_id="vote")
        api_status = gr.Markdown(visible=False)  # what /upload answers programs
        # What a vote did, for screen readers (visually hidden, announced).
        notice = gr.HTML("", elem_id="askdoc-notice")

        listing = [doc, header, doclist, examples_label, examples]
        demo.load(refresh, [doc], listing, api_visibility="private")
        demo.load(restore, [saved], [chat, evidence, sources, talk], api_visibility="private")
        answer_io = ([pending, chat, doc, k, show_all, evidence, talk], [chat, evidence, talk, later, ask])
        followed = ([later], [sources, saved, later])
        posed = ([question, chat, stash, doc, k, talk], [chat, question, pending, ask, stash, undo])
        # While a question is answered the chat shows its own "…" bubble, and Ask is held; the
        # other outputs show no progress (its overlays and timer cost the page a frame each time).
        quiet = {"api_visibility": "private", "show_progress": "hidden"}
        answering = {"api_visibility": "private", "show_progress": "minimal", "show_progress_on": [chat]}
        for trigger in (ask.click, question.submit):
            trigger(pose, *posed, queue=False, **quiet).then(respond, *answer_io, **answering).then(
                follow, *followed, queue=False, **quiet
            )
        for button, q in zip(example_buttons, EXAMPLES):
            # An example asks about its own document: the scope goes back to all documents, visibly.
            button.click(lambda q=q: (q, ""), None, [question, doc], queue=False, **quiet).then(
                pose, *posed, queue=False, **quiet
            ).then(respond, *answer_io, **answering).then(follow, *followed, queue=False, **quiet)

        # Clearing the chat clears the conversation follow-ups are read against, and what the browser
        # kept; until the next question, "Undo clear" brings it all back.
        def on_clear(kept: dict):
            return [], NO_SOURCES, NO_DOCUMENT, EMPTY_CONVERSATION, [], kept, gr.Button(visible=True)

        def on_undo(kept: dict | None):
            if not kept:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), None, gr.Button(visible=False)
            shown, ev, src, turns = restore(kept)
            return shown, ev, src, kept, turns, None, gr.Button(visible=False)

        cleared = [evidence, sources, document, saved, talk, stash, undo]
        chat.clear(on_clear, [saved], cleared, api_visibility="private")
        undo.click(on_undo, [stash], [chat, evidence, sources, saved, talk, stash, undo], api_visibility="private")
        open_doc.click(
            app.open_document, [target], [document], js="(t) => [window.askdocTarget]", api_visibility="private"
        ).then(None, js="() => window.askdocShowDocument()")

        def on_remove(doc_id: str, selected: str):
            return (status_html([("", app.remove(doc_id), None)]), *refresh(selected))

        remove_doc.click(
            on_remove, [target, doc], [status, *listing], js="(t, d) => [window.askdocTarget, d]",
            api_visibility="private",
        )  # fmt: skip

        def on_upload(paths, selected: str):
            """Each file's progress in the Documents panel as it goes; at the end the drop zone
            comes back empty (no chip, failed files included) and the listings are current."""
            said = ""
            for said in app.uploads(paths):
                yield said, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            yield said, None, *refresh(selected)  # the scope stays as it was

        upload.upload(
            on_upload, [upload, doc], [status, upload, *listing], api_name="upload_files",
            api_visibility="undocumented", show_progress="hidden",
        )  # fmt: skip

        # Programs upload through /upload, one file a call, as before: (file) -> (status, document choices).
        def api_upload(path):
            message, choices = app.upload(path)
            return message, gr.Dropdown(choices=choices)

        api_file = gr.File(visible=False)
        api_file.upload(
            api_upload, [api_file], [api_status, doc], api_name="upload", api_visibility="undocumented"
        ).then(refresh, [doc], listing, api_visibility="private")
        vote.click(app.vote, [target], [notice], js="(t) => [window.askdocTarget]", api_visibility="private")
        gr.api(app.api_answer, api_name="answer")
    return demo


def launch(host: str | None = None, port: int | None = None, index=None, block: bool = True):
    """Start the chat on `address` (loopback unless told otherwise)."""
    host, port = address(host, port)
    app = ChatApp(index)
    demo = build(app)
    threading.Thread(target=app.warm, daemon=True).start()
    settings = app.index.settings
    user, _, password = settings.auth.partition(":")
    auth = (user, password) if settings.auth else None
    demo.queue(default_concurrency_limit=4)
    from starlette.middleware import Middleware

    from .bodylimit import MARGIN_BYTES, BodyLimit

    # Gradio would read any request body whole into memory: cap them all near the upload limit.
    body_limit = Middleware(BodyLimit, limit=app.max_upload_bytes + MARGIN_BYTES)
    middleware = [body_limit]
    if auth:
        from .loginlimit import LoginLimit

        middleware.append(Middleware(LoginLimit))  # password guessing waits after 5 failures
    script = (ASSETS / "chat.js").read_text(encoding="utf-8")
    demo.launch(
        app_kwargs={"middleware": middleware},
        server_name=host,
        server_port=port,
        auth=auth,
        max_file_size=app.max_upload_bytes,
        css=(ASSETS / "chat.css").read_text(encoding="utf-8"),
        head=f"<script>{script}</script>",
        prevent_thread_lock=not block,
        quiet=True,
        state_session_capacity=MAX_SESSIONS,
    )
    return demo
