"""What the browser chat shows, as HTML strings: replies, evidence, documents.

Pure functions over the records, so they are tested without a browser. Document
text is always escaped: it shows as text, never as markup. Markdown documents are
shown without their markup ("# ", "**"), while every offset stays the source's.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence

from .cues import NO_DOCUMENTS, NO_WORDS, NOT_ENGLISH, NOTHING_TO_LOOK_FOR
from .records import Answer, Citation, Document

#: Confidence bands over `Answer.confidence`, and what each meant on held-out test
#: questions: the share of answers in the band that quoted the answer (the 96-question
#: news-article set / two held-out SQuAD v2 articles of harder, trick questions, 675 answers in all).
CONFIDENCE_BANDS = ((0.5, "high", 0.94, 0.58), (0.3, "medium", 0.83, 0.50), (0.0, "low", 0.67, 0.30))
#: Characters of context shown either side of a cited sentence in Sources.
DEFAULT_CONTEXT_CHARS = 300
#: The whole-document view shows at most this much text around the cited place.
DEFAULT_DOCUMENT_VIEW_CHARS = 200_000

DocLookup = Callable[[str], Document]

_MARKDOWN_SUFFIXES = (".md", ".markdown")
# One pass, so that no entity is escaped twice: HTML's specials, Markdown's, and line breaks.
_INERT = {ord(ch): f"&#{ord(ch)};" for ch in "&<>\"'\\`*_[]#|~\n"}
# Heading, quote and list markers at a line start, emphasis, code ticks, and links/images (kept as their text).
_MARKUP = re.compile(r"(?m)^[ \t]{0,3}(?:#{1,6}|>|[-*+]|\d{1,3}[.)])[ \t]+|\*\*|__|`+|!?\[([^\]\n]*)\]\([^)\n]*\)")
# A list item's marker at a line start, in the text between two quoted items.
_BETWEEN_MARKER = re.compile(r"(?m)^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+")
#: What a reply says, instead of "the documents don't say", when there was nothing to search
#: or nothing to search for (`Answer.reason`).
_CANNOT_ASK = {
    NO_DOCUMENTS: "<p class='askdoc-none'><b>There are no documents yet.</b> "
    "<a class='askdoc-add' href='#documents'>Add a document</a> (.txt, .md, .html or .pdf), then ask again.</p>",
    NO_WORDS: "<p class='askdoc-none'><b>Please ask a question in words</b>, for example "
    "“Who wrote it?” or “When did it happen?”</p>",
    NOTHING_TO_LOOK_FOR: "<p class='askdoc-none'><b>Please ask a question that names what to look for</b>, "
    "for example “Who wrote it?” or “When did it happen?”</p>",
    NOT_ENGLISH: "<p class='askdoc-none'><b>askdoc reads questions in English.</b> Please ask again in English.</p>",
}


def inert(text: str) -> str:
    """``text`` escaped so that neither HTML nor Markdown touches it: it shows (and copies) as written."""
    return text.translate(_INERT)


def is_markdown(doc: Document) -> bool:
    return (doc.source or "").lower().endswith(_MARKDOWN_SUFFIXES)


def plain(text: str, markdown: bool) -> str:
    """``text`` without Markdown markup when ``markdown``; a PDF's page breaks as line breaks."""
    text = text.replace("\f", "")
    return _MARKUP.sub(lambda m: m.group(1) or "", text) if markdown else text


def shown(text: str, markdown: bool) -> str:
    """``text`` escaped for HTML, without Markdown markup when ``markdown``."""
    return html.escape(plain(text, markdown), quote=True)


def is_paged(doc: Document) -> bool:
    """A PDF: its pages are separated by form feeds in the text (see `askdoc.ingest`)."""
    return (doc.source or "").lower().endswith(".pdf")


def page_of(text: str, offset: int) -> int:
    """The 1-based page of ``offset`` in a PDF's text."""
    return text.count("\f", 0, offset) + 1


def position(text: str, start: int, end: int, paged: bool = False) -> str:
    """Where ``[start, end)`` lies: "line 9, chars 1043–1175", or "p. 3, chars …" in a PDF."""
    where = f"p. {page_of(text, start)}" if paged else f"line {text.count(chr(10), 0, start) + 1}"
    return f"{where}, chars {start}–{end}"


def located(d: Document, start: int, end: int) -> str:
    return position(d.text, start, end, is_paged(d))


def confidence_band(confidence: float) -> tuple[str, float, float]:
    """(label, article precision, adversarial precision) of the band ``confidence`` falls in."""
    return next((label, a, b) for floor, label, a, b in CONFIDENCE_BANDS if confidence >= floor)


def confidence_html(confidence: float) -> str:
    """The confidence label; its explanation folds out under it (a click, a tap or Enter:
    a hover-only tooltip reached neither keyboards nor touch screens)."""
    label, article, adversarial = confidence_band(confidence)
    bars = {"high": 3, "medium": 2, "low": 1}[label]
    meter = "".join(f"<i class='{'on' if i < bars else 'off'}'></i>" for i in range(3))
    why = (
        f"Of askdoc's test answers with {label} confidence, {article:.0%} quoted the answer "
        f"in a news article and {adversarial:.0%} in harder, encyclopedia questions it had not seen."
    )
    return (
        f"<details class='askdoc-conf'><summary><span class='askdoc-meter' aria-hidden='true'>{meter}</span> "
        f"{label} confidence</summary><p class='askdoc-why'>{html.escape(why)}</p></details>"
    )


def _quote_html(c: Citation, markdown: bool) -> str:
    """The quote with the reader's exact answer in bold."""
    if c.answer_start is None:
        return shown(c.quote, markdown)
    a, b = c.answer_start - c.start, c.answer_end - c.start
    return shown(c.quote[:a], markdown) + f"<b>{shown(c.quote[a:b], markdown)}</b>" + shown(c.quote[b:], markdown)


def _cite_link(n: int, k: int) -> str:
    # The page's script shows the cited sentence in a popover (hover, focus or a first tap).
    return f"<a class='askdoc-cite' href='#ev-{n}-{k}'>[{k}]</a>"


def feedback_case(ans: Answer) -> dict:
    """What a vote on this answer records (see `askdoc.feedback`): the question, how it was
    read, and the answer with its citations."""
    return {
        "question": ans.question,
        "resolved_question": ans.resolved_question,
        "found": ans.found,
        "text": ans.text,
        "exact": ans.exact,
        "citations": [
            {"doc_id": c.doc_id, "title": c.title, "start": c.start, "end": c.end, "quote": c.quote}
            for c in ans.citations
        ],
    }


def _feedback_html(ans: Answer) -> str:
    """Helpful / Not helpful; the answer's case rides along, inert, for the page's script to send."""
    case = inert(json.dumps(feedback_case(ans), ensure_ascii=False))
    # The chat's sanitizer drops data- and aria- attributes: the vote is in the class, and the
    # page's script adds the group's name and each button's pressed state.
    return (
        "<span class='askdoc-feedback' role='group'>"
        "<button class='askdoc-vote askdoc-vote-up' type='button'>Helpful</button>"
        "<button class='askdoc-vote askdoc-vote-down' type='button'>Not helpful</button>"
        f"</span><span class='askdoc-case' hidden>{case}</span>"
    )


def reply_html(n: int, ans: Answer, doc: DocLookup, scope: str = "") -> str:
    """Answer ``n`` as a chat message: each quoted sentence followed by its citation number,
    the citations, a confidence line and a copy button; or one line saying the documents
    don't say, with the closest passages folded away. ``scope`` names the one document searched."""
    where = f"<p class='askdoc-scope'>Searched only <i>{html.escape(scope)}</i>.</p>" if scope else ""
    if ans.resolved_question:  # a follow-up askdoc rewrote: say how it read it, so the answer makes sense
        where += f"<p class='askdoc-reading'>Reading this as: <i>{html.escape(ans.resolved_question)}</i></p>"
    if not ans.found and ans.reason in _CANNOT_ASK:
        return where + _CANNOT_ASK[ans.reason]
    if not ans.found:
        closest = "".join(
            f"<li>{html.escape(p.title)} — {located(doc(p.doc_id), p.start, p.end)}: "
            f"{html.escape(_snippet(plain(p.text, is_markdown(doc(p.doc_id)))))}</li>"
            for p in ans.passages[:3]
        )
        folded = f"<details class='askdoc-closest'><summary>Closest passages</summary><ol>{closest}</ol></details>"
        # One line: the votes beside it (a "Not helpful" here is a missed answer, worth a case).
        none = f"<div class='askdoc-none'><b>The documents don't say.</b>{_feedback_html(ans)}</div>"
        return f"{where}{none}{folded if closest else ''}"
    d = doc(ans.citations[0].doc_id)
    md = is_markdown(d)
    parts, prev = [], ans.citations[0].start
    for k, c in enumerate(ans.citations, 1):
        between = _BETWEEN_MARKER.sub("", d.text[prev : c.start])
        parts.append(shown(between, md).replace("\n", " ") + _quote_html(c, md) + f" {_cite_link(n, k)}")
        prev = c.end
    cites = "<br>".join(
        f"{_cite_link(n, k)} {html.escape(c.title)} — {located(d, c.start, c.end)}"
        for k, c in enumerate(ans.citations, 1)
    )
    copy = (
        "<button class='askdoc-copy' type='button'>Copy</button>"
        f"<span class='askdoc-md' hidden>{inert(reply_markdown(ans, doc))}</span>"
    )
    quote = "".join(parts).replace("\n", " ")
    return (
        f"{where}<blockquote class='askdoc-quote'>“{quote}”</blockquote>"
        f"<div class='askdoc-cites'>{cites}</div>{confidence_html(ans.confidence)}"
        f"<div class='askdoc-actions'>{copy}{_feedback_html(ans)}</div>"
    )


def reply_markdown(ans: Answer, doc: DocLookup) -> str:
    """What Copy (and Export) puts out: how a follow-up was read, the quote, its citations and
    sources, in Markdown."""
    reading = f"*Reading this as: {ans.resolved_question}*\n\n" if ans.resolved_question else ""
    if not ans.found:
        said = re.sub(r"<[^>]+>", "", _CANNOT_ASK.get(ans.reason, "The documents don't say."))
        return reading + html.unescape(said)
    d = doc(ans.citations[0].doc_id)
    parts, prev = [], ans.citations[0].start
    for k, c in enumerate(ans.citations, 1):
        quote = c.quote
        if c.answer_start is not None:
            a, b = c.answer_start - c.start, c.answer_end - c.start
            quote = f"{quote[:a]}**{quote[a:b]}**{quote[b:]}"
        parts.append(_BETWEEN_MARKER.sub("", d.text[prev : c.start]) + quote + f" [{k}]")
        prev = c.end
    quote = " ".join("".join(parts).split())
    lines = [f"> “{quote}”", ""]
    for k, c in enumerate(ans.citations, 1):
        # The title and the document's id, never a file path: the server's paths (a temporary
        # upload, the install folder) mean nothing to whoever reads the copy, and leak.
        lines.append(f"[{k}] *{c.title}* (`{c.doc_id}`), {located(doc(c.doc_id), c.start, c.end)}")
    return reading + "\n".join(lines)


def _snippet(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def word_window(text: str, lo: int, hi: int, start: int, end: int) -> tuple[int, int]:
    """``[lo, hi)`` widened to hold ``[start, end)``, then narrowed to whole words."""
    lo, hi = max(0, min(lo, start)), min(len(text), max(hi, end))
    if lo > 0 and not text[lo - 1].isspace():
        gap = re.search(r"\s", text[lo:start])
        lo = lo + gap.end() if gap else start
    if hi < len(text) and not text[hi].isspace():
        cut = max(text.rfind(" ", end, hi), text.rfind("\n", end, hi))
        hi = cut if cut >= end else end
    return lo, hi


def _marked(d: Document, lo: int, hi: int, c_start: int, c_end: int, quote: str, mark_id: str = "") -> str:
    """``d.text[lo:hi]`` with the quote marked, and "…" where the text goes on."""
    md = is_markdown(d)
    ident = f" id='{mark_id}'" if mark_id else ""
    return (
        ("…" if lo > 0 else "")
        + shown(d.text[lo:c_start], md)
        + f"<mark{ident}>{quote}</mark>"
        + shown(d.text[c_end:hi], md)
        + ("…" if hi < len(d.text) else "")
    )


def _details(anchor: str, summary: str, body: str) -> str:
    return (
        f"<details id='{anchor}'><summary>{html.escape(summary)}</summary><div class='passage'>{body}</div></details>"
    )


def evidence_html(n: int, ans: Answer, doc: DocLookup, show_all: bool = False) -> str:
    """Answer ``n``'s evidence: each cited passage (anchor ``ev-n-k``) with the answering
    sentence marked and a link to the whole document there; or the closest passages."""
    blocks = []
    for k, c in enumerate(ans.citations, 1):
        d = doc(c.doc_id)
        passage = next((p for p in ans.passages if p.doc_id == c.doc_id and p.start <= c.start < p.end), None)
        lo, hi = (passage.start, passage.end) if passage else (c.start, c.end)
        lo, hi = word_window(d.text, min(lo, c.start - DEFAULT_CONTEXT_CHARS), max(hi, c.end + DEFAULT_CONTEXT_CHARS),
                             c.start, c.end)  # fmt: skip
        body = _marked(d, lo, hi, c.start, c.end, _quote_html(c, is_markdown(d)))
        target = html.escape(f"{c.doc_id}:{c.start}:{c.end}")
        link = f"<a class='askdoc-open' href='#document' data-target='{target}'>Open the whole document here</a>"
        body += f"<p>{link}</p>"
        blocks.append(_details(f"ev-{n}-{k}", f"[{k}] {c.title} — {located(d, c.start, c.end)}", body))
    if show_all or not ans.found:
        label = "Retrieved passage" if ans.found else "Closest passage"
        for k, p in enumerate(ans.passages, 1):
            d = doc(p.doc_id)
            lo, hi = word_window(d.text, p.start, p.end, p.start, p.start)
            text = ("…" if lo > 0 else "") + shown(d.text[lo:hi], is_markdown(d)) + ("…" if hi < len(d.text) else "")
            where = f"{label} {k} — {p.title}, {located(d, p.start, p.end)}"
            blocks.append(_details(f"ev-{n}-p{k}", where, text))
    head = f"<p class='askdoc-ev-head'>Sources for answer {n}: <i>{html.escape(ans.question)}</i></p>"
    return f"<section class='askdoc-evidence' id='ev-{n}'>{head}{''.join(blocks) or '<p>No passages.</p>'}</section>"


def document_html(d: Document, start: int, end: int) -> str:
    """The whole document (or a large window of it) with ``[start, end)`` marked."""
    half = DEFAULT_DOCUMENT_VIEW_CHARS // 2
    lo, hi = word_window(d.text, start - half, end + half, start, end)
    byline = f" by {html.escape(d.author)}" if d.author else ""
    body = _marked(d, lo, hi, start, end, shown(d.text[start:end], is_markdown(d)), mark_id="askdoc-doc-mark")
    return (
        f"<p class='askdoc-doc-head'><b>{html.escape(d.title)}</b>{byline} "
        f"<span class='askdoc-muted'>({html.escape(d.doc_id)}, {located(d, start, end)})</span></p>"
        f"<div class='askdoc-doc'>{body}</div>"
    )


def header_html(docs: Sequence[Document], link: str = "") -> str:
    """What is loaded: "1 document: *Title*, by Author", then ``link``."""
    link = f" {link}" if link else ""
    if not docs:
        return f"<p class='askdoc-loaded'>No documents yet: add one under <b>Documents</b>.{link}</p>"

    def one(d: Document) -> str:
        return f"<i>{html.escape(d.title)}</i>" + (f", by {html.escape(d.author)}" if d.author else "")

    named = "; ".join(one(d) for d in docs[:3]) + (f"; and {len(docs) - 3} more" if len(docs) > 3 else "")
    count = f"{len(docs)} document{'s' if len(docs) != 1 else ''}"
    return f"<p class='askdoc-loaded'>{count}: {named}{link}</p>"


def documents_html(docs: Sequence[Document]) -> str:
    """The indexed documents, each with a Remove button."""
    if not docs:
        return "<p>No documents in the index.</p>"
    rows = "".join(
        f"<tr><td><b>{html.escape(d.title)}</b>{'<br>by ' + html.escape(d.author) if d.author else ''}</td>"
        f"<td><code>{html.escape(d.doc_id)}</code></td>"
        f"<td><button class='askdoc-remove' type='button' data-doc='{html.escape(d.doc_id)}' "
        f"data-title='{html.escape(d.title)}' aria-label='Remove {html.escape(d.title)}'>Remove</button></td></tr>"
        for d in docs
    )
    head = "<tr><th scope='col'>Document</th><th scope='col'>id</th><th scope='col'><span class='sr-only'>Remove</span>"
    head += "</th></tr>"
    return f"<table class='askdoc-docs'>{head}{rows}</table>"
