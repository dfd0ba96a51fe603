"""Collection eval: every paragraph of a SQuAD file is a document of one index, and each
question is asked of the whole collection, not of its own article.

Quality is measured as the collection grows (`DEFAULT_SIZES` documents, in a seeded
order): at each size the questions of the paragraphs indexed so far are asked, so a
curve of hit@1, span F1, false abstention, how often the quote comes from the
question's own paragraph, and recall@k of that paragraph (a retrieval miss against a
reading miss) comes from one index filled once.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence

from .evaluate import EvalDoc, EvalQuestion, EvalRun, score, squad_articles

#: Collection sizes measured, in documents (0: all of them).
DEFAULT_SIZES = (1, 10, 100, 0)
DEFAULT_SEED = 13
_SLUG = re.compile(r"[^a-z0-9]+")


def load_paragraphs(
    path: str, limit: int | None = None, titles: Sequence[str] = ()
) -> tuple[list[EvalDoc], list[EvalQuestion]]:
    """One document per paragraph of a SQuAD v1.1/v2.0 file (its first ``limit`` articles,
    or those named in ``titles``), titled "Article (n)"; each question belongs to its paragraph."""
    from .errors import DataSetError

    docs, questions = [], []
    try:
        for article in squad_articles(path, limit, titles):
            title = str(article.get("title", "article")).replace("_", " ")
            slug = _SLUG.sub("-", title.lower()).strip("-") or "article"
            for n, para in enumerate(article["paragraphs"]):
                doc = EvalDoc(f"{slug}-p{n:03d}", f"{title} ({n + 1})", para["context"])
                docs.append(doc)
                for qa in para["qas"]:
                    gold = [] if qa.get("is_impossible") else qa.get("answers", [])
                    answers = tuple(a["text"] for a in gold)
                    spans = tuple((a["answer_start"], a["answer_start"] + len(a["text"])) for a in gold)
                    kind = "answerable" if answers else "unanswerable"
                    questions.append(
                        EvalQuestion(str(qa["id"]), qa["question"], kind, doc.doc_id, bool(answers), answers, spans)
                    )
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataSetError(f"{path}: not a readable SQuAD file (missing or bad {exc})") from None
    if not questions:
        raise DataSetError(f"{path}: no questions in it, so nothing to measure")
    return docs, questions


def run_collection(
    name: str,
    docs: list[EvalDoc],
    questions: list[EvalQuestion],
    sizes: Sequence[int] = DEFAULT_SIZES,
    k: int | None = None,
    max_questions: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    seed: int = DEFAULT_SEED,
    **index_options: object,
) -> list[EvalRun]:
    """One run per collection size (``name@size``; ``@all`` for every document): one index
    filled in a seeded order of ``docs``, in batches up to each size, and after each
    batch the questions of its documents so far asked of all of them (a seeded sample of
    ``max_questions`` at most)."""
    from .index import Index
    from .ingest import make_document

    order = list(docs)
    random.Random(seed).shuffle(order)
    wanted = sorted({min(s, len(order)) if s > 0 else len(order) for s in sizes})
    texts = {d.doc_id: d.text for d in docs}
    runs = []
    with tempfile.TemporaryDirectory(prefix="askdoc-collection-") as tmp:
        idx = Index(tmp, name="collection", **index_options)
        have = 0
        for size in wanted:
            batch = [make_document(d.text, doc_id=d.doc_id, title=d.title) for d in order[have:size]]
            idx.add_documents(batch, given_ids=True)
            have = size
            inside = {d.doc_id for d in order[:size]}
            asked = [q for q in questions if q.doc_id in inside]
            if max_questions and len(asked) > max_questions:
                asked = random.Random(seed).sample(asked, max_questions)
            run = EvalRun(f"{name}@{'all' if size == len(order) else size}")
            for q in progress(asked) if progress else asked:
                started = time.perf_counter()
                ans = idx.answer(q.question, k=k)
                latency = (time.perf_counter() - started) * 1000
                run.results.append(score(q, ans, texts[q.doc_id], latency, texts, collection=True))
            runs.append(run)
    return runs
