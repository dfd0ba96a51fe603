"""Answering: pick the sentences that answer a question, cite them, or abstain.

(Named answering, not answer, because ``askdoc.answer`` is the public function.)

Every sentence of the retrieved passages (plus each document's lead: title,
byline, first paragraph) gets a feature vector (`FEATURES`):

- its embedding's cosine with the question, alone, blended with its
  neighbours', and the neighbours' best (context carries a terse sentence's subject);
- its cosine centred on the retrieved sentences' mean (the shared topic cancels out);
- lexical coverage: the idf-weighted share of the question's terms it holds,
  and the weightiest question term it lacks; soft coverage, where a near synonym
  by the model's static word vectors counts ("founded" ~ "established");
- the fused retrieval score and rank of the best passage that contains it;
- answer types (`cues`): a "when" question wants a date the question does not
  already name, "how many" a number near a word like the counted thing, "what does
  X stand for" a spelled-out X, "who wrote" a byline;
- whether it is the title or the byline, and whether the question asks for one.

A logistic model turns the features into the probability that the sentence
holds the answer. The trained reader (`askdoc.read`) then reads the likeliest few
with their previous sentence: its logit plus the scorer's ranks them, and it finds
the exact answer span in the chosen one. A second logistic model judges, from
the best sentence and how far it stands out, whether the documents answer the
question at all: its output is the confidence, and below the threshold askdoc abstains. Both were fitted on
SQuAD v2.0 / XQuAD data with ``eval/fit_weights.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .cues import (
    Synonyms,
    WordVectors,
    answer_cue,
    asked_role,
    counted_words,
    cue_hit,
    unanswerable_form,
    words,
)
from .ingest import BYLINE
from .lexical import STOPWORDS, stem, terms, text_terms
from .read import Reader, Reading
from .records import Answer, Citation, Passage, Span

FEATURES = (
    "dense", "context", "neighbour", "lexical", "lexical_ctx", "missing", "bigram", "matched",
    "passage", "passage_rr", "cue_strong", "cue_weak", "length",
    "dense_gap", "lexical_gap", "dense_rr", "lexical_rr", "role_match", "role_other",
    "centered", "centered_ctx", "centered_rr", "soft", "soft_ctx", "counted", "unmatched",
)  # fmt: skip
#: Sentence model: weights per feature, then the bias (role weights are set by hand:
#: SQuAD text has no titles or bylines to learn them from).
SENTENCE_WEIGHTS = (
    -0.008, 0.600, -0.093, -1.577, 0.663, 1.328, 0.753, -0.025,
    0.905, 0.629, 0.337, 0.442, 0.978,
    1.089, 0.648, 0.591, 2.082, 3.000, -1.500,
    -0.890, -0.022, 1.209, 2.916, 0.352, 0.540, -0.478,
)  # fmt: skip
SENTENCE_BIAS = -6.698
ABSTAIN_FEATURES = (
    "p_top", "p_gap", "dense", "lexical", "missing_ctx", "cue_expected", "cue_hit", "oov",
    "negation", "names_missing", "numbers_missing", "strong_cue_missing",
    "p_ratio", "soft", "soft_ctx", "unmatched", "centered", "counted",
)  # fmt: skip
ABSTAIN_WEIGHTS = (
    0.530, 0.572, 2.276, 1.239, -0.508, -0.363, 0.587, 0.590,
    -3.676, -0.555, -2.057, 0.400,
    -0.035, 0.420, -1.183, -0.884, 1.048, 0.588,
)  # fmt: skip
ABSTAIN_BIAS = -2.682
#: Candidates the reader reads per question: the likeliest by the feature scorer. On
#: held-out SQuAD v2 articles 4, 6 and 8 chose equally well (top-1 0.794/0.794/0.797), on
#: the article 6 beat 4 (0.822 vs 0.808); each pair costs ~5 ms on a 2-core CPU.
DEFAULT_READ_CANDIDATES = 6
#: A candidate's rank score: the reader's logit plus this share of the scorer's logit
#: (the scorer knows retrieval rank, neighbours, titles and bylines; the reader reads).
#: 1.0 and 0.5 tie on held-out SQuAD v2; 1.0 falsely abstains less on the article (0.041 vs 0.055).
SCORER_SHARE = 1.0
#: The likelier neighbour joins the quote when its probability is at least this share of
#: the best one's: a second sentence often completes the answer (measured on XQuAD and SQuAD).
DEFAULT_JOIN_RATIO = 0.2
#: Sentences opening with these lean on the previous sentence, which joins the quote.
_ANAPHOR = re.compile(
    r"^[\"“'‘(]*(this|that|these|those|it|its|he|she|they|his|her|their|such|yet|but|however|thus|therefore|"
    r"hence|also|the latter|the former)\b",
    re.I,
)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with what scoring needs."""

    doc_id: str
    number: int
    span: Span
    vec: np.ndarray
    passage_score: float
    passage_rank: int
    context_vec: np.ndarray
    neighbour_vecs: tuple[np.ndarray, ...] = ()
    neighbour_text: str = ""
    role: str = "body"  # "title", "byline" or "body"
    #: The sentence before it in the document (what the reader reads as context).
    previous_text: str = ""


def sentence_role(text: str, number: int, title: str) -> str:
    """Title (the first sentence, equal to the document's title), byline, or body."""
    if number == 0 and text.strip() == title.strip():
        return "title"
    return "byline" if BYLINE.match(text) else "body"


def _coverage(q_terms: set[str], have: set[str], idf: Callable[[str], float]) -> tuple[float, float]:
    """Idf-weighted share of the question's terms present, and the largest idf missing."""
    if not q_terms:
        return 0.0, 0.0
    total = sum(idf(t) for t in q_terms)
    got = sum(idf(t) for t in q_terms if t in have)
    missing = max((idf(t) for t in q_terms if t not in have), default=0.0)
    return (got / total if total else 0.0), missing


def features(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    doc_texts: dict[str, str],
    idf: Callable[[str], float],
    word_vectors: WordVectors | None = None,
) -> np.ndarray:
    """One row of `FEATURES` per candidate (soft word matches need ``word_vectors``)."""
    q_list = terms(question)
    q_terms = set(q_list)
    q_bigrams = set(zip(q_list, q_list[1:]))
    q_lower = question.lower()
    cue = answer_cue(question)
    role = asked_role(question)
    q_words = [w for w in words(question) if w not in STOPWORDS]
    q_idf = np.array([max(idf(stem(w)), 0.1) for w in q_words])
    q_share = q_idf / q_idf.sum() if len(q_idf) else q_idf
    counted = counted_words(question)
    texts = [doc_texts[c.doc_id][c.span.start : c.span.end] for c in candidates]
    synonyms = Synonyms(q_words + counted, texts + [c.neighbour_text for c in candidates], word_vectors)
    q_rows, counted_rows = synonyms.rows(q_words), synonyms.rows(counted)
    idf = {t: idf(t) for t in q_terms}.__getitem__  # each question term's idf, once
    rows = []
    for c, text in zip(candidates, texts):
        s_list = text_terms(text)
        own = set(s_list)
        lexical, missing = _coverage(q_terms, own, idf)
        lexical_ctx, _ = _coverage(q_terms, own | set(text_terms(c.neighbour_text)), idf)
        bigram = len(q_bigrams & set(zip(s_list, s_list[1:]))) / len(q_bigrams) if q_bigrams else 0.0
        hit = cue is not None and cue_hit(cue, text, q_lower)
        rows.append(
            [
                float(c.vec @ qvec),
                float(c.context_vec @ qvec),
                max((float(v @ qvec) for v in c.neighbour_vecs), default=0.0),
                lexical,
                lexical_ctx,
                missing / 10.0,
                bigram,
                min(len(q_terms & own), 5) / 5.0,
                c.passage_score,
                1.0 / c.passage_rank,
                float(hit and cue.strong),
                float(hit and not cue.strong),
                math.log1p(len(own)) / 4.0,
                0.0,
                0.0,
                0.0,
                0.0,
                float(bool(role) and c.role == role),
                float(c.role != "body" and c.role != role),
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                synonyms.near_number(counted_rows, text) if counted else 0.0,
                0.0,
            ]
        )
    x = np.array(rows, dtype=np.float64).reshape(len(candidates), len(FEATURES))
    if len(x):
        f = FEATURES.index
        soft = synonyms.best(texts)[:, q_rows]
        soft_ctx = np.maximum(soft, synonyms.best([c.neighbour_text for c in candidates])[:, q_rows])
        x[:, f("soft")] = soft @ q_share
        x[:, f("soft_ctx")] = soft_ctx @ q_share
        # The weightiest question word with not even a near synonym around the sentence.
        x[:, f("unmatched")] = ((soft_ctx < 0.35) * q_share).max(axis=1, initial=0.0)
        # Relative evidence: how far each sentence trails the best one, and its rank.
        # Centred cosine: what sets a sentence apart from the others retrieved, against
        # what sets the question apart from them (the shared topic cancels out).
        mu = np.mean([c.vec for c in candidates], axis=0)
        qc = qvec - mu
        qc /= np.linalg.norm(qc) or 1.0
        for col, attr in (("centered", "vec"), ("centered_ctx", "context_vec")):
            m = np.array([getattr(c, attr) for c in candidates]) - mu
            m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)
            x[:, f(col)] = m @ qc
        for col, gap, rr in (
            ("dense", "dense_gap", "dense_rr"),
            ("lexical", "lexical_gap", "lexical_rr"),
            ("centered", None, "centered_rr"),
        ):
            values = x[:, f(col)]
            if gap:
                x[:, f(gap)] = values - values.max()
            ranks = np.empty(len(values))
            ranks[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
            x[:, f(rr)] = 1.0 / ranks
    return x


def _sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def sentence_probabilities(x: np.ndarray) -> np.ndarray:
    return _sigmoid(x @ np.asarray(SENTENCE_WEIGHTS) + SENTENCE_BIAS)


_NEGATION = re.compile(r"\b(not|never|no|none|neither|nor|without|n't)\b|n't\b", re.I)
_NAME = re.compile(r"(?<!^)\b[A-Z][a-zA-Z]+\b")
_DIGITS = re.compile(r"\b\d[\d,.]*\b")


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def read(
    question: str, candidates: Sequence[Candidate], p: np.ndarray, doc_texts: dict[str, str], reader: Reader | None,
    n: int = DEFAULT_READ_CANDIDATES,
) -> tuple[np.ndarray, dict[int, Reading]]:  # fmt: skip
    """Rank scores for every candidate (-inf for those not read) and the reader's
    readings of the ``n`` likeliest by the scorer. Without a reader, the scorer's logits."""
    if reader is None:
        return _logit(p), {}
    top = np.argsort(-p, kind="stable")[:n]
    sentences = [doc_texts[candidates[i].doc_id][candidates[i].span.start : candidates[i].span.end] for i in top]
    readings = reader.read(question, sentences, [candidates[i].previous_text for i in top])
    rank = np.full(len(p), -np.inf)
    rank[top] = [r.logit for r in readings] + SCORER_SHARE * _logit(p[top])
    return rank, dict(zip(top.tolist(), readings))


def abstain_features(
    question: str,
    best: int,
    sentence: str,
    context: str,
    x: np.ndarray,
    p: np.ndarray,
    oov: float,
    idf: Callable[[str], float],
) -> np.ndarray:
    """What the confidence model sees: the best sentence, how far it stands out, and
    what the question names that the sentence and its neighbours (``context``) do not:
    a negation, a proper name, a number (the ways an answerable-looking question is not)."""
    second = float(np.max(np.delete(p, best))) if len(p) > 1 else 0.0
    f = FEATURES.index
    hit = x[best, f("cue_strong")] + x[best, f("cue_weak")]
    cue = answer_cue(question)
    have = set(text_terms(context))
    missing = max((idf(t) for t in set(terms(question)) if t not in have), default=0.0)
    names = [w for w in _NAME.findall(question.strip()) if w.lower() not in STOPWORDS]
    return np.array(
        [p[best], p[best] - second, x[best, f("dense")], x[best, f("lexical")], missing / 10.0,
         float(cue is not None), float(hit > 0), oov,
         float(bool(_NEGATION.search(question)) and not _NEGATION.search(sentence)),
         float(sum(w not in context for w in names)),
         float(sum(n not in context for n in _DIGITS.findall(question))),
         # "When ...?" answered by a sentence without a date is no answer.
         float(cue is not None and cue.strong and hit == 0),
         p[best] / p.max(), x[best, f("soft")], x[best, f("soft_ctx")], x[best, f("unmatched")], x[best, f("centered")],
         x[best, f("counted")] - float(bool(counted_words(question)))],
    )  # fmt: skip


def confidence(g: np.ndarray) -> float:
    """The probability that the chosen sentence answers. The reader's own logit is left
    out: added to these features it lowered held-out SQuAD v2 abstention (0.37 -> 0.30)."""
    return float(_sigmoid(g @ np.asarray(ABSTAIN_WEIGHTS) + ABSTAIN_BIAS))


def select(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    passages: list[Passage],
    doc_texts: dict[str, str],
    doc_titles: dict[str, tuple[str, str | None]],
    idf: Callable[[str], float],
    oov: float,
    min_confidence: float,
    word_vectors: WordVectors | None = None,
    top_k: int | None = None,
    reader: Reader | None = None,
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
    x = features(question, qvec, candidates, doc_texts, idf, word_vectors)
    p = sentence_probabilities(x)
    rank, readings = read(question, candidates, p, doc_texts, reader)
    # The best-ranked sentence. (Preferring, for a typed question, a sentence of its type
    # changed nothing measurable once the reader ranks: article and held-out v2 alike.)
    best = int(np.argmax(rank))
    # The chosen sentence outranks all (the reader may choose one the scorer ranks lower).
    passages = rerank(passages, candidates, np.where(np.arange(len(p)) == best, np.inf, p))[:top_k]
    b = candidates[best]
    text = doc_texts[b.doc_id]
    sentence = text[b.span.start : b.span.end]
    context = f"{sentence} {b.neighbour_text}"
    g = abstain_features(question, best, sentence, context, x, p, oov, idf)
    reading = readings.get(best)
    conf = round(confidence(g), 4)
    if conf < min_confidence:
        return _abstain(question, passages, conf, "no sentence answers the question with enough evidence")

    by_pos = {(c.doc_id, c.number): i for i, c in enumerate(candidates)}
    near = [by_pos[(b.doc_id, n)] for n in (b.number - 1, b.number + 1) if (b.doc_id, n) in by_pos]
    chosen = [best] + [i for i in sorted(near, key=lambda i: -p[i])[:1] if p[i] >= DEFAULT_JOIN_RATIO * p[best]]
    prev = by_pos.get((b.doc_id, b.number - 1))
    if prev is not None and prev not in chosen and _ANAPHOR.match(text[b.span.start : b.span.end]):
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
    answer_text = text[citations[0].start : citations[-1].end]
    exact = text[b.span.start + reading.start : b.span.start + reading.end] if reading else ""
    return Answer(question, True, answer_text, conf, citations, passages, exact=exact)


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


def _abstain(question: str, passages: list[Passage], confidence: float, reason: str) -> Answer:
    return Answer(question, False, "", confidence, [], passages, reason)
