"""Fit askdoc's sentence and abstention models (logistic regression) on SQuAD-format data.

    python eval/fit_weights.py TRAIN.json [TRAIN2.json ...] [--cache retrievals.pkl]

The sentence model learns which candidate sentence holds the answer from the
answerable questions of every file; the abstention model learns, from files
with unanswerable questions (SQuAD v2.0), whether the best sentence answers at
all. Articles are split into two folds to report held-out figures; the printed
weights, fitted on everything, go into ``src/askdoc/scorer.py``, and the
threshold at 5% held-out false abstention into ``src/askdoc/config.py``. Role
features (title/byline) never fire in SQuAD text and keep hand-set weights.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

from askdoc import evaluate as ev
from askdoc import scorer as A
from askdoc.cues import answer_cue
from askdoc.embed import Embedder

HAND_SET = {"role_match": 3.0, "role_other": -1.5}
#: The abstention threshold is set where this share of held-out answerable questions
#: falls below it: the quality bar's limit on false abstention.
FALSE_ABSTENTION = 0.05
#: The served model's static word vectors (soft word matching).
WORDS = Embedder().word_vectors


def retrieve_all(paths: list[str], k: int) -> list[dict]:
    """Each question's retrieval (candidates, texts, idf), gold answers and fold."""
    items = []
    for file_no, path in enumerate(paths):
        docs, questions = ev.load_squad(path)
        negatives = any(not q.answerable for q in questions)
        fold_of = {d.doc_id: n % 2 for n, d in enumerate(docs)}
        with tempfile.TemporaryDirectory() as tmp:
            indexes = ev.build_indexes(docs, tmp)
            for q in questions:
                r = indexes[q.doc_id].retrieve(q.question, k=k)
                if r.candidates:
                    items.append(
                        {"question": q.question, "qvec": r.qvec, "candidates": r.candidates,
                         "text": r.texts[q.doc_id], "doc_id": q.doc_id, "idf": r.idf, "oov": r.oov,
                         "answers": q.answers, "answerable": q.answerable,
                         "fold": fold_of[q.doc_id] + 2 * file_no, "has_neg": negatives}
                    )  # fmt: skip
        print(f"{path}: {len(questions)} questions", file=sys.stderr)
    return items


def extract(items: list[dict]) -> dict[str, np.ndarray]:
    """Candidate features and labels (the sentence holds a gold answer) for every question."""
    rows, labels, qids, numbers = [], [], [], []
    for qn, it in enumerate(items):
        cands = it["candidates"]
        x = A.features(it["question"], it["qvec"], cands, {it["doc_id"]: it["text"]}, it["idf"], WORDS)
        rows.append(x)
        labels.extend(any(a in it["text"][c.span.start : c.span.end] for a in it["answers"]) for c in cands)
        qids.extend([qn] * len(cands))
        numbers.extend(c.number for c in cands)
    return {
        "x": np.vstack(rows), "y": np.array(labels, dtype=float), "qid": np.array(qids),
        "number": np.array(numbers),
        "fold": np.array([it["fold"] for it in items]), "has_neg": np.array([it["has_neg"] for it in items]),
        "oov": np.array([it["oov"] for it in items]), "answerable": np.array([it["answerable"] for it in items]),
        "cue_expected": np.array([answer_cue(it["question"]) is not None for it in items]),
    }  # fmt: skip


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


def question_level(data, items, sw, sb, mask_q):
    """Best-sentence probabilities, hits and abstention features per question."""
    x, y, qid = data["x"], data["y"], data["qid"]
    p = 1 / (1 + np.exp(-np.clip(x @ sw + sb, -30, 30)))
    starts = np.flatnonzero(np.r_[True, qid[1:] != qid[:-1]])
    ends = np.r_[starts[1:], len(qid)]
    g, hit = [], []
    for q in np.flatnonzero(mask_q):
        a, b = starts[q], ends[q]
        best = a + int(np.argmax(p[a:b]))
        hit.append(bool(y[best]))
        # The shipped function, so that training and serving see the same features.
        it = items[q]
        c = it["candidates"][best - a]
        sentence = it["text"][c.span.start : c.span.end]
        context = f"{sentence} {c.neighbour_text}"
        q_text, oov, idf = it["question"], it["oov"], it["idf"]
        g.append(A.abstain_features(q_text, best - a, sentence, context, x[a:b], p[a:b], oov, idf))
    return np.array(g), np.array(hit)


def fit(data, items, train_q: np.ndarray):
    qid = data["qid"]
    rows = train_q[qid] & data["answerable"][qid]
    fixed = {A.FEATURES.index(n): v for n, v in HAND_SET.items()}
    sw, sb = fit_logistic(data["x"][rows], data["y"][rows], l2=1.0, fixed=fixed)
    abst_q = train_q & data["has_neg"]
    g, hit = question_level(data, items, sw, sb, abst_q)
    target = hit & data["answerable"][abst_q]
    aw, ab = fit_logistic(g, target.astype(float), l2=1.0)
    return sw, sb, aw, ab


def report(data, items, sw, sb, aw, ab, test_q: np.ndarray, label: str, threshold: float = 0.5) -> None:
    g, hit = question_level(data, items, sw, sb, test_q)
    ans = data["answerable"][test_q]
    conf = 1 / (1 + np.exp(-np.clip(g @ aw + ab, -30, 30)))
    answered = conf >= threshold
    top1 = hit[ans].mean() if ans.any() else float("nan")
    has_ans = (hit & answered)[ans].mean() if ans.any() else float("nan")
    no_ans = (~answered)[~ans].mean() if (~ans).any() else float("nan")
    overall = ((hit & answered & ans).sum() + (~answered & ~ans).sum()) / len(ans)
    print(
        f"{label}: top-1 sentence {top1:.3f}  HasAns {has_ans:.3f}  NoAns {no_ans:.3f}  answer-or-abstain {overall:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--cache", help="reuse (or write) extracted features here")
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    if args.cache and Path(args.cache).exists():
        items = pickle.loads(Path(args.cache).read_bytes())
    else:
        items = retrieve_all(args.files, args.k)
        if args.cache:
            Path(args.cache).write_bytes(pickle.dumps(items))
    data = extract(items)
    folds = data["fold"]
    held_out_conf = []
    for held in (0, 1):
        train = (folds % 2) != held
        sw, sb, aw, ab = fit(data, items, train)
        report(data, items, sw, sb, aw, ab, ~train & data["has_neg"], f"fold {held} held out (v2.0 articles)")
        report(data, items, sw, sb, aw, ab, ~train & ~data["has_neg"], f"fold {held} held out (other files)")
        g, _ = question_level(data, items, sw, sb, ~train & data["answerable"])
        held_out_conf.append(1 / (1 + np.exp(-np.clip(g @ aw + ab, -30, 30))))
    # The threshold that abstains on FALSE_ABSTENTION of the answerable questions held out.
    threshold = float(np.quantile(np.concatenate(held_out_conf), FALSE_ABSTENTION))
    print(f"DEFAULT_MIN_CONFIDENCE = {threshold:.2f}  ({FALSE_ABSTENTION:.0%} false abstention held out)")
    sw, sb, aw, ab = fit(data, items, np.ones(len(folds), dtype=bool))
    report(data, items, sw, sb, aw, ab, data["has_neg"], "all, in-sample (v2.0)")
    fmt = ", ".join
    print(f"SENTENCE_WEIGHTS = ({fmt(f'{w:.3f}' for w in sw)})\nSENTENCE_BIAS = {sb:.3f}")
    print(f"ABSTAIN_WEIGHTS = ({fmt(f'{w:.3f}' for w in aw)})\nABSTAIN_BIAS = {ab:.3f}")


if __name__ == "__main__":
    main()
