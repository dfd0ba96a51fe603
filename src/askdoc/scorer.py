"""Scorer: features of every candidate sentence, and two logistic models over them.

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

The sentence model turns them into the probability that the sentence holds the
answer (it chooses what the reader reads, and its logit joins the reader's); the
abstention model judges, from the best sentence and how far it stands out, whether
the documents answer the question at all (`confidence`). Both were fitted on
SQuAD v2.0 / XQuAD data with ``eval/fit_weights.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .cues import Synonyms, WordVectors, answer_cue, asked_role, counted_words, cue_hit, words
from .ingest import BYLINE
from .lexical import STOPWORDS, stem, terms, text_terms
from .records import Passage, Span

if TYPE_CHECKING:
    from .retrieve import Retriever

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


def candidates(
    passages: Sequence[Passage], n_found: int, retriever: Retriever, texts: Mapping[str, str],
    titles: Mapping[str, tuple[str, str | None]],
) -> list[Candidate]:  # fmt: skip
    """The sentences of the passages, with their neighbours as context (the leads
    after the ``n_found`` retrieved passages all rank just below them)."""
    wanted: dict[tuple[str, int], tuple[float, int]] = {}
    for n, p in enumerate(passages, 1):
        for num in retriever.sentence_range(p.chunk_id):
            wanted.setdefault((p.doc_id, num), (p.score, min(n, n_found + 1)))  # passages come best first
    got = retriever.sentences({(d, m) for d, n in wanted for m in (n - 1, n, n + 1)})
    out = []
    for (doc_id, num), (pscore, prank) in sorted(wanted.items()):
        own = got.get((doc_id, num))
        if own is None:
            continue
        span, vec = own
        prev = got.get((doc_id, num - 1))
        near = [x for x in (prev, got.get((doc_id, num + 1))) if x is not None]
        ctx = vec + 0.5 * sum(v for _, v in near) if near else vec
        text = texts[doc_id]
        out.append(
            Candidate(
                doc_id=doc_id,
                number=num,
                span=span,
                vec=vec,
                passage_score=pscore,
                passage_rank=prank,
                context_vec=ctx / (np.linalg.norm(ctx) or 1.0),
                neighbour_vecs=tuple(v for _, v in near),
                neighbour_text=" ".join(text[s.start : s.end] for s, _ in near),
                previous_text=text[prev[0].start : prev[0].end] if prev is not None else "",
                role=sentence_role(text[span.start : span.end], num, titles[doc_id][0]),
            )
        )
    return out


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
