"""Bench: what askdoc costs, from one article to 10^5 chunks (``askdoc bench``).

Every figure is taken in one run on one machine, and each target is a ratio
of two figures taken side by side, since these machines are shared and noisy:

- ``askdoc --help``; a cold ``askdoc ask`` (new process to first answer)
  beside a bare process that only loads the model and embeds one query, with
  the cold start broken down into imports, index open, model load, answer;
- indexing throughput of the whole path beside raw ``model.encode`` on the
  same chunk texts;
- per collection size (the article plus SQuAD-format articles repeated under
  new ids), in a fresh process: open time, warm answer p50/p95 beside the time
  to embed one query, peak RSS, size on disk, adding one new document, and the
  article's eval set answered from the whole collection;
- with ``--server``, the same against ``chroma run`` on 127.0.0.1;
- concurrent users of the browser chat's API: throughput and p95;
- the dialogue set's turns answered with a 5-turn history beside alone (issue 24).

Copies of an article reuse its vectors (`CachingEmbedder`): filling 10^5
chunks would otherwise take an hour of CPU encoding for vectors we already
have. Indexing throughput is measured on first copies only, where every
sentence goes through the model; the fill rate is reported apart.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .serving import chroma_server, concurrent_clients, percentile

DEFAULT_SCALES = (100, 10_000, 100_000)
DEFAULT_CLIENTS = (1, 4, 16)
#: The issue's targets: (figure, limit, "max" or "min").
TARGETS = {
    # The reader (issue #12) reads ~6 sentence pairs per question: 6x leaves room for it.
    "answer_vs_embed_article": ("warm answer p50 / one-query embed, one article", 6.0, "max"),
    "answer_vs_embed_largest": ("warm answer p50 / one-query embed, largest collection", 6.0, "max"),
    "index_vs_encode": ("indexing / raw encode throughput", 0.8, "min"),
    "cold_vs_bare": ("cold `askdoc ask` / bare model load + embed", 1.3, "max"),
    "help_s": ("`askdoc --help` seconds", 0.5, "max"),
    "rss_article_mb": ("peak RSS serving one article, MB", 1536, "max"),
    # Issue #15's, at the largest collection (10^5 chunks by default).
    "open_largest_s": ("largest collection: open in a new process, s", 2.0, "max"),
    "rss_largest_mb": ("largest collection: peak RSS serving it, MB", 1500, "max"),
    "p50_largest_vs_article": ("largest collection: warm answer p50 / one article's", 2.0, "max"),
    # Issue #24's: a conversation costs little more than a single question.
    "history_vs_plain": ("warm answer p50 with a 5-turn history / without, one article", 1.2, "max"),
    # Issue #26's: adding documents costs the same however many there are.
    "growth_last_vs_10th": ("add_text: Nth document's cost / 10th's", 1.2, "max"),
    "growth_batch_vs_embed": ("batch of paragraph documents / embedding alone", 1.3, "max"),
}

COLD_QUESTION = "Where was the summit held?"
BARE = (
    "import sys; from sentence_transformers import SentenceTransformer; "
    f"SentenceTransformer(sys.argv[1], device='cpu').encode([{COLD_QUESTION!r}])"
)


@dataclass(frozen=True)
class BenchOptions:
    corpus: tuple[Path, ...]  # SQuAD-format files the collections are built from
    scales: tuple[int, ...] = DEFAULT_SCALES
    server: bool = False
    clients: tuple[int, ...] = DEFAULT_CLIENTS
    repeats: int = 3  # of each cold-process measurement
    questions: int = 0  # eval questions per probe (0: all)
    entry: str = "askdoc.cli"  # the module the console script runs, whose imports a cold start pays
    growth: int = 0  # documents added one by one (`askdoc.growth`; 0: not measured)
    growth_batch: int = 0  # paragraph documents added in one batch


class CachingEmbedder:
    """An embedder that remembers each text's vectors, for copies of one article."""

    def __init__(self, inner):
        self.inner = inner
        self.cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def encode_pooled(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            vecs, sums = self.inner.encode_pooled(missing, progress)
            self.cache.update(zip(missing, zip(vecs, sums)))
        dim = self.inner.dimension
        rows = [self.cache[t] for t in texts]
        if not rows:
            return np.zeros((0, dim), np.float32), np.zeros((0, dim), np.float32)
        return np.stack([v for v, _ in rows]), np.stack([s for _, s in rows])


def run(options: BenchOptions, say: Callable[[str], None] = print) -> dict:
    """Every measure; returns a JSON-ready dict (see `report.write_bench`)."""
    from .evaluate import EvalDoc, load_squad
    from .index import Index

    result: dict = {"machine": _machine(), "options": {"scales": list(options.scales), "server": options.server}}
    corpus: list[EvalDoc] = []
    for path in options.corpus:
        corpus += load_squad(path)[0]
    with tempfile.TemporaryDirectory(prefix="askdoc-bench-") as tmp:
        tmp = Path(tmp)
        article_dir = tmp / "article"
        idx = Index(article_dir)
        _add_article(idx)
        say("timing --help and cold starts")
        result["help_s"] = _median_wall([sys.executable, "-m", "askdoc.cli", "--help"], options.repeats)
        result["cold"] = _cold(article_dir, idx.embedder.model_name, options.repeats, options.entry)
        say("indexing throughput")
        embedder = CachingEmbedder(idx.embedder)
        result["indexing"] = _indexing(tmp / "throughput", corpus, embedder)
        say("serving one article")
        result["article"] = _probe(article_dir, "", "askdoc", options.questions)
        say("answers with a conversation before them")
        result["conversation"] = conversation_latency(idx, options.questions)
        result["scales"] = {}
        for mode in ("embedded", "server") if options.server else ("embedded",):
            with chroma_server(tmp / "chroma") if mode == "server" else contextlib.nullcontext("") as url:
                result["scales"][mode] = _scales(tmp / mode, url, corpus, embedder, options, say)
        if options.growth or options.growth_batch:
            from . import growth

            result["growth"] = growth.measure(tmp / "growth", [d.text for d in corpus], options.growth,
                                              options.growth_batch, say)  # fmt: skip
        if options.clients:
            say("concurrent clients")
            result["concurrency"] = concurrent_clients(article_dir, options.clients)
    result["targets"] = _targets(result)
    return result


def _add_article(idx) -> None:
    from .config import DEFAULT_ARTICLE

    idx.add_file(DEFAULT_ARTICLE)  # what a user's first `askdoc ask` indexes


def _machine() -> dict:
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def _run(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    """Run a fresh process; its wall time and the last line it printed."""
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=1800)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} failed: {done.stderr.strip()[-800:]}")
    return took, (done.stdout.strip().splitlines() or [""])[-1]


def _median_wall(cmd: list[str], repeats: int, env: dict | None = None) -> float:
    return round(statistics.median(_run(cmd, env)[0] for _ in range(repeats)), 3)


def _cold(index_dir: Path, model_path: str, repeats: int, entry: str) -> dict:
    """A new `askdoc ask` beside a bare model load, alternated so that drift hits both."""
    env = {"ASKDOC_INDEX_DIR": str(index_dir), "ASKDOC_CHROMA_URL": ""}
    ask = [sys.executable, "-m", "askdoc.cli", "ask", COLD_QUESTION]
    bare = [sys.executable, "-c", BARE, model_path]
    asks, bares = [], []
    for _ in range(repeats):
        bares.append(_run(bare, env)[0])
        asks.append(_run(ask, env)[0])
    stages = json.loads(_run([sys.executable, "-m", "askdoc.bench", "cold", str(index_dir), entry], env)[1])
    return {"ask_s": round(statistics.median(asks), 3), "bare_s": round(statistics.median(bares), 3), "stages": stages}


def _cold_stages(index_dir: str, entry: str) -> dict:
    """Run in a new process: where a cold `askdoc ask` spends its time (``entry``: the
    module the console script runs, named by the caller rather than imported here)."""
    import importlib

    marks = [("start", time.perf_counter())]
    importlib.import_module(entry)

    marks.append(("imports", time.perf_counter()))
    from .config import Settings
    from .library import open_index

    idx = open_index(Settings.from_env(index_dir=index_dir))
    idx._get_retriever()
    marks.append(("index_open", time.perf_counter()))
    idx.embedder.model  # noqa: B018  (loads torch and the model)
    marks.append(("model_load", time.perf_counter()))
    if idx.reader is not None:
        idx.reader.model  # noqa: B018
        marks.append(("reader_load", time.perf_counter()))
    idx.answer(COLD_QUESTION)
    marks.append(("first_answer", time.perf_counter()))
    return {name: round(t - marks[i][1], 3) for i, (name, t) in enumerate(marks[1:])}


def _indexing(folder: Path, corpus, embedder: CachingEmbedder) -> dict:
    """The whole indexing path beside raw ``model.encode`` on the same chunk texts."""
    from . import prepare
    from .index import Index
    from .ingest import make_document

    idx = Index(folder, name="throughput")
    idx.embedder = embedder
    docs = [make_document(d.text, doc_id=d.doc_id, title=d.title) for d in corpus]
    texts = [c.text for d in docs for c in prepare.split(d, idx.settings, idx.embedder)[0]]
    model = embedder.inner.model
    model.encode(texts[:8], batch_size=embedder.batch_size)  # warm
    started = time.perf_counter()
    model.encode(texts, batch_size=embedder.batch_size)
    raw = time.perf_counter() - started
    started = time.perf_counter()
    idx.add_documents(docs)
    full = time.perf_counter() - started
    return {
        "chunks": len(texts),
        "documents": len(docs),
        "device": embedder.device,
        "precision": embedder.precision,
        "batch_size": embedder.batch_size,
        "raw_encode_chunks_per_s": round(len(texts) / raw, 1),
        "index_chunks_per_s": round(len(texts) / full, 1),
        "ratio": round(raw / full, 3),
    }


def _scales(folder: Path, url: str, corpus, embedder: CachingEmbedder, options: BenchOptions, say) -> list[dict]:
    from .index import Index
    from .ingest import make_document

    idx = Index(folder, chroma_url=url or None, name="bench")
    idx.embedder = embedder
    _add_article(idx)
    have = sum(d.chunks for d in idx._stored().values())
    rows, copy = [], 0
    for target in sorted(options.scales):
        started, added = time.perf_counter(), 0
        while have < target:
            batch = []
            for d in corpus:
                batch.append(make_document(d.text, doc_id=f"{d.doc_id}~{copy}", title=d.title))
                copy += 1
                have += _chunks_of(idx, d.text)
                if have >= target:
                    break
            added += sum(r.chunks for r in idx.add_documents(batch))
        fill = time.perf_counter() - started
        idx.flush()  # as a finished `askdoc index` leaves it
        say(f"  {'server' if url else 'embedded'}: {have:,} chunks; probing")
        probe = _probe(folder, url, "bench", options.questions, new_doc=corpus[0].text)
        size = _folder_mb(folder if not url else folder.parent / "chroma")
        rows.append(
            {
                "chunks": have,
                "fill_chunks_per_s": round(added / fill, 1) if added else None,
                "disk_mb": size,
                **probe,
            }
        )
    return rows


_CHUNK_COUNTS: dict[str, int] = {}


def _chunks_of(idx, text: str) -> int:
    """How many chunks a text makes (each copy makes the same)."""
    if text not in _CHUNK_COUNTS:
        from . import prepare
        from .ingest import make_document

        doc = make_document(text, doc_id="x", title="")
        _CHUNK_COUNTS[text] = len(prepare.split(doc, idx.settings, idx.embedder)[0])
    return _CHUNK_COUNTS[text]


def _folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6, 1)


def _probe(folder: Path, url: str, name: str, questions: int, new_doc: str = "") -> dict:
    cmd = [sys.executable, "-m", "askdoc.bench", "probe", str(folder), url, name, str(questions), new_doc]
    return json.loads(_run(cmd)[1])


def _probe_main(folder: str, url: str, name: str, questions: int, new_doc: str) -> dict:
    """Run in a new process: open an index, answer the article's eval set from all of it."""
    from .evaluate import default_set_path, load_article_set, score, summarize
    from .index import Index

    started = time.perf_counter()
    idx = Index(folder, chroma_url=url or None, name=name)
    idx._get_retriever()
    opened = time.perf_counter() - started
    model = idx.embedder.model
    _, items = load_article_set(default_set_path())
    items = items[:questions] if questions else items
    for q in items[:3]:
        idx.answer(q.question)  # warm
    answer_ms, embed_ms, results = [], [], []
    for q in items:
        t0 = time.perf_counter()
        model.encode([q.question])  # the floor: one query through the same model
        t1 = time.perf_counter()
        ans = idx.answer(q.question)
        t2 = time.perf_counter()
        embed_ms.append((t1 - t0) * 1000)
        answer_ms.append((t2 - t1) * 1000)
        results.append(score(q, ans, idx._views[1][q.doc_id], answer_ms[-1], idx._views[1]))
    quality = summarize(results)
    rss = _peak_rss_mb()  # serving the index; the second index below is only for measuring
    # The reader's own cost: the same questions answered by the feature scorer alone.
    plain = Index(folder, chroma_url=url or None, name=name, reader="off")
    plain_ms = []
    for q in items:
        t0 = time.perf_counter()
        plain.answer(q.question)
        plain_ms.append((time.perf_counter() - t0) * 1000)
    out = {
        "open_s": round(opened, 3),
        "answer_p50_ms": percentile(answer_ms, 50),
        "answer_p95_ms": percentile(answer_ms, 95),
        "embed_p50_ms": percentile(embed_ms, 50),
        "reader_p50_ms": round(percentile(answer_ms, 50) - percentile(plain_ms, 50), 1),
        "ratio": round(percentile(answer_ms, 50) / percentile(embed_ms, 50), 2),
        "hit@1": round(quality["hit@1"], 3),
        "recall@5": round(quality["recall@5"], 3),
        "rss_mb": rss,
    }
    if new_doc:
        t0 = time.perf_counter()
        idx.add_text(new_doc + "\n\nA new paragraph, so that nothing is cached.", doc_id="bench-new", title="New")
        t1 = time.perf_counter()
        idx.answer(items[0].question)
        t2 = time.perf_counter()
        idx.remove("bench-new")
        out.update(add_doc_s=round(t1 - t0, 3), answer_after_add_ms=round((t2 - t1) * 1000, 1))
    return out


def conversation_latency(idx, questions: int = 0, turns: int = 5) -> dict:
    """Warm answer p50 with a ``turns``-turn history beside the same questions without one.

    The questions are the dialogue set's turns in order, each asked after the ``turns``
    before it (with askdoc's answers to them), and alone; the two are taken side by side,
    in alternating order, so that a shared cache or a noisy neighbour favours neither.
    """
    from .dialogues import load_dialogue_set
    from .evaluate import default_dialogue_path

    _, dialogues = load_dialogue_set(default_dialogue_path())
    asked = [q.question for d in dialogues for q in d.turns]
    asked = asked[:questions] if questions else asked
    history: list = []
    for q in asked[:3]:
        idx.answer(q, history=history)  # warm
    plain_ms, history_ms = [], []
    for n, q in enumerate(asked):
        runs = {}
        for with_history in (n % 2 == 0, n % 2 == 1):
            t0 = time.perf_counter()
            ans = idx.answer(q, history=history[-turns:] if with_history else ())
            runs[with_history] = ((time.perf_counter() - t0) * 1000, ans)
        plain_ms.append(runs[False][0])
        history_ms.append(runs[True][0])
        history.append((q, runs[True][1]))
    plain, with_history = percentile(plain_ms, 50), percentile(history_ms, 50)
    return {
        "turns": turns,
        "questions": len(asked),
        "answer_p50_ms": plain,
        "answer_history_p50_ms": with_history,
        "answer_history_p95_ms": percentile(history_ms, 95),
        "ratio": round(with_history / plain, 3),
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not getrusage: ru_maxrss
    survives exec, so a child forked from a big parent would report the parent's."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _targets(result: dict) -> list[dict]:
    figures = {
        "answer_vs_embed_article": result["article"]["ratio"],
        "index_vs_encode": result["indexing"]["ratio"],
        "cold_vs_bare": round(result["cold"]["ask_s"] / result["cold"]["bare_s"], 2),
        "help_s": result["help_s"],
        "rss_article_mb": result["article"]["rss_mb"],
    }
    if "conversation" in result:
        figures["history_vs_plain"] = result["conversation"]["ratio"]
    largest = max(result["scales"].get("embedded", []), key=lambda r: r["chunks"], default=None)
    if largest:
        figures["answer_vs_embed_largest"] = largest["ratio"]
        figures["open_largest_s"] = largest["open_s"]
        figures["rss_largest_mb"] = largest["rss_mb"]
        figures["p50_largest_vs_article"] = round(largest["answer_p50_ms"] / result["article"]["answer_p50_ms"], 2)
    grown = result.get("growth", {})
    if grown.get("one_by_one"):
        figures["growth_last_vs_10th"] = grown["one_by_one"]["last_vs_10th"]
    if grown.get("batch"):
        figures["growth_batch_vs_embed"] = grown["batch"]["vs_embedding_alone"]
    out = []
    for key, value in figures.items():
        label, limit, kind = TARGETS[key]
        ok = value <= limit if kind == "max" else value >= limit
        out.append({"target": label, "value": value, "limit": limit, "kind": kind, "met": ok})
    return out


if __name__ == "__main__":
    # The fresh processes that some measures need.
    if sys.argv[1] == "cold":
        print(json.dumps(_cold_stages(sys.argv[2], sys.argv[3])))
    elif sys.argv[1] == "probe":
        folder, url, name, questions, new_doc = sys.argv[2:7]
        print(json.dumps(_probe_main(folder, url, name, int(questions), new_doc)))
