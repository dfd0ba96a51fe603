"""Ingest: a file (or a string) becomes a `Document`: text, title, author, body range.

Text is kept exactly as decoded (no newline or Unicode normalisation) so that
citation offsets point at the source. HTML and PDF are converted to text first;
their offsets point into that text, which the index stores.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .errors import (
    DocumentEncodingError,
    DocumentError,
    DocumentNotFound,
    EmptyDocument,
    UnsupportedDocument,
)
from .names import find_aliases
from .records import Document, Span

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")

# A heading that starts a web page's trailing furniture (Markdown marks allowed). It only
# ends the body when everything after it is furniture-shaped too (see `_body_end`): a
# report's "Subscribers grew to 12,000" or a notes file's "Comments" heading is content.
_FURNITURE = re.compile(
    r"^[\s#>*_-]*(share( this( article| post| story)?)?|leave a (comment|reply)|\d* ?comments?|recent posts"
    r"|related (posts|articles|stories)|you may also like|read more|more from[^.!?]{0,40}|tags?:[^.!?]{0,80}"
    r"|advertisement|subscribe( now| here| to our newsletter)?|follow us( on [^.!?]{0,30})?|newsletter"
    r"|most (read|popular)|trending( now)?)[\s*_:]*$",
    re.IGNORECASE,
)
_FURNITURE_MIN_FRACTION = 0.5
# Furniture is short lines (post titles, links, dates, share buttons) and teasers cut
# short with an ellipsis; a line with more words, or a finished sentence, is prose.
_PROSE_WORDS = 20
_SENTENCE_END = re.compile(r"\w\W{0,2}[.!?][\"'”’)\]]*\s*$")
_TEASER_END = re.compile(r"(…|\.\.\.)[\"'”’)\]]*\s*$")
_FOOTER_LINE = re.compile(r"^\s*(©|\(c\)|copyright\b|all rights reserved)", re.IGNORECASE)
_AUTHOR = re.compile(r"^\s*(?:author\s*:|by\s+)\s*(?P<name>[^\n]{2,80}?)\s*$", re.IGNORECASE | re.MULTILINE)
#: A byline sentence: "Author: X", "By X", "The writer is ...".
BYLINE = re.compile(
    r"^\s*((author|by|written by|words by)\s*:?\s+\S|(the |about the )?(writer|author|columnist)( is|:)\s)", re.I
)
#: A line giving when the page was published: "Published: 3 March 2024", "Posted on 2024-03-03".
_DATE_LINE = re.compile(
    r"^[ \t]*(?:date|published|posted|updated|last updated|first published)(?:[ \t]+on)?[ \t]*:?[ \t]*"
    r"(?P<name>[^\n]{4,60}?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_DATE_VALUE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
    re.IGNORECASE,
)
#: How far into a document its metadata lines (byline, date) are looked for.
_HEAD_CHARS = 2000
_LONE_CR = re.compile(r"\r(?!\n)")
#: Markdown front matter: a YAML block between "---" lines at the very top.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_META_LINE = re.compile(r"^(\w+)[ \t]*:[ \t]*(\S.*?)[ \t]*$", re.M)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """A stable, readable document id from a file name."""
    slug = _SLUG.sub("-", name.lower()).strip("-")[:60]
    return slug or "doc-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def read_file(path: str | Path, doc_id: str | None = None, max_bytes: int | None = None) -> Document:
    """Read a .txt, .md, .html or .pdf file into a `Document`."""
    p = Path(path)
    if not p.exists():
        raise DocumentNotFound(f"{p}: no such file")
    if not p.is_file():
        raise DocumentNotFound(f"{p}: not a file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedDocument(
            f"{p}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        if max_bytes is not None and p.stat().st_size > max_bytes:
            raise DocumentError(f"{p}: larger than the {max_bytes:,}-byte limit")
        data = p.read_bytes()
    except OSError as exc:
        raise DocumentNotFound(f"{p}: cannot read ({exc.strerror or exc})") from None
    doc_id = doc_id or slugify(p.stem)
    if suffix == ".pdf":
        text, title = _pdf_text(data, p)
    else:
        text = _decode(data, p)
        if suffix in (".html", ".htm"):
            text, title = _html_text(text)
        else:
            title = ""
    if not text.strip():
        raise EmptyDocument(f"{p}: the document holds no text")
    return make_document(
        text, doc_id=doc_id, title=title, source=str(p.resolve()), markdown=suffix in (".md", ".markdown")
    )


def make_document(
    text: str, doc_id: str, title: str = "", source: str | None = None, markdown: bool = False
) -> Document:
    """Build a `Document` from text: finds the title, author and body range."""
    text = text.removeprefix("\ufeff")  # a byte-order mark is no part of the title or a quote
    if "\r" in text:
        text = _LONE_CR.sub("\n", text)  # old Mac line ends; same length, so offsets hold
    if not any(ch.isalnum() for ch in text):
        raise EmptyDocument(f"{doc_id}: the document holds no words")
    if "\x00" in text:
        raise UnsupportedDocument(f"{doc_id}: the text holds NUL bytes (binary content?)")
    front = _FRONT_MATTER.match(text) if markdown else None
    meta = {k.lower(): v.strip("'\"") for k, v in _META_LINE.findall(front.group(1))} if front else {}
    skip = front.end() if front else 0
    title = title.strip() or meta.get("title", "") or _guess_title(text[skip:], markdown) or doc_id
    author_match = _AUTHOR.search(text[skip : skip + 2000])
    author = meta.get("author", "") or (author_match.group("name").strip() if author_match else "")
    body_start = len(text) - len(text[skip:].lstrip())
    body_end = _body_end(text)
    return Document(
        doc_id=doc_id,
        text=text,
        title=title,
        source=source,
        author=author,
        body_start=body_start,
        body_end=body_end,
        aliases=find_aliases(text[body_start:body_end]),
    )


def field_span(text: str, title: str, field: str) -> tuple[Span, Span] | None:
    """Where a document (its ``text`` and ``title``) states its ``field`` ("author",
    "title" or "date"), as ingest found it: the line and the value inside it, as
    absolute offsets; None when it does not state it near its top."""
    head = text[:_HEAD_CHARS]
    if field == "title":
        at = head.find(title) if title.strip() else -1
        return (_line_around(text, at), Span(at, at + len(title))) if at >= 0 else None
    pattern = {"author": _AUTHOR, "date": _DATE_LINE}.get(field)
    m = pattern.search(head) if pattern else None
    if m is None or (field == "date" and not _DATE_VALUE.search(m.group("name"))):
        return None
    return _line_around(text, m.start("name")), Span(m.start("name"), m.end("name"))


def _line_around(text: str, at: int) -> Span:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end and text[start] in " \t#>*_":  # Markdown marks are no part of the quote
        start += 1
    return Span(start, end)


def sentence_role(text: str, number: int, title: str) -> str:
    """Title (the first sentence, equal to the document's title), byline, or body."""
    if number == 0 and text.strip() == title.strip():
        return "title"
    return "byline" if BYLINE.match(text) else "body"


def _decode(data: bytes, path: Path) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")  # its byte-order mark says which
        except UnicodeDecodeError as exc:
            raise DocumentEncodingError(f"{path}: not valid UTF-16 (bad bytes at offset {exc.start})") from None
    if b"\x00" in data[:8192]:
        raise UnsupportedDocument(f"{path}: looks binary (NUL bytes), not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentEncodingError(
            f"{path}: not valid UTF-8 (bad byte at offset {exc.start}); convert it to UTF-8 first"
        ) from None


def _guess_title(text: str, markdown: bool) -> str:
    if markdown:
        m = _MD_HEADING.search(text)
        if m:
            return m.group(1).strip()
    for line in text.splitlines():
        line = line.strip()
        if line:
            # A first line short enough to be a headline, not a paragraph.
            return line if len(line) <= 150 else ""
    return ""


def _body_end(text: str) -> int:
    """Where trailing page furniture starts, or the end of the text.

    Only on strong evidence: a furniture heading in the second half of the
    text followed by nothing but furniture-shaped lines up to the end. The
    lines are read backwards, so the text is scanned once.
    """
    floor = int(len(text) * _FURNITURE_MIN_FRACTION)
    end = pos = len(text)
    cut = None
    for line in reversed(text.splitlines(keepends=True)):
        pos -= len(line)
        if pos < floor:
            break
        if _FURNITURE.match(line):
            cut = pos  # the earliest heading of the run so far
        elif _is_prose(line):
            break
    return len(text[: cut if cut is not None else end].rstrip())


def _is_prose(line: str) -> bool:
    words = line.split()
    if not words or _TEASER_END.search(line) or _FOOTER_LINE.match(line):
        return False
    return len(words) >= _PROSE_WORDS or (len(words) >= 4 and bool(_SENTENCE_END.search(line)))


# Tags whose start and end break a paragraph; the rest (span, b, a, ...) run inline.
_HTML_BLOCKS = frozenset(
    "address article blockquote body caption center dd details dialog div dl dt fieldset figcaption figure h1 h2 h3"
    " h4 h5 h6 header hgroup hr html li main menu ol p pre section summary table tbody td tfoot th thead tr ul".split()
)
_HTML_CELLS = frozenset(("td", "th"))
# Not visible, or the page around the content rather than the content.
_HTML_DROP = frozenset(
    "script style noscript template nav footer aside form iframe svg button select textarea head title object"
    " canvas audio video".split()
)
# A page's header (logo, menus) goes, but an article's own header holds its title and byline.
_HTML_CONTENT = frozenset(("article", "main"))
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_SPACES = re.compile(r"[^\S\n]+")
#: Element nesting kept as written (as browsers' parsers cap it); deeper tags are flattened.
MAX_HTML_DEPTH = 512
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


def _html_text(html: str) -> tuple[str, str]:
    """Every visible text of the page in reading order, with paragraph breaks at block
    elements, line breaks at ``<br>`` and `` | `` between table cells; the title."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(_flatten_deep(html))
    title_node = tree.css_first("title") or tree.css_first("h1")
    title = " ".join(title_node.text().split()) if title_node else ""
    mains = tree.css("main")
    # The page's own word for where its content is; otherwise the whole body.
    root = mains[0] if len(mains) == 1 else (tree.body or tree.root)
    if root is None:
        return "", title
    paragraphs = _walk(root)
    if title and (not paragraphs or paragraphs[0] != title):
        paragraphs.insert(0, title)
    return "\n\n".join(paragraphs), title


def _flatten_deep(html: str) -> str:
    """``html`` with the tags nested deeper than `MAX_HTML_DEPTH` replaced by spaces, their
    text kept in place. The parser's time grows with the square of the nesting depth (a
    page of 40,000 nested ``<div>``s took 3 s); browsers cap the depth too."""
    if html.count("<") < MAX_HTML_DEPTH:
        return html  # too few tags to nest that deep
    out, at, depth = [], 0, 0
    for tag in _TAG.finditer(html):
        closing, name = tag.group(1), tag.group(2).lower()
        if name in _VOID or tag.group(0).endswith("/>"):
            continue
        deep = depth >= MAX_HTML_DEPTH if not closing else depth > MAX_HTML_DEPTH
        depth = max(0, depth - 1) if closing else depth + 1
        if deep:
            out += [html[at : tag.start()], " "]
            at = tag.end()
    return "".join(out) + html[at:] if out else html


def _walk(root) -> list[str]:
    """The paragraphs under ``root``, in one pass over its nodes with an explicit
    stack: no recursion, so nesting depth costs nothing but the stack."""
    paragraphs: list[str] = []
    lines: list[str] = []  # finished lines of the paragraph being read
    parts: list[str] = []  # text of the line being read
    pre = 0  # inside this many <pre>: keep line breaks as written
    content = int(root.tag in _HTML_CONTENT)  # inside this many <article> or <main>

    def end_line() -> None:
        line = _SPACES.sub(" ", "".join(parts)).strip()
        parts.clear()
        if line:
            lines.append(line)

    def end_paragraph() -> None:
        end_line()
        if lines:
            paragraphs.append("\n".join(lines))
            lines.clear()

    stack = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            if tag == "pre":
                pre -= 1
            elif tag in _HTML_CONTENT:
                content -= 1
            if tag in _HTML_BLOCKS and tag not in _HTML_CELLS:
                end_paragraph()
            continue
        if node.is_text_node:
            text = node.text_content or ""
            if pre:
                pieces = text.split("\n")
                for piece in pieces[:-1]:
                    parts.append(piece)
                    end_line()
                parts.append(pieces[-1])
            else:
                parts.append(" ".join(text.split("\n")))
            continue
        if not node.is_element_node or tag in _HTML_DROP or (tag == "header" and not content) or _hidden(node):
            continue
        if tag == "br":
            end_line()
        elif tag in _HTML_CELLS:
            # Cells of a row share a line, so a value is quoted with its label;
            # a cell holding blocks of its own still breaks at them.
            if "".join(parts).strip():
                parts.append(" | ")
        elif tag in _HTML_BLOCKS:
            end_paragraph()
            if tag == "pre":
                pre += 1
            elif tag in _HTML_CONTENT:
                content += 1
        stack.append((node, True))
        children = []
        child = node.first_child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((c, False) for c in reversed(children))
    end_paragraph()
    return paragraphs


def _hidden(node) -> bool:
    attrs = node.attributes
    if not attrs:
        return False
    style = attrs.get("style") or ""
    return "hidden" in attrs or attrs.get("aria-hidden") == "true" or bool(_HIDDEN_STYLE.search(style))


def _pdf_text(data: bytes, path: Path) -> tuple[str, str]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedDocument(f"{path}: not a readable PDF ({exc})") from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise EmptyDocument(f"{path}: the PDF has no text layer (scanned?); run OCR on it first")
    return text, str(meta_title).strip()
