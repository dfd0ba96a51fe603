"""Fit askdoc's sentence and abstention models (logistic regression) on SQuAD-format data.

    python eval/fit_weights.py squad2-dev-more16.json.gz --clean Ctenophora --clean Rhine ... \
        [--cache retrievals.pkl] [--drop FEATURE ...]

The shipped weights: ``../shared/train-data/squad2-dev-more16.json.gz`` with ``--clean`` for
each of Ctenophora, Geology, Construction, Jacksonville,_Florida, Prime_number and Rhine
(about 5 minutes on 2 CPU cores, then seconds from the cache).

- The **sentence model** (it picks what the reader reads, and half its logit joins
  the rank) learns from the answerable questions of every article in the files.
- The **abstention models** learn from every question of the ``--clean`` articles: those
  the shipped reader never trained on, the only ones where its logits are honest. One
  sees the reader's features, one does not (``ASKDOC_READER=off``).
- **Held-out figures**: leave one clean article out, both models refitted without it.
- **Threshold**: where the held-out confidences falsely abstain on 5% of the answerable
  questions (``DEFAULT_MIN_CONFIDENCE``). The reader-less model's bias is moved so that
  the same threshold gives it the same held-out false abstention.
- ``--drop NAME`` leaves a sentence or abstention feature out, to measure retiring it.

Never fit on ``askdoc eval``'s files (the article set, XQuAD, the v2.0 dev subset): the
figures askdoc reports on them would be in-sample. The printed weights go into
``src/askdoc/scorer.py``. Role features (title/byline) never fire in SQuAD text and
keep hand-set weights.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

from askdoc import answering
from askdoc import evaluate as ev
from askdoc import scorer as A
from askdoc.read import Reader

#: A title or byline answering a question that asks for one (both models).
HAND_SET = {"role_match": 3.0, "role_other": -1.5}
#: The abstention threshold is set where this share of held-out answerable questions
#: falls below it: the quality bar's limit on false abstention.
FALSE_ABSTENTION = 0.05
#: The abstention models' L2 penalty. One article left out (NoAns at 5% false abstention,
#: answer-or-abstain): 0.0 0.178 / 0.472, 0.1 0.179 / 0.473, 0.3 0.167 / 0.466, 1.0 0.161 / 0.463,
#: 10 0.139 / 0.450; but 0.1 did not carry over end to end (held-out v2 answer-or-abstain 0.452
#: both, XQuAD hit@1 0.890 -> 0.887, the article unchanged), so 1.0 stays.
ABSTAIN_L2 = 1.0


def retrieve_all(paths: list[str], clean: set[str], k: int) -> list[dict]:
    """Each question's retrieval (candidates, texts, idf) and gold answers; for the
    clean articles' questions also the reader's reading of every candidate."""
    reader = Reader()
    items = []
    for path in paths:
        docs, questions = ev.load_squad(path)
        titles = {d.doc_id: d.title for d in docs}
        with tempfile.TemporaryDirectory() as tmp:
            indexes = ev.build_indexes(docs, tmp, reader="off")
            for q in questions:
                r = indexes[q.doc_id].retrieve(q.question, k=k)
                if not r.candidates:
                    continue
                text = r.texts[q.doc_id]
                item = {"question": q.question, "qvec": r.qvec, "candidates": r.candidates, "text": text,
                        "doc_id": q.doc_id, "idf": r.idf, "oov": r.oov, "answers": q.answers,
                        "answerable": q.answerable, "article": f"{path}:{titles[q.doc_id]}"}  # fmt: skip
                if _title(titles[q.doc_id]) in clean:
                    sentences = [text[c.span.start : c.span.end] for c in r.candidates]
                    item["readings"] = reader.read(q.question, sentences, [c.previous_text for c in r.candidates])
                items.append(item)
        print(f"{path}: {len(questions)} questions", file=sys.stderr)
    return items


def _title(name: str) -> str:
    return name.replace(" ", "_").lower()


class Data:
    """Candidate features and labels (the sentence holds a gold answer), row per candidate."""

    def __init__(self, items: list[dict]) -> None:
        rows, labels, qids = [], [], []
        for qn, it in enumerate(items):
            cands = it["candidates"]
            rows.append(A.features(it["question"], it["qvec"], cands, {it["doc_id"]: it["text"]}, it["idf"]))
            labels.extend(any(a in it["text"][c.span.start : c.span.end] for a in it["answers"]) for c in cands)
            qids.extend([qn] * len(cands))
        self.items = items
        self.x, self.y, self.qid = np.vstack(rows), np.array(labels, dtype=float), np.array(qids)
        self.starts = np.flatnonzero(np.r_[True, self.qid[1:] != self.qid[:-1]])
        self.ends = np.r_[self.starts[1:], len(self.qid)]
        self.article = np.array([it["article"] for it in items])
        self.answerable = np.array([it["answerable"] for it in items])
        self.clean = np.array(["readings" in it for it in items])

    def question(self, q: int, sw: np.ndarray, sb: float, reader: bool) -> tuple[bool, np.ndarray]:
        """Whether the pipeline's choice holds the answer, and its abstention features,
        computed by the shipped functions so that fitting and serving agree."""
        a, b = self.starts[q], self.ends[q]
        x = self.x[a:b]
        p = 1 / (1 + np.exp(-np.clip(x @ sw + sb, -30, 30)))
        it = self.items[q]
        readings = {}
        if reader:
            top = np.argsort(-p, kind="stable")[: answering.DEFAULT_READ_CANDIDATES]
            readings = {int(i): it["readings"][i] for i in top}
        best = int(np.argmax(answering.rank(p, readings)))
        texts = {it["doc_id"]: it["text"]}
        g = A.abstain_features(it["question"], best, it["candidates"], texts, x, p, it["oov"], it["idf"], readings)
        return bool(self.y[a + best]), g


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, fixed: dict[int, float] | None = None):
    """L2-regularised logistic regression by Newton's method; ``fixed`` columns keep given weights."""
    fixed = fixed or {}
    free = [j for j in range(x.shape[1]) if j not in fixed]
    offset = sum(x[:, j] * w for j, w in fixed.items()) if fixed else np.zeros(len(x))
    xf = np.hstack([x[:, free], np.ones((len(x), 1))])
    w = np.zeros(xf.shape[1])
    reg = np.full(xf.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(xf @ w + offset, -30, 30)))
        grad = xf.T @ (p - y) + reg * w
        hess = (xf * (p * (1 - p))[:, None]).T @ xf + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = np.zeros(x.shape[1])
    weights[free] = w[:-1]
    for j, v in fixed.items():
        weights[j] = v
    return weights, float(w[-1])


def fit(d: Data, train: np.ndarray, drop: set[str], reader: bool):
    """Sentence weights from ``train``'s answerable questions, abstention weights from its clean ones."""
    rows = train[d.qid] & d.answerable[d.qid]
    fixed = {j: 0.0 if n in drop else HAND_SET[n] for j, n in enumerate(A.FEATURES) if n in drop or n in HAND_SET}
    sw, sb = fit_logistic(d.x[rows], d.y[rows], fixed=fixed)
    qs = np.flatnonzero(train & d.clean)
    hit, g = zip(*(d.question(q, sw, sb, reader) for q in qs))
    names = A.ABSTAIN_FEATURES + (A.READER_FEATURES if reader else ())
    fixed = {j: 0.0 if n in drop else HAND_SET[n] for j, n in enumerate(names) if n in drop or n in HAND_SET}
    aw, ab = fit_logistic(np.array(g), (np.array(hit) & d.answerable[qs]).astype(float), ABSTAIN_L2, fixed)
    return sw, sb, aw, ab


def held_out(d: Data, drop: set[str], reader: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leave one clean article out: hits, confidences and answerability of its questions."""
    hits, confs, answerable = [], [], []
    for article in sorted(set(d.article[d.clean])):
        sw, sb, aw, ab = fit(d, d.article != article, drop, reader)
        for q in np.flatnonzero(d.article == article):
            hit, g = d.question(q, sw, sb, reader)
            hits.append(hit)
            confs.append(1 / (1 + np.exp(-np.clip(g @ aw + ab, -30, 30))))
            answerable.append(d.answerable[q])
    return np.array(hits), np.array(confs), np.array(answerable)


def report(label: str, hit: np.ndarray, conf: np.ndarray, ans: np.ndarray, threshold: float) -> None:
    answered = conf >= threshold
    right = (hit & answered & ans).sum() + (~answered & ~ans).sum()
    print(f"{label}: top-1 sentence {hit[ans].mean():.3f}  HasAns {(hit & answered)[ans].mean():.3f}  "
          f"false abstention {(~answered)[ans].mean():.3f}  NoAns {(~answered)[~ans].mean():.3f}  "
          f"answer-or-abstain {right / len(ans):.3f}  (n={len(ans)}, threshold {threshold:.3f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--clean", action="append", default=[], required=True,
                        help="an article the shipped reader never trained on (repeatable)")  # fmt: skip
    parser.add_argument("--cache", help="reuse (or write) the retrievals and readings here")
    parser.add_argument("--drop", action="append", default=[], help="leave this feature out (repeatable)")
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    known = set(A.FEATURES + A.ABSTAIN_FEATURES + A.READER_FEATURES)
    if unknown := set(args.drop) - known:
        parser.error(f"unknown features: {', '.join(sorted(unknown))}")
    if args.cache and Path(args.cache).exists():
        items = pickle.loads(Path(args.cache).read_bytes())
    else:
        items = retrieve_all(args.files, {_title(t) for t in args.clean}, args.k)
        if args.cache:
            Path(args.cache).write_bytes(pickle.dumps(items))
    d = Data(items)
    # (From a cache, the clean articles are those it was written with.)
    clean = {_title(a.split(":", 1)[1]) for a in d.article[d.clean]}
    if missing := {_title(t) for t in args.clean} - clean:
        parser.error(f"no clean article {', '.join(sorted(missing))} in {', '.join(args.files)} (or the cache)")
    drop = set(args.drop)
    hit, conf, ans = held_out(d, drop, reader=True)
    threshold = float(np.quantile(conf[ans], FALSE_ABSTENTION))
    report("held out, with the reader", hit, conf, ans, threshold)
    hit0, conf0, _ = held_out(d, drop, reader=False)
    threshold0 = float(np.quantile(conf0[ans], FALSE_ABSTENTION))
    report("held out, scorer alone", hit0, conf0, ans, threshold0)
    everything = np.ones(len(items), dtype=bool)
    sw, sb, aw, ab = fit(d, everything, drop, reader=True)
    _, _, aw0, ab0 = fit(d, everything, drop, reader=False)
    # Shift the reader-less model so that the one threshold means the same for both.
    ab0 += float(np.log(threshold / (1 - threshold)) - np.log(threshold0 / (1 - threshold0)))
    fmt = ", ".join
    print(f"DEFAULT_MIN_CONFIDENCE = {threshold:.3f}  ({FALSE_ABSTENTION:.0%} false abstention held out)")
    print(f"SENTENCE_WEIGHTS = ({fmt(f'{w:.3f}' for w in sw)})\nSENTENCE_BIAS = {sb:.3f}")
    print(f"ABSTAIN_WEIGHTS = ({fmt(f'{w:.3f}' for w in aw)})\nABSTAIN_BIAS = {ab:.3f}")
    print(f"SCORER_ABSTAIN_WEIGHTS = ({fmt(f'{w:.3f}' for w in aw0)})\nSCORER_ABSTAIN_BIAS = {ab0:.3f}")


if __name__ == "__main__":
    main()
