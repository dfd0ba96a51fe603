"""Ingest: a file (or a string) becomes a `Document`: text, title, author, body range.

Text is kept exactly as decoded (no newline or Unicode normalisation) so that
citation offsets point at the source. HTML and PDF are converted to text first;
their offsets point into that text, which the index stores.
"""

from __future__ import annotations

import hashlib
import os
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

#: Between a PDF's pages in its text (see `_pdf_text`).
PAGE_BREAK = "\n\f\n"
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
    markdown = suffix in (".md", ".markdown")
    return make_document(
        text,
        doc_id=doc_id,
        title=title,
        source=source_name(p.resolve()),
        markdown=markdown,
        # Page furniture is a web page's: HTML, or text saved from one. A Markdown note or a
        # PDF ending in "## Comments" and "- Owner: ..." lines ends in its own content.
        web=not markdown and suffix != ".pdf",
    )


def source_name(path: Path) -> str:
    """``path`` as a document's source: a file name that is not UTF-8 (``caf\\xe9.txt`` in
    Latin-1) keeps its odd bytes as ``\\xe9``, since the store takes valid Unicode only."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def make_document(
    text: str, doc_id: str, title: str = "", source: str | None = None, markdown: bool = False, web: bool = True
) -> Document:
    """Build a `Document` from text: finds the title, author and body range (where trailing
    page furniture starts, for ``web`` text only)."""
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise DocumentError(f"a document id must be a non-empty str, not {doc_id!r}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates: bytes that were not UTF-8, decoded with surrogateescape (say).
        raise DocumentEncodingError(
            f"{doc_id}: the text holds characters that are not valid Unicode (at offset {exc.start}); "
            "decode it as UTF-8 first"
        ) from None
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
    body_end = _body_end(text) if web else len(text.rstrip())
    if not any(ch.isalnum() for ch in text[body_start:body_end]):
        # Front matter and nothing else: indexed, it was "-1 chars" that no question could reach.
        raise EmptyDocument(f"{doc_id}: the document holds no text besides its front matter")
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
# The markup the flattener reads as the parser does: a start or end tag (quoted attribute values
# may hold ">"; possessive, so a tag costs linear time), a comment, or another "<!"/"<?" construct.
_MARKUP = re.compile(r"<(?:!--|[!?]|/?[a-zA-Z]|/)")
_TAG = re.compile(
    r"<(/?)([a-zA-Z][^\t\n\f\r />]*+)"
    r"((?:[\t\n\f\r /]++|[^\t\n\f\r />][^\t\n\f\r />=]*+"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >]*+))?+)*+)>"
)
_ATTR = re.compile(
    r"([^\t\n\f\r />][^\t\n\f\r />=]*+)(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >]*+))?+"
)
_MAY_HIDE = re.compile(r"hidden|style", re.IGNORECASE)
_COMMENT_END = re.compile(r"--!?>")
_VOID = frozenset(
    "area base basefont bgsound br col embed hr img input keygen link meta param source track wbr".split()
)
# Text up to the element's own end tag, never markup; plaintext runs to the end of the page.
_RAW_TEXT = frozenset("script style textarea title xmp iframe noembed noframes plaintext".split())
# Kept by the parser where it stands, never nested: the page's own html, head and body.
_ROOT_TAGS = frozenset(("html", "head", "body"))
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
# Elements that end the element of another name around them (the parser's "special" category).
_SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button caption center col colgroup"
    " dd details dialog dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6"
    " head header hgroup hr html iframe img input keygen li link listing main marquee menu meta nav noembed"
    " noframes noscript object ol p param plaintext pre script search section select source style summary table"
    " tbody td template textarea tfoot th thead title tr track ul wbr xmp".split()
)
_SCOPE = frozenset("applet caption html table td th marquee object template".split())
_TABLE_SCOPE = frozenset(("html", "table", "template"))
# Start tags that end an open <p> (in button scope), as the parser's tree builder does.
_ENDS_P = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption figure footer form h1 h2"
    " h3 h4 h5 h6 header hgroup hr listing main menu nav ol p pre search section summary table ul li dd dt"
    " plaintext xmp".split()
)
_P = frozenset(("p",))
_BUTTON_SCOPE = _SCOPE | {"button"}
_END_TAG_SCOPE = {"p": _BUTTON_SCOPE, "li": _SCOPE | {"ol", "ul"}}
# A list item ends the open one unless a block other than address, div or p holds it.
_LIST_ITEM_STOPS = _SPECIAL - {"address", "div", "p"}
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_SEARCH_LIMIT = 2 * MAX_HTML_DEPTH
# Start tag -> (the open elements it ends, where the search for them stops).
_IMPLIED_ENDS = {
    "li": (frozenset(("li",)), _LIST_ITEM_STOPS),
    "dd": (frozenset(("dd", "dt")), _LIST_ITEM_STOPS),
    "dt": (frozenset(("dd", "dt")), _LIST_ITEM_STOPS),
    "td": (frozenset(("td", "th")), _TABLE_SCOPE),
    "th": (frozenset(("td", "th")), _TABLE_SCOPE),
    "tr": (frozenset(("tr",)), _TABLE_SCOPE),
    "thead": (frozenset(("thead", "tbody", "tfoot")), _TABLE_SCOPE),
    "tbody": (frozenset(("thead", "tbody", "tfoot")), _TABLE_SCOPE),
    "tfoot": (frozenset(("thead", "tbody", "tfoot")), _TABLE_SCOPE),
}


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
    page of 40,000 nested ``<div>``s took 3 s); browsers cap the depth too.

    Depth is counted as the parser builds the tree: an unclosed ``<p>``, ``<li>`` or ``<td>``
    ends where the next one begins, a stray end tag closes nothing, and script, style and
    comments hold no tags. A flattened element that `_walk` would drop (script, style,
    template, hidden, ...) loses its text too, up to where the parser ends it: without its
    tag, nothing downstream would know to drop it.
    """
    if html.count("<") < MAX_HTML_DEPTH:
        return html  # too few tags to nest that deep
    out: list[str] = []
    at = 0  # html[:at] is written to out
    stack = _OpenElements()
    # Inside a flattened element `_walk` would drop: its depth, name, and how many of that name
    # are open in it; its text goes until both the model and its own end tags say it ended.
    drop: list | None = None
    changed = False

    def emit(start: int, end: int, keep: bool) -> None:
        # html[at:start] is text (dropped inside a dropped element); html[start:end] is a tag.
        nonlocal at, changed
        if drop is not None and start > at:
            out.append(" ")
            changed = True
        else:
            out.append(html[at:start])
        out.append(html[start:end] if keep else " ")
        changed = changed or not keep
        at = end

    pos, n = 0, len(html)
    while (m := _MARKUP.search(html, pos)) is not None:
        start, lead = m.start(), m.group()
        if lead == "<!--":
            if html.startswith((">", "->"), start + 4):  # "<!-->" and "<!--->" are whole comments
                pos = html.index(">", start + 4) + 1
            else:
                end = _COMMENT_END.search(html, start + 4)
                pos = end.end() if end else n
            continue
        if lead in ("<!", "<?", "</"):  # a doctype, a bogus comment, or "</>"
            end = html.find(">", start + 2)
            pos = n if end < 0 else end + 1
            continue
        tag = _TAG.match(html, start)
        if tag is None:
            break  # a tag left open at the end of the page: the parser drops the rest
        pos = tag.end()
        name = _ascii_lower(tag.group(2))
        if name in _ROOT_TAGS:
            continue  # the parser's own html, head and body: they never nest
        if tag.group(1):  # an end tag
            at_index = stack.closed_by_end_tag(name)
            # An end tag whose element is not found (or lies too far down) is dropped when deep:
            # kept, the parser could close a shallower element with it, a hidden one perhaps.
            kept = stack.kept[at_index] if at_index is not None else len(stack) <= MAX_HTML_DEPTH
            if at_index is not None:
                stack.pop_to(at_index)
            if drop is not None or not kept:
                emit(start, pos, kept)
            if drop is not None and name == drop[1]:
                drop[2] -= 1
                if drop[2] <= 0 and len(stack) <= drop[0]:
                    drop = None
            continue
        stack.end_implied(name)
        if drop is not None and name == drop[1]:
            drop[2] += 1
        deep = len(stack) >= MAX_HTML_DEPTH
        if name in _RAW_TEXT:
            end = _raw_text_end(html, name, pos)
            if deep or drop is not None:
                emit(start, end, not deep)  # script, style, ...: never text, however deep
            pos = end
            continue
        if name in _VOID:
            if drop is not None:
                emit(start, pos, True)
            continue
        if (
            deep
            and drop is None
            and (
                name in _HTML_DROP
                or (name == "header" and not stack.any_open(_HTML_CONTENT))
                or (_MAY_HIDE.search(tag.group(3)) and _hidden_attrs(_attributes(tag.group(3))))
            )
        ):
            emit(start, pos, False)
            # Only where both say so: the model ends an unclosed <p> where the parser does, but
            # not always in a table, and a formatting element the parser ends early it opens
            # again around the text that follows (attributes and all), up to its own end tag.
            drop = [len(stack), name, 1]
        elif deep or drop is not None:
            emit(start, pos, not deep)
        stack.push(name, not deep)
    if drop is not None and at < n:
        out.append(" ")
        at, changed = n, True
    return "".join(out) + html[at:] if changed else html


def _ascii_lower(name: str) -> str:
    # The parser folds ASCII letters only (str.lower() makes "k" of the Kelvin sign).
    return name.lower() if name.isascii() else "".join(c.lower() if c.isascii() else c for c in name)


class _OpenElements:
    """The parser's stack of open elements as the flattener models it: names, whether each
    one's tags are kept, and how many of each name are open, so that a search for one that is
    not open costs nothing. A search looks `_SEARCH_LIMIT` elements down at most, keeping a
    page of 40,000 nested tags linear; past that it answers "not open", which flattens more,
    never less."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.kept: list[bool] = []
        self.count: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.names)

    def push(self, name: str, kept: bool) -> None:
        self.names.append(name)
        self.kept.append(kept)
        self.count[name] = self.count.get(name, 0) + 1

    def pop_to(self, i: int) -> None:
        """Close the element at ``i`` and every element above it."""
        for name in self.names[i:]:
            self.count[name] -= 1
        del self.names[i:], self.kept[i:]

    def find(self, names: frozenset[str], stops: frozenset[str]) -> int | None:
        """The topmost element named in ``names`` above any in ``stops``, or None."""
        if not any(self.count.get(name) for name in names):
            return None
        for i in range(len(self.names) - 1, max(-1, len(self.names) - 1 - _SEARCH_LIMIT), -1):
            if self.names[i] in names:
                return i
            if self.names[i] in stops:
                return None
        return None

    def closed_by_end_tag(self, name: str) -> int | None:
        """Where the element an end tag ``</name>`` closes sits, or None if it closes none:
        a block or formatting element in scope; another name unless a block lies between."""
        if name in _SPECIAL or name in _FORMATTING:
            return self.find(frozenset((name,)), _END_TAG_SCOPE.get(name, _SCOPE))
        return self.find(frozenset((name,)), _SPECIAL)

    def end_implied(self, name: str) -> None:
        """Close the open elements a start tag ``<name>`` ends without an end tag."""
        if name in _IMPLIED_ENDS:
            i = self.find(*_IMPLIED_ENDS[name])
            if i is not None:
                self.pop_to(i)
        if name in _ENDS_P:
            i = self.find(_P, _BUTTON_SCOPE)
            if i is not None:
                self.pop_to(i)
        top = self.names[-1] if self.names else ""
        if (name in _HEADINGS and top in _HEADINGS) or (name in ("option", "optgroup") and top == "option"):
            self.pop_to(len(self.names) - 1)
            top = self.names[-1] if self.names else ""
        if name == "optgroup" and top == "optgroup":
            self.pop_to(len(self.names) - 1)

    def any_open(self, names: frozenset[str]) -> bool:
        return any(self.count.get(name) for name in names)


def _raw_text_end(html: str, name: str, pos: int) -> int:
    """The end of the end tag that closes raw text opened at ``pos``, or of the page."""
    if name != "plaintext":
        close = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE).search(html, pos)
        if close is not None:
            end = html.find(">", close.end() - 1)
            return len(html) if end < 0 else end + 1
    return len(html)


def _attributes(text: str) -> dict[str, str | None]:
    """A start tag's attributes as the parser reads them: names folded, the first of a name
    wins, character references in values decoded."""
    import html as html_lib

    attrs: dict[str, str | None] = {}
    for name, value in _ATTR.findall(text):
        name = _ascii_lower(name)
        if name not in attrs:
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            attrs[name] = html_lib.unescape(value) if value else ""
    return attrs


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
    return bool(attrs) and _hidden_attrs(attrs)


def _hidden_attrs(attrs: dict[str, str | None]) -> bool:
    style = attrs.get("style") or ""
    return (
        "hidden" in attrs
        or (attrs.get("aria-hidden") or "").strip().lower() == "true"
        or bool(_HIDDEN_STYLE.search(style))
    )


def _pdf_text(data: bytes, path: Path) -> tuple[str, str]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except LimitReachedError:
        # pypdf stops inflating a stream at 75 MB: a few KB that would become gigabytes.
        raise UnsupportedDocument(
            f"{path}: refused: a stream in it decompresses past 75 MB (a compression bomb?)"
        ) from None
    except DependencyError:
        raise UnsupportedDocument(
            f"{path}: the PDF is encrypted with AES, which needs the 'cryptography' package (pip install cryptography)"
        ) from None
    except FileNotDecryptedError:
        raise UnsupportedDocument(f"{path}: the PDF is password-protected; save a copy without the password") from None
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedDocument(f"{path}: not a readable PDF ({exc})") from None
    # Pages are joined by a form feed on a line of its own (a blank line to the sentence
    # splitter), empty pages kept, so that an offset's page is the form feeds before it plus one.
    text = PAGE_BREAK.join(pages)
    if not text.strip():
        raise EmptyDocument(f"{path}: the PDF has no text layer (scanned?); run OCR on it first")
    return text, str(meta_title).strip()
