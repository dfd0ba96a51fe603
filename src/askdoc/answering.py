"""Answering: pick the sentences that answer a question, cite them, or abstain.

(Named answering, not answer, because ``askdoc.answer`` is the public function.)

The feature scorer (`askdoc.scorer`) rates every candidate sentence. The trained
reader (`askdoc.read`) then reads the likeliest few with their previous sentence:
its logit plus half the scorer's ranks them, and it finds the exact answer span in
the chosen one. The abstention model's confidence in the chosen sentence (the
reader's logits among its evidence) decides whether askdoc answers at all; a
neighbour joins the quote when it is nearly as likely, or when the chosen
sentence leans on the one before ("This ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from .chunk import is_heading, split_sentences
from .cues import NO_DOCUMENTS, answer_cue, asked_field, cue_hit, unanswerable_form
from .ingest import field_span
from .names import PERSONAL_PRONOUN, antecedent
from .read import Reader, Reading
from .records import Answer, Citation, Passage
from .scorer import Candidate, Retrieval, abstain_features, confidence, features, sentence_probabilities

#: Candidates the reader reads per question: the likeliest by the feature scorer. On
#: held-out SQuAD v2 articles 4, 6 and 8 chose equally well (top-1 0.794/0.794/0.797; with
#: today's scorer, 4 and 6 tie at 0.880 on 6 clean articles), on the article 6 beat 4
#: (0.822 vs 0.808); each pair costs ~5 ms on a 2-core CPU.
DEFAULT_READ_CANDIDATES = 6
#: A candidate's rank score: the reader's logit plus this share of the scorer's logit
#: (the scorer knows retrieval rank, neighbours, titles and bylines; the reader reads).
#: Top-1 sentence on 6 SQuAD v2 articles the reader never saw (774 answerable questions):
#: share 0 0.857, 0.25 0.872, 0.5 0.876, 0.6 0.876, 0.75 0.872, 1.0 0.870.
SCORER_SHARE = 0.5
#: The likelier neighbour joins the quote when its probability is at least this share of
#: the best one's: a second sentence often completes the answer (measured on XQuAD and SQuAD).
DEFAULT_JOIN_RATIO = 0.2
#: The confidence of an answer read from the document's own byline, title or date line: as
#: sure as ingest's reading of the page (it found the line by its form, "Author: ...").
FIELD_CONFIDENCE = 0.9
#: In a conversation, what a sentence of the previous answer's paragraph adds to its rank score
#: (a reader logit): a follow-up's answer is often the sentence beside the last quote ("How
#: many states were present?" after the sentence calling for the session). It favours without
#: forcing: a sentence that answers better elsewhere still wins (topic changes answered as
#: alone). Follow-up hit@1 on the dialogue set (0.862 without): 1.0 0.879, 2.0 0.897 (and one
#: unanswerable follow-up fewer answered), 2.5 0.879 (won a follow-up, lost one to abstention).
NEAR_BONUS = 2.0
#: Sentences opening with these lean on the previous sentence, which joins the quote.
_ANAPHOR = re.compile(
    r"^[\"“'‘(]*(this|that|these|those|it|its|he|she|they|his|her|their|such|yet|but|however|thus|therefore|"
    r"hence|also|the latter|the former)\b",
    re.I,
)


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def read(
    question: str, candidates: Sequence[Candidate], p: np.ndarray, doc_texts: dict[str, str], reader: Reader | None,
    n: int = DEFAULT_READ_CANDIDATES,
) -> dict[int, Reading]:  # fmt: skip
    """The reader's readings of the ``n`` likeliest candidates by the scorer's ``p``."""
    if reader is None:
        return {}
    top = np.argsort(-p, kind="stable")[:n]
    sentences = [doc_texts[candidates[i].doc_id][candidates[i].span.start : candidates[i].span.end] for i in top]
    return dict(zip(top.tolist(), reader.read(question, sentences, [candidates[i].previous_text for i in top])))


def near_previous(
    candidates: Sequence[Candidate], doc_texts: Mapping[str, str], near: Sequence[tuple[str, int, int]]
) -> np.ndarray:
    """1.0 for each candidate in the paragraph of a sentence of the previous answer's quote
    ``near`` other than itself, else 0. A sentence quoted alone is not favoured: it answered the
    last question, and answers this one only on its own merit (else the answer is stale); of a
    quote that joined sentences, each is favoured as the others' neighbour."""
    out = np.zeros(len(candidates))
    for i, c in enumerate(candidates):
        for doc_id, start, end in near:
            if c.doc_id != doc_id or (c.span.start < end and start < c.span.end):
                continue
            lo, hi = (c.span.end, start) if c.span.end <= start else (end, c.span.start)
            if lo >= hi or "\n\n" not in doc_texts[doc_id][lo:hi].replace("\r", ""):
                out[i] = 1.0
                break
    return out


def rank(p: np.ndarray, readings: Mapping[int, Reading]) -> np.ndarray:
    """Rank scores for every candidate: the reader's logit plus the scorer's share
    (-inf for those not read); without readings, the scorer's logits."""
    if not readings:
        return _logit(p)
    out = np.full(len(p), -np.inf)
    for i, r in readings.items():
        out[i] = r.logit + SCORER_SHARE * _logit(p[i])
    return out


def select(r: Retrieval, min_confidence: float, reader: Reader | None = None) -> Answer:
    """Choose and cite the answering sentence(s) of a question's `Retrieval`, or abstain.
    The answer lists the passages the search found, the quoted one first."""
    answer = _select(
        r.question, r.qvec, r.candidates, r.passages, r.texts, r.titles, r.idf, r.oov, min_confidence, r.n_found,
        reader, r.near,
    )  # fmt: skip
    return answer if not r.asked or r.asked == r.question else replace(answer, question=r.asked)


def _select(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    passages: list[Passage],
    doc_texts: dict[str, str],
    doc_titles: dict[str, tuple[str, str | None]],
    idf: Callable[[str], float],
    oov: float,
    min_confidence: float,
    top_k: int | None = None,
    reader: Reader | None = None,
    near: Sequence[tuple[str, int, int]] = (),
) -> Answer:
    """Choose and cite the answering sentence(s), or abstain.

    ``oov`` is the idf-weighted share of the question's terms that occur
    nowhere in the searched documents. The answer lists ``top_k`` of the passages
    (all by default): the quoted one first, then by the likeliest sentence each holds.
    """
    unreadable = unanswerable_form(question)
    if unreadable:
        return _abstain(question, passages[:top_k], 0.0, unreadable)
    if not candidates:
        return _abstain(question, passages[:top_k], 0.0, "no passage was retrieved")
    field = asked_field(question)
    if field:
        got = _field_answer(question, field, passages, doc_texts, doc_titles, top_k)
        if got is not None:
            return got
    x = features(question, qvec, candidates, doc_texts, idf)
    p = sentence_probabilities(x)
    readings = read(question, candidates, p, doc_texts, reader)
    # The best-ranked sentence. (Preferring, for a typed question, a sentence of its type
    # changed nothing measurable once the reader ranks: article and held-out v2 alike.)
    scores = rank(p, readings)
    if near:
        scores = scores + NEAR_BONUS * near_previous(candidates, doc_texts, near)
    best = int(np.argmax(scores))
    # The chosen sentence outranks all (the reader may choose one the scorer ranks lower).
    passages = rerank(passages, candidates, np.where(np.arange(len(p)) == best, np.inf, p))[:top_k]
    b = candidates[best]
    text = doc_texts[b.doc_id]
    g = abstain_features(question, best, candidates, doc_texts, x, p, oov, idf, readings)
    reading = readings.get(best)
    conf = round(confidence(g), 4)
    if conf < min_confidence:
        return _abstain(question, passages, conf, "no sentence answers the question with enough evidence")

    by_pos = {(c.doc_id, c.number): i for i, c in enumerate(candidates)}
    # A neighbour that is a heading is the section's title, not a sentence of the answer.
    near = [by_pos[(b.doc_id, n)] for n in (b.number - 1, b.number + 1) if (b.doc_id, n) in by_pos]
    near = [i for i in near if not is_heading(text, candidates[i].span)]
    chosen = [best] + [i for i in sorted(near, key=lambda i: -p[i])[:1] if p[i] >= DEFAULT_JOIN_RATIO * p[best]]
    prev = by_pos.get((b.doc_id, b.number - 1))
    if (
        prev is not None
        and prev not in chosen
        and _ANAPHOR.match(text[b.span.start : b.span.end])
        and not is_heading(text, candidates[prev].span)
    ):
        between = text[candidates[prev].span.end : b.span.start]
        if "\n\n" not in between.replace("\r", ""):  # the same paragraph
            chosen.append(prev)
    chosen.sort(key=lambda i: candidates[i].number)
    cue = answer_cue(question)
    quoted = text[candidates[chosen[0]].span.start : candidates[chosen[-1]].span.end]
    if cue is not None and cue.strong and not cue_hit(cue, quoted, question.lower()):
        # A "when" question answered without a date (or "how many" without a number) is no answer.
        return _abstain(question, passages, conf, "no retrieved sentence gives what the question asks for")
    title, source = doc_titles.get(b.doc_id, (b.doc_id, None))
    citations = [
        Citation(
            doc_id=b.doc_id,
            title=title,
            source=source,
            start=candidates[i].span.start,
            end=candidates[i].span.end,
            quote=text[candidates[i].span.start : candidates[i].span.end],
            score=round(float(p[i]), 4),
            answer_start=candidates[i].span.start + reading.start if i == best and reading else None,
            answer_end=candidates[i].span.start + reading.end if i == best and reading else None,
        )
        for i in chosen
    ]
    exact = text[b.span.start + reading.start : b.span.start + reading.end] if reading else ""
    if PERSONAL_PRONOUN.fullmatch(exact):
        citations = _named(text, citations, b.span.start + reading.start)
        exact = next(text[c.answer_start : c.answer_end] for c in citations if c.answer_start is not None)
    answer_text = text[citations[0].start : citations[-1].end]
    return Answer(question, True, answer_text, conf, citations, passages, exact=exact)


def _named(text: str, citations: list[Citation], pronoun_at: int) -> list[Citation]:
    """ "He suggested ...": the citations with the answer moved from the pronoun to the person
    it stands for, the sentence naming them quoted first when it is not already (as it is)."""
    name = antecedent(text, pronoun_at)
    if name is None:
        return citations
    holder = next((c for c in citations if c.start <= name.start < c.end), None)
    if holder is None:
        para = text.rfind("\n\n", 0, name.start) + 1
        span = next((s for s in split_sentences(text, para, name.end) if s.start <= name.start < s.end), None)
        if span is None:
            return citations
        c = citations[0]
        holder = Citation(c.doc_id, c.title, c.source, span.start, span.end, text[span.start : span.end], c.score)
        citations = [holder, *citations]
    return [
        replace(c, answer_start=name.start, answer_end=name.end) if c is holder
        else replace(c, answer_start=None, answer_end=None)
        for c in citations
    ]  # fmt: skip


def _field_answer(
    question: str, field: str, passages: list[Passage], doc_texts: dict[str, str],
    doc_titles: dict[str, tuple[str, str | None]], top_k: int | None,
) -> Answer | None:  # fmt: skip
    """ "Who wrote this?": the line where the best passage's document states its ``field``
    (its byline, title or date), the value as the exact answer; None when it states none."""
    doc_id = passages[0].doc_id
    title, source = doc_titles.get(doc_id, (doc_id, None))
    text = doc_texts[doc_id]
    got = field_span(text, title, field)
    if got is None:
        return None
    line, value = got
    holds = [p for p in passages if p.doc_id == doc_id and p.start <= line.start < p.end]
    passages = (holds[:1] + [p for p in passages if p not in holds[:1]])[:top_k]
    quote = text[line.start : line.end]
    cite = Citation(doc_id, title, source, line.start, line.end, quote, FIELD_CONFIDENCE, value.start, value.end)
    return Answer(question, True, quote, FIELD_CONFIDENCE, [cite], passages, exact=text[value.start : value.end])


def rerank(passages: Sequence[Passage], candidates: Sequence[Candidate], p: np.ndarray) -> list[Passage]:
    """Passages by the best score ``p`` of a sentence each holds, then in the order
    retrieved: so the passage a quote comes from leads, even where retrieval ranked
    it lower (or it is a document's lead, which retrieval does not rank)."""
    best = [
        max((float(prob) for c, prob in zip(candidates, p) if c.doc_id == q.doc_id and q.start <= c.span.start
             and c.span.end <= q.end), default=0.0)
        for q in passages
    ]  # fmt: skip
    return [passages[i] for i in sorted(range(len(passages)), key=lambda i: (-best[i], i))]


def no_documents(question: str) -> Answer:
    """The reply to any question while the index is empty: a result, not an error, so that
    the chat can say so and offer to add a document."""
    return _abstain(question, [], 0.0, NO_DOCUMENTS)


def _abstain(question: str, passages: list[Passage], confidence: float, reason: str) -> Answer:
    return Answer(question, False, "", confidence, [], passages, reason)
