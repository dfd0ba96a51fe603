"""Readable output: an answer and indexing progress on the terminal; eval reports (the
terminal table, JSON, Markdown with every failed question, a PNG chart); the bench's."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from dataclasses import asdict
from pathlib import Path

from .evaluate import EvalRun

_TABLE_COLS = (
    ("n", "questions", "{:.0f}"),
    ("hit@1", "hit@1", "{:.3f}"),
    ("R@1", "recall@1", "{:.3f}"),
    ("R@3", "recall@3", "{:.3f}"),
    ("R@5", "recall@5", "{:.3f}"),
    ("MRR", "mrr", "{:.3f}"),
    ("F1", "f1", "{:.3f}"),
    ("EM", "exact_match", "{:.3f}"),
    ("abst.R", "abstention_recall", "{:.3f}"),
    ("abst.P", "abstention_precision", "{:.3f}"),
    ("false-abst", "false_abstention", "{:.3f}"),
    ("ans|abst", "answer_or_abstain", "{:.3f}"),
    ("cite", "citation_exactness", "{:.3f}"),
    ("own", "own_document", "{:.3f}"),
    ("stale", "stale", "{:.3f}"),
    ("p50 ms", "latency_p50_ms", "{:.0f}"),
    ("p95 ms", "latency_p95_ms", "{:.0f}"),
)


def format_table(runs: list[EvalRun]) -> str:
    """A plain-text table of every set's metrics, overall and by kind."""
    out = []
    for run in runs:
        rows = [["kind"] + [c[0] for c in _TABLE_COLS]]
        for kind, m in run.metrics().items():
            rows.append([kind] + [fmt.format(m[key]) if key in m else "–" for _, key, fmt in _TABLE_COLS])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        out.append(f"{run.name}")
        for n, r in enumerate(rows):
            out.append(
                "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
            )
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append("")
    return "\n".join(out)


def _target(path: str | Path) -> Path:
    """The path, with its folder created."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def write_json(path: str | Path, runs: list[EvalRun]) -> None:
    data = {r.name: {"metrics": r.metrics(), "results": [asdict(x) for x in r.results]} for r in runs}
    _target(path).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def write_markdown(path: str | Path, runs: list[EvalRun], chart: str | None = None) -> None:
    """Metrics tables, then every failed question with askdoc's answer and the gold."""
    lines = ["# askdoc eval report", ""]
    if chart:
        lines += [f"![metrics by kind]({chart})", ""]
    for run in runs:
        metrics = run.metrics()
        cols = ["hit@1", "recall@5", "mrr", "abstention_recall", "false_abstention", "answer_or_abstain"]
        lines += [f"## {run.name}", "", "| kind | n | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
        for kind, m in metrics.items():
            cells = [f"{m[c]:.3f}" if c in m else "" for c in cols]
            lines.append(f"| {kind} | {int(m['questions'])} | " + " | ".join(cells) + " |")
        failed = [r for r in run.results if (r.answerable and not r.hit) or (not r.answerable and r.found)]
        lines += ["", f"### Failed questions ({len(failed)})", ""]
        for r in failed:
            said = f"“{r.text}”" if r.found else "(abstained)"
            gold = " / ".join(f"“{g}”" for g in r.gold) if r.answerable else "(unanswerable)"
            lines.append(f"- **{r.id}** [{r.kind}] {r.question}")
            if r.resolved:  # a follow-up askdoc rewrote (dialogue sets)
                lines.append(f"  - read as: {r.resolved}")
            lines.append(f"  - askdoc ({r.confidence:.2f}): {said}")
            lines += [f"  - gold: {gold}"]
        lines.append("")
    _target(path).write_text("\n".join(lines), encoding="utf-8")


def write_chart(path: str | Path, runs: list[EvalRun]) -> None:
    """A PNG chart: the main metrics by question kind for each set, and for a collection
    (runs named ``set@size``) those metrics against the collection's size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list[EvalRun]] = {}
    for run in runs:
        if "@" in run.name:
            curves.setdefault(run.name.rpartition("@")[0], []).append(run)
    sets = [r for r in runs if "@" not in r.name]
    fig, axes = plt.subplots(len(sets) + len(curves), 1, figsize=(10, 3.6 * (len(sets) + len(curves))), squeeze=False)
    names = ["hit@1", "recall@5", "abstention_recall"]
    for ax, run in zip(axes[:, 0], sets):
        metrics = run.metrics()
        kinds = list(metrics)
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            values = [metrics[k].get(name, 0.0) for k in kinds]
            ax.bar([x + i * width for x in range(len(kinds))], values, width, label=name)
        ax.set_xticks([x + width for x in range(len(kinds))], kinds, rotation=15)
        ax.set_ylim(0, 1.05)
        ax.set_title(run.name)
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax, (name, group) in zip(axes[len(sets) :, 0], curves.items()):
        sizes = [r.name.rpartition("@")[2] for r in group]
        for metric in ("hit@1", "own_document", "recall@5", "false_abstention", "abstention_recall"):
            ax.plot(sizes, [r.metrics()["overall"].get(metric, float("nan")) for r in group], marker="o", label=metric)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("documents in the collection")
        ax.set_title(f"{name}: quality as the collection grows")
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(_target(path), dpi=110)
    plt.close(fig)


# -- bench ---------------------------------------------------------------------
def format_bench(result: dict) -> str:
    """The bench's figures as plain-text tables: targets, then one row per collection."""
    lines = ["target                                                 value    limit  met"]
    for t in result["targets"]:
        sign = "≤" if t["kind"] == "max" else "≥"
        lines.append(f"{t['target']:<52} {t['value']:>8} {sign}{t['limit']:>7}  {'yes' if t['met'] else 'NO'}")
    cold, ix = result["cold"], result["indexing"]
    lines += [
        "",
        f"cold ask {cold['ask_s']} s vs bare model {cold['bare_s']} s; stages (s): "
        + ", ".join(f"{k} {v}" for k, v in cold["stages"].items()),
        f"indexing {ix['index_chunks_per_s']} chunks/s vs raw encode {ix['raw_encode_chunks_per_s']} chunks/s"
        f" ({ix['chunks']} chunks, {ix['device']}, {ix['precision']}, batch {ix['batch_size']})",
        "",
        "store     chunks   open s  p50 ms  p95 ms  embed ms  reader ms  ratio  hit@1   R@5  RSS MB  disk MB  add s"
        "  fill/s",
    ]
    rows = [("article", result["article"])] + [(m, r) for m, rs in result["scales"].items() for r in rs]
    for mode, r in rows:
        lines.append(
            f"{mode:<9} {r.get('chunks', ''):>6} {r['open_s']:>8} {r['answer_p50_ms']:>7} {r['answer_p95_ms']:>7}"
            f" {r['embed_p50_ms']:>9} {r.get('reader_p50_ms', ''):>10} {r['ratio']:>6} {r['hit@1']:>6}"
            f" {r['recall@5']:>5} {r['rss_mb']:>7}"
            f" {r.get('disk_mb') or '':>8} {r.get('add_doc_s') or '':>6} {r.get('fill_chunks_per_s') or '':>7}"
        )
    for how, g in result.get("growth", {}).items():
        if g:
            per = ", ".join(f"{n}th {ms} ms" for n, ms in g.get("ms_per_document", {}).items())
            lines.append(
                f"{how.replace('_', ' ')}: {g['documents']} documents, {g['documents_per_s']} documents/s,"
                f" {g['chunks_per_s']} chunks/s, embedding {g['embedding_share']:.0%} of the time"
                + (f"; {per}" if per else "")
            )
    if result.get("concurrency"):
        lines += ["", "clients  answers/s  p50 ms  p95 ms"]
        lines += [
            f"{c['clients']:>7} {c['answers_per_s']:>10} {c['p50_ms']:>7} {c['p95_ms']:>7}"
            for c in result["concurrency"]
        ]
    return "\n".join(lines)


def write_bench(folder: str | Path, result: dict) -> list[Path]:
    """bench.json, bench.md (the tables) and bench.png (latency and indexing against size)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "bench.json", folder / "bench.md", folder / "bench.png"]
    paths[0].write_text(json.dumps(result, indent=1), encoding="utf-8")
    m = result["machine"]
    paths[1].write_text(
        f"# askdoc bench\n\nOne run on {m['cpus']} CPUs ({m['platform']}, Python {m['python']}).\n\n"
        f"```\n{format_bench(result)}\n```\n\n![latency and indexing against collection size](bench.png)\n",
        encoding="utf-8",
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for mode, rows in result["scales"].items():
        x = [r["chunks"] for r in rows]
        left.plot(x, [r["answer_p50_ms"] for r in rows], "o-", label=f"{mode} answer p50")
        left.plot(x, [r["answer_p95_ms"] for r in rows], "o:", label=f"{mode} answer p95")
        right.plot(x, [r["add_doc_s"] for r in rows], "o-", label=f"{mode}: add one article, s")
        right.plot(x, [r["open_s"] for r in rows], "s--", label=f"{mode}: open the index, s")
    floor = [r["embed_p50_ms"] for rows in result["scales"].values() for r in rows]
    if floor:
        left.axhline(sum(floor) / len(floor), color="grey", lw=1, label="embed one query (floor)")
    left.set(xscale="log", xlabel="chunks in the collection", ylabel="ms", title="Answer latency")
    right.set(xscale="log", xlabel="chunks in the collection", ylabel="s", title="Indexing and opening")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(paths[2], dpi=110)
    plt.close(fig)
    return paths


def format_answer(ans, idx) -> str:
    """The readable form: the quote, then numbered citations with positions."""
    width = 88
    lines: list[str] = []
    if getattr(ans, "resolved_question", ""):
        lines.append(f"(Reading this as: {ans.resolved_question})")
    if ans.found:
        bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        if ans.exact:
            lines.append(f"Answer: {_bold(ans.exact) if bold else ans.exact}")
        quote = textwrap.wrap(f"“{ans.text}”", width) or [""]
        lines += [_emphasise(line, ans.exact) for line in quote] if bold and ans.exact else quote
        lines.append("")
        for n, c in enumerate(ans.citations, 1):
            lines.append(f"[{n}] {c.title} — {_position(idx, c.doc_id, c.start, c.end)}")
            if c.source:
                lines.append(f"    {c.source}")
        lines.append(f"confidence {ans.confidence:.2f}")
    else:
        lines.append("The documents do not say. Closest passages:")
        lines.append("")
        for n, p in enumerate(ans.passages[:3], 1):
            lines.append(f"[{n}] {p.title} — {_position(idx, p.doc_id, p.start, p.end)}")
            snippet = p.text if len(p.text) <= 200 else p.text[:197].rstrip() + "…"
            lines += textwrap.wrap(snippet, width, initial_indent="    ", subsequent_indent="    ")
        lines.append(f"confidence {ans.confidence:.2f}")
    return "\n".join(lines)


def _bold(text: str) -> str:
    return f"\033[1m{text}\033[0m"


def _emphasise(line: str, exact: str) -> str:
    """The exact answer in bold where it stands whole on one wrapped line."""
    return line.replace(exact, _bold(exact), 1) if exact in line else line


def _position(idx, doc_id: str, start: int, end: int) -> str:
    """As the chat says it: "line 9, chars …", or for a PDF "p. 3, chars …"."""
    from .chatview import located

    return located(idx.document(doc_id), start, end)


class IndexingProgress:
    """Says on stderr how a long indexing run goes: nothing for a quick one, then a line
    every few seconds with the sentences left and, from the pace so far, the time left."""

    def __init__(self, out=None, clock=time.monotonic, first: float = 2.0, every: float = 5.0):
        self.out, self.clock, self.every = out, clock, every
        self.started = clock()
        self.next = self.started + first
        self.spoke = False

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if now < self.next and not (done >= total and self.spoke):
            return
        self.next, self.spoke = now + self.every, True
        left = total - done
        said = f"askdoc: embedded {done:,} of {total:,} sentences, {left:,} left"
        if 0 < done < total:
            said += f" (about {_duration((now - self.started) / done * left)})"
        print(said, file=self.out or sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def rebuilt_notes(done) -> list[str]:
    """What `askdoc index --rebuild` says on stderr of a `library.Rebuilt`: where the old folder
    went, and what could not be restored and why."""
    lines = []
    if done.aside is not None:
        lines.append(f"askdoc: note: the old index was moved to {done.aside}")
    if done.unreadable and (done.results or done.lost):
        listed = f"the old store's own list ({len(done.results) + len(done.lost)} documents)"
        lines.append(f"askdoc: warning: {done.unreadable}; restored from {listed}")
    elif done.unreadable:
        lines.append(
            f"askdoc: warning: {done.unreadable} and the old store cannot be read: none of the old index's "
            f"documents could be restored (the old folder is kept in {done.aside}); index them again"
        )
    lines += [f"askdoc: warning: {doc_id}: not restored: {why}" for doc_id, why in done.lost]
    return lines
