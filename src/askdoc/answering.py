"""Answering: pick the sentences that answer a question, cite them, or abstain.

(Named answering, not answer, because ``askdoc.answer`` is the public function.)

Every sentence of the retrieved passages is scored on

- its embedding's cosine with the question, alone and blended with its
  neighbours' (context often carries the subject of a terse sentence);
- lexical coverage: the idf-weighted share of the question's terms it holds;
- the retrieval score of the best passage that contains it;
- an answer-type cue: a "when" question wants a date, "how many" a number,
  "who" a name, "where" a place.

The best sentence is quoted verbatim, with the adjacent one when that scores
nearly as well. Confidence is a logistic function of the evidence; below the
threshold askdoc abstains and returns only the passages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .records import Answer, Citation, Passage, Span
from .retrieve import terms

#: Weights of the sentence score.
W_DENSE, W_CONTEXT, W_LEXICAL, W_PASSAGE = 1.0, 0.35, 0.6, 0.25
#: A neighbour joins the answer when it scores at least this share of the best.
DEFAULT_JOIN_RATIO = 0.92
#: Logistic confidence: weights of (cosine, lexical coverage, type cue) and bias.
CONF_WEIGHTS = (9.0, 4.0, 1.5)
CONF_BIAS = -5.2


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with what scoring needs."""

    doc_id: str
    number: int
    span: Span
    vec: np.ndarray
    passage_score: float
    context_vec: np.ndarray | None = None


_YEAR = r"\b(1[0-9]{3}|20[0-9]{2})s?\b"
_MONTH = (
    r"\b(jan(uary)?|feb(ruary)?|march|april|may|june|july|aug(ust)?|sep(tember)?|oct(ober)?|nov(ember)?|dec(ember)?)\b"
)
_NUMBER = (
    r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|dozen|dozens|half|several)\b"
)


@dataclass(frozen=True)
class Cue:
    """What an answer to a kind of question contains, and how much that tells."""

    pattern: re.Pattern
    weight: float


_CUES: list[tuple[re.Pattern, Cue]] = [
    (
        re.compile(r"^\s*(when|what (year|date|day|month|time|decade|century)|since when|in which year)\b", re.I),
        Cue(re.compile(f"{_YEAR}|{_MONTH}|\\b(century|decade|today|yesterday|ago)\\b", re.I), 0.2),
    ),
    (
        re.compile(r"\bhow (many|much|long|old|large|big|far|often)\b|\bwhat (number|percentage|amount)\b", re.I),
        Cue(re.compile(_NUMBER, re.I), 0.2),
    ),
    # Bylines: "Author: X", "By X", "The writer is ...".
    (
        re.compile(r"\b(who (wrote|authored|penned)|author|writer|byline|written by)\b", re.I),
        Cue(re.compile(r"^\s*(author|by)\b|\b(writer|author|columnist|correspondent)\b", re.I), 0.5),
    ),
    (
        re.compile(r"^\s*(who|whom|whose)\b|\bwhich (person|people|leader|country|organi[sz]ation)\b", re.I),
        Cue(re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+|\b[A-Z]{2,}\b"), 0.1),
    ),
    (
        re.compile(r"^\s*where\b|\b(in|at) which (city|country|place|venue)\b", re.I),
        Cue(re.compile(r"\b(in|at|from|near)\s+(the\s+)?[A-Z]"), 0.1),
    ),
]
_EXPANDS = re.compile(r"\b(stand for|short for|abbreviation|acronym|full (name|form)|expand)", re.I)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,9}\b")


def answer_cue(question: str) -> Cue | None:
    """What an answer to ``question`` should contain, if its wording implies something."""
    acronym = _ACRONYM.search(question)
    if acronym and _EXPANDS.search(question):
        # "What does NAM stand for?" wants "Non-Aligned Movement (NAM)" or "NAM (Non-...)".
        a = re.escape(acronym.group())
        spelled = rf"[A-Z][\w-]*(\s+\w[\w-]*){{0,8}}\s*\({a}\)|\b{a}\s*\([A-Z]|\b{a} (stands|is short) for"
        return Cue(re.compile(spelled), 0.5)
    for asks, cue in _CUES:
        if asks.search(question):
            return cue
    return None


def lexical_coverage(q_terms: Sequence[str], sentence: str, idf: Callable[[str], float]) -> float:
    """The idf-weighted share of the question's terms found in ``sentence``."""
    if not q_terms:
        return 0.0
    have = set(terms(sentence))
    total = sum(idf(t) for t in set(q_terms))
    return sum(idf(t) for t in set(q_terms) if t in have) / total if total else 0.0


def select(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    passages: list[Passage],
    doc_texts: dict[str, str],
    doc_titles: dict[str, tuple[str, str | None]],
    idf: Callable[[str], float],
    min_confidence: float,
) -> Answer:
    """Choose and cite the answering sentence(s), or abstain."""
    if not candidates:
        return _abstain(question, passages, 0.0, "no passage was retrieved")
    q_terms = terms(question)
    cue = answer_cue(question)
    vecs = np.stack([c.vec for c in candidates])
    dense = vecs @ qvec
    ctx = np.array([float(c.context_vec @ qvec) if c.context_vec is not None else d for c, d in zip(candidates, dense)])
    lex = np.array([lexical_coverage(q_terms, _text(c, doc_texts), idf) for c in candidates])
    cue_hit = np.array(
        [0.5 if cue is None else float(bool(cue.pattern.search(_text(c, doc_texts)))) for c in candidates]
    )
    cue_weight = cue.weight if cue else 0.0
    pscore = np.array([c.passage_score for c in candidates])
    score = W_DENSE * dense + W_CONTEXT * ctx + W_LEXICAL * lex + W_PASSAGE * pscore + cue_weight * cue_hit
    best = int(np.argmax(score))
    z = CONF_WEIGHTS[0] * dense[best] + CONF_WEIGHTS[1] * lex[best] + CONF_WEIGHTS[2] * (cue_hit[best] - 0.5)
    confidence = round(1.0 / (1.0 + math.exp(-(z + CONF_BIAS))), 4)
    if confidence < min_confidence:
        return _abstain(question, passages, confidence, "the best matching sentence is weak evidence")

    chosen = [best]
    by_pos = {(c.doc_id, c.number): i for i, c in enumerate(candidates)}
    b = candidates[best]
    for nb in (b.number - 1, b.number + 1):
        i = by_pos.get((b.doc_id, nb))
        if i is not None and score[i] >= DEFAULT_JOIN_RATIO * score[best]:
            chosen.append(i)
    chosen.sort(key=lambda i: candidates[i].number)
    text = doc_texts[b.doc_id]
    title, source = doc_titles.get(b.doc_id, (b.doc_id, None))
    citations = [
        Citation(
            doc_id=b.doc_id,
            title=title,
            source=source,
            start=candidates[i].span.start,
            end=candidates[i].span.end,
            quote=text[candidates[i].span.start : candidates[i].span.end],
            score=round(float(score[i]), 4),
        )
        for i in chosen
    ]
    answer_text = text[citations[0].start : citations[-1].end]
    return Answer(question, True, answer_text, confidence, citations, passages)


def _text(c: Candidate, doc_texts: dict[str, str]) -> str:
    return doc_texts[c.doc_id][c.span.start : c.span.end]


def _abstain(question: str, passages: list[Passage], confidence: float, reason: str) -> Answer:
    return Answer(question, False, "", confidence, [], passages, reason)
