"""Training examples: SQuAD-format articles become (question, sentence) pairs shaped like
what `retrieve` hands `read`.

Every question is paired with the sentences of its paragraph (askdoc's own sentence
splitter), each with its predecessor as context, plus negatives: the sentences of one
other paragraph of the same article, or, mined, the article's sentences askdoc's BM25
ranks highest for the question. A sentence holding the answer's start is positive, with
the answer as its span; the sentences of an unanswerable (SQuAD 2.0) question, and of a
generated near miss, are all negative.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .chunk import split_sentences
from .evaluate import read_squad_articles

#: Recipe defaults (the reference checkpoint's, see the model card).
DEFAULT_NEGATIVES = 3
DEFAULT_SEED = 13
#: Unanswerable questions' sentences weigh this much in the loss (they are rarer and harder).
DEFAULT_NEGATIVE_WEIGHT = 1.0
#: Share of answerable questions that also get a generated near miss (see `near_miss`).
DEFAULT_NEAR_MISSES = 0.0
#: What `near_miss` swaps: a name (capitalised words mid-sentence, after a lower-case word or a
#: comma, so not "The" or "While"), a year, or another number.
_MENTION = re.compile(
    r"(?<=[a-z,;:] )(?:[A-Z][\w-]+(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w-]+)*)(?!['’]?\w)"
    r"|(?<![\w.,])\d[\d,.]*\d\b|(?<![\w.,])\d\b"
)


@dataclass(frozen=True)
class Example:
    """One (question, sentence) pair; ``answer`` is the span inside the sentence, or None."""

    article: str
    question: str
    sentence: str
    previous: str
    positive: bool
    answer: tuple[int, int] | None = None
    weight: float = 1.0


def load_articles(paths: Sequence[str | Path]) -> list[dict]:
    """SQuAD-format articles from JSON or gzipped JSON files; ``FILE:N`` keeps its first N articles."""
    articles = []
    for path in paths:
        name, sep, first = str(path).rpartition(":")
        if not (sep and first.isdigit()):
            name, first = str(path), ""
        data = read_squad_articles(name)
        articles += data[: int(first)] if first else data
    return articles


def make_examples(
    articles: Iterable[dict], negatives: int = DEFAULT_NEGATIVES, seed: int = DEFAULT_SEED,
    negative_weight: float = DEFAULT_NEGATIVE_WEIGHT, near_misses: float = DEFAULT_NEAR_MISSES,
    hard: bool = False,
) -> list[Example]:  # fmt: skip
    """Every question's positives plus at most ``negatives`` sampled negatives
    (all of them, up to twice that, for an unanswerable question). A ``near_misses``
    share of the answerable questions also comes back as a `near_miss`, unanswerable,
    whose hardest negative (the sentence that answered the original) always stays.

    With ``hard``, the negatives are not sampled from the paragraph and one other but
    mined from the whole article: the sentences askdoc's BM25 ranks highest for the
    question (what retrieval hands the reader, and what it confuses)."""
    rng = random.Random(seed)
    twins = random.Random(seed + 1)  # its own stream: the original examples stay those of the seed
    out: list[Example] = []
    for article in articles:
        title = str(article.get("title", ""))
        paras = [(p["context"], split_sentences(p["context"])) for p in article["paragraphs"]]
        mentions = sorted({m.group() for text, _ in paras for m in _MENTION.finditer(text)})
        miner = _Miner(paras) if hard else None
        for n, para in enumerate(article["paragraphs"]):
            text, spans = paras[n]
            other = paras[rng.randrange(len(paras))] if len(paras) > 1 else None
            if other is paras[n]:
                other = paras[(n + 1) % len(paras)]
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible")) or not qa.get("answers")
                q = qa["question"].strip()
                answer = None if impossible else qa["answers"][0]
                twin = near_miss(q, text, mentions, twins) if answer and twins.random() < near_misses else None
                pos, neg, hard = [], [], []
                for k, sp in enumerate(spans):
                    prev = text[spans[k - 1].start : spans[k - 1].end] if k else ""
                    sentence = text[sp.start : sp.end]
                    a = answer["answer_start"] if answer else -1
                    if answer and sp.start <= a < sp.end:
                        end = min(a + len(answer["text"]), sp.end)
                        pos.append(Example(title, q, sentence, prev, True, (a - sp.start, end - sp.start)))
                        if twin:
                            hard.append(Example(title, twin, sentence, prev, False, None, negative_weight))
                    else:
                        w = negative_weight if impossible else 1.0
                        neg.append(Example(title, q, sentence, prev, False, None, w))
                if miner is not None:
                    w = negative_weight if impossible else 1.0
                    own = {e.sentence for e in pos}
                    neg = [Example(title, q, s, prev, False, None, w) for s, prev in miner.ranked(q) if s not in own]
                    neg = neg[: 2 * negatives]
                    rng.shuffle(neg)  # the hardest first would tie the twin's to the same few
                elif other is not None:
                    o_text, o_spans = other
                    for k, sp in enumerate(o_spans):
                        prev = o_text[o_spans[k - 1].start : o_spans[k - 1].end] if k else ""
                        neg.append(Example(title, q, o_text[sp.start : sp.end], prev, False))
                if miner is None:
                    rng.shuffle(neg)
                out += pos + neg[: negatives * (2 if impossible else 1)]
                if twin:  # the twin's other negatives: the original's, asked the twin's way
                    more = [Example(title, twin, e.sentence, e.previous, False, None, negative_weight) for e in neg]
                    out += hard + more[: max(0, negatives - len(hard))]
    return out


class _Miner:
    """An article's sentences (each with its predecessor) in askdoc's BM25, to rank by a question."""

    def __init__(self, paras: Sequence[tuple[str, Sequence]]):
        from .lexical import Lexical

        self.rows = [
            (text[sp.start : sp.end], text[spans[k - 1].start : spans[k - 1].end] if k else "")
            for text, spans in paras
            for k, sp in enumerate(spans)
        ]
        self.lexical = Lexical()
        self.lexical.add([s for s, _ in self.rows])

    def ranked(self, question: str) -> list[tuple[str, str]]:
        """The sentences holding any of the question's terms, best first."""
        import numpy as np

        from .lexical import terms

        q = [t for t in terms(question) if t in self.lexical.df]
        if not q:
            return []
        scores = self.lexical.scores(q)
        hits = np.flatnonzero(scores)
        return [self.rows[i] for i in hits[np.argsort(-scores[hits], kind="stable")]]


def near_miss(question: str, paragraph: str, mentions: Sequence[str], rng: random.Random) -> str | None:
    """The question with one name or number it shares with its paragraph swapped for another
    of the article's, of the same kind, that the paragraph never mentions: an unanswerable
    question that reads like an answerable one (SQuAD 2.0's hardest kind), or None."""
    found = [m for m in _MENTION.finditer(question) if m.start() > 0 and m.group() in paragraph]
    if not found:
        return None
    m = found[rng.randrange(len(found))]
    kind, asked = _kind(m.group()), question.lower()
    pool = [x for x in mentions if _kind(x) == kind and x not in paragraph and x.lower() not in asked]
    return question[: m.start()] + pool[rng.randrange(len(pool))] + question[m.end() :] if pool else None


def _kind(mention: str) -> str:
    if not mention[0].isdigit():
        return "name"
    return "year" if re.fullmatch(r"1\d{3}|20\d{2}", mention) else "number"


def split_articles(articles: list[dict], hold_out: Sequence[str]) -> tuple[list[dict], list[dict]]:
    """(training, held-out) articles; ``hold_out`` names titles (spaces or underscores)."""
    names = {h.replace(" ", "_").lower() for h in hold_out}
    held = [a for a in articles if str(a.get("title", "")).replace(" ", "_").lower() in names]
    train = [a for a in articles if a not in held]
    return train, held
