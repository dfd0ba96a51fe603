"""Answering: pick the sentences that answer a question, cite them, or abstain.

(Named answering, not answer, because ``askdoc.answer`` is the public function.)

Every sentence of the retrieved passages (plus each document's lead: title,
byline, first paragraph) gets a feature vector (`FEATURES`):

- its embedding's cosine with the question, alone, blended with its
  neighbours', and the neighbours' best (context carries a terse sentence's subject);
- lexical coverage: the idf-weighted share of the question's terms it holds,
  and the weightiest question term it lacks;
- the fused retrieval score and rank of the best passage that contains it;
- answer-type cues: a "when" question wants a date the question does not
  already name, "how many" a number, "what does X stand for" a spelled-out X,
  "who wrote" a byline;
- whether it is the title or the byline, and whether the question asks for one.

A logistic model turns the features into the probability that the sentence
holds the answer. A second one judges, from the best sentence and how far it
stands out, whether the documents answer the question at all: its output is
the confidence, and below the threshold askdoc abstains. Both were fitted on
SQuAD v2.0 / XQuAD data with ``eval/fit_weights.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .ingest import BYLINE
from .records import Answer, Citation, Passage, Span
from .retrieve import STOPWORDS, stem, terms, text_terms

FEATURES = (
    "dense", "context", "neighbour", "lexical", "lexical_ctx", "missing", "bigram", "matched",
    "passage", "passage_rr", "cue_strong", "cue_weak", "length",
    "dense_gap", "lexical_gap", "dense_rr", "lexical_rr", "role_match", "role_other",
    "centered", "centered_ctx", "centered_rr", "soft", "soft_ctx",
)  # fmt: skip
#: Sentence model: weights per feature, then the bias (role weights are set by hand:
#: SQuAD text has no titles or bylines to learn them from).
SENTENCE_WEIGHTS = (
    0.000, 0.897, -0.239, 0.287, 1.001, 1.070, 0.829, -0.011,
    0.854, 0.709, 0.409, 0.491, 1.466,
    0.985, 0.677, 1.362, 2.119, 3.000, -1.500,
    0.0, 0.0, 0.0, 0.0, 0.0,
)  # fmt: skip
SENTENCE_BIAS = -6.407
ABSTAIN_FEATURES = (
    "p_top", "p_gap", "dense", "lexical", "missing_ctx", "cue_expected", "cue_hit", "oov",
    "negation", "names_missing", "numbers_missing", "strong_cue_missing",
)  # fmt: skip
ABSTAIN_WEIGHTS = (0.356, 0.766, 3.313, 1.455, -0.288, -0.471, 0.689, 0.629, -3.584, -0.494, -1.959, -0.257)
ABSTAIN_BIAS = -3.859
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


@dataclass(frozen=True)
class Cue:
    """What an answer to a kind of question contains; strong cues nearly decide."""

    pattern: re.Pattern
    strong: bool
    #: The match must be new information (a date the question does not already name).
    new_info: bool = True


_YEAR = r"\b(1[0-9]{3}|20[0-9]{2})s?\b"
_MONTH = (
    r"\b(jan(uary)?|feb(ruary)?|march|april|may|june|july|aug(ust)?|sep(tember)?|oct(ober)?|nov(ember)?|dec(ember)?)\b"
)
# Times and relative dates also answer "when": "at 23:40", "on Friday", "in the spring".
_TIME = (
    r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s*[ap]\.?m\b|\b(century|decade|today|yesterday|tomorrow|tonight|ago|"
    r"noon|midnight|morning|evening|night|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"spring|summer|autumn|winter|daily|weekly|monthly|annually|years?|months?|weeks?|days?|hours?)\b"
)
# Digits inside a name ("COVID-19", "G20") are no quantity; ordinals ("21st") are.
_NUMBER = (
    r"(?<![\w-])\d[\d,.]*(st|nd|rd|th)?\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|dozens|half|several)\b"
)
_ASKS_BYLINE = re.compile(r"\b(who (wrote|authored|penned)|author|writer|byline|written by)\b", re.I)
# "What is the budget/population/...?" asks for a quantity as surely as "how many" does.
_QUANTITY_NOUNS = (
    r"number|amount|percentage|proportion|share|population|budget|cost|price|size|area|length|height|width|depth|"
    r"weight|value|rate|salary|revenue|income|profit|score|distance|age|capacity|speed|temperature|total|sum|fee"
)
_CUES: list[tuple[re.Pattern, Cue]] = [
    (
        re.compile(
            r"^\s*(when|since when)\b|\b(what|which)\s+((is|was|are|were)\s+the\s+)?(exact\s+|specific\s+|precise\s+)?"
            r"(year|date|day|month|time|decade|century)s?\b",
            re.I,
        ),
        Cue(re.compile(f"{_YEAR}|{_MONTH}|{_TIME}", re.I), True),
    ),
    (
        re.compile(
            rf"\bhow (many|much|old)\b|\bwhat (is|was|are|were) (the|its|their|his|her)\s+"
            rf"((total|exact|approximate|average|estimated|annual)\s+)?({_QUANTITY_NOUNS})\b|"
            rf"\bwhat ({_QUANTITY_NOUNS})\b",
            re.I,
        ),
        Cue(re.compile(_NUMBER, re.I), True),
    ),
    # Contact details have a form of their own: an address, a link, a telephone number.
    (re.compile(r"\be-?mail\b", re.I), Cue(re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), True)),
    (
        re.compile(r"\b(website|web site|web address|url|homepage|link)\b", re.I),
        Cue(re.compile(r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(com|org|net|gov|edu|int|io)\b", re.I), True),
    ),
    (
        re.compile(r"\b(phone|telephone|fax|mobile) (number|no)\b", re.I),
        Cue(re.compile(r"\+?\d[\d\s().-]{6,}\d"), True),
    ),
    # "How long/often/far" is often answered in words ("every morning"): a hint, not a rule.
    (re.compile(r"\bhow (long|large|big|far|often)\b", re.I), Cue(re.compile(_NUMBER, re.I), False)),
    (
        _ASKS_BYLINE,
        Cue(re.compile(r"^\s*(author|by)\b|\b(writer|author|columnist|correspondent)\b", re.I), True, False),
    ),
    (
        re.compile(r"^\s*(who|whom|whose)\b|\bwhich (person|people|leader|country|organi[sz]ation)\b", re.I),
        Cue(re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+|\b[A-Z]{2,}\b"), False),
    ),
    (
        re.compile(r"^\s*where\b|\b(in|at) which (city|country|place|venue)\b", re.I),
        Cue(re.compile(r"\b(in|at|from|near)\s+(the\s+)?[A-Z]\w*"), False),
    ),
]
_EXPANDS = re.compile(r"\b(stand for|short for|abbreviation|acronym|full (name|form)|expand)", re.I)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,9}\b")
_ASKS_TITLE = re.compile(r"\b(title|headline)\b", re.I)


def answer_cue(question: str) -> Cue | None:
    """What an answer to ``question`` should contain, if its wording implies something."""
    acronym = _ACRONYM.search(question)
    if acronym and _EXPANDS.search(question):
        # "What does NAM stand for?" wants "Non-Aligned Movement (NAM)" or "NAM (Non-...)".
        a = re.escape(acronym.group())
        spelled = rf"[A-Z][\w-]*(\s+\w[\w-]*){{0,8}}\s*\({a}\)|\b{a}\s*\([A-Z]|\b{a} (stands|is short) for"
        return Cue(re.compile(spelled), True, False)
    for asks, cue in _CUES:
        if asks.search(question):
            return cue
    return None


def _cue_hit(cue: Cue, sentence: str, question_lower: str) -> bool:
    if not cue.new_info:
        return bool(cue.pattern.search(sentence))
    # The answer is new information: a date or name the question already states does not count.
    return any(m.group().strip().lower() not in question_lower for m in cue.pattern.finditer(sentence))


def asked_role(question: str) -> str:
    if _ASKS_BYLINE.search(question):
        return "byline"
    if _ASKS_TITLE.search(question):
        return "title"
    return ""


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


WORD_VECTORS: Callable[[str], np.ndarray] | None = None
_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def soft_coverage(q_words: list[str], q_idf: np.ndarray, s_words: list[str]) -> float:
    """Idf-weighted share of the question's words that the sentence holds or has a
    near synonym of (cosine of the embedding model's input word vectors)."""
    if not q_words or WORD_VECTORS is None:
        return 0.0
    s = [w for w in set(s_words) if w not in STOPWORDS]
    if not s:
        return 0.0
    qm = np.array([WORD_VECTORS(w) for w in q_words])
    sm = np.array([WORD_VECTORS(w) for w in s])
    best = np.clip((qm @ sm.T).max(axis=1), 0.0, 1.0)
    return float(best @ q_idf / q_idf.sum())


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
    q_words = [w for w in words(question) if w not in STOPWORDS]
    q_idf = np.array([max(idf(stem(w)), 0.1) for w in q_words])
    rows = []
    for c in candidates:
        text = doc_texts[c.doc_id][c.span.start : c.span.end]
        s_list = text_terms(text)
        own = set(s_list)
        lexical, missing = _coverage(q_terms, own, idf)
        lexical_ctx, _ = _coverage(q_terms, own | set(text_terms(c.neighbour_text)), idf)
        bigram = len(q_bigrams & set(zip(s_list, s_list[1:]))) / len(q_bigrams) if q_bigrams else 0.0
        hit = cue is not None and _cue_hit(cue, text, q_lower)
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
                *(soft_coverage(q_words, q_idf, w) for w in (words(text), words(text + " " + c.neighbour_text))),
            ]
        )
    x = np.array(rows, dtype=np.float64).reshape(len(candidates), len(FEATURES))
    if len(x):
        # Relative evidence: how far each sentence trails the best one, and its rank.
        f = FEATURES.index
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
    question: str, sentence: str, context: str, x: np.ndarray, p: np.ndarray, oov: float, idf: Callable[[str], float]
) -> np.ndarray:
    """What the confidence model sees: the best sentence, how far it stands out, and
    what the question names that the sentence and its neighbours (``context``) do not:
    a negation, a proper name, a number (the ways an answerable-looking question is not)."""
    best = int(np.argmax(p))
    second = float(np.partition(p, -2)[-2]) if len(p) > 1 else 0.0
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
         float(cue is not None and cue.strong and hit == 0)],
    )  # fmt: skip


def confidence(g: np.ndarray) -> float:
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
) -> Answer:
    """Choose and cite the answering sentence(s), or abstain.

    ``oov`` is the idf-weighted share of the question's terms that occur
    nowhere in the searched documents.
    """
    if not candidates:
        return _abstain(question, passages, 0.0, "no passage was retrieved")
    x = features(question, qvec, candidates, doc_texts, idf)
    p = sentence_probabilities(x)
    best = int(np.argmax(p))
    b = candidates[best]
    text = doc_texts[b.doc_id]
    sentence = text[b.span.start : b.span.end]
    g = abstain_features(question, sentence, f"{sentence} {b.neighbour_text}", x, p, oov, idf)
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
    if cue is not None and cue.strong and not _cue_hit(cue, quoted, question.lower()):
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
        )
        for i in chosen
    ]
    answer_text = text[citations[0].start : citations[-1].end]
    return Answer(question, True, answer_text, conf, citations, passages)


def _abstain(question: str, passages: list[Passage], confidence: float, reason: str) -> Answer:
    return Answer(question, False, "", confidence, [], passages, reason)
