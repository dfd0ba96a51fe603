"""The records passed between stages: frozen dataclasses, JSON-friendly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Alias:
    """A name a document defines: "Non-Aligned Movement (NAM)" (see `askdoc.names`)."""

    short: str
    long: str
    #: The form the document uses more often, which questions are read in.
    usual: str


@dataclass(frozen=True)
class Document:
    """A document's text exactly as read, plus where its body lies."""

    doc_id: str
    text: str
    title: str
    source: str | None = None
    author: str = ""
    #: The part worth answering from, as ``[start, end)`` into `text`:
    #: page furniture (share buttons, "recent posts") lies outside it.
    body_start: int = 0
    body_end: int = -1
    #: The abbreviations the text defines (`askdoc.names.find_aliases`).
    aliases: tuple[Alias, ...] = ()

    def __post_init__(self) -> None:
        if self.body_end < 0:
            object.__setattr__(self, "body_end", len(self.text))


@dataclass(frozen=True)
class Span:
    """A ``[start, end)`` character range of a document, e.g. a sentence."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences, the unit that is embedded and retrieved."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    section: str
    n_tokens: int
    #: The sentences inside the chunk, as absolute offsets, and the number
    #: of the first one among the document's sentences.
    sentences: tuple[Span, ...] = ()
    first_sentence: int = 0


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused retrieval score."""

    doc_id: str
    title: str
    source: str | None
    start: int
    end: int
    text: str
    score: float
    section: str = ""
    chunk_id: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """Where a quote came from; ``quote == document.text[start:end]``."""

    doc_id: str
    title: str
    source: str | None
    start: int
    end: int
    quote: str
    score: float
    #: The exact answer inside the quote, as absolute offsets (None for a sentence
    #: that only completes the quote): ``document.text[answer_start:answer_end]``.
    answer_start: int | None = None
    answer_end: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """askdoc's reply: verbatim sentences with citations, or an abstention."""

    question: str
    found: bool
    text: str
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    #: The passages the answer was chosen from, the one holding the quote (or the
    #: likeliest sentence, when abstaining) first.
    passages: list[Passage] = field(default_factory=list)
    #: Why askdoc abstained (empty when found).
    reason: str = ""
    #: The short answer the reader found inside the quote ("1961"); empty when not found.
    exact: str = ""
    #: How askdoc read a follow-up ("When was the Non-Aligned Movement established?" for
    #: "When was it established?"); empty when the question was read as typed (see `askdoc.resolve`).
    resolved_question: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class IndexResult:
    """What `Index.add_file` / `add_text` did with one document."""

    doc_id: str
    title: str
    status: str  # "added", "updated" or "unchanged"
    chunks: int
    #: Characters of the document's body that were indexed, and of trailing
    #: page furniture set aside (see `Document.body_end`).
    chars: int = 0
    furniture_chars: int = 0
