"""Scorer: features of every candidate sentence, and two logistic models over them.

Every sentence of the retrieved passages (plus each document's lead: title,
byline, first paragraph) gets a feature vector (`FEATURES`):

- its embedding's cosine with the question, and centred on the retrieved
  sentences' mean (the shared topic cancels out);
- lexical coverage: the idf-weighted share of the question's terms it holds (with
  its neighbours too), and the weightiest question term it lacks;
- the fused retrieval score and rank of the best passage that contains it;
- a strong answer type (`cues`): a "when" question wants a date the question does
  not already name, "how many" a number, "what does X stand for" a spelled-out X;
- whether it is the title or the byline, and whether the question asks for one.

The sentence model turns them into the probability that the sentence holds the
answer (it chooses what the reader reads, and its logit joins the reader's); the
abstention model judges, from the best sentence, how far it stands out and the
reader's logits, whether the documents answer the question at all (`confidence`).
Both were fitted with ``eval/fit_weights.py`` on SQuAD v2.0 articles that no eval
set holds, the abstention model on the 6 the reader never trained on. Features
the reader made redundant were retired by measurement (see that script): its
context cosines, weak answer types and soft word matching by static word vectors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .cues import answer_cue, asked_role, cue_hit
from .ingest import sentence_role
from .lexical import STOPWORDS, terms, text_terms
from .records import Passage, Span

if TYPE_CHECKING:
    from .read import Reading
    from .retrieve import Retriever

#: Retired once the reader ranked (2026-11-28): the context cosines (with the neighbours
#: blended in, the neighbours' best, centred), weak answer types, and soft word matching by
#: static word vectors with what built on it ("counted", "unmatched"). Refitted without them,
#: one of 6 clean SQuAD v2 articles left out at a time: top-1 0.876 -> 0.879, answer-or-abstain
#: 0.465 -> 0.463; end to end: article hit@1 0.863 -> 0.849 (one question), held-out v2 0.778
#: -> 0.773, XQuAD 0.886 -> 0.890. Noise, for 8 features, a class and a 38 MB cache fewer.
FEATURES = (
    "dense", "lexical", "lexical_ctx", "missing", "bigram", "matched", "passage", "passage_rr",
    "cue_strong", "length", "dense_gap", "lexical_gap", "dense_rr", "lexical_rr", "role_match",
    "role_other", "centered", "centered_rr",
)  # fmt: skip
#: Sentence model: a weight per feature, and the bias (role weights are set by hand:
#: SQuAD text has no titles or bylines to learn them from).
SENTENCE_WEIGHTS = (
    1.434, 0.652, 1.331, 1.022, 0.655, -0.300, 1.142, 0.658,
    0.231, 1.476, -0.419, 0.852, 0.268, 1.883, 3.000, -1.500,
    -0.219, 1.712,
)  # fmt: skip
SENTENCE_BIAS = -7.320
ABSTAIN_FEATURES = (
    "p_top", "p_gap", "dense", "lexical", "missing_ctx", "cue_expected", "cue_hit", "oov",
    "negation", "names_missing", "numbers_missing", "strong_cue_missing", "p_ratio", "centered",
    "role_match",
)  # fmt: skip
#: What the reader adds to the abstention model: its logit for the chosen sentence, and how
#: far that stands above the best other sentence it read.
READER_FEATURES = ("reader", "reader_gap")
#: Abstention model: a weight per `ABSTAIN_FEATURES`, then per `READER_FEATURES`; and the bias.
ABSTAIN_WEIGHTS = (
    1.133, -0.269, 2.884, 0.787, -0.972, -0.372, -0.288, 1.233,
    0.147, -0.042, -0.649, -0.197, -0.088, -0.095, 3.000, 0.533,
    0.046,
)  # fmt: skip
ABSTAIN_BIAS = -3.526
#: Without a reader (``ASKDOC_READER=off``): `ABSTAIN_FEATURES` alone, the bias moved so that
#: the one threshold abstains as often on held-out answerable questions.
SCORER_ABSTAIN_WEIGHTS = (
    0.956, 0.391, 4.312, 2.332, -0.204, -0.254, 0.130, 0.999,
    -0.387, -0.063, -0.543, -0.809, 0.000, -0.201, 3.000,
)  # fmt: skip
SCORER_ABSTAIN_BIAS = -5.671


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with what scoring needs."""

    doc_id: str
    number: int
    span: Span
    vec: np.ndarray
    passage_score: float
    passage_rank: int
    neighbour_text: str = ""
    role: str = "body"  # "title", "byline" or "body"
    #: The sentence before it in the document (what the reader reads as context).
    previous_text: str = ""


@dataclass(frozen=True)
class Retrieval:
    """What retrieval hands the answer stage for one question: nothing calls back."""

    question: str  # as read (see `askdoc.names`)
    qvec: np.ndarray
    passages: list[Passage]
    candidates: list[Candidate]
    texts: Mapping[str, str]
    titles: Mapping[str, tuple[str, str | None]]
    idf: Callable[[str], float]
    #: The idf-weighted share of the question's terms found in no searched document.
    oov: float
    #: How many of ``passages`` the search found; the rest are the documents' leads.
    n_found: int = 0
    #: The question as asked.
    asked: str = ""
    #: The question after follow-ups were resolved, before names (see `askdoc.resolve`).
    resolved: str = ""
    #: Which rule of `askdoc.resolve` read it so ("" when none did).
    rule: str = ""
    #: In a conversation, the previous answer's quote: (doc_id, start, end) of each sentence
    #: it cited (see `askdoc.resolve.previous_quote`); the answer stage favours its paragraph.
    near: tuple[tuple[str, int, int], ...] = ()


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
        text = texts[doc_id]
        out.append(
            Candidate(
                doc_id=doc_id,
                number=num,
                span=span,
                vec=vec,
                passage_score=pscore,
                passage_rank=prank,
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
) -> np.ndarray:
    """One row of `FEATURES` per candidate."""
    q_list = terms(question)
    q_terms = set(q_list)
    q_bigrams = set(zip(q_list, q_list[1:]))
    q_lower = question.lower()
    cue = answer_cue(question)
    role = asked_role(question)
    idf = {t: idf(t) for t in q_terms}.__getitem__  # each question term's idf, once
    rows = []
    for c in candidates:
        text = doc_texts[c.doc_id][c.span.start : c.span.end]
        s_list = text_terms(text)
        own = set(s_list)
        lexical, missing = _coverage(q_terms, own, idf)
        lexical_ctx, _ = _coverage(q_terms, own | set(text_terms(c.neighbour_text)), idf)
        bigram = len(q_bigrams & set(zip(s_list, s_list[1:]))) / len(q_bigrams) if q_bigrams else 0.0
        hit = cue is not None and cue.strong and cue_hit(cue, text, q_lower)
        rows.append(
            [
                float(c.vec @ qvec),
                lexical,
                lexical_ctx,
                missing / 10.0,
                bigram,
                min(len(q_terms & own), 5) / 5.0,
                c.passage_score,
                1.0 / c.passage_rank,
                float(hit),
                math.log1p(len(own)) / 4.0,
                0.0,
                0.0,
                0.0,
                0.0,
                float(bool(role) and c.role == role),
                float(c.role != "body" and c.role != role),
                0.0,
                0.0,
            ]
        )
    x = np.array(rows, dtype=np.float64).reshape(len(candidates), len(FEATURES))
    if len(x):
        f = FEATURES.index
        # Centred cosine: what sets a sentence apart from the others retrieved, against
        # what sets the question apart from them (the shared topic cancels out).
        vecs = np.array([c.vec for c in candidates])
        mu = vecs.mean(axis=0)
        qc = qvec - mu
        qc /= np.linalg.norm(qc) or 1.0
        m = vecs - mu
        m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)
        x[:, f("centered")] = m @ qc
        # Relative evidence: how far each sentence trails the best one, and its rank.
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
    candidates: Sequence[Candidate],
    doc_texts: Mapping[str, str],
    x: np.ndarray,
    p: np.ndarray,
    oov: float,
    idf: Callable[[str], float],
    readings: Mapping[int, Reading] | None = None,
) -> np.ndarray:
    """What the confidence model sees: the ``best`` candidate, how far it stands out, and
    what the question names that the sentence and its neighbours do not: a negation, a
    proper name, a number (the ways an answerable-looking question is not). With the
    reader's ``readings`` (the best one among them), also `READER_FEATURES`."""
    c = candidates[best]
    sentence = doc_texts[c.doc_id][c.span.start : c.span.end]
    context = f"{sentence} {c.neighbour_text}"
    second = float(np.max(np.delete(p, best))) if len(p) > 1 else 0.0
    f = FEATURES.index
    cue = answer_cue(question)
    hit = cue is not None and cue_hit(cue, sentence, question.lower())
    have = set(text_terms(context))
    missing = max((idf(t) for t in set(terms(question)) if t not in have), default=0.0)
    names = [w for w in _NAME.findall(question.strip()) if w.lower() not in STOPWORDS]
    return np.array(
        [p[best], p[best] - second, x[best, f("dense")], x[best, f("lexical")], missing / 10.0,
         float(cue is not None), float(hit), oov,
         float(bool(_NEGATION.search(question)) and not _NEGATION.search(sentence)),
         float(sum(w not in context for w in names)),
         float(sum(n not in context for n in _DIGITS.findall(question))),
         # "When ...?" answered by a sentence without a date is no answer.
         float(cue is not None and cue.strong and not hit),
         p[best] / p.max(), x[best, f("centered")], x[best, f("role_match")]]
        + ([] if not readings else _reader_features(readings, best)),
    )  # fmt: skip


def _reader_features(readings: Mapping[int, Reading], best: int) -> list[float]:
    logit = readings[best].logit
    # Alone in what was read, it stands out by a fixed 10.
    runner_up = max((r.logit for i, r in readings.items() if i != best), default=logit - 10.0)
    return [logit, logit - runner_up]


def confidence(g: np.ndarray) -> float:
    """The probability that the chosen sentence answers, by the model for what ``g``
    holds: with the reader's features or without (``ASKDOC_READER=off``)."""
    if len(g) == len(ABSTAIN_WEIGHTS):
        return float(_sigmoid(g @ np.asarray(ABSTAIN_WEIGHTS) + ABSTAIN_BIAS))
    if len(g) == len(SCORER_ABSTAIN_WEIGHTS):
        return float(_sigmoid(g @ np.asarray(SCORER_ABSTAIN_WEIGHTS) + SCORER_ABSTAIN_BIAS))
    raise ValueError(f"{len(g)} abstention features fit neither model")
