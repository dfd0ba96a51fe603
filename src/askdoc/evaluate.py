"""Evaluate: run question sets through `Index.answer` and measure answer quality.

Question sets are JSONL (one question a line: id, question, kind, answerable,
answer, start, end) or SQuAD v1.1/v2.0 JSON, where each article's paragraphs,
joined by blank lines, become one document in an index of its own.
Gold labels are character spans, so a new chunker does not invalidate them.

Dialogue sets are run by `askdoc.dialogues`, the baseline gate is `askdoc.gate`.
"""

from __future__ import annotations

import gzip
import json
import lzma
import re
import statistics
import string
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataSetError


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    kind: str
    doc_id: str
    answerable: bool
    #: Gold answer texts and their spans in the document (any one counts).
    answers: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class EvalDoc:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class QuestionResult:
    id: str
    kind: str
    question: str
    answerable: bool
    gold: tuple[str, ...]
    found: bool
    text: str
    confidence: float
    hit: bool
    rank: int | None  # 1-based rank of the first passage holding a gold span
    #: Token F1 and exact match of the short answer (`Answer.exact`, else the quote)
    #: against the gold answers, with SQuAD's normalisation.
    f1: float
    exact_match: bool
    citations_exact: bool
    latency_ms: float
    #: In a dialogue: how the turn depends on the ones before ("pronoun", "ellipsis", "why", ...),
    #: how askdoc read it (empty: as typed), and whether it repeated the previous answer
    #: where that does not answer it (None on a first turn or outside a dialogue).
    form: str = ""
    resolved: str = ""
    stale: bool | None = None
    #: In a collection: whether the quote came from the question's own document (None elsewhere).
    own_doc: bool | None = None


@dataclass
class EvalRun:
    name: str
    results: list[QuestionResult] = field(default_factory=list)
    #: A dialogue set's topic changes asked alone, to set beside them.
    alone: list[QuestionResult] = field(default_factory=list)

    def metrics(self) -> dict[str, dict[str, float]]:
        """Overall and per-kind figures."""
        out = {"overall": summarize(self.results)}
        kinds = sorted({r.kind for r in self.results})
        for kind in kinds:
            out[kind] = summarize([r for r in self.results if r.kind == kind])
        if self.alone:
            out["topic_change_alone"] = summarize(self.alone)
        return out


# -- loading -------------------------------------------------------------------
_EVAL_DIR = Path(__file__).resolve().parent.parent.parent / "eval"


def default_set_path() -> Path:
    """The article question set in a source checkout's eval/ folder."""
    return _EVAL_DIR / "article.jsonl"


def default_baseline_path() -> Path:
    return _EVAL_DIR / "baseline.json"


def set_name(path: str | Path) -> str:
    return Path(path).stem


def default_dialogue_path() -> Path:
    """The dialogue set in a source checkout's eval/ folder."""
    return _EVAL_DIR / "dialogues.jsonl"


def default_sets() -> list[Path]:
    """What a bare `askdoc eval` runs: the article, its dialogues, and our informal sets."""
    return [default_set_path(), default_dialogue_path(), *sorted(_EVAL_DIR.glob("informal-*.jsonl"))]


def is_dialogue_set(path: str | Path) -> bool:
    """Whether a JSONL set holds dialogues (records with ``turns``) rather than questions."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    if "turns" in rec:
                        return True
                    if "question" in rec:
                        return False
    except (OSError, ValueError, TypeError):  # (the question loader says what is wrong)
        return False
    return False


def load_article_set(path: str | Path) -> tuple[EvalDoc, list[EvalQuestion]]:
    """A JSONL question set about one document (see `set_document`)."""
    doc = set_document(path)
    return doc, load_jsonl(path, doc)


def set_document(path: str | Path) -> EvalDoc:
    """The document a JSONL set is about: the bundled article unless its first line names one."""
    from .config import DEFAULT_ARTICLE
    from .ingest import read_file

    p = Path(path)
    if not p.is_file():
        raise DataSetError(f"{p}: no such question set")
    doc_path = DEFAULT_ARTICLE
    first = jsonl_records(p)[:1]
    named = first[0][1].get("document") if first and isinstance(first[0][1], dict) else None
    if named:
        doc_path = (p.parent / named).resolve()
    d = read_file(doc_path)
    return EvalDoc(d.doc_id, d.title, d.text)


def jsonl_records(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, record) for each line of a JSONL file that is not blank."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataSetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DataSetError(f"{path}: not UTF-8 text") from None
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append((n, json.loads(line)))
            except ValueError as exc:
                raise DataSetError(f"{path}:{n}: not a JSON record ({exc})") from None
    return out


def load_jsonl(path: str | Path, doc: EvalDoc) -> list[EvalQuestion]:
    """A JSONL question set about one document."""
    questions = []
    for n, rec in jsonl_records(path):
        try:
            if not isinstance(rec, dict):
                raise TypeError(f"a {type(rec).__name__}, not an object")
            if "question" not in rec and "document" in rec:
                continue  # the header line naming the document
            answerable = bool(rec["answerable"])
            answers = (str(rec["answer"]),) if answerable else ()
            spans = ((int(rec["start"]), int(rec["end"])),) if answerable else ()
            question = EvalQuestion(str(rec["id"]), str(rec["question"]), str(rec.get("kind", "factoid")),
                                    doc.doc_id, answerable, answers, spans)  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise DataSetError(f"{path}:{n}: bad question record (missing or bad {exc})") from None
        for a, (s, e) in zip(answers, spans):
            if doc.text[s:e] != a:
                raise DataSetError(f"{path}:{n}: gold span {s}-{e} does not hold {a!r}")
        questions.append(question)
    return _some(path, questions)


def _some(path: str | Path, questions: list) -> list:
    """``questions``, unless there are none: an empty set would pass any gate."""
    if not questions:
        raise DataSetError(f"{path}: no questions in it, so nothing to measure")
    return questions


def read_squad_articles(path: str | Path) -> list[dict]:
    """The ``data`` list of a SQuAD-format .json, .json.gz or .json.xz file."""
    try:
        raw = Path(path).read_bytes()
        if str(path).endswith(".gz"):
            raw = gzip.decompress(raw)
        elif str(path).endswith(".xz"):
            raw = lzma.decompress(raw)
        data = json.loads(raw)["data"]
    except (OSError, ValueError, KeyError, TypeError, lzma.LZMAError) as exc:
        raise DataSetError(f"{path}: not a readable SQuAD file ({exc})") from None
    if not isinstance(data, list):
        raise DataSetError(f"{path}: not a readable SQuAD file (its data is not a list)")
    return data


def squad_articles(path: str | Path, limit: int | None = None, titles: Sequence[str] = ()) -> list[dict]:
    """The articles of a SQuAD-format file: its first ``limit``, or those named in ``titles``."""
    data = read_squad_articles(path)
    if titles:
        wanted = {t.replace(" ", "_").lower() for t in titles}
        data = [a for a in data if str(a.get("title", "")).replace(" ", "_").lower() in wanted]
        if not data:
            raise DataSetError(f"{path}: none of the articles {', '.join(titles)}")
    return data[:limit] if limit else data


def load_squad(
    path: str | Path, limit: int | None = None, titles: Sequence[str] = ()
) -> tuple[list[EvalDoc], list[EvalQuestion]]:
    """SQuAD v1.1/v2.0 (.json, .json.gz or .json.xz): one document per article; ``is_impossible``
    questions are unanswerable. ``titles`` keeps only those articles (e.g. held out of training)."""
    docs, questions = [], []
    try:
        _read_squad(squad_articles(path, limit, titles), docs, questions)
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataSetError(f"{path}: not a readable SQuAD file (missing or bad {exc})") from None
    return docs, _some(path, questions)


def _read_squad(articles: list, docs: list[EvalDoc], questions: list[EvalQuestion]) -> None:
    for n, article in enumerate(articles):
        doc_id = f"squad-{n:03d}"
        title = str(article.get("title", doc_id)).replace("_", " ")
        parts, offset = [], 0
        for para in article["paragraphs"]:
            context = para["context"]
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible", False)) or not qa.get("answers")
                answers = () if impossible else tuple(a["text"] for a in qa["answers"])
                spans = (
                    ()
                    if impossible
                    else tuple(
                        (offset + a["answer_start"], offset + a["answer_start"] + len(a["text"])) for a in qa["answers"]
                    )
                )
                kind = "unanswerable" if impossible else "answerable"
                questions.append(
                    EvalQuestion(str(qa["id"]), qa["question"], kind, doc_id, not impossible, answers, spans)
                )
            parts.append(context)
            offset += len(context) + 2
        docs.append(EvalDoc(doc_id, title, "\n\n".join(parts)))


# -- scoring -------------------------------------------------------------------
def _normalize(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no punctuation or articles."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def token_f1(prediction: str, gold: str) -> float:
    p, g = _normalize(prediction), _normalize(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def gold_spans(q: EvalQuestion, text: str) -> list[tuple[int, int]]:
    """The labelled spans plus any other verbatim occurrence of a gold answer."""
    spans = set(q.spans)
    for a in q.answers:
        for m in re.finditer(re.escape(a), text):
            spans.add(m.span())
    return sorted(spans)


def score(
    q: EvalQuestion, ans, doc_text: str, latency_ms: float, texts: dict[str, str], collection: bool = False
) -> QuestionResult:
    """One answer scored against the gold; in a ``collection``, also whether it quotes the
    question's own document."""
    spans = gold_spans(q, doc_text) if q.answerable else []
    rank = None
    for i, p in enumerate(ans.passages, 1):
        if p.doc_id == q.doc_id and any(p.start <= s and e <= p.end for s, e in spans):
            rank = i
            break
    hit = ans.found and any(a in ans.text for a in q.answers)
    short = ans.exact or ans.text
    f1 = max((token_f1(short, a) for a in q.answers), default=0.0) if ans.found else 0.0
    em = ans.found and any(_normalize(short) == _normalize(a) for a in q.answers)
    exact = all(
        c.quote == texts[c.doc_id][c.start : c.end]
        and (c.answer_start is None or c.start <= c.answer_start < c.answer_end <= c.end)
        for c in ans.citations
    )
    return QuestionResult(
        q.id, q.kind, q.question, q.answerable, q.answers, ans.found, ans.text, ans.confidence,
        hit, rank, round(f1, 4), em, exact, round(latency_ms, 2),
        own_doc=(ans.found and ans.citations[0].doc_id == q.doc_id) if collection else None,
    )  # fmt: skip


def summarize(results: list[QuestionResult]) -> dict[str, float]:
    pos = [r for r in results if r.answerable]
    neg = [r for r in results if not r.answerable]
    abstained = [r for r in results if not r.found]
    lat = sorted(r.latency_ms for r in results)
    later = [r for r in results if r.stale is not None]
    m: dict[str, float] = {"questions": len(results), "answerable": len(pos), "unanswerable": len(neg)}
    if later:
        m["stale"] = sum(r.stale for r in later) / len(later)
    if pos:
        m["hit@1"] = sum(r.hit for r in pos) / len(pos)
        for k in (1, 3, 5):
            m[f"recall@{k}"] = sum(r.rank is not None and r.rank <= k for r in pos) / len(pos)
        m["mrr"] = sum(1.0 / r.rank for r in pos if r.rank) / len(pos)
        m["f1"] = sum(r.f1 for r in pos) / len(pos)
        m["exact_match"] = sum(r.exact_match for r in pos) / len(pos)
        m["false_abstention"] = sum(not r.found for r in pos) / len(pos)
        m["has_ans_accuracy"] = m["hit@1"]
        answered = [r for r in pos if r.found and r.own_doc is not None]
        if answered:
            # Of the answers given, how many quote the question's own document (a collection's measure).
            m["own_document"] = sum(r.own_doc for r in answered) / len(answered)
    if neg:
        m["abstention_recall"] = sum(not r.found for r in neg) / len(neg)
        m["no_ans_accuracy"] = m["abstention_recall"]
    if abstained and neg:
        m["abstention_precision"] = sum(not r.answerable for r in abstained) / len(abstained)
    if results:
        correct = sum(r.hit for r in pos) + sum(not r.found for r in neg)
        m["answer_or_abstain"] = correct / len(results)
        m["citation_exactness"] = sum(r.citations_exact for r in results) / len(results)
        m["latency_p50_ms"] = statistics.median(lat)
        m["latency_p95_ms"] = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    return {k: round(v, 4) for k, v in m.items()}


# -- running -------------------------------------------------------------------
def run_set(
    name: str,
    docs: list[EvalDoc],
    questions: list[EvalQuestion],
    k: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    **index_options: object,
) -> EvalRun:
    """Index ``docs`` in a fresh temporary index (one per document) and answer every question."""
    run = EvalRun(name)
    by_doc: dict[str, list[EvalQuestion]] = defaultdict(list)
    for q in questions:
        by_doc[q.doc_id].append(q)
    texts = {d.doc_id: d.text for d in docs}
    with tempfile.TemporaryDirectory(prefix="askdoc-eval-") as tmp:
        indexes = build_indexes(docs, tmp, **index_options)
        items = [q for d in docs for q in by_doc.get(d.doc_id, [])]
        for q in progress(items) if progress else items:
            started = time.perf_counter()
            ans = indexes[q.doc_id].answer(q.question, k=k)
            latency = (time.perf_counter() - started) * 1000
            run.results.append(score(q, ans, texts[q.doc_id], latency, texts))
    return run


def build_indexes(docs: list[EvalDoc], folder: str | Path, **index_options: object) -> dict:
    """One index per document under ``folder``: a question is asked of its own article only."""
    from .index import Index

    indexes = {}
    for n, d in enumerate(docs):
        idx = Index(folder, name=f"eval-{n:04d}", **index_options)
        idx.add_text(d.text, doc_id=d.doc_id, title=d.title)
        indexes[d.doc_id] = idx
    return indexes
